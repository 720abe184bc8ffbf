"""Reading passports over HTTP: the role view and its evidence, the bundle, compliance, the
Digital Link resolver's content negotiation and links, roll-ups and their trails, and errors
(always problem+json, never 5xx). On a sample ledger, both backends."""

from __future__ import annotations

import json
import re

from passport.trace.rollup import compute_rollup
from passport.verify.bundle import verify_bundle
from passport.verify.view import verify_view
from tests.helpers.api import BASE_URL, assert_problem
from tests.helpers.api_passport import Sample, sample

__all__ = ["sample"]

UNKNOWN = "urn:bpass:" + "0" * 32


def test_the_public_view_verifies_offline(sample: Sample) -> None:
    response = sample.client.get(f"/passports/{sample.passport_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "public"
    assert body["passport"]["passportId"] == sample.passport_id
    assert body["passport"]["batteryId"] == sample.summary.packs[0].battery_id
    verify_view(body, log_vkey=sample.ledger.info().log_vkey)


def test_restricted_views_verify_offline(sample: Sample) -> None:
    for role in ("legitimate-interest", "authority"):
        body = sample.client.get(
            f"/passports/{sample.passport_id}", headers=sample.headers(role)
        ).json()
        assert body["role"] == role
        verify_view(body, log_vkey=sample.ledger.info().log_vkey)


def test_bundles_verify_with_the_pinned_log_key(sample: Sample) -> None:
    vkey = sample.ledger.info().log_vkey
    for role in ("public", "legitimate-interest", "authority"):
        response = sample.client.get(
            f"/passports/{sample.passport_id}/bundle", headers=sample.headers(role)
        )
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert bundle["type"] == "BatteryPassportBundle" and bundle["version"] == 1
        assert bundle["passport"]["id"] == sample.passport_id
        leaves = [r["leafIndex"] for r in bundle["records"]]
        assert leaves == sorted(leaves)
        report = verify_bundle(bundle, log_vkey=vkey)
        assert report.ok, report.to_dict()


def test_a_changed_byte_in_a_served_bundle_fails_verification(sample: Sample) -> None:
    text = sample.client.get(f"/passports/{sample.passport_id}/bundle").text
    bundle = json.loads(text)
    proof = bundle["records"][-1]["record"]["proof"]["proofValue"]
    flipped = proof[:-2] + ("A" if proof[-2] != "A" else "B") + proof[-1]
    report = verify_bundle(json.loads(text.replace(proof, flipped)))
    assert not report.ok and report.first_failure is not None
    assert report.first_failure.name == "records"


def test_compliance_is_computed_from_the_readers_view(sample: Sample) -> None:
    response = sample.client.get(f"/passports/{sample.passport_id}/compliance")
    assert response.status_code == 200
    report = response.json()
    assert report["passportId"] == sample.passport_id and report["partitions"] == [1]
    art8 = {(r["element"], r["year"]): r["status"] for r in report["recycledContent"]}
    assert art8[("cobalt", "2031")] == "fail"  # the first sample pack is the standard grade
    assert report["carbonFootprint"]["class"] is not None
    assert report["ok"] is False and report["findings"]


def test_the_resolver_negotiates_html_json_and_linkset(sample: Sample) -> None:
    path = sample.resolver_path
    assert re.fullmatch(r"/01/[0-9]{14}/21/[A-Za-z0-9._-]+", path)
    html = sample.client.get(path, headers={"Accept": "text/html,*/*;q=0.8"})
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    csp = html.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "http" not in csp.replace("'self'", "")  # no other origin allowed
    page = html.text
    assert '<html lang="en">' in page and "<h1>" in page and 'aria-live="polite"' in page
    assert not re.search(
        r'(src|href)="(https?:)?//', page.split("<main", 1)[0]
    )  # head: same-origin
    assert sample.passport_id in page
    as_json = sample.client.get(path, headers={"Accept": "application/json"})
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    body = as_json.json()
    assert body["role"] == "public" and body["passport"]["passportId"] == sample.passport_id
    assert set(body["evidence"]["partitions"]) == {"1"}
    assert "Accept" in as_json.headers["vary"]
    anything = sample.client.get(path, headers={"Accept": "*/*"})
    assert anything.headers["content-type"] == "application/json"  # machines get JSON
    links = sample.client.get(path, headers={"Accept": "application/linkset+json"})
    assert links.headers["content-type"] == "application/linkset+json"
    linkset = links.json()["linkset"][0]
    assert linkset["anchor"] == sample.summary.packs[0].battery_id
    assert linkset == sample.client.get(path + "?linkType=all").json()["linkset"][0]


def test_the_link_header_points_to_bundle_qr_and_checkpoint(sample: Sample) -> None:
    response = sample.client.get(sample.resolver_path, headers={"Accept": "application/json"})
    links: dict[str, list[str]] = {}
    for part in response.headers["link"].split(", <"):
        target, *params = part.strip("<").split(">; ", 1)[0], part.split(">; ", 1)[1]
        rel = re.search(r'rel="([^"]+)"', params[0])
        assert rel is not None
        links.setdefault(rel.group(1), []).append(target)
    uri = BASE_URL + sample.resolver_path
    assert links["linkset"] == [f"{uri}?linkType=all"]  # absolute, as GS1 resolvers give them
    bundle = links["urn:battery-passport:rel:bundle"][0]
    assert sample.client.get(bundle).json()["passport"]["id"] == sample.passport_id
    qrs = links["urn:battery-passport:rel:qr"]
    assert {sample.client.get(q).headers["content-type"] for q in qrs} == {
        "image/png",
        "image/svg+xml",
    }
    checkpoint = sample.client.get(links["urn:battery-passport:rel:checkpoint"][0])
    assert checkpoint.text.startswith("api.test/log\n")
    assert links["alternate"] == [uri]


def test_unknown_battery_links_are_404_for_machines_and_browsers(sample: Sample) -> None:
    gtin = sample.resolver_path.split("/")[2]
    malformed = ("/01/12345678901234/21/X1", "/01/abc/21/%20")  # check digit; not a GTIN
    for path in (f"/01/{gtin}/21/NO-SUCH", f"/01/{gtin}/21/no%3Bsuch", *malformed):
        status, code = (400, "digital_link_malformed") if path in malformed else (404, None)
        assert_problem(
            sample.client.get(path, headers={"Accept": "application/json"}),
            status,
            code or "passport_not_found",
        )
        page = sample.client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == status
        assert page.headers["content-type"].startswith("text/html")
        assert "No battery passport" in page.text
        assert "content-security-policy" in page.headers
    assert_problem(
        sample.client.get(sample.resolver_path, headers={"Accept": "image/png"}),
        406,
        "not_acceptable",
    )


def test_passport_errors_are_problems(sample: Sample) -> None:
    for suffix in ("", "/bundle", "/compliance", "/qr.png", "/qr.svg"):
        assert_problem(
            sample.client.get(f"/passports/{UNKNOWN}{suffix}"), 404, "passport_not_found"
        )
        assert_problem(sample.client.get(f"/passports/not-an-id{suffix}"), 422, "request_invalid")
    assert_problem(
        sample.client.get(
            f"/passports/{sample.passport_id}", headers={"Authorization": "Bearer x"}
        ),
        401,
        "token_invalid",
    )
    assert_problem(
        sample.client.get(f"/passports/{sample.passport_id}/export?format=pdf"),
        422,
        "request_invalid",
    )


def test_rollup_and_its_trails_come_from_the_domain(sample: Sample) -> None:
    """Read as an authority (whole trails); anonymous readers are refused (roll-ups go to the
    lot's chain of custody and authorities: tests/api/test_access_policy.py)."""
    lot = sample.summary.packs[0].lot
    assert_problem(sample.client.get(f"/lots/{lot}/rollup"), 403, "lot_not_entitled")
    authority = sample.headers("authority")
    response = sample.client.get(f"/lots/{lot}/rollup", headers=authority)
    assert response.status_code == 200
    body = response.json()
    expected = compute_rollup(sample.ledger.repo, lot, at=body["at"])
    assert {k: v for k, v in body.items() if k != "trails"} == expected.model_dump(
        by_alias=True, mode="json"
    )
    assert set(body["trails"]) == set(body["figures"])
    figure = body["figures"][0]
    trail = sample.client.get(
        f"/lots/{lot}/rollup/explain/{figure}", params={"at": body["at"]}, headers=authority
    )
    assert trail.status_code == 200
    assert trail.json() == body["trails"][figure]
    bare = sample.client.get(
        f"/lots/{lot}/rollup", params={"trails": "false", "at": body["at"]}, headers=authority
    )
    assert "trails" not in bare.json() and bare.json()["elements"] == body["elements"]


def test_rollup_errors_are_problems(sample: Sample) -> None:
    lot = sample.summary.packs[0].lot
    authority = sample.headers("authority")
    missing = assert_problem(
        sample.client.get(f"/lots/{lot}/rollup/explain/No.such.figure", headers=authority),
        404,
        "not_found",
    )
    assert "Ni.country.ID" in missing["figures"]
    assert_problem(
        sample.client.get("/lots/urn:lot:nope/rollup", headers=authority), 404, "not_found"
    )
    assert_problem(sample.client.get("/lots/not-a-lot/rollup"), 422, "request_invalid")
    for at in ("yesterday", "2026-13-01T00:00:00Z"):
        assert_problem(
            sample.client.get(f"/lots/{lot}/rollup", params={"at": at}, headers=authority),
            422,
            "request_invalid",
        )


def test_the_qr_code_holds_the_batterys_digital_link(sample: Sample) -> None:
    png = sample.client.get(f"/passports/{sample.passport_id}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    svg = sample.client.get(f"/passports/{sample.passport_id}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content and b"viewBox" in svg.content
    assert sample.summary.packs[0].battery_id.startswith(BASE_URL + "/01/")
