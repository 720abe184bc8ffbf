"""One read policy on every read path (issue #21 point 3).

A small ledger of confidential provenance (:mod:`tests.helpers.confidential_chain`) is read
through EVERY GET route of the app (walked from ``app.routes``: a new GET route that is not
classified here fails the test) as each role: anonymous, a record's issuer (the miner), a
Transfer buyer (the refiner), an unrelated supplier, the downstream OEM and an authority.

- Anonymous and unrelated readers must never receive a concealed member's value (matched as
  JSON values and member names, not as bare substrings: random digests hold short strings by
  chance; values that are also public, such as a DID or a registration's country, are not
  secrets).
- Entitled readers get what ``passport.document.access`` says and no more: the lot's creator,
  holders and downstream actors read its roll-up, trail entries of confidential records they
  may not read withhold lot and amount, facilities go to the actor, the operator and
  authorities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from passport.ledger.pipeline import Ledger
from passport.service.issue import issue_passport
from samples.models import sample_model
from signing.disclosures import parse_disclosure
from signing.keys import SigningKey
from tests.helpers.api import assert_problem, bearer, login, make_client
from tests.helpers.confidential_chain import (
    ConfidentialWorld,
    build_confidential_world,
    scalar_leaves,
)

READERS = ("anonymous", "miner", "refiner", "supplier", "oem", "authority", "operator")
UNENTITLED = ("anonymous", "supplier")
BASE = "https://id.voltaris.example"


class World:
    """The confidential world, its OEM's passport, an API client and a token per reader."""

    def __init__(self, ledger: Ledger, operator_key: SigningKey) -> None:
        self.w: ConfidentialWorld = build_confidential_world(ledger, operator_key)
        issued = issue_passport(
            ledger,
            self.w.key("oem"),
            pack_lot=self.w.lots["pack"],
            model=sample_model("ev"),
            base_url=BASE,
            serial="ACCESS-0001",
        )
        self.passport_id = issued.passport_id
        self.client = make_client(ledger)
        self.headers: dict[str, dict[str, str]] = {"anonymous": {}}
        for name in READERS[1:]:
            key = self.w.key(name)
            self.headers[name] = bearer(login(self.client, key.did, key))

    def get(self, reader: str, url: str) -> httpx.Response:
        response: httpx.Response = self.client.get(url, headers=self.headers[reader])
        return response


@pytest.fixture
def world(ledger: Ledger, operator_key: SigningKey) -> Iterator[World]:
    built = World(ledger, operator_key)
    with built.client:
        yield built


def _record_urls(w: World) -> list[str]:
    return [f"/records/{r.hash}" for r in w.w.records.values()]


def _lot_urls(w: World, tail: str) -> list[str]:
    return [f"/lots/{quote(lot, safe=':')}{tail}" for lot in w.w.lots.values()]


def _explain_urls(w: World) -> list[str]:
    figure = f"Ni.facility.{w.w.did('miner')}#{w.w.parties['miner'].facility}"
    return [f"/lots/{quote(w.w.lots[n], safe=':')}/rollup/explain/Ni.mass" for n in w.w.lots] + [
        f"/lots/{quote(w.w.lots['pack'], safe=':')}/rollup/explain/{quote(figure, safe='')}"
    ]


def _passport_urls(tail: str) -> Callable[[World], list[str]]:
    return lambda w: [f"/passports/{quote(w.passport_id, safe='')}{tail}"]


ROUTES: dict[str, Callable[[World], list[str]]] = {
    # public: actors' name, country, roles, keys; the log; record bytes as signed (redacted)
    "/actors": lambda w: ["/actors"],
    "/actors/{did}": lambda w: [f"/actors/{w.w.did(n)}" for n in (*w.w.parties, "operator")],
    "/keys/{multikey}": lambda w: [f"/keys/{w.w.key(n).multikey}" for n in w.w.parties],
    "/auth/whoami": lambda w: ["/auth/whoami"],
    "/auth/keys": lambda w: ["/auth/keys"],
    "/log": lambda w: ["/log"],
    "/log/checkpoint": lambda w: ["/log/checkpoint"],
    "/log/inclusion/{record_hash}": lambda w: [
        f"/log/inclusion/{r.hash}" for r in w.w.records.values()
    ],
    "/log/consistency": lambda w: ["/log/consistency?old=1"],
    "/records": lambda w: [f"/records?issuer={w.w.did(n)}" for n in (*w.w.parties, "operator")],
    "/records/{record_hash}": _record_urls,
    "/records/{record_hash}/disclosures": lambda w: [f"{u}/disclosures" for u in _record_urls(w)],
    # restricted: roll-ups and trails
    "/lots/{lot}/rollup": lambda w: _lot_urls(w, "/rollup"),
    "/lots/{lot}/rollup/explain/{figure}": _explain_urls,
    # passports: Annex XIII audiences (passport.document.access.decide_access)
    "/passports/{passport_id}": _passport_urls(""),
    "/passports/{passport_id}/compliance": _passport_urls("/compliance"),
    "/passports/{passport_id}/export": _passport_urls("/export?format=catenax"),
    "/passports/{passport_id}/bundle": _passport_urls("/bundle"),
    "/passports/{passport_id}/qr.png": _passport_urls("/qr.png"),
    "/passports/{passport_id}/qr.svg": _passport_urls("/qr.svg"),
    "/passports/{passport_id}/page": _passport_urls("/page"),
    "/01/{gtin}/21/{serial}": lambda w: [],  # the resolver redirects to the passport routes
    "/{compressed:gs1compressed}": lambda w: [],
    "/.well-known/gs1resolver": lambda w: ["/.well-known/gs1resolver"],
    # the supplier page: a static form (its check is a POST for the authenticated issuer's own rows)
    "/supplier": lambda w: ["/supplier"],
    # the API's own documentation
    "/openapi.json": lambda w: [],
    "/docs": lambda w: [],
    "/docs/oauth2-redirect": lambda w: [],
    "/redoc": lambda w: [],
}
"""Every GET route of the app and the URLs it is read at. The resolver's links redirect to the
passport routes (read here directly); the documentation serves no ledger data."""


