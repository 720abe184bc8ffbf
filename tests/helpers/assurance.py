"""Shared fixtures of the assurance and disclosure-grant tests (issue #21; no tests here): a
sample ledger with an issued passport on the backend under test, a certifier, a notified body,
an unrelated certifier, and two miners with confidential Extractions; helpers that sign an
Assurance or a DisclosureGrant as their issuers would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from passport.errors import NotFoundError
from passport.ledger import log as translog
from passport.ledger.pipeline import Ledger
from passport.records.confidential import new_lot_id
from passport.service.views import current_version, load_state
from samples.generate import SampleSummary
from signing.keys import SigningKey
from tests.helpers.api_passport import OPERATOR, open_sample
from tests.helpers.chain import Chain, Party

HOLDS = ["/point1/carbonFootprint/perKWh", "/point1/recycledContent"]
CERTIFIER_NAME = "TÜV Nord Batteries (test)"


def register(ledger: Ledger, name: str, *roles: str) -> SigningKey:
    """A registered actor with a fresh key."""
    key = SigningKey.generate()
    subject = {"id": key.did, "name": name, "country": "DE", "roles": list(roles)}
    ledger.append(ledger.sign_new(OPERATOR, "ActorRegistration", subject))
    return key


@dataclass
class World:
    """The sample ledger, its passport, the assurers and two miners' confidential records."""

    ledger: Ledger
    summary: SampleSummary
    keys: dict[str, SigningKey]
    miners: dict[str, Party]
    extraction: dict[str, str]
    """Each miner's confidential Extraction's hash."""

    @property
    def passport_id(self) -> str:
        pid = self.summary.packs[0].passport_id
        assert pid is not None
        return pid

    def did(self, who: str) -> str:
        return self.keys[who].did if who in self.keys else self.miners[who].key.did

    def key(self, who: str) -> SigningKey:
        return self.keys[who] if who in self.keys else self.miners[who].key


def confidential_extraction(chain: Chain, miner: Party) -> str:
    """A confidential Extraction by ``miner``; its hash."""
    subject = chain.extraction_subject(miner, new_lot_id(), 5_000_000, {"Ni": 20_000})
    doc = chain.ledger.sign_new(miner.key, "Extraction", subject, confidential=True)
    return chain.ledger.append(doc).record_hash


def build_world(folder: Any) -> tuple[World, Any]:
    """A fresh world (and the callable that drops its database)."""
    ledger, summary, drop = open_sample(folder)
    keys = {
        "certifier": register(ledger, CERTIFIER_NAME, "certifier"),
        "notified": register(ledger, "Notified Body 0001 (test)", "notified-body"),
        "other-certifier": register(ledger, "Another certifier (test)", "certifier"),
        "recycler": register(ledger, "A recycler (test)", "recycler"),
        "oem": summary.actor("elbe").key,
    }
    chain = Chain(ledger, OPERATOR)
    # The in-memory mirror replays stored bytes without Disclosures and has no passport or
    # grant tables: it is not run on this world.
    Chain.created.remove(chain)
    miners = {"miner": chain.party("miner", country="CA"), "rival": chain.party("miner")}
    extraction = {slug: confidential_extraction(chain, m) for slug, m in miners.items()}
    return World(ledger, summary, keys, miners, extraction), drop


@pytest.fixture
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A fresh world per test (the tests append)."""
    w, drop = build_world(tmp_path_factory.mktemp("assurance"))
    yield w
    w.ledger.close()
    drop()


def assurance_subject(w: World, **changes: Any) -> dict[str, Any]:
    """A valid Assurance subject for the world's passport, with ``changes`` applied."""
    state = load_state(w.ledger, w.passport_id)
    version = current_version(w.ledger, w.passport_id)
    with w.ledger.repo.read() as tx:
        cp = tx.latest_checkpoint()
    if cp is None:
        raise NotFoundError("no checkpoint")
    subject: dict[str, Any] = {
        "passportId": w.passport_id,
        "passport": state.record_hash,
        "version": version["hash"],
        "checkpoint": {"size": cp.size, "rootHash": translog.b64(cp.root)},
        "method": "full-replay",
        "holds": list(HOLDS),
        "fails": [
            {"figure": "/point1/responsibleSourcing/dueDiligence", "reason": "report expired"}
        ],
    }
    subject.update(changes)
    return {k: v for k, v in subject.items() if v is not None}


def sign(w: World, who: str, kind: str, subject: dict[str, Any]) -> dict[str, Any]:
    """``kind`` signed by ``who``, continuing its chain."""
    return w.ledger.sign_new(w.key(who), kind, subject)


def grant_subject(grantee: str, **changes: Any) -> dict[str, Any]:
    """A DisclosureGrant subject: all the issuer's records unless ``changes`` list some."""
    return {"grantee": grantee, "scope": "all", **changes}
