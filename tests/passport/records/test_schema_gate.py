"""The compiled schema check (jsonschema_rs) in front of the reference validator (jsonschema).

The one property the append pipeline relies on: the compiled check never accepts a document the
reference validator rejects. It is tested on real records of every kind from the sample chain
and on the sample passports, each mutated by hypothesis (members deleted, added or retyped,
strings given a final newline, control or non-ASCII characters, numbers out of range).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.document import validation as passport_validation
from passport.ledger.pipeline import Ledger
from passport.records import schema_gate
from passport.records.envelope import _validator, schema_errors
from passport.store.sql.repository import Repository
from samples.generate import build_sample_ledger
from signing.keys import SigningKey
from tests.helpers.sample_passports import CATEGORIES, sample_document

_OPERATOR = SigningKey.from_seed(b"\x31" * 32)
_LOG = SigningKey.from_seed(b"\x32" * 32)


@pytest.fixture(scope="module")
def sample_records(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """One signed record of every kind the sample chain holds (passports included)."""
    path: Path = tmp_path_factory.mktemp("gate") / "ledger.sqlite"
    led = Ledger(Repository(f"sqlite:///{path}"), log_key=_LOG, workers=1)
    led.initialise(_OPERATOR, "gate.test/log", "Gate operator")
    # Plain records: the kind schemas judge a record's revealed subject, which a confidential
    # record's stored (redacted) form is not.
    build_sample_ledger(led, packs=1, operator_key=_OPERATOR, confidential=False)
    by_kind: dict[str, dict[str, Any]] = {}
    with led.repo.read() as tx:
        for row in tx.records_range(0, 10_000):
            by_kind.setdefault(row.kind, json.loads(row.body))
    led.close()
    assert len(by_kind) >= 9, sorted(by_kind)
    return [by_kind[k] for k in sorted(by_kind)]


_ODD_TEXT = st.sampled_from(
    ["", "x\n", "\x1c", "\u00a0", "é", "did:key:z6Mk\n", "sha256:" + "0" * 64 + "\n", "2025-01-01"]
)
_REPLACEMENTS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    _ODD_TEXT,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "id"]), st.integers(), max_size=2),
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*here, index))


@st.composite
def _mutations(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "append_newline", "add_member"]))
        leaf = path[-1]
        if action == "delete" and isinstance(parent, dict):
            del parent[leaf]
        elif action == "append_newline" and isinstance(parent[leaf], str):
            parent[leaf] += draw(st.sampled_from(["\n", "\x1c", " ", "\u2028"]))
        elif action == "add_member" and isinstance(parent[leaf], dict):
            parent[leaf][draw(st.sampled_from(["extra", "id", "grams"]))] = draw(_REPLACEMENTS)
        else:
            parent[leaf] = draw(_REPLACEMENTS)
    return doc


def _reference_accepts(relpath: str, instance: Any) -> bool:
    return not any(True for _ in _validator(relpath).iter_errors(instance))


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_compiled_check_never_accepts_what_the_reference_rejects(
    sample_records: list[dict[str, Any]], data: st.DataObject
) -> None:
    record = data.draw(st.sampled_from(sample_records))
    kind = record["type"][1]
    mutated = data.draw(_mutations(record))
    envelope = "records/envelope.schema.json"
    if schema_gate.compiled(envelope).is_valid(mutated):
        assert _reference_accepts(envelope, mutated)
    subject = mutated.get("credentialSubject")
    if schema_gate.compiled(f"records/{kind}.schema.json").is_valid(subject):
        assert _reference_accepts(f"records/{kind}.schema.json", subject)


def test_sample_records_are_valid_in_both(sample_records: list[dict[str, Any]]) -> None:
    for record in sample_records:
        kind = record["type"][1]
        assert schema_gate.compiled("records/envelope.schema.json").is_valid(record)
        assert _reference_accepts("records/envelope.schema.json", record)
        assert schema_errors(f"records/{kind}.schema.json", record["credentialSubject"]) == []


def test_stricter_compiled_check_still_names_the_problem() -> None:
    # ECMA-262 "$" does not match before a final newline; Python's re does, so the reference
    # validator accepts this hash and only the compiled check rejects it.
    instance = {"sequence": 2, "previous": "sha256:" + "0" * 64 + "\n"}
    chain_schema = "records/envelope.schema.json"
    bad = {"chain": instance}
    assert not schema_gate.compiled(chain_schema).is_valid(bad)
    problems = schema_errors(chain_schema, bad)
    assert any(p["pointer"] == "/chain/previous" for p in problems), problems


def test_reference_messages_are_kept_for_invalid_input() -> None:
    problems = schema_errors("records/envelope.schema.json", {"type": "x"})
    assert {"pointer": "/", "message": "'issuer' is a required property"} in problems
    assert {"pointer": "/type", "message": "'x' is not of type 'array'"} in problems


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_passport_compiled_check_never_accepts_what_the_reference_rejects(
    data: st.DataObject,
) -> None:
    document = sample_document(data.draw(st.sampled_from(CATEGORIES)))
    mutated = data.draw(_mutations(document))
    if passport_validation._compiled().is_valid(mutated):
        assert not any(True for _ in passport_validation._validator().iter_errors(mutated))
    # Whatever the engines say, schema_problems() is empty exactly when both accept.
    both_accept = passport_validation._compiled().is_valid(mutated) and not any(
        True for _ in passport_validation._validator().iter_errors(mutated)
    )
    assert (passport_validation.schema_problems(mutated) == []) == both_accept
