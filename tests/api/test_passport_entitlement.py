"""Legitimate interest is per battery (issue #20, item 4; Art. 77(2), Annex XIII).

Points 2 and 4 of a passport go to the persons with a legitimate interest *in that battery*: its
economic operator, the actors it granted access (a signed, revocable ``PassportAccessGrant``) or
mandated, and the actors holding the battery (the pack lot, or a vehicle lot built from it, by
an accepted Transfer). Authorities read points 1 to 3 as before. A bearer token only says who
the reader is: what it may read of a passport is decided from the ledger at each request.

The attack tests come first: each is a reader with a valid token that read points 2 and 4 of a
passport it has no business with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from passport.document.access import (
    AccessRole,
    PassportAccessFacts,
    Reader,
    decide_access,
    entitled_audiences,
)
from passport.document.partitions import ROLE_PARTITIONS
from passport.errors import AccessNotEntitledError, RoleNotAllowedError, RuleViolationError
from passport.ledger.keystore import save_key
from passport.ledger.pipeline import Ledger
from passport.service.lifecycle import grant_access
from passport.service.views import full_document, show_passport
from passport.store.sql.repository import ACTORS
from passport.timefmt import format_ts
from samples.generate import SampleSummary
from signing.keys import SigningKey
from tests.helpers.api import BASE_URL, assert_problem, bearer, login, make_client
from tests.helpers.api_passport import LOG, OPERATOR, open_sample


@dataclass
class World:
    """One sample passport (Elbe Motors' pack) and readers in every relation to it."""

    ledger: Ledger
    summary: SampleSummary
    client: TestClient
    keys: dict[str, SigningKey]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def passport_id(self) -> str:
        pid = self.summary.packs[0].passport_id
        assert pid is not None
        return pid

    @property
    def resolver_path(self) -> str:
        return self.summary.packs[0].battery_id.removeprefix(BASE_URL)

    def token(self, who: str) -> str:
        """A bearer token of ``who``, earned once (the challenge flow is rate-limited per client
        address; a token only authenticates, so one per reader serves every test)."""
        if who not in self.tokens:
            key = self.keys[who]
            self.tokens[who] = login(self.client, key.did, key)
        return self.tokens[who]

    def secrets(self) -> list[str]:
        """What only points 2 and 4 hold: their salts."""
        document = full_document(self.ledger, self.passport_id)
        return [document["point2"]["salt"], document["point4"]["salt"]]


def register(ledger: Ledger, name: str, *roles: str) -> SigningKey:
    key = SigningKey.generate()
    subject = {"id": key.did, "name": name, "country": "DE", "roles": list(roles)}
    ledger.append(ledger.sign_new(OPERATOR, "ActorRegistration", subject))
    return key


CLOCK_AHEAD = 120
"""The API's clock runs two minutes ahead of the ledger's, so that a grant ending one minute
after it was given has ended for the reads (the ledger refuses a grant that already ended)."""


def _in(seconds: int) -> str:
    return format_ts(datetime.now(UTC) + timedelta(seconds=seconds), micro=False)


def _transfer(
    ledger: Ledger, seller: SigningKey, buyer: SigningKey, lot: str, decision: str
) -> None:
    with ledger.repo.read() as tx:
        row = tx.trace().lot(lot)
        grams = tx.trace().holders(lot)[ledger.issuer_for_key(seller)]
    assert row is not None
    subject = {"lot": lot, "record": row.record_hash, "massGrams": grams, "buyer": buyer.did}
    receipt = ledger.append(ledger.sign_new(seller, "Transfer", subject))
    answer = {"transfer": receipt.record_hash, "decision": decision}
    ledger.append(ledger.sign_new(buyer, "TransferAcceptance", answer))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    ledger, summary, drop = open_sample(tmp_path_factory.mktemp("entitlement"))
    keys = {slug: summary.actor(slug).key for slug in ("elbe", "saale", "msa", "rbr")}
    keys["rival"] = register(ledger, "Rival Motors (OEM B)", "oem")
    keys["loner"] = register(ledger, "Unrelated Repairs", "repairer")
    keys["fallen"] = register(ledger, "Former Authority", "authority")
    for who in ("granted", "lapsed", "revoked"):
        keys[who] = register(ledger, f"Repairer {who}", "repairer")
    keys["holder"] = register(ledger, "Vehicle recycler holding the battery", "recycler")
    keys["refuser"] = register(ledger, "Recycler that refused the vehicle", "recycler")
    pid = summary.packs[0].passport_id
    assert pid is not None
    oem = keys["elbe"]
    grant_access(ledger, oem, pid, keys["granted"].did, reason="authorised workshop")
    grant_access(ledger, oem, pid, keys["lapsed"].did, valid_until=_in(60))
    grant_access(ledger, oem, pid, keys["revoked"].did)
    grant_access(ledger, oem, pid, keys["revoked"].did, revoke=True)
    vehicle = summary.packs[0].vehicle_lot
    _transfer(ledger, oem, keys["refuser"], vehicle, "rejected")
    _transfer(ledger, oem, keys["holder"], vehicle, "accepted")
    with make_client(ledger) as client:
        client.app.state.bpass.auth._clock = lambda: time.time() + CLOCK_AHEAD  # type: ignore[attr-defined]
        yield World(ledger, summary, client, keys)
    ledger.close()
    drop()


def _leaks(world: World, response_text: str) -> bool:
    return any(secret in response_text for secret in world.secrets())


# -- the attacks -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "who",
    [
        pytest.param("rival", id="competitor-oem"),
        pytest.param("loner", id="repairer-without-grant"),
        pytest.param("rbr", id="recycler-not-holding"),
    ],
)
def test_attack_an_unrelated_actor_reads_points_2_and_4(world: World, who: str) -> None:
    headers = bearer(world.token(who))
    url = f"/passports/{world.passport_id}"
    for path in (url, f"{url}/bundle", f"{url}/compliance", world.resolver_path):
        default = world.client.get(path, headers={**headers, "Accept": "application/json"})
        assert (default.status_code, _leaks(world, default.text)) == (200, False), path
    asked = world.client.get(url, params={"role": "legitimate-interest"}, headers=headers)
    assert (asked.status_code, _leaks(world, asked.text)) == (403, False)
    assert asked.json()["code"] == "access_not_entitled"


