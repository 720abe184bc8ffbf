"""Shared fixtures of the passport API tests (no tests here): a small sample ledger (samples/),
its passports and actors, an API client over it, bearer tokens for the sample's readers, and
helpers that sign passport records the way an OEM, repairer or recycler would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passport.document.ids import new_salt
from passport.document.signed_partitions import partition_hash, sign_partition
from passport.ledger.pipeline import Ledger
from passport.service.issue import sign_chain
from passport.service.views import full_document, load_state
from passport.store.passport_rows import PassportState
from passport.store.sql.repository import Repository
from passport.timefmt import format_ts, now
from samples.generate import SampleSummary, build_sample_ledger
from signing.keys import SigningKey
from tests.conftest import _new_db_url
from tests.helpers.api import BASE_URL, bearer, login, make_client, post_record

OPERATOR = SigningKey.from_seed(b"\x01" * 32)
LOG = SigningKey.from_seed(b"\x02" * 32)

READERS = {"legitimate-interest": "saale", "authority": "msa"}
"""Sample actors reading as each restricted access role (a repairer, a market authority)."""


@dataclass
class Sample:
    """A sample ledger, its summary and an API client over it."""

    ledger: Ledger
    summary: SampleSummary
    client: TestClient
    tokens: dict[str, str]

    def key(self, slug: str) -> SigningKey:
        return self.summary.actor(slug).key

    def headers(self, who: str) -> dict[str, str]:
        """Authorization for an access role ('public': none) or a sample actor slug."""
        if who == "public":
            return {}
        if who not in self.tokens:
            slug = READERS.get(who, who)
            key = self.key(slug)
            self.tokens[who] = login(self.client, key.did, key)
        return bearer(self.tokens[who])

    @property
    def passport_id(self) -> str:
        pid = self.summary.packs[0].passport_id
        assert pid is not None
        return pid

    @property
    def resolver_path(self) -> str:
        return self.summary.packs[0].battery_id.removeprefix(BASE_URL)


def open_sample(tmp: Path, *, packs: int = 1, issue: bool = True) -> tuple[Ledger, Any, Any]:
    url, drop = _new_db_url(tmp)
    ledger = Ledger(Repository(url), log_key=LOG, workers=1)
    ledger.initialise(OPERATOR, "api.test/log", "API test operator")
    summary = build_sample_ledger(
        ledger, packs=packs, operator_key=OPERATOR, base_url=BASE_URL, issue_passports=issue,
    )  # fmt: skip
    return ledger, summary, drop


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    """One NMC811 pack with its passport, read-only for the tests that share it."""
    ledger, summary, drop = open_sample(tmp_path_factory.mktemp("sample"))
    with make_client(ledger) as client:
        yield Sample(ledger, summary, client, {})
    ledger.close()
    drop()


# -- signing passport records as their actors would ------------------------------------------------
def stamp() -> str:
    return format_ts(now(), micro=False)


def signed_update(
    ledger: Ledger, key: SigningKey, passport_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """A PassportUpdate by ``key`` with its new point-4 partition (as a submission body)."""
    state = load_state(ledger, passport_id)
    point4 = {**full_document(ledger, passport_id)["point4"], **changes, "salt": new_salt()}
    when = stamp()
    did = ledger.issuer_for_key(key)
    partition = sign_partition(
        passport_id=passport_id, number=4, data=point4, issuer=did, key=key, valid_from=when
    )
    subject = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "partitions": {"4": partition_hash(partition)},
        "supersedes": state.point4_hash,
    }
    (record,) = sign_chain(ledger, key, [("PassportUpdate", subject)], valid_from=when)
    return {"record": record, "partitions": [partition]}


def signed_status(
    ledger: Ledger, key: SigningKey, passport_id: str, to: str, **extra: Any
) -> dict[str, Any]:
    """A PassportStatusChange by ``key`` (a submission body without partitions)."""
    state = load_state(ledger, passport_id)
    subject = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "from": state.status,
        "to": to,
        **extra,
    }
    (record,) = sign_chain(ledger, key, [("PassportStatusChange", subject)], valid_from=stamp())
    return {"record": record}


def passport_rows(ledger: Ledger) -> list[PassportState]:
    with ledger.repo.read() as tx:
        return tx.passports().all_passports()


def mandate_over_http(s: Sample, passport_id: str, slug: str) -> None:
    """The economic operator (elbe) mandates ``slug`` for this passport, over HTTP."""
    state = load_state(s.ledger, passport_id)
    subject = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "mandatary": s.ledger.issuer_for_key(s.key(slug)),
        "action": "grant",
    }
    (grant,) = sign_chain(
        s.ledger, s.key("elbe"), [("PassportMandate", subject)], valid_from=stamp()
    )
    response = s.client.post(f"/passports/{passport_id}/mandates", json={"record": grant})
    assert response.status_code == 201, response.text


def hand_vehicle(s: Sample, index: int, buyer: str) -> None:
    """The OEM hands the vehicle containing pack ``index`` to ``buyer``, who accepts it, over
    HTTP."""
    vehicle = s.summary.packs[index].vehicle_lot
    with s.ledger.repo.read() as tx:
        lot = tx.trace().lot(vehicle)
    assert lot is not None
    subject = {
        "lot": vehicle,
        "record": lot.record_hash,
        "massGrams": lot.mass_grams,
        "buyer": s.ledger.issuer_for_key(s.key(buyer)),
    }
    sent = post_record(s.client, s.ledger.sign_new(s.key("elbe"), "Transfer", subject))
    assert sent.status_code == 201, sent.text
    accept = {"transfer": sent.json()["recordHash"], "decision": "accepted"}
    taken = post_record(s.client, s.ledger.sign_new(s.key(buyer), "TransferAcceptance", accept))
    assert taken.status_code == 201, taken.text
