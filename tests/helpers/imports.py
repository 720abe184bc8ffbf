"""Rows of import files (``bpass import``, the supplier page): a miner's Extractions and
Transformations as CSV cells."""

from __future__ import annotations

import csv
import io

FACILITY = {"id": "mine-1", "name": "Salar mine", "country": "CL"}
"""The facility the miner of these rows registers."""


def extraction_row(i: int, **over: str) -> dict[str, str]:
    """The CSV cells of the ``i``-th Extraction of lithium brine at :data:`FACILITY`."""
    row = {
        "lot": f"urn:lot:mine:{i:05d}",
        "material": "lithium",
        "depositType": "brine",
        "miningMethod": "industrial",
        "facility": "mine-1",
        "country": "CL",
        "massGrams": str(1_000_000 + i),
        "elements.Li": "2000",
        "period.start": "2026-10-01T00:00:00Z",
        "period.end": "2026-10-31T00:00:00Z",
        "emissions.raw-material-acquisition": "12.5",
    }
    row.update(over)
    return row


def transformation_rows(source: str) -> list[dict[str, str]]:
    """Two Transformations: the first concentrates part of ``source``, the second refines part
    of the first's output (a lot created by an earlier row of the same file)."""
    common = {
        "processStep": "concentration",
        "custody": "identity-preserved",
        "facility": "mine-1",
        "period.start": "2026-11-01T00:00:00Z",
        "period.end": "2026-11-02T00:00:00Z",
    }
    first = {"inputs.0.lot": source, "inputs.0.massGrams": "500000",
             "outputs.0.lot": f"{source}:c1", "outputs.0.product": "concentrate",
             "outputs.0.massGrams": "100000", "outputs.0.elements.Li": "5000"}  # fmt: skip
    second = {"inputs.0.lot": f"{source}:c1", "inputs.0.massGrams": "50000",
              "outputs.0.lot": f"{source}:c2", "outputs.0.product": "carbonate",
              "outputs.0.massGrams": "20000", "outputs.0.elements.Li": "10000"}  # fmt: skip
    return [{**common, **first}, {**common, **second}]


def csv_bytes(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    """``rows`` as a UTF-8 CSV file with a header row (``columns``, else the first row's)."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns or list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