def test_attack_a_token_outlives_the_role_it_was_issued_for(world: World) -> None:
    """The token names the roles the actor had; the ledger decides at each request."""
    token = world.token("fallen")
    url = f"/passports/{world.passport_id}"
    before = world.client.get(url, headers=bearer(token)).json()
    assert before["role"] == "authority"
    # No record kind removes a role yet: the operator's database change stands in for it.
    with world.ledger.repo.engine.begin() as conn:
        conn.execute(
            update(ACTORS).where(ACTORS.c.did == world.keys["fallen"].did).values(roles=["miner"])
        )
    after = world.client.get(url, headers=bearer(token))
    assert (after.status_code, after.json()["role"]) == (200, "public")
    asked = world.client.get(url, params={"role": "authority"}, headers=bearer(token))
    assert (asked.status_code, asked.json().get("code")) == (403, "access_not_entitled")


# -- the matrix: endpoint x reader x requested audience ---------------------------------------------
PUBLIC, INTEREST, AUTHORITY = (
    AccessRole.PUBLIC,
    AccessRole.LEGITIMATE_INTEREST,
    AccessRole.AUTHORITY,
)

ENTITLED: dict[str, frozenset[AccessRole]] = {
    "elbe": frozenset({PUBLIC, INTEREST}),  # the economic operator
    "granted": frozenset({PUBLIC, INTEREST}),  # a live PassportAccessGrant
    "saale": frozenset({PUBLIC, INTEREST}),  # a live PassportMandate (the sample's)
    "holder": frozenset({PUBLIC, INTEREST}),  # holds the vehicle lot by an accepted Transfer
    "lapsed": frozenset({PUBLIC}),  # its grant has ended
    "revoked": frozenset({PUBLIC}),  # its grant was revoked
    "refuser": frozenset({PUBLIC}),  # rejected the vehicle's transfer
    "rival": frozenset({PUBLIC}),  # a competitor OEM
    "loner": frozenset({PUBLIC}),  # a repairer without grant
    "rbr": frozenset({PUBLIC}),  # a recycler not holding the battery
    "msa": frozenset({PUBLIC, AUTHORITY}),  # an authority: points 1 to 3, as before
    "anonymous": frozenset({PUBLIC}),
}
"""Who may read Elbe Motors' passport as which audience."""

DEFAULT = {
    who: max(audiences, key=[PUBLIC, INTEREST, AUTHORITY].index)
    for who, audiences in ENTITLED.items()
}
"""Without ``?role``: the widest audience the reader is entitled to."""

ENDPOINTS = ("view", "bundle", "compliance", "resolver")


def _url(world: World, endpoint: str) -> str:
    base = f"/passports/{world.passport_id}"
    return {
        "view": base,
        "bundle": f"{base}/bundle",
        "compliance": f"{base}/compliance",
        "resolver": world.resolver_path,
    }[endpoint]


