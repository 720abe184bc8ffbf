"""The bundle tiers through the interfaces (issue #21 point 4): `bpass passport bundle --role`
with the operator's database builds any tier and `bpass verify` says which tier it checked;
`GET /passports/{id}/bundle` decides the tier by the reader's access (the authority's bundle
carries the Disclosures, everyone else's none)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from passport.verify.bundle import verify_bundle
from tests.cli.test_cli import bpass
from tests.helpers.api import bearer, login, make_client
from tests.helpers.confidential_bundle import ConfidentialWorld, confidential_world

TIER_LINES = {
    "public": "public bundle: integrity and completeness checked; figures not replayed",
    "authority": "authority bundle: integrity and completeness checked; everything replayed",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConfidentialWorld]:
    with confidential_world(tmp_path_factory.mktemp("tier-cli")) as w:
        yield w


@pytest.mark.parametrize("role", ["public", "authority"])
def test_bpass_builds_each_tier_and_verify_names_it(
    world: ConfidentialWorld, tmp_path: Path, role: str
) -> None:
    out = tmp_path / f"{role}.json"
    made = bpass(
        "passport", "bundle", world.passport_id, "--role", role, "--db", world.url,
        "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert ("with Disclosures" in made.stdout) == (role == "authority"), made.stdout
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert ("disclosures" in bundle) == (role == "authority")
    done = bpass("verify", str(out), cwd=tmp_path)
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("verified: passport"), done.stdout
    assert TIER_LINES[role] in lines, done.stdout
    other = TIER_LINES["authority" if role == "public" else "public"]
    assert other not in done.stdout
    if role == "public":
        assert "limit  not replayed: 4 records confidential" in done.stdout


def test_a_bundle_missing_a_disclosure_is_not_verified_by_bpass(
    world: ConfidentialWorld, tmp_path: Path
) -> None:
    out = tmp_path / "b.json"
    bpass(
        "passport", "bundle", world.passport_id, "--role", "authority", "--db", world.url,
        "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    bundle = json.loads(out.read_text(encoding="utf-8"))
    del bundle["disclosures"][world.confidential[0]]
    out.write_text(json.dumps(bundle), encoding="utf-8")
    done = bpass("verify", str(out), cwd=tmp_path, check=False)
    assert done.returncode == 1
    assert "NOT verified: the provenance check failed" in done.stdout
    assert "everything replayed" not in done.stdout
    assert not any(line in done.stdout for line in TIER_LINES.values())


def test_the_api_serves_the_authority_tier_to_authorities_only(world: ConfidentialWorld) -> None:
    url = f"/passports/{world.passport_id}/bundle"
    with make_client(world.ledger) as client:
        anonymous = client.get(url).json()
        assert "disclosures" not in anonymous
        oem = world.parties["oem"]
        as_oem = client.get(url, headers=bearer(login(client, oem.did, oem.key))).json()
        assert "disclosures" not in as_oem and as_oem["passport"]["role"] != "authority"
        authority = world.parties["authority"]
        token = login(client, authority.did, authority.key)
        full = client.get(url, headers=bearer(token)).json()
        assert full["passport"]["role"] == "authority"
        assert sorted(full["disclosures"]) == sorted([*world.confidential, world.facility_update])
        public = client.get(f"{url}?role=public", headers=bearer(token)).json()
        assert "disclosures" not in public
    for bundle, replayed in ((anonymous, False), (as_oem, False), (full, True)):
        report = verify_bundle(bundle, workers=0)
        assert report.ok and report.replayed == replayed, report.to_dict()
