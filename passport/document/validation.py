"""Validation of a passport document: the JSON schema plus the rules a schema cannot express.

Everything is reported at once, each problem with the JSON pointer (RFC 6901) of the field it is
about and a plain message: schema errors (translated from the validator's wording) and semantic
rules:

- carbon footprint: the four life-cycle stages add up to the total, per kWh and absolute; each
  per-kWh figure is the absolute one divided by the service-life energy (to its rounding);
- recycled content: pre- plus post-consumer share at most 100 % per element;
- shares that partition a whole add up to 100 % (origins by country plus unknown; natural,
  synthetic, recycled and unknown graphite);
- no negative amounts (the schema's non-negative decimal pattern, worded plainly: "must not be
  negative"; counts are integers with a minimum of 0);
- dates are real and in order (manufacture ≤ issue ≤ last update, cessation after issue; test
  reports before issue; measurements and events after manufacture and not after the last update);
- voltages minimum ≤ nominal ≤ maximum, idle temperature range ordered;
- GTIN-14 and CAS check digits; the battery identifier is the Digital Link of the GTIN and serial;
- industrial and stationary batteries are in scope only above 2 kWh (Art. 77(1));
- mercury, cadmium and lead are not listed as "other" hazardous substances (Annex VI Part A);
  their declared content respects Annex I's mercury limit, and a battery above the Art. 13(4)
  cadmium or lead threshold carries the Cd or Pb label;
- status and links agree (a recycled battery's passport has ceased; only second-life passports
  have predecessors);
- optionally, the figures equal the ledger's roll-ups (``expected``: pointer → value).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs

import schemas
from passport.document.ids import parse_digital_link, valid_cas, valid_gtin14
from passport.document.regulation import (
    INDUSTRIAL_MIN_KWH,
    MARKING_THRESHOLD_PERCENT,
    MERCURY_LIMIT_PERCENT,
    PER_KWH_QUANTUM,
)
from passport.errors import PassportInvalidError
from passport.records import schema_gate
from signing.errors import CanonicalizationError
from signing.jcs import canonicalize

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_PATH = "battery-passport.schema.json"
STAGES = ("rawMaterialAcquisition", "mainProduction", "distribution", "endOfLifeAndRecycling")
_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_HG_CD_PB = {"7439-97-6": "mercury", "7440-43-9": "cadmium", "7439-92-1": "lead"}
_SECOND_LIFE = ("repurposed", "re-used", "remanufactured")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a passport: where (JSON pointer) and what (plain words)."""

    pointer: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """``{"pointer": …, "message": …}``."""
        return {"pointer": self.pointer, "message": self.message}