def _markers(world: World) -> dict[int, list[str]]:
    """What only partition n holds: its signature, and the salt of points 2 to 4."""
    evidence = show_passport(world.ledger, world.passport_id, "authority").partitions
    evidence4 = show_passport(world.ledger, world.passport_id, "legitimate-interest").partitions
    document = full_document(world.ledger, world.passport_id)
    out: dict[int, list[str]] = {}
    for n in (1, 2, 3, 4):
        out[n] = [(evidence4 if n == 4 else evidence)[n]["proof"]["proofValue"]]
        if n > 1:
            out[n].append(document[f"point{n}"]["salt"])
    return out


def _served_role(endpoint: str, body: dict[str, object]) -> object:
    if endpoint == "bundle":
        return body["passport"]["role"]  # type: ignore[index]
    return body["role"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("who", sorted(ENTITLED))
def test_each_reader_reads_each_passport_endpoint_as_it_is_entitled(
    world: World, endpoint: str, who: str
) -> None:
    headers = {"Accept": "application/json"}
    if who != "anonymous":
        headers |= bearer(world.token(who))
    markers = _markers(world)
    url = _url(world, endpoint)
    for requested in (None, PUBLIC, INTEREST, AUTHORITY):
        params = {} if requested is None else {"role": requested.value}
        response = world.client.get(url, params=params, headers=headers)
        expected = DEFAULT[who] if requested is None else requested
        if expected not in ENTITLED[who]:
            body = assert_problem(response, 403, "access_not_entitled")
            assert body["passport"] == world.passport_id
            assert not any(m in response.text for found in markers.values() for m in found[1:])
            continue
        assert response.status_code == 200, (who, requested, response.text[:300])
        received = frozenset(
            n for n, found in markers.items() if any(m in response.text for m in found)
        )
        allowed = ROLE_PARTITIONS[expected.value]
        if endpoint == "compliance":
            assert received <= allowed, (who, requested)
        else:
            assert received == allowed, (who, requested)
        assert _served_role(endpoint, response.json()) == expected.value
        private = expected is not PUBLIC
        assert response.headers["cache-control"].startswith("private" if private else "public")


def test_only_the_economic_operator_exports(world: World) -> None:
    url = f"/passports/{world.passport_id}/export"
    # the operator passes the check (the sample passport then lacks its putting-into-service date)
    own = world.client.get(url, headers=bearer(world.token("elbe")))
    assert own.status_code != 403 and own.json().get("code") != "export_forbidden"
    for who in ("granted", "holder", "saale", "msa", "rival"):
        assert_problem(
            world.client.get(url, headers=bearer(world.token(who))), 403, "export_forbidden"
        )


def test_a_token_issued_before_a_grant_was_revoked_reads_only_the_public_view(world: World) -> None:
    ex = register(world.ledger, "Repairer whose grant is revoked mid-token", "repairer")
    oem = world.keys["elbe"]
    grant_access(world.ledger, oem, world.passport_id, ex.did)
    token = login(world.client, ex.did, ex)
    url = f"/passports/{world.passport_id}"
    asked = {"role": "legitimate-interest"}
    assert world.client.get(url, params=asked, headers=bearer(token)).status_code == 200
    grant_access(world.ledger, oem, world.passport_id, ex.did, revoke=True)
    assert_problem(
        world.client.get(url, params=asked, headers=bearer(token)), 403, "access_not_entitled"
    )
    assert world.client.get(url, headers=bearer(token)).json()["role"] == "public"


# -- the grant record ----------------------------------------------------------------------------
def test_only_the_economic_operator_grants_to_a_registered_actor(world: World) -> None:
    pid = world.passport_id
    with pytest.raises(RoleNotAllowedError):
        grant_access(world.ledger, world.keys["rival"], pid, world.keys["rival"].did)
    with pytest.raises(RoleNotAllowedError):  # a mandatary acts for the operator, not as it
        grant_access(world.ledger, world.keys["saale"], pid, world.keys["loner"].did)
    with pytest.raises(RuleViolationError, match="not a registered actor"):
        grant_access(world.ledger, world.keys["elbe"], pid, SigningKey.generate().did)
    with pytest.raises(RuleViolationError, match="no access grant"):
        grant_access(world.ledger, world.keys["elbe"], pid, world.keys["loner"].did, revoke=True)
    with pytest.raises(RuleViolationError, match="needs no grant"):
        grant_access(world.ledger, world.keys["elbe"], pid, world.keys["elbe"].did)
    with pytest.raises(RuleViolationError, match="already passed"):
        grant_access(
            world.ledger, world.keys["elbe"], pid, world.keys["loner"].did, valid_until=_in(-60)
        )


def test_the_ledger_refuses_a_grant_signed_by_another_actor(world: World) -> None:
    """The rule runs inside the append, whatever built the record."""
    from passport.service.issue import sign_chain
    from passport.service.views import load_state

    state = load_state(world.ledger, world.passport_id)
    subject = {
        "passportId": world.passport_id,
        "passport": state.record_hash,
        "grantee": world.keys["rival"].did,
        "action": "grant",
    }
    (record,) = sign_chain(
        world.ledger, world.keys["rival"], [("PassportAccessGrant", subject)], valid_from=_in(0)
    )
    response = world.client.post("/records", json=record)
    assert_problem(response, 403, "role_forbidden")


def test_bpass_passport_grant(world: World, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli import app

    save_key(world.keys["elbe"], tmp_path / "oem.pem")
    save_key(LOG, tmp_path / "home" / "log.key")
    grantee = register(world.ledger, "Repairer granted from the CLI", "repairer")
    url = str(world.ledger.repo.url)
    common = ["--to", grantee.did, "--key", str(tmp_path / "oem.pem"), "--db", url]
    common += ["--home", str(tmp_path / "home")]
    runner = CliRunner()
    until = _in(3600)
    granted = runner.invoke(
        app, ["passport", "grant", world.passport_id, *common, "--until", until]
    )
    assert granted.exit_code == 0, granted.output
    assert f"granted {grantee.did}" in granted.output
    token = login(world.client, grantee.did, grantee)
    url_view = f"/passports/{world.passport_id}"
    assert world.client.get(url_view, headers=bearer(token)).json()["role"] == "legitimate-interest"
    revoked = runner.invoke(app, ["passport", "grant", world.passport_id, *common, "--revoke"])
    assert revoked.exit_code == 0, revoked.output
    assert world.client.get(url_view, headers=bearer(token)).json()["role"] == "public"


# -- the decision itself (pure) ------------------------------------------------------------------
FACTS = PassportAccessFacts(
    passport_id="urn:bpass:" + "0" * 32,
    economic_operator="did:key:oem",
    grantees=frozenset({"did:key:grantee"}),
    mandataries=frozenset({"did:key:mandatary"}),
    holders=frozenset({"did:key:holder", "did:key:miner"}),
)


@pytest.mark.parametrize(
    ("reader", "audiences"),
    [
        (Reader(), {PUBLIC}),
        (Reader("did:key:oem", ("oem",)), {PUBLIC, INTEREST}),
        (Reader("did:key:grantee", ("miner",)), {PUBLIC, INTEREST}),  # the operator chose it
        (Reader("did:key:mandatary", ("repairer",)), {PUBLIC, INTEREST}),
        (Reader("did:key:holder", ("recycler",)), {PUBLIC, INTEREST}),
        (Reader("did:key:miner", ("miner",)), {PUBLIC}),  # holds it, no legitimate-interest role
        (Reader("did:key:other", ("oem",)), {PUBLIC}),
        (Reader("did:key:msa", ("authority",)), {PUBLIC, AUTHORITY}),
        (Reader("did:key:oem", ("oem", "authority")), {PUBLIC, INTEREST, AUTHORITY}),
    ],
)
def test_entitled_audiences(reader: Reader, audiences: set[AccessRole]) -> None:
    assert entitled_audiences(reader, FACTS) == audiences


def test_decide_access_defaults_to_the_widest_and_refuses_the_rest() -> None:
    assert decide_access(Reader("did:key:other", ("oem",)), FACTS) is PUBLIC
    assert decide_access(Reader("did:key:oem", ("oem",)), FACTS) is INTEREST
    assert decide_access(Reader("did:key:msa", ("authority",)), FACTS) is AUTHORITY
    with pytest.raises(AccessNotEntitledError) as refused:
        decide_access(Reader("did:key:other", ("oem",)), FACTS, "legitimate-interest")
    assert refused.value.code == "access_not_entitled"
    with pytest.raises(AccessNotEntitledError):
        decide_access(Reader("did:key:oem", ("oem",)), FACTS, AUTHORITY)


def test_a_holders_bundle_with_grant_records_verifies_offline(world: World) -> None:
    """The passport's grant records travel in its bundle (public, like mandates) and the bundle
    still verifies; a grantee's bundle carries points 1, 2 and 4."""
    from passport.verify.bundle import verify_bundle

    url = f"/passports/{world.passport_id}/bundle"
    bundle = world.client.get(url, headers=bearer(world.token("holder"))).json()
    kinds = {entry["record"]["type"][1] for entry in bundle["records"]}
    assert "PassportAccessGrant" in kinds
    assert bundle["passport"]["role"] == "legitimate-interest"
    report = verify_bundle(bundle, log_vkey=world.ledger.info().log_vkey, workers=0)
    assert report.ok, report.to_dict()