def _get_routes(client: TestClient) -> set[str]:
    paths = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        methods = getattr(route, "methods", None) or set()
        if "GET" in methods:
            paths.add(route.path if isinstance(route, APIRoute) else getattr(route, "path", ""))
    return paths


def test_every_get_route_is_classified(world: World) -> None:
    unclassified = _get_routes(world.client) - set(ROUTES)
    assert not unclassified, f"classify these GET routes in ROUTES: {sorted(unclassified)}"


# -- the leak search ------------------------------------------------------------------------------
def _secret_leaves(world: World, reader: str) -> dict[str, str]:
    """Concealed values the reader may not read, as JSON leaves (value -> member name), less
    those that are public anyway (in a redacted record's public members, or a party's DID)."""
    public = world.w.public_leaves()
    own = frozenset({world.w.did(reader)}) if reader != "anonymous" else frozenset()
    secrets: dict[str, str] = {}
    for name, value in world.w.secrets(exclude_issuers=own):
        for leaf in scalar_leaves(value, names=False):
            if leaf not in public and len(leaf) >= 6:  # "Ni", "CA": public vocabulary
                secrets[leaf] = name
    return secrets


def _response_leaves(response: httpx.Response) -> set[str]:
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        return scalar_leaves(response.json())
    return set()


def _leaks(response: httpx.Response, secrets: dict[str, str]) -> list[str]:
    leaves = _response_leaves(response)
    found = [f"{secrets[v]}={v}" for v in leaves if v in secrets]
    # Long distinctive secrets (random lot and facility ids) also inside a composite string
    # (a figure id embeds a facility id): only those, never short ones.
    long = [s for s in secrets if len(s) >= 24]
    text = response.text if "json" not in response.headers.get("content-type", "") else ""
    found += [f"{secrets[s]}~{s}" for s in long if any(s in leaf for leaf in leaves) or s in text]
    return sorted(set(found))


@pytest.mark.parametrize("reader", UNENTITLED)
def test_no_route_serves_a_concealed_value_to_an_unentitled_reader(
    world: World, reader: str
) -> None:
    secrets = _secret_leaves(world, reader)
    assert len(secrets) > 20  # the world conceals plenty: the search is not vacuous
    published = _published_by_the_passport(world)
    leaks = {}
    for path, urls in ROUTES.items():
        for url in urls(world):
            response = world.get(reader, url)
            assert response.status_code < 500, (url, response.text)
            found = [
                f
                for f in _leaks(response, secrets)
                # the values the reader sent (a lot id in the URL) come back in a problem
                if f.split("=")[-1].split("~")[-1] not in url
                and not (path.startswith("/passports/") and f in published)
            ]
            if found:
                leaks[f"{path} {url}"] = found
    assert not leaks, leaks


def _published_by_the_passport(world: World) -> set[str]:
    """What the OEM's passport publishes as its economic operator's own statement (Annex XIII
    point 1, signed by the OEM): its own pack lot id, and the ore types of the pack's materials
    as shares (``/point1/responsibleSourcing/materials/*/oreTypes``, computed from the
    suppliers' confidential Extractions at issuance). Named here one by one, so that any other
    value a passport route serves still counts as a leak."""
    pack = world.w.lots["pack"]
    return {f"outputs={pack}", f"outputs~{pack}", "depositType=lateritic"}


def test_the_leak_search_finds_a_leak(world: World) -> None:
    """The search itself works: the authority's roll-up of the pack holds the miner's facility."""
    secrets = _secret_leaves(world, "supplier")
    url = _lot_urls(world, "/rollup")[2]  # the pack
    assert _leaks(world.get("authority", url), secrets)


# -- entitled readers: what the policy says, and no more ------------------------------------------
LOT_READERS = {
    "ore": {"miner", "refiner", "oem", "authority"},
    "refined": {"refiner", "oem", "authority"},
    "pack": {"oem", "authority"},
    "other": {"supplier", "authority"},
}
"""Who reads each lot's roll-up: its creator, holders (present and former), downstream actors
and authorities; never the operator, never an upstream supplier."""


