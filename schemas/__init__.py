"""JSON Schema documents (draft 2020-12): the passport schema and one schema per record kind."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS_DIR = Path(__file__).resolve().parent
RECORDS_DIR = SCHEMAS_DIR / "records"


@cache
def load(relpath: str) -> dict[str, Any]:
    """Load a schema document shipped in this package, e.g. ``records/envelope.schema.json``."""
    data: dict[str, Any] = json.loads((SCHEMAS_DIR / relpath).read_text(encoding="utf-8"))
    return data