def pointer(*parts: str | int) -> str:
    """An RFC 6901 JSON pointer from path parts (``""`` is the whole document)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def schema() -> dict[str, Any]:
    """The passport JSON schema (draft 2020-12)."""
    return schemas.load(SCHEMA_PATH)


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """``node`` with every local ``$ref`` replaced by the definition it names (merged with the
    reference's sibling annotations). The passport schema is not recursive, and the validator
    runs about twice as fast without reference resolution."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[str(node["$ref"]).removeprefix("#/$defs/")]
            rest = {k: _inline(v, defs) for k, v in node.items() if k != "$ref"}
            return {**_inline(target, defs), **rest}
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


@cache
def _validator() -> Draft202012Validator:
    # The reference validator only explains an invalid passport: imported when one comes.
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(_inline(schema(), schema()["$defs"]))


# -- schema errors in plain words ---------------------------------------------------------------
def _category_clause(err: ValidationError) -> str:
    path = list(err.schema_path)
    if "then" not in path or len(path) < 2 or path[0] != "allOf":
        return ""
    rule = schema()["allOf"][int(path[1])]
    who = str(rule.get("description", "")).split(":", 1)[0]
    return f" for {who[0].lower() + who[1:]}" if who else " for this battery category"


def _explain(err: ValidationError) -> Iterator[Problem]:
    where = pointer(*err.absolute_path)
    kind = err.validator
    value: Any = err.validator_value
    sub: Mapping[str, Any] = err.schema if isinstance(err.schema, Mapping) else {}
    got: Any = err.instance
    if kind == "required":
        match = _REQUIRED.match(err.message)
        name = match.group(1) if match else "?"
        yield Problem(where + pointer(name), "is required but missing" + _category_clause(err))
    elif kind == "additionalProperties":
        known = set(sub.get("properties", {}))
        for extra in sorted(k for k in got if k not in known):
            yield Problem(where + pointer(extra), "is not a field of the passport schema")
    elif kind in ("pattern", "format"):
        hint = sub.get("x-hint", f"in the form {value!r}")
        if isinstance(got, str) and got.startswith("-") and "non-negative" in hint:
            yield Problem(where, f"must not be negative; got {got!r}")
        else:
            yield Problem(where, f"must be {hint}; got {got!r}")
    elif kind == "type":
        yield Problem(where, f"must be of type {value}; got {type(got).__name__} {got!r}")
    elif kind == "enum":
        yield Problem(where, f"must be one of {', '.join(map(repr, value))}; got {got!r}")
    elif kind == "const":
        yield Problem(where, f"must be {value!r}; got {got!r}")
    elif kind == "minimum":
        yield Problem(where, f"must be at least {value}; got {got!r}")
    elif kind == "maximum":
        yield Problem(where, f"must be at most {value}; got {got!r}")
    elif kind == "minItems":
        yield Problem(where, f"needs at least {value} entr{'y' if value == 1 else 'ies'}")
    elif kind == "minLength":
        yield Problem(where, "must not be empty")
    elif kind == "maxLength":
        yield Problem(where, f"is longer than {value} characters")
    elif kind == "minProperties":
        yield Problem(where, "must name at least one entry")
    elif kind == "contains":
        wanted = value.get("properties", {}).get("component", {}).get("const")
        what = f"an entry for the {wanted}" if wanted else "a matching entry"
        yield Problem(where, f"must include {what}")
    else:
        yield Problem(where, err.message)


@cache
def _compiled() -> jsonschema_rs.Draft202012Validator:
    return schema_gate.compile_schema(schema())


def schema_problems(document: Any) -> list[Problem]:
    """Every schema error of ``document``, in plain words.

    The compiled check decides a valid passport alone; an invalid one is explained by the
    reference validator (see :mod:`passport.records.schema_gate`).
    """

    def reference() -> list[dict[str, str]]:
        out: list[Problem] = []
        for err in _validator().iter_errors(document):
            out.extend(_explain(err))
        return [p.to_dict() for p in out]

    found = schema_gate.errors_or_none(_compiled(), document, reference)
    return [Problem(p["pointer"], p["message"]) for p in found]


# -- semantic rules -----------------------------------------------------------------------------
Add = Callable[[str, str], None]


def _at(doc: Any, *path: str | int) -> Any:
    node = doc
    for part in path:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _dec(value: Any) -> Decimal | None:
    return Decimal(value) if isinstance(value, str) and _DECIMAL.match(value) else None


def _items(doc: Any, *path: str) -> list[tuple[int, dict[str, Any]]]:
    seq = _at(doc, *path)
    if not isinstance(seq, list):
        return []
    return [(i, item) for i, item in enumerate(seq) if isinstance(item, dict)]


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        if "T" in value:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).date()
        return date.fromisoformat(value)
    except ValueError:
        return None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _fmt(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _carbon(doc: Any, add: Add) -> None:
    cf = _at(doc, "point1", "carbonFootprint")
    if not isinstance(cf, dict):
        return
    for group in ("perKWh", "absoluteKg"):
        stages = [_dec(_at(cf, group, s)) for s in STAGES]
        total = _dec(_at(cf, group, "total"))
        if total is not None and all(v is not None for v in stages):
            added = sum((v for v in stages if v is not None), Decimal(0))
            if added != total:
                add(
                    pointer("point1", "carbonFootprint", group, "total"),
                    f"the four life-cycle stages add up to {_fmt(added)}, "
                    f"but the total says {_fmt(total)}",
                )
    energy = _dec(cf.get("serviceLifeEnergyKWh"))
    if energy is None:
        return
    if energy == 0:
        add(
            pointer("point1", "carbonFootprint", "serviceLifeEnergyKWh"),
            "must be greater than zero",
        )
        return
    for stage in STAGES:
        per = _dec(_at(cf, "perKWh", stage))
        absolute = _dec(_at(cf, "absoluteKg", stage))
        if per is None or absolute is None:
            continue
        exact = absolute / energy
        if abs(per - exact) > PER_KWH_QUANTUM / 2:
            add(
                pointer("point1", "carbonFootprint", "perKWh", stage),
                f"is {_fmt(per)} kg CO2e/kWh, but {_fmt(absolute)} kg CO2e over "
                f"{_fmt(energy)} kWh of service-life energy is "
                f"{_fmt(exact.quantize(PER_KWH_QUANTUM))}",
            )


def _shares(doc: Any, add: Add) -> None:
    recycled = _at(doc, "point1", "recycledContent")
    if isinstance(recycled, dict):
        for element, entry in recycled.items():
            pre = _dec(_at(entry, "preConsumerPercent"))
            post = _dec(_at(entry, "postConsumerPercent"))
            if pre is not None and post is not None and pre + post > 100:
                add(
                    pointer("point1", "recycledContent", element),
                    f"pre-consumer {_fmt(pre)} % plus post-consumer {_fmt(post)} % exceeds 100 %",
                )
    graphite = _at(doc, "point1", "responsibleSourcing", "graphite")
    kinds = ("naturalPercent", "syntheticPercent", "recycledPercent", "unknownPercent")
    graphite_shares = [_dec(_at(graphite, k)) for k in kinds]
    if isinstance(graphite, dict) and all(v is not None for v in graphite_shares):
        added = sum((v for v in graphite_shares if v is not None), Decimal(0))
        if added != 100:
            add(
                pointer("point1", "responsibleSourcing", "graphite"),
                "natural, synthetic, recycled and unknown graphite add up to "
                f"{_fmt(added)} %, not 100 %",
            )
    materials = _at(doc, "point1", "responsibleSourcing", "materials")
    if isinstance(materials, dict):
        for element, entry in materials.items():
            base = ("point1", "responsibleSourcing", "materials", element)
            shares = [_dec(_at(o, "sharePercent")) for _, o in _items(entry, "originByCountry")]
            unknown = _dec(_at(entry, "unknownOriginPercent"))
            if unknown is not None and all(s is not None for s in shares):
                added = sum((s for s in shares if s is not None), Decimal(0)) + unknown
                if added != 100:
                    add(
                        pointer(*base),
                        "origin shares by country plus the unknown share add up to "
                        f"{_fmt(added)} %, not 100 %",
                    )
            countries = [o.get("country") for _, o in _items(entry, "originByCountry")]
            if len(countries) != len(set(countries)):
                add(pointer(*base, "originByCountry"), "lists a country more than once")


def _dates(doc: Any, add: Add) -> None:
    def real(ptr: tuple[str | int, ...]) -> date | None:
        raw = _at(doc, *ptr)
        if raw is None:
            return None
        day = _day(raw)
        if day is None and isinstance(raw, str) and re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            add(pointer(*ptr), f"{raw!r} is not a real calendar date or time")
        return day

    made = real(("point1", "manufacturing", "date"))
    issued_ptr = ("issuedAt",)
    issued = _moment(_at(doc, *issued_ptr))
    real(issued_ptr)
    updated = _moment(_at(doc, "lastUpdated"))
    real(("lastUpdated",))
    ceased = _moment(_at(doc, "ceasedAt"))
    real(("ceasedAt",))
    if made is not None and issued is not None and issued.date() < made:
        add(pointer("issuedAt"), f"the passport is issued before the battery was made ({made})")
    if issued is not None and updated is not None and updated < issued:
        add(pointer("lastUpdated"), "is earlier than issuedAt")
    if ceased is not None and issued is not None and ceased < issued:
        add(pointer("ceasedAt"), "is earlier than issuedAt")
    for i, _report in _items(doc, "point3", "testReports"):
        when = real(("point3", "testReports", i, "date"))
        if when is not None and issued is not None and when > issued.date():
            add(pointer("point3", "testReports", i, "date"), "lies after the passport was issued")
    later_than_made: list[tuple[str | int, ...]] = [
        ("point4", "puttingIntoService"),
        ("point4", "stateOfHealth", "measuredAt"),
        ("point4", "usage", "recordedAt"),
    ]
    later_than_made += [
        ("point4", "usage", "negativeEvents", i, "occurredAt")
        for i, _ in _items(doc, "point4", "usage", "negativeEvents")
    ]
    for ptr in later_than_made:
        when_day = real(ptr)
        if when_day is not None and made is not None and when_day < made:
            add(pointer(*ptr), f"lies before the battery was made ({made})")
        moment = _moment(_at(doc, *ptr))
        if moment is not None and updated is not None and moment > updated:
            add(pointer(*ptr), "lies after the passport's last update")


def _ordering(doc: Any, add: Add) -> None:
    volts = _at(doc, "point1", "performance", "voltage")
    lo, nom, hi = (_dec(_at(volts, k)) for k in ("minimumV", "nominalV", "maximumV"))
    base = ("point1", "performance", "voltage")
    if lo is not None and nom is not None and lo > nom:
        add(
            pointer(*base, "minimumV"),
            f"minimum voltage {_fmt(lo)} V exceeds nominal {_fmt(nom)} V",
        )
    if nom is not None and hi is not None and nom > hi:
        add(
            pointer(*base, "maximumV"),
            f"maximum voltage {_fmt(hi)} V is below nominal {_fmt(nom)} V",
        )
    temps = _at(doc, "point1", "performance", "temperatureRangeIdle")
    tmin, tmax = _dec(_at(temps, "minimumC")), _dec(_at(temps, "maximumC"))
    if tmin is not None and tmax is not None and tmin > tmax:
        add(
            pointer("point1", "performance", "temperatureRangeIdle"),
            f"minimum {_fmt(tmin)} °C exceeds maximum {_fmt(tmax)} °C",
        )
    mass = _dec(_at(doc, "point1", "massKg"))
    parts = [
        _dec(_at(m, "massKg"))
        for _, comp in _items(doc, "point2", "composition")
        for _, m in _items(comp, "materials")
    ]
    if mass is not None and mass >= 0 and parts and all(p is not None for p in parts):
        listed = sum((p for p in parts if p is not None), Decimal(0))
        if listed > mass:
            add(
                pointer("point2", "composition"),
                f"materials listed weigh {_fmt(listed)} kg, "
                f"more than the battery's {_fmt(mass)} kg",
            )


def _identifiers(doc: Any, add: Add) -> None:
    gtin = _at(doc, "point1", "identification", "gtin")
    if isinstance(gtin, str) and len(gtin) == 14 and gtin.isdigit() and not valid_gtin14(gtin):
        add(pointer("point1", "identification", "gtin"), "has a wrong GS1 check digit")
    serial = _at(doc, "point1", "identification", "serialNumber")
    link = _at(doc, "batteryId")
    if isinstance(link, str):
        parsed = parse_digital_link(link)
        if parsed is not None and not valid_gtin14(parsed[0]):
            add(pointer("batteryId"), "its GTIN has a wrong GS1 check digit")
        same = (gtin, serial) == parsed
        if parsed is not None and isinstance(gtin, str) and isinstance(serial, str) and not same:
            add(
                pointer("batteryId"),
                f"names GTIN {parsed[0]} serial {parsed[1]}, but the passport's identification "
                f"says GTIN {gtin} serial {serial}",
            )

    def cas_at(ptr: tuple[str | int, ...]) -> None:
        cas = _at(doc, *ptr)
        if (
            isinstance(cas, str)
            and re.fullmatch(r"[0-9]{2,7}-[0-9]{2}-[0-9]", cas)
            and not valid_cas(cas)
        ):
            add(pointer(*ptr), f"CAS number {cas} has a wrong check digit")

    for i, sub in _items(doc, "point1", "hazardousSubstances"):
        cas_at(("point1", "hazardousSubstances", i, "casNumber"))
        element = _HG_CD_PB.get(str(sub.get("casNumber")))
        if element:
            add(
                pointer("point1", "hazardousSubstances", i),
                f"{element} is declared through its own label and point1.heavyMetals, "
                "not among the other hazardous substances",
            )
    for i, _crm in _items(doc, "point1", "criticalRawMaterials"):
        cas_at(("point1", "criticalRawMaterials", i, "casNumber"))
    for i, comp in _items(doc, "point2", "composition"):
        for j, _m in _items(comp, "materials"):
            cas_at(("point2", "composition", i, "materials", j, "casNumber"))


def _heavy_metals(doc: Any, add: Add) -> None:
    mercury = _dec(_at(doc, "point1", "heavyMetals", "mercuryPercent"))
    if mercury is not None and mercury > MERCURY_LIMIT_PERCENT:
        add(
            pointer("point1", "heavyMetals", "mercuryPercent"),
            f"{_fmt(mercury)} % mercury exceeds Annex I's limit of {MERCURY_LIMIT_PERCENT} % "
            "(Art. 6): the battery may not be placed on the market",
        )
    labels = {str(label.get("subject")) for _, label in _items(doc, "point1", "labels")}
    for metal, threshold in MARKING_THRESHOLD_PERCENT.items():
        content = _dec(_at(doc, "point1", "heavyMetals", f"{metal}Percent"))
        if content is not None and content > threshold and metal not in labels:
            add(
                pointer("point1", "heavyMetals", f"{metal}Percent"),
                f"{_fmt(content)} % {metal} is above the Art. 13(4) threshold of {threshold} %: "
                f"the battery must carry the {metal} label (point1.labels)",
            )


def _scope(doc: Any, add: Add) -> None:
    category = _at(doc, "point1", "category")
    energy = _dec(_at(doc, "point1", "performance", "ratedEnergyKWh"))
    if (
        category in ("industrial", "stationary")
        and energy is not None
        and energy <= INDUSTRIAL_MIN_KWH
    ):
        add(
            pointer("point1", "performance", "ratedEnergyKWh"),
            f"an {category} battery needs a passport only above {INDUSTRIAL_MIN_KWH} kWh "
            f"(Art. 77(1)); this one is rated {_fmt(energy)} kWh",
        )
    rated = _dec(_at(doc, "point1", "performance", "ratedCapacityAh"))
    remaining = _dec(_at(doc, "point4", "stateOfHealth", "remainingCapacityAh"))
    if rated is not None and remaining is not None and remaining > rated * Decimal("1.2"):
        add(
            pointer("point4", "stateOfHealth", "remainingCapacityAh"),
            f"{_fmt(remaining)} Ah is far above the rated {_fmt(rated)} Ah",
        )


def _status(doc: Any, add: Add) -> None:
    status = _at(doc, "status")
    if status == "recycled" and _at(doc, "ceasedAt") is None:
        add(pointer("ceasedAt"), "a recycled battery's passport has ceased and needs ceasedAt")
    if status != "recycled" and _at(doc, "ceasedAt") is not None:
        add(pointer("ceasedAt"), "only the passport of a recycled battery has ceased")
    if _at(doc, "predecessor") is not None and status == "original":
        add(pointer("predecessor"), "an original battery's passport has no predecessor")
    if _at(doc, "successor") is not None and status not in _SECOND_LIFE:
        add(
            pointer("successor"),
            "only a repurposed, re-used or remanufactured battery has a successor passport, "
            f"not a {status} one",
        )
    if _at(doc, "predecessor") is not None and _at(doc, "predecessor") == _at(doc, "passportId"):
        add(pointer("predecessor"), "a passport cannot be its own predecessor")


def _compare(doc: Any, path: tuple[str | int, ...], expected: Any, add: Add) -> None:
    actual = _at(doc, *path)
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            _compare(doc, (*path, key), expected.get(key), add)
        return
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, item in enumerate(expected):
            _compare(doc, (*path, i), item, add)
        return
    a, e = _dec(actual), _dec(expected)
    same = (a == e) if a is not None and e is not None else actual == expected
    if not same:
        if actual is None:
            add(pointer(*path), f"is missing, but the ledger's roll-up gives {expected!r}")
        elif expected is None:
            add(pointer(*path), f"is {actual!r}, but the ledger's roll-up has no such figure")
        else:
            add(pointer(*path), f"is {actual!r}, but the ledger's roll-up gives {expected!r}")


def _split(ptr: str) -> tuple[str, ...]:
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:])