@pytest.mark.parametrize("lot", sorted(LOT_READERS))
def test_who_reads_a_lots_rollup(world: World, lot: str) -> None:
    url = f"/lots/{quote(world.w.lots[lot], safe=':')}/rollup"
    explain = f"/lots/{quote(world.w.lots[lot], safe=':')}/rollup/explain/Ni.mass"
    for reader in READERS:
        for target in (url, explain):
            response = world.get(reader, target)
            if reader in LOT_READERS[lot]:
                assert response.status_code == 200, (reader, lot, response.text)
            else:
                body = assert_problem(response, 403, "lot_not_entitled")
                assert ("bearer token" in body["detail"]) == (reader == "anonymous")


def _hidden_hashes(world: World, reader: str) -> set[str]:
    """Records whose trail entries the reader may not read: confidential ones it neither
    issued nor is the counterparty of (authorities read all)."""
    if reader == "authority":
        return set()
    did = world.w.did(reader)
    hidden = set()
    for record in world.w.records.values():
        if not record.disclosures or record.issuer == did:
            continue
        members = {parse_disclosure(d).name: parse_disclosure(d).value for d in record.disclosures}
        if members.get("buyer") != did:
            hidden.add(record.hash)
    return hidden


@pytest.mark.parametrize("reader", ["miner", "refiner", "oem", "authority"])
def test_trail_entries_withhold_what_the_reader_may_not_read(world: World, reader: str) -> None:
    hidden = _hidden_hashes(world, reader)
    seen_hidden = seen_shown = 0
    for lot, readers in LOT_READERS.items():
        if reader not in readers:
            continue
        body = world.get(reader, f"/lots/{quote(world.w.lots[lot], safe=':')}/rollup").json()
        for trail in body["trails"].values():
            for entry in trail["entries"]:
                if entry["record"] in hidden:
                    seen_hidden += 1
                    assert entry["amount"] is None and entry["lot"] is None, entry
                    assert entry["note"].startswith("withheld")
                else:
                    seen_shown += 1
                    assert isinstance(entry["amount"], int), entry
    assert seen_shown > 0
    assert (seen_hidden > 0) == (reader != "authority")


def test_the_oem_reads_its_pack_but_not_the_miners_grams(world: World) -> None:
    pack = quote(world.w.lots["pack"], safe=":")
    body = world.get("oem", f"/lots/{pack}/rollup/explain/Ni.mass").json()
    ore = world.w.records["ore"].hash
    assert [e["amount"] for e in body["entries"] if e["record"] == ore] == [None]
    secrets = {"7654321", "412345"}  # the miner's extracted grams and ppm
    assert not secrets & scalar_leaves(world.get("oem", f"/lots/{pack}/rollup").json())


FACILITY_READERS = {"operator", "authority"}


def test_facilities_go_to_the_actor_the_operator_and_authorities(world: World) -> None:
    for name in world.w.parties:
        url = f"/actors/{world.w.did(name)}"
        for reader in READERS:
            facilities = world.get(reader, url).json()["facilities"]
            if reader == name or reader in FACILITY_READERS:
                shown = [{k: v for k, v in f.items() if k != "history"} for f in facilities]
                assert shown == world.w.parties[name].facilities, (reader, name)
            else:
                assert facilities is None, (reader, name)


def test_a_registered_actor_reads_its_own_registrations_disclosures(world: World) -> None:
    record = world.w.records["miner-registration"]
    url = f"/records/{record.hash}/disclosures"
    for reader in READERS:
        response = world.get(reader, url)
        if reader in ("miner", "operator", "authority"):
            assert sorted(response.json()) == sorted(record.disclosures), reader
            assert {parse_disclosure(d).name for d in response.json()} == {"facilities"}
        else:
            assert_problem(response, 403, "disclosures_not_entitled")


def test_the_registration_record_conceals_facilities(world: World) -> None:
    """The signed bytes of a confidential registration: id, name, country, roles in the
    clear; the facilities as a digest; the key still found from the redacted record."""
    record = world.w.records["miner-registration"]
    body = world.get("anonymous", f"/records/{record.hash}").json()
    subject = body["credentialSubject"]
    assert "facilities" not in subject and len(subject["_sd"]) == 1
    assert subject["id"] == world.w.did("miner")
    key = world.get("anonymous", f"/keys/{world.w.key('miner').multikey}").json()
    assert key["actorDid"] == world.w.did("miner") and key["state"] == "active"


def test_an_unknown_lot_is_no_existence_oracle(world: World) -> None:
    url = "/lots/urn:lot:aaaaaaaaaaaaaaaaaaaaaaaaaa/rollup"
    assert world.get("authority", url).status_code == 404
    for reader in ("anonymous", "oem", "supplier"):
        assert_problem(world.get(reader, url), 403, "lot_not_entitled")
