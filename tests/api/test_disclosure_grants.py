"""``DisclosureGrant`` (issue #21), attacks first: a certifier without a grant is refused a
confidential record's Disclosures (403 ``disclosures_not_entitled``); a live grant of the
record's issuer opens them; a Retraction or the grant's ``validUntil`` closes them again; a grant
by one actor opens nothing of another's; bad grants are refused and write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from passport.document.access import DisclosureFacts, Reader, may_read_disclosures
from passport.errors import (
    DisclosureGrantError,
    DisclosuresNotEntitledError,
    RoleNotAllowedError,
    SchemaViolationError,
)
from passport.service.disclosures import read_disclosures
from passport.timefmt import format_ts
from signing.keys import SigningKey
from tests.helpers.api import assert_problem, bearer, login, make_client
from tests.helpers.assurance import World, grant_subject, sign, world
from tests.helpers.passport import snapshot

__all__ = ["world"]


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with make_client(world.ledger) as c:
        yield c


def read(client: TestClient, record_hash: str, key: SigningKey) -> int:
    headers = bearer(login(client, key.did, key))
    status: int = client.get(f"/records/{record_hash}/disclosures", headers=headers).status_code
    return status


def grant(w: World, issuer: str, **subject: object) -> str:
    body = grant_subject(w.did("certifier"), **subject)
    return w.ledger.append(sign(w, issuer, "DisclosureGrant", body)).record_hash


def test_a_certifier_without_a_grant_is_refused(world: World, client: TestClient) -> None:
    response = client.get(
        f"/records/{world.extraction['miner']}/disclosures",
        headers=bearer(login(client, world.did("certifier"), world.key("certifier"))),
    )
    assert_problem(response, 403, "disclosures_not_entitled")


def test_a_live_grant_opens_the_issuers_records_until_retracted(
    world: World, client: TestClient
) -> None:
    w = world
    mine, rivals = w.extraction["miner"], w.extraction["rival"]
    assert read(client, mine, w.key("certifier")) == 403
    granted = grant(w, "miner")
    assert read(client, mine, w.key("certifier")) == 200
    # the grant opens nothing of another actor's records, nor for another certifier
    assert read(client, rivals, w.key("certifier")) == 403
    assert read(client, mine, w.key("other-certifier")) == 403
    # only the grant's issuer ends it
    with pytest.raises(DisclosureGrantError):
        w.ledger.append(sign(w, "rival", "Retraction", {"record": granted, "reason": "mine"}))
    assert read(client, mine, w.key("certifier")) == 200
    w.ledger.append(sign(w, "miner", "Retraction", {"record": granted, "reason": "audit over"}))
    assert read(client, mine, w.key("certifier")) == 403
    with pytest.raises(DisclosureGrantError):  # once
        w.ledger.append(sign(w, "miner", "Retraction", {"record": granted, "reason": "again"}))


def test_a_grant_ends_at_its_valid_until(world: World) -> None:
    w = world
    until = format_ts(datetime.now(UTC) + timedelta(minutes=10), micro=False)
    grant(w, "miner", validUntil=until)
    record, certifier = w.extraction["miner"], w.did("certifier")
    assert read_disclosures(w.ledger, record, certifier)
    later = format_ts(datetime.now(UTC) + timedelta(minutes=11))
    with pytest.raises(DisclosuresNotEntitledError):
        read_disclosures(w.ledger, record, certifier, at=later)
    earlier = format_ts(datetime.now(UTC) - timedelta(days=1))  # before the grant's validFrom
    with pytest.raises(DisclosuresNotEntitledError):
        read_disclosures(w.ledger, record, certifier, at=earlier)


def test_the_scope_limits_a_grant(world: World) -> None:
    w = world
    record, certifier = w.extraction["miner"], w.did("certifier")
    grant(w, "miner", scope="listed", kinds=["Transfer"])
    with pytest.raises(DisclosuresNotEntitledError):
        read_disclosures(w.ledger, record, certifier)
    grant(w, "miner", scope="listed", records=[record])
    assert read_disclosures(w.ledger, record, certifier)


def test_a_grantee_that_lost_its_assurer_role_reads_no_more() -> None:
    facts = DisclosureFacts("sha256:" + "ab" * 32, "did:key:miner", None, frozenset({"did:key:c"}))
    assert may_read_disclosures(Reader("did:key:c", ("certifier",)), facts)
    assert may_read_disclosures(Reader("did:key:c", ("notified-body",)), facts)
    assert not may_read_disclosures(Reader("did:key:c", ("refiner",)), facts)
    assert not may_read_disclosures(Reader("did:key:d", ("certifier",)), facts)


def test_bad_grants_are_refused_and_write_nothing(world: World) -> None:
    w = world
    past = format_ts(datetime.now(UTC) - timedelta(minutes=1), micro=False)
    cases: list[tuple[str, str, dict[str, object], type[Exception]]] = [
        ("to a recycler", "miner", grant_subject(w.did("recycler")), DisclosureGrantError),
        ("to itself", "miner", grant_subject(w.did("miner")), DisclosureGrantError),
        ("to nobody", "miner", grant_subject("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"), DisclosureGrantError),
        ("another's record", "miner",
         grant_subject(w.did("certifier"), scope="listed", records=[w.extraction["rival"]]),
         DisclosureGrantError),
        ("unknown kind", "miner",
         grant_subject(w.did("certifier"), scope="listed", kinds=["Extractionn"]),
         DisclosureGrantError),
        ("already over", "miner", grant_subject(w.did("certifier"), validUntil=past), DisclosureGrantError),
        ("all yet listing", "miner", grant_subject(w.did("certifier"), kinds=["Transfer"]),
         DisclosureGrantError),
        ("listing nothing", "miner", grant_subject(w.did("certifier"), scope="listed"),
         SchemaViolationError),
        ("by a certifier", "other-certifier", grant_subject(w.did("certifier")), RoleNotAllowedError),
    ]  # fmt: skip
    for name, issuer, subject, error in cases:
        before = snapshot(w.ledger)
        with pytest.raises(error) as caught:
            w.ledger.append(sign(w, issuer, "DisclosureGrant", subject))
        assert type(caught.value) is error, (name, caught.value)
        assert snapshot(w.ledger) == before, name
    with w.ledger.repo.read() as tx:
        assert tx.passports().disclosure_grants(w.did("miner"), w.did("certifier")) == []


def test_assurance_and_grants_are_written_through_post_records(
    world: World, client: TestClient
) -> None:
    from tests.helpers.api import post_record
    from tests.helpers.assurance import assurance_subject

    w = world
    by_supplier = post_record(client, sign(w, "miner", "Assurance", assurance_subject(w)))
    assert_problem(by_supplier, 403, "role_forbidden")
    bad_figure = assurance_subject(w, holds=["/point1/carbonFootprint/perKg"])
    assert_problem(
        post_record(client, sign(w, "certifier", "Assurance", bad_figure)),
        422,
        "assurance_figure_invalid",
    )
    ok = post_record(client, sign(w, "certifier", "Assurance", assurance_subject(w)))
    assert ok.status_code == 201, ok.text
    granted = post_record(
        client, sign(w, "miner", "DisclosureGrant", grant_subject(w.did("certifier")))
    )
    assert granted.status_code == 201, granted.text
    assert read(client, w.extraction["miner"], w.key("certifier")) == 200


def test_migration_0009_adds_and_drops_the_grant_table(world: World) -> None:
    from alembic import command
    from sqlalchemy import inspect

    repo = world.ledger.repo
    assert "disclosure_grants" in inspect(repo.engine).get_table_names()
    with repo.engine.connect() as conn, conn.begin():
        command.downgrade(repo._alembic(conn), "0008")
    assert "disclosure_grants" not in inspect(repo.engine).get_table_names()
    repo.migrate()
    repo.check_schema()
    grant(world, "miner")
    assert read_disclosures(world.ledger, world.extraction["miner"], world.did("certifier"))


def test_grant_covers_is_the_issuers_scope_in_its_period() -> None:
    from passport.document.disclosure_grants import grant_covers
    from passport.store.passport_rows import DisclosureGrantRow

    h, other = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32
    base = DisclosureGrantRow(
        record_hash="sha256:" + "ee" * 32,
        issuer="did:key:miner",
        grantee="did:key:c",
        scope="all",
        kinds=None,
        records=None,
        valid_from="2026-01-01T00:00:00Z",
        valid_until="2026-02-01T00:00:00Z",
    )
    inside, after = "2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z"
    assert grant_covers(base, h, "Extraction", "did:key:miner", inside)
    assert not grant_covers(base, h, "Extraction", "did:key:rival", inside)  # another's record
    assert not grant_covers(base, h, "Extraction", "did:key:miner", after)  # validUntil exclusive
    assert not grant_covers(base, h, "Extraction", "did:key:miner", "2025-12-31T23:59:59Z")
    ended = DisclosureGrantRow(**{**base.__dict__, "ended_at": "2026-01-10T00:00:00Z"})
    assert not grant_covers(ended, h, "Extraction", "did:key:miner", inside)
    kinds = DisclosureGrantRow(**{**base.__dict__, "scope": "listed", "kinds": ("Transfer",)})
    assert not grant_covers(kinds, h, "Extraction", "did:key:miner", inside)
    assert grant_covers(kinds, h, "Transfer", "did:key:miner", inside)
    listed = DisclosureGrantRow(**{**base.__dict__, "scope": "listed", "records": (h,)})
    assert grant_covers(listed, h, "Extraction", "did:key:miner", inside)
    assert not grant_covers(listed, other, "Extraction", "did:key:miner", inside)