def semantic_problems(document: Any, expected: Mapping[str, Any] | None = None) -> list[Problem]:
    """Problems the schema cannot see; ``expected`` maps pointers to the roll-ups' figures."""
    found: list[Problem] = []

    def add(where: str, message: str) -> None:
        found.append(Problem(where, message))

    if not isinstance(document, dict):
        return found
    for rule in (
        _carbon,
        _shares,
        _dates,
        _ordering,
        _identifiers,
        _heavy_metals,
        _scope,
        _status,
    ):
        rule(document, add)
    for ptr, value in (expected or {}).items():
        _compare(document, _split(ptr), value, add)
    return found


_MEMO: OrderedDict[bytes, tuple[Problem, ...]] = OrderedDict()
_MEMO_SIZE = 64
_MEMO_LOCK = threading.Lock()


def _validate_uncached(document: Any) -> tuple[Problem, ...]:
    problems = set(schema_problems(document)) | set(semantic_problems(document))
    return tuple(sorted(problems))


def _validate_document(document: Any) -> tuple[Problem, ...]:
    """Schema and semantic problems, memoised by the document's canonical bytes: validation is a
    pure function of the content, and issuing validates the same passport twice (before signing,
    and again inside the append transaction from the record and its partitions)."""
    try:
        key = hashlib.sha256(canonicalize(document)).digest()
    except CanonicalizationError:
        return _validate_uncached(document)
    with _MEMO_LOCK:
        found = _MEMO.get(key)
        if found is not None:
            _MEMO.move_to_end(key)
            return found
    found = _validate_uncached(document)
    with _MEMO_LOCK:
        _MEMO[key] = found
        if len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return found


def validate(
    document: Any, expected: Mapping[str, Any] | None = None, *, memo: bool = True
) -> list[Problem]:
    """Every problem of ``document``: schema errors and semantic rules, sorted, no duplicates;
    with ``expected``, also every figure that differs from the ledger's roll-ups. ``memo=False``
    validates afresh (benchmarks)."""
    problems = set(_validate_document(document) if memo else _validate_uncached(document))
    if expected and isinstance(document, dict):
        found: list[Problem] = []
        for ptr, value in expected.items():
            _compare(document, _split(ptr), value, lambda w, m: found.append(Problem(w, m)))
        problems |= set(found)
    return sorted(problems)


def ensure_valid(
    document: Any,
    expected: Mapping[str, Any] | None = None,
    *,
    headline: str = "the passport is invalid",
) -> None:
    """Raise :class:`PassportInvalidError` listing every problem, if there is any."""
    problems = validate(document, expected)
    if problems:
        raise PassportInvalidError([p.to_dict() for p in problems], headline)
