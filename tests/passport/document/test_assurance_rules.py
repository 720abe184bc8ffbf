"""The ``Assurance`` kind's append rules (issue #21), attacks first: each bad statement is
refused with its typed error and nothing is written; a valid one becomes a passport event."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from passport.document.assurance import ASSURABLE_FIGURES, figure_problem
from passport.document.body import LEDGER_FIGURES
from passport.errors import (
    AssuranceCheckpointError,
    AssuranceError,
    AssuranceFigureError,
    AssuranceVersionError,
    PassportNotFoundError,
    RoleNotAllowedError,
    SchemaViolationError,
)
from passport.store.sql.repository import ACTORS
from signing.errors import BpassError
from tests.helpers.assurance import World, assurance_subject, sign, world
from tests.helpers.passport import snapshot

__all__ = ["world"]

Case = tuple[str, dict[str, object], type[BpassError]]


def _refused(w: World, who: str, subject: dict[str, object], error: type[BpassError]) -> None:
    before = snapshot(w.ledger)
    with pytest.raises(error) as caught:
        w.ledger.append(sign(w, who, "Assurance", subject))
    assert type(caught.value) is error, caught.value
    assert snapshot(w.ledger) == before


def test_a_supplier_or_the_oem_cannot_assure(world: World) -> None:
    _refused(world, "miner", assurance_subject(world), RoleNotAllowedError)
    _refused(world, "recycler", assurance_subject(world), RoleNotAllowedError)
    _refused(world, "oem", assurance_subject(world), RoleNotAllowedError)


def test_bad_statements_are_refused_with_their_errors(world: World) -> None:
    w = world
    good = assurance_subject(w)
    other_hash = w.extraction["miner"]
    root = good["checkpoint"]["rootHash"]
    size = good["checkpoint"]["size"]
    wrong_root = ("A" if root[0] != "A" else "B") + root[1:]
    due = "/point1/responsibleSourcing/dueDiligence"
    cases: list[Case] = [
        ("unknown passport", {"passportId": "urn:bpass:" + "0" * 32}, PassportNotFoundError),
        ("not its record", {"passport": other_hash}, PassportNotFoundError),
        ("version not of it", {"version": other_hash}, AssuranceVersionError),
        ("root not this log's", {"checkpoint": {"size": size, "rootHash": wrong_root}},
         AssuranceCheckpointError),
        ("size never signed", {"checkpoint": {"size": size + 1000, "rootHash": root}},
         AssuranceCheckpointError),
        ("version after checkpoint", {"checkpoint": {"size": 1, "rootHash": root}},
         AssuranceCheckpointError),
        ("unknown figure", {"holds": ["/point1/carbonFootprint/madeUp"]}, AssuranceFigureError),
        ("not a ledger figure", {"holds": ["/point1/identification"], "fails": None}, AssuranceFigureError),
        ("holds and fails", {"holds": [due], "fails": [{"figure": due, "reason": "x"}]},
         AssuranceFigureError),
        ("fails twice", {"fails": [{"figure": due, "reason": "a"}, {"figure": due, "reason": "b"}]},
         AssuranceFigureError),
        ("no figure at all", {"holds": [], "fails": []}, AssuranceFigureError),
        ("a figure held twice", {"holds": [due, due], "fails": None}, SchemaViolationError),
    ]  # fmt: skip
    for name, changes, error in cases:
        subject = assurance_subject(w, **changes)
        try:
            _refused(w, "certifier", subject, error)
        except AssertionError as exc:  # name the case
            raise AssertionError(f"{name}: {exc}") from exc


def test_the_checkpoint_at_size_one_is_real_but_predates_the_passport(world: World) -> None:
    with world.ledger.repo.read() as tx:
        first = tx.checkpoint(1)
    assert first is not None  # so the refusal above is about the version, not the size
    from passport.ledger import log as translog

    subject = assurance_subject(world, checkpoint={"size": 1, "rootHash": translog.b64(first.root)})
    _refused(world, "certifier", subject, AssuranceCheckpointError)


def test_an_actor_both_oem_and_certifier_cannot_assure_its_own_passport(world: World) -> None:
    w = world
    # No record kind changes an actor's roles: the database change stands in for an OEM that
    # also holds a certifier role. Its statement about its own passport is not independent.
    oem = w.keys["oem"]
    with w.ledger.repo.engine.begin() as conn:
        conn.execute(
            update(ACTORS).where(ACTORS.c.did == oem.did).values(roles=["oem", "certifier"])
        )
    _refused(w, "oem", assurance_subject(w), AssuranceError)


@pytest.mark.parametrize("who", ["certifier", "notified"])
def test_a_certifier_or_notified_body_assures(world: World, who: str) -> None:
    w = world
    receipt = w.ledger.append(sign(w, who, "Assurance", assurance_subject(w)))
    with w.ledger.repo.read() as tx:
        events = tx.passports().events(w.passport_id)
    assert events[-1].record_hash == receipt.record_hash
    assert events[-1].kind == "Assurance"


def test_only_public_ledger_figures_of_point_1_are_assurable() -> None:
    assert ASSURABLE_FIGURES
    assert set(ASSURABLE_FIGURES) < set(LEDGER_FIGURES)
    assert all(f.startswith("/point1/") for f in ASSURABLE_FIGURES)


@given(
    st.lists(st.sampled_from(ASSURABLE_FIGURES), unique=True),
    st.lists(st.sampled_from(ASSURABLE_FIGURES), unique=True),
)
def test_figure_problem_is_none_exactly_for_disjoint_known_figures(
    holds: list[str], fails: list[str]
) -> None:
    problem = figure_problem(holds, fails)
    assert (problem is None) == (bool(holds or fails) and not set(holds) & set(fails))
