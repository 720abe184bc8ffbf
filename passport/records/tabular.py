"""Records as table rows: kind names, templates, flattened column names, and rows back to subjects.

Everything here is derived from the kinds' JSON Schemas (``schemas/records/<Kind>.schema.json``), so
templates, column names and the checks of an import never drift from what the ledger accepts.

Flattening rules (a ``credentialSubject`` as one table row):

- a nested object's member is ``parent.member`` (``period.start``, ``coordinates.latitude``);
- a map's entry is ``map.KEY`` (``elements.Ni``, ``emissions.main-production``,
  ``elements.Ni.preConsumerGrams``);
- an array's item is ``array.N.…`` counting from 0 (``inputs.0.lot``, ``inputs.1.massGrams``,
  ``outputs.0.claims.0.grams``; ``intakeRecords.0`` for an array of strings); items must be
  numbered without gaps;
- an empty cell means the member is absent;
- a cell is read as the type the schema gives the member: integers as integers (grams, ppm: no
  decimal point, no exponent), ``true``/``false`` as booleans, everything else as text (decimal
  strings such as footprints stay text, exactly as written);
- a lot reference (an object holding ``lot`` and ``record``) needs only ``lot``: the importer
  fills ``record`` with the hash of the record that created the lot (in the ledger, or in an
  earlier row of the same file); a ``record`` cell, if given, is kept as written;
- a member whose schema allows one value only (``subject.type`` = ``lot``, ``boundary``) may be
  left out: it is filled in;
- the column ``@validFrom`` (RFC 3339 UTC) is not part of the subject: it sets the record's
  ``validFrom`` and its proof's ``created`` time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import schemas
from passport.errors import KindNameError
from passport.records.confidential import public_members
from passport.records.envelope import known_kinds, schema_errors
from passport.records.names import closest, match_name
from passport.timefmt import parse_ts
from signing.errors import BpassError

VALID_FROM_COLUMN = "@validFrom"
"""The column that sets a record's ``validFrom`` (and its proof's ``created``)."""

PLACEHOLDER_HASH = "sha256:" + "0" * 64
"""Stands in for the hash of a lot created by an earlier row until that row is signed."""

_INTEGER = re.compile(r"-?[0-9]+")


def resolve_kind(name: str) -> str:
    """The record kind ``name`` stands for, case-insensitively; a typed error suggesting the
    closest kinds (``difflib``) and listing every kind otherwise."""
    kinds = sorted(known_kinds())
    found = match_name(name, kinds)
    if found is not None:
        return found
    raise KindNameError(name, closest(name, kinds), kinds)


# -- the schema as a list of members -------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """One leaf of a kind's subject, as a flattened column."""

    column: str
    """Flattened name, arrays at index 0 (``inputs.0.lot``)."""
    segments: tuple[str, ...]
    """The column's parts; ``"#"`` marks an array index, ``"*"`` any key of a free map."""
    schema: dict[str, Any]
    required: bool
    """Required wherever its parents are present (and the parents required in turn)."""
    description: str
    lot_record: bool = False
    """The ``record`` of a lot reference: filled from the lot's id when left empty."""

    @property
    def type(self) -> str:
        """The JSON type the schema gives the member (``string`` when it fixes values only)."""
        t = self.schema.get("type")
        if isinstance(t, str):
            return t
        values = self.schema.get("enum", [self.schema["const"]] if "const" in self.schema else [])
        if values and all(isinstance(v, bool) for v in values):
            return "boolean"
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "integer"
        return "string"

    def constraint(self) -> str:
        """Allowed values, pattern and bounds in words."""
        s = self.schema
        parts = []
        if "const" in s:
            parts.append(f"always {s['const']!r}")
        if "enum" in s:
            parts.append("one of " + ", ".join(str(v) for v in s["enum"]))
        if "pattern" in s:
            parts.append(f"pattern {s['pattern']}")
        if "minimum" in s or "maximum" in s:
            parts.append(f"{s.get('minimum', '…')} … {s.get('maximum', '…')}")
        if "minLength" in s or "maxLength" in s:
            parts.append(f"{s.get('minLength', 0)}-{s.get('maxLength', '…')} characters")
        return "; ".join(parts)


def _schema(kind: str) -> dict[str, Any]:
    return schemas.load(f"records/{kind}.schema.json")


def _deref(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` (local ``#/$defs/...``) and ``allOf`` parts merged in; the
    node's own description wins over the referenced one's."""
    out: dict[str, Any] = {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        out.update(_deref(root, target))
    for part in node.get("allOf", []):
        if "if" not in part:  # conditional parts constrain values, they add no members
            out.update(_deref(root, part))
    out.update({k: v for k, v in node.items() if k not in ("$ref", "allOf")})
    return out


def _branches(root: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The object shapes a node allows: itself, or each of its ``oneOf``/``anyOf`` branches."""
    alternatives = node.get("oneOf") or node.get("anyOf")
    if alternatives:
        return [_deref(root, b) for b in alternatives]
    return [node]


@cache
def members(kind: str) -> tuple[Member, ...]:
    """Every leaf member of ``kind``'s subject, in schema order (``oneOf`` branches merged)."""
    root = _schema(kind)
    out: dict[str, Member] = {}

    def walk(node: dict[str, Any], segs: tuple[str, ...], required: bool, desc: str) -> None:
        node = _deref(root, node)
        desc = node.get("description", desc)
        branches = _branches(root, node)
        if len(branches) > 1 or node.get("type") == "object" or "properties" in node:
            for branch in branches:
                props = branch.get("properties", {})
                needed = set(branch.get("required", []))
                if len(branches) > 1:  # required only if every branch requires it
                    needed &= set.intersection(*(set(b.get("required", [])) for b in branches))
                is_ref = "lot" in props and "record" in props
                for name, child in props.items():
                    if is_ref and name == "record":
                        child_node = _deref(root, child)
                        leaf(
                            child_node,
                            (*segs, name),
                            required and name in needed,
                            child_node.get(
                                "description", "hash of the record that created the lot"
                            ),
                            lot_record=True,
                        )
                        continue
                    walk(child, (*segs, name), required and name in needed, "")
                extra = branch.get("additionalProperties")
                if isinstance(extra, dict):
                    keys = _deref(root, branch.get("propertyNames", {})).get("enum", ["*"])
                    for key in keys:
                        walk(extra, (*segs, str(key)), False, desc)
            return
        if node.get("type") == "array":
            items = node.get("items", {})
            walk(items, (*segs, "#"), required and node.get("minItems", 0) > 0, desc)
            return
        leaf(node, segs, required, desc)

    def leaf(
        node: dict[str, Any],
        segs: tuple[str, ...],
        required: bool,
        desc: str,
        *,
        lot_record: bool = False,
    ) -> None:
        column = ".".join("0" if s == "#" else s for s in segs)
        before = out.get(column)
        if before is not None:  # the same member in another oneOf branch: merge fixed values
            values = [*before.schema.get("enum", []), *before.schema.get("enum", [])]
            values = [before.schema["const"]] if "const" in before.schema else values
            values += [node["const"]] if "const" in node else node.get("enum", [])
            if values and ("const" in node or "enum" in node):
                merged = {k: v for k, v in before.schema.items() if k != "const"}
                merged["enum"] = list(dict.fromkeys(values))
                out[column] = Member(column, segs, merged, before.required, before.description)
            return
        out[column] = Member(column, segs, node, required, desc, lot_record)

    walk(root, (), True, "")
    return tuple(out.values())


@cache
def _member_index(kind: str) -> dict[tuple[str, ...], Member]:
    return {m.segments: m for m in members(kind)}


def csv_columns(kind: str) -> list[str]:
    """The CSV header of ``kind``: every member but the lot references' ``record`` (the
    importer fills those in), then ``@validFrom``."""
    return [m.column for m in members(kind) if not m.lot_record] + [VALID_FROM_COLUMN]


# -- the template -------------------------------------------------------------------------------
_EXAMPLES_BY_PATTERN: dict[str, Any] = {
    "^urn:lot:[A-Za-z0-9][A-Za-z0-9._~:-]{0,199}$": "urn:lot:example:0001",
    "^sha256:[0-9a-f]{64}$": "sha256:" + "ab" * 32,
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$": (
        "2026-01-01T00:00:00Z"
    ),
    "^did:(key|web):[A-Za-z0-9._:%-]+$": "did:web:supplier.example",
    "^[A-Z]{2}$": "DE",
    "^(0|[1-9][0-9]{0,14})(\\.[0-9]{1,6})?$": "12.5",
    "^-?[0-9]{1,2}(\\.[0-9]{1,7})?$": "-22.45",
    "^-?[0-9]{1,3}(\\.[0-9]{1,7})?$": "-68.93",
    "^z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "^urn:bpass:[0-9a-f]{32}$": "urn:bpass:" + "0123456789abcdef" * 2,
    "^[A-Za-z0-9+/]{43}=$": "A" * 43 + "=",
    "^/point1/[A-Za-z/]{1,120}$": "/point1/recycledContent",
    "^[A-Z][A-Za-z]{1,63}$": "Extraction",
}


def _example_value(m: Member) -> Any:
    s = m.schema
    if "const" in s:
        return s["const"]
    if "enum" in s:
        return s["enum"][0]
    if m.type == "integer":
        low, high = s.get("minimum", 0), s.get("maximum", 10**9)
        return min(max(low, 1000 if high > 10**6 else 25000), high)
    if m.type == "boolean":
        return True
    if m.type == "number":
        return 1.5
    if "pattern" in s:
        return _EXAMPLES_BY_PATTERN.get(s["pattern"], "…")
    if m.segments[-1] == "facility" or m.column.endswith("facility"):
        return "plant-1"
    return "example"


def _first_branch_only(kind: str) -> set[str]:
    """Columns of the second and later ``oneOf`` branches (kept out of the example)."""
    root = _schema(kind)
    skip: set[str] = set()
    for name, prop in root.get("properties", {}).items():
        branches = _branches(root, _deref(root, prop))
        first = set(branches[0].get("properties", {}))
        for b in branches[1:]:
            skip.update(f"{name}.{p}" for p in b.get("properties", {}) if p not in first)
    return skip


def example(kind: str) -> dict[str, Any]:
    """A complete example subject of ``kind``: every member with a plausible value."""
    skip = _first_branch_only(kind)
    cells = {m.column: _example_value(m) for m in members(kind) if m.column not in skip}
    subject, problems = unflatten(kind, cells, typed=True)
    assert not problems, problems  # the members' own columns always unflatten
    # Conditional parts (``if material is lithium then depositType is one of …``): follow them.
    for part in _schema(kind).get("allOf", []):
        cond = part.get("if", {}).get("properties", {})
        then = part.get("then", {}).get("properties", {})
        if all(subject.get(p) == c.get("const") for p, c in cond.items()):
            for p, c in then.items():
                if "enum" in c and subject.get(p) not in c["enum"]:
                    subject[p] = c["enum"][0]
                if "const" in c:
                    subject[p] = c["const"]
    return subject


def template(kind: str) -> str:
    """A commented example of ``kind``: its JSON, then each member's type, unit, constraint,
    whether it is required and its description, all read from the kind's schema."""
    import json

    root = _schema(kind)
    lines = [f"// {kind}: {root.get('title', kind)}"]
    if root.get("description"):
        lines.append(f"// {root['description']}")
    public = public_members(kind)
    if public is not None:
        lines.append(
            "// Signed confidential by default (`bpass record new`, `bpass import`): the members "
            "marked confidential are concealed in the logged record and go to the node as "
            "Disclosures, read only by the issuer, a Transfer's buyer and authorities; "
            "--public signs the record plain (docs/records.md, Confidential records)."
        )
    lines.append(json.dumps(example(kind), indent=2, ensure_ascii=False))
    lines.append("")
    lines.append(f"Members of {kind} (flattened names; N counts array items from 0):")
    for m in members(kind):
        need = "required" if m.required else "optional"
        if public is not None:
            need += ", public" if m.segments[0] in public else ", confidential"
        if m.lot_record:
            need += ", filled in by `bpass import` from the lot id"
        column = ".".join("N" if seg == "#" else seg for seg in m.segments)
        text = f"  {column}  ({m.type}, {need})"
        constraint = m.constraint()
        if constraint:
            text += f"  {constraint}"
        if m.description:
            text += f"  -- {m.description}"
        lines.append(text)
    lines.append(
        f"  {VALID_FROM_COLUMN}  (string, optional, import only)  the record's validFrom, RFC "
        "3339 UTC (default: the time of the import's first run)"
    )
    return "\n".join(lines) + "\n"


# -- rows back to subjects ------------------------------------------------------------------------
class _Items(dict[int, Any]):
    """An array being built from ``array.N`` columns."""


def _lookup(kind: str, parts: Sequence[str]) -> Member | None:
    """The member a flattened column names: an array index matches "#", any key a free map's
    "*"."""
    index = _member_index(kind)
    candidates: list[tuple[str, ...]] = [()]
    for part in parts:
        nxt = []
        for c in candidates:
            nxt.append((*c, part))
            if part.isdigit():
                nxt.append((*c, "#"))
            nxt.append((*c, "*"))
        candidates = nxt
    for c in candidates:
        if c in index:
            return index[c]
    return None


def column_known(kind: str, column: str) -> bool:
    """Whether ``column`` names a member of ``kind`` (or is ``@validFrom``)."""
    return column == VALID_FROM_COLUMN or _lookup(kind, column.split(".")) is not None


def _coerce(member: Member, value: Any, typed: bool) -> tuple[Any, str | None]:
    """A cell's value as the member's type; (value, None) or (None, problem)."""
    if typed or not isinstance(value, str):
        return value, None
    text = value.strip()
    if member.type == "integer":
        if not _INTEGER.fullmatch(text):
            return None, f"expected an integer, got {value!r} ({member.description or 'integer'})"
        return int(text), None
    if member.type == "boolean":
        if text.lower() not in ("true", "false"):
            return None, f"expected true or false, got {value!r}"
        return text.lower() == "true", None
    if member.type == "number":
        try:
            return float(text), None
        except ValueError:
            return None, f"expected a number, got {value!r}"
    return text, None


def unflatten(
    kind: str, cells: Mapping[str, Any], *, typed: bool = False
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A subject from flattened ``cells`` (column -> value); (subject, [(column, problem)]).

    Empty cells (``None``, ``""``) are absent members. With ``typed`` the values are kept as
    they are (JSON Lines); else text is read as the member's schema type (CSV, XLSX).
    Columns naming no member are problems, as are array items numbered with gaps.
    """
    problems: list[tuple[str, str]] = []
    subject: dict[str, Any] = {}
    for column, value in cells.items():
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        parts = column.split(".")
        member = _lookup(kind, parts)
        if member is None:
            problems.append((column, f"no such member of {kind}"))
            continue
        coerced, problem = _coerce(member, value, typed)
        if problem is not None:
            problems.append((column, problem))
            continue
        node: dict[Any, Any] = subject
        for depth, part in enumerate(parts[:-1]):
            is_array = member.segments[depth + 1] == "#" if depth + 1 < len(parts) else False
            key: Any = int(part) if isinstance(node, _Items) else part
            if key not in node:
                node[key] = _Items() if is_array else {}
            node = node[key]
        last: Any = int(parts[-1]) if isinstance(node, _Items) else parts[-1]
        node[last] = coerced
    return _finish(subject, "", problems), problems


def flatten(value: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """A nested JSON object as flattened (column, value) pairs (arrays as ``name.N``)."""
    for key, item in value.items():
        column = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            yield from flatten(item, f"{column}.")
        elif isinstance(item, list) and item:
            yield from flatten({str(i): v for i, v in enumerate(item)}, f"{column}.")
        else:
            yield column, item


def _finish(node: Any, column: str, problems: list[tuple[str, str]]) -> Any:
    if isinstance(node, _Items):
        indices = sorted(node)
        if indices != list(range(len(indices))):
            problems.append((column, f"items numbered {indices}: number them 0, 1, 2, … in order"))
        return [_finish(node[i], f"{column}.{i}", problems) for i in indices]
    if isinstance(node, dict):
        return {
            k: _finish(v, f"{column}.{k}" if column else str(k), problems) for k, v in node.items()
        }
    return node


def _fill_consts(kind: str, subject: dict[str, Any]) -> None:
    """Fill one-value members left out, where their parent object is present."""
    for m in members(kind):
        if "const" not in m.schema or "#" in m.segments or "*" in m.segments:
            continue
        node: Any = subject
        parents = m.segments[:-1]
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and m.segments[-1] not in node and (parents or m.required):
            node[m.segments[-1]] = m.schema["const"]


def _column_of(pointer: str, message: str) -> str:
    """The flattened column a JSON pointer into the subject names (a missing required member:
    the member's own column)."""
    parts = [p for p in pointer.split("/")[1:] if p]
    if parts and parts[0] == "credentialSubject":
        parts = parts[1:]
    found = re.match(r"'([^']+)' is a required property", message)
    if found:
        parts.append(found.group(1))
    return ".".join(parts) or "(row)"


# -- a whole table ----------------------------------------------------------------------------
@dataclass
class ParsedRow:
    """A row that passed every check, ready to sign."""

    number: int
    """The row's number as the user sees it (a spreadsheet's row, a JSON Lines line)."""
    subject: dict[str, Any]
    valid_from: str | None
    pending: list[tuple[tuple[str | int, ...], str]] = field(default_factory=list)
    """(path to a ``record`` member, lot id) of references to lots earlier rows create."""
    creates: list[str] = field(default_factory=list)
    """The lot ids this row's record creates."""


def _created_lots(kind: str, subject: Mapping[str, Any]) -> list[str]:
    if kind == "Extraction" and isinstance(subject.get("lot"), str):
        return [subject["lot"]]
    if kind == "Transformation":
        outs = subject.get("outputs")
        if isinstance(outs, list):
            return [o["lot"] for o in outs if isinstance(o, dict) and isinstance(o.get("lot"), str)]
    return []


def _lot_refs(
    node: Any, path: tuple[str | int, ...]
) -> Iterable[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every object of a subject holding a ``lot`` id (where a ``record`` may be filled in)."""
    if isinstance(node, dict):
        if isinstance(node.get("lot"), str):
            yield path, node
        for k, v in node.items():
            yield from _lot_refs(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _lot_refs(v, (*path, i))


def _element_sums(node: Any, column: str, problems: list[tuple[str, str]]) -> None:
    """ppm of one ``elements`` map sum to at most 1 000 000 (a unit check the schema cannot do)."""
    if isinstance(node, dict):
        for k, v in node.items():
            col = f"{column}.{k}" if column else str(k)
            if (
                k == "elements"
                and isinstance(v, dict)
                and all(type(x) is int for x in v.values())
                and sum(v.values()) > 1_000_000
            ):
                problems.append((col, f"element contents sum to {sum(v.values())} ppm > 1000000"))
            _element_sums(v, col, problems)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _element_sums(v, f"{column}.{i}", problems)


def parse_rows(
    kind: str,
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    typed: bool,
    lot_record: Callable[[str], str | None],
) -> tuple[list[ParsedRow], list[dict[str, Any]]]:
    """Check every row of a table of ``kind``: (rows ready to sign, problems).

    ``rows`` are (row number, cells); ``lot_record`` gives the hash of the record that created
    a lot in the ledger (None if there is none). Every problem is listed with its row and
    column: unknown columns, cells not of their member's type, lots neither in the ledger nor
    created by an earlier row, the kind's schema after unflattening, element ppm sums and the
    ``@validFrom`` time.
    """
    relpath = f"records/{kind}.schema.json"
    problems: list[dict[str, Any]] = []
    parsed: list[ParsedRow] = []
    created_here: dict[str, int] = {}
    known: dict[str, str | None] = {}

    def problem(row: int, column: str, message: str) -> None:
        problems.append({"row": row, "column": column, "message": message})

    for number, cells in rows:
        cells = dict(cells)
        valid_from = cells.pop(VALID_FROM_COLUMN, None)
        if isinstance(valid_from, str):
            valid_from = valid_from.strip() or None
        if valid_from is not None:
            try:
                parse_ts(str(valid_from))
            except BpassError as exc:
                problem(number, VALID_FROM_COLUMN, exc.message)
        if typed:  # JSON Lines: nested objects and arrays as flattened columns
            cells = dict(flatten(cells))
        subject, cell_problems = unflatten(kind, cells, typed=typed)
        for column, message in cell_problems:
            problem(number, column, message)
        if cell_problems:
            continue
        _fill_consts(kind, subject)
        row = ParsedRow(number, subject, None if valid_from is None else str(valid_from))
        for path, ref in _lot_refs(subject, ()):
            if "record" in ref or not _takes_record(kind, path):
                continue
            lot = ref["lot"]
            column = ".".join(str(p) for p in (*path, "lot"))
            if lot in created_here:
                ref["record"] = PLACEHOLDER_HASH
                row.pending.append(((*path, "record"), lot))
                continue
            if lot not in known:
                known[lot] = lot_record(lot) if _looks_like_lot(lot) else None
            record = known[lot]
            if record is None:
                problem(
                    number,
                    column,
                    f"unknown lot {lot!r}: not in the ledger, not created by an earlier row",
                )
                continue
            ref["record"] = record
        sums: list[tuple[str, str]] = []
        _element_sums(subject, "", sums)
        for column, message in sums:
            problem(number, column, message)
        for err in schema_errors(relpath, subject):
            problem(number, _column_of(err["pointer"], err["message"]), err["message"])
        row.creates = _created_lots(kind, subject)
        for lot in row.creates:
            created_here.setdefault(lot, number)
        parsed.append(row)
    return parsed, problems


_LOT = re.compile(r"urn:lot:[A-Za-z0-9][A-Za-z0-9._~:-]{0,199}")


def _looks_like_lot(lot: str) -> bool:
    return bool(_LOT.fullmatch(lot))


def _takes_record(kind: str, path: tuple[str | int, ...]) -> bool:
    """Whether the object at ``path`` is a lot reference (its schema has ``lot`` and ``record``)."""
    segs = tuple("#" if isinstance(p, int) else p for p in path)
    return (*segs, "record") in _member_index(kind) and _member_index(kind)[
        (*segs, "record")
    ].lot_record
