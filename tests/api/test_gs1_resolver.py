"""The GS1-Conformant Resolver 1.2 requirements the Digital Link resolver meets, one test each,
named after the requirement, through HTTP. The compressed-link vectors are those of GS1's
reference compression toolkit (github.com/gs1/GS1DigitalLinkCompressionPrototype) and of the
GS1 Resolver Community Edition's announcement of compression; ``docs/interop.md`` lists the
requirements and how each is met. On a sample ledger, both backends."""

from __future__ import annotations

import re

import pytest

from api.views import GS1_DEFAULT, GS1_PIP, REL_BASE
from passport.document.dl_compression import (
    compress,
    decompress,
    key_bits,
    to_base64url,
    value_bits,
)
from tests.helpers.api import BASE_URL, assert_problem
from tests.helpers.api_passport import Sample, sample

__all__ = ["sample"]

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,*/*;q=0.8"}
ORIGIN = {"Origin": "https://scanner.example"}


def _link_header(value: str) -> dict[str, list[dict[str, str]]]:
    """An RFC 8288 Link header as {rel: [{href, type, title, hreflang}]}."""
    out: dict[str, list[dict[str, str]]] = {}
    for target, params in re.findall(r'<([^>]*)>((?:;\s*[a-z]+="(?:[^"\\]|\\.)*")*)', value):
        attrs = dict(re.findall(r'([a-z]+)="((?:[^"\\]|\\.)*)"', params))
        out.setdefault(attrs.pop("rel"), []).append({"href": target, **attrs})
    return out


def _gtin_serial(s: Sample) -> tuple[str, str]:
    _, _, gtin, _, serial = s.resolver_path.split("/")
    return gtin, serial


def test_the_resolver_answers_head_with_the_headers_of_get_and_no_body(sample: Sample) -> None:
    for headers in (JSON, HTML):
        got = sample.client.get(sample.resolver_path, headers=headers)
        head = sample.client.head(sample.resolver_path, headers=headers)
        assert head.status_code == got.status_code == 200
        assert head.content == b""
        for name in ("content-type", "content-length", "link", "vary"):
            assert head.headers[name] == got.headers[name], name


def test_the_resolver_answers_options_with_the_methods_it_allows(sample: Sample) -> None:
    response = sample.client.options(sample.resolver_path)
    assert response.status_code == 204
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}


def test_the_resolver_answers_a_cors_preflight(sample: Sample) -> None:
    response = sample.client.options(
        sample.resolver_path,
        headers={**ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    methods = response.headers["access-control-allow-methods"]
    assert all(m in methods for m in ("GET", "HEAD", "OPTIONS"))
    assert "access-control-allow-credentials" not in response.headers
    refused = sample.client.options(
        sample.resolver_path, headers={**ORIGIN, "Access-Control-Request-Method": "DELETE"}
    )
    assert refused.status_code == 403


def test_the_resolver_and_public_reads_support_cors_without_credentials(sample: Sample) -> None:
    for path in (sample.resolver_path, f"/passports/{sample.passport_id}", "/log/checkpoint"):
        response = sample.client.get(path, headers={**ORIGIN, **JSON})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "Link" in response.headers["access-control-expose-headers"]
        assert "access-control-allow-credentials" not in response.headers
    restricted = sample.client.get(
        sample.resolver_path, headers={**ORIGIN, **JSON, **sample.headers("authority")}
    )
    assert restricted.status_code == 200
    assert restricted.headers["cache-control"] == "private, no-store"  # no shared cache keeps it


def test_linktype_all_returns_the_linkset_in_gs1_linkset_format(sample: Sample) -> None:
    response = sample.client.get(sample.resolver_path + "?linkType=all")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/linkset+json"
    (context,) = response.json()["linkset"]
    assert context["anchor"] == BASE_URL + sample.resolver_path  # the Digital Link URI
    assert {GS1_PIP, GS1_DEFAULT} <= set(context)
    ours = {REL_BASE + n for n in ("bundle", "qr", "checkpoint", "passport")}
    assert ours <= set(context)
    for rel, targets in context.items():
        if rel == "anchor":
            continue
        for target in targets:
            assert target["href"].startswith(BASE_URL + "/"), (rel, target)
            assert target["title"] and target["type"], (rel, target)
    (pip,) = context[GS1_PIP]
    assert pip["type"] == "text/html" and pip["hreflang"] == ["en"]
    assert context[GS1_DEFAULT] == [pip]  # gs1:pip is the default link


def test_linktype_gs1_pip_redirects_to_the_product_information_page(sample: Sample) -> None:
    pip = None
    for link_type in ("gs1:pip", GS1_PIP, "http://gs1.org/voc/pip", "gs1:defaultLink"):
        response = sample.client.get(
            sample.resolver_path, params={"linkType": link_type}, follow_redirects=False
        )
        assert response.status_code == 307, link_type
        pip = pip or response.headers["location"]
        assert response.headers["location"] == pip
        assert GS1_PIP in _link_header(response.headers["link"])  # links shown when redirecting
    assert pip is not None
    page = sample.client.get(pip)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert sample.passport_id in page.text
    bundle = sample.client.get(
        sample.resolver_path, params={"linkType": "bpass:bundle"}, follow_redirects=False
    )
    assert bundle.status_code == 307 and bundle.headers["location"].endswith("/bundle")


def test_an_unknown_linktype_answers_404_with_a_problem(sample: Sample) -> None:
    for link_type in ("gs1:certificationInfo", "https://example.org/nothing"):
        assert_problem(
            sample.client.get(sample.resolver_path, params={"linkType": link_type}),
            404,
            "link_type_not_found",
        )


def test_without_linktype_the_default_link_is_served_by_content_negotiation(
    sample: Sample,
) -> None:
    page = sample.client.get(sample.resolver_path, headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    default = _link_header(page.headers["link"])[GS1_DEFAULT][0]["href"]
    assert sample.client.get(default).text == page.text  # the page is the default link's
    view = sample.client.get(sample.resolver_path, headers=JSON)
    assert view.headers["content-type"] == "application/json"
    assert view.json()["passport"]["passportId"] == sample.passport_id


def test_every_link_in_the_link_header_has_a_target_a_link_type_and_a_title(
    sample: Sample,
) -> None:
    links = _link_header(sample.client.get(sample.resolver_path, headers=JSON).headers["link"])
    for rel, targets in links.items():
        for target in targets:
            assert target["href"].startswith(BASE_URL + "/"), rel
            assert target["title"], rel


def test_the_well_known_gs1resolver_document_describes_the_resolver(sample: Sample) -> None:
    response = sample.client.get("/.well-known/gs1resolver", headers=ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert body["name"] and body["resolverRoot"] == BASE_URL
    assert body["supportedPrimaryKeys"] == ["gtin"]
    namespaces = {t["namespace"]: t["prefix"] for t in body["supportedLinkType"]}
    assert namespaces["https://gs1.org/voc/"] == "gs1:"
    assert {GS1_PIP, GS1_DEFAULT} <= set(body["linkTypes"])
    assert body["gs1ResolverVersion"] == "1.2.0" and body["version"]
    assert sample.client.head("/.well-known/gs1resolver").status_code == 200


@pytest.mark.parametrize(
    "gtin",
    [
        "04260998750012",  # wrong check digit
        "0426099875001",  # 13 digits, wrong check digit
        "426099875001101",  # 15 digits
        "1234567",  # 7 digits
        "0426O99875OO11",  # letters
    ],
)
def test_a_malformed_gtin_answers_400_with_a_problem(sample: Sample, gtin: str) -> None:
    path = f"/01/{gtin}/21/X1"
    assert_problem(sample.client.get(path, headers=JSON), 400, "digital_link_malformed")
    page = sample.client.get(path, headers=HTML)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("serial", ["A" * 21, "a%20b", "caf%C3%A9", "a%23b", "a~b"])
def test_a_serial_outside_ai_21_character_set_82_answers_400(sample: Sample, serial: str) -> None:
    gtin, _ = _gtin_serial(sample)
    assert_problem(
        sample.client.get(f"/01/{gtin}/21/{serial}", headers=JSON), 400, "digital_link_malformed"
    )


def test_a_well_formed_key_without_a_passport_answers_404_with_a_problem(sample: Sample) -> None:
    gtin, _ = _gtin_serial(sample)
    for path in (f"/01/{gtin}/21/NO-SUCH", f"/01/{gtin}/21/x%2Ay", "/01/96385074/21/X1"):
        assert_problem(sample.client.get(path, headers=JSON), 404, "passport_not_found")


def test_a_gtin_13_resolves_as_its_gtin_14_with_owl_same_as(sample: Sample) -> None:
    gtin, serial = _gtin_serial(sample)
    assert gtin.startswith("0")
    canonical = sample.client.get(sample.resolver_path, headers=JSON)
    short = sample.client.get(f"/01/{gtin[1:]}/21/{serial}", headers=JSON)
    assert short.status_code == 200 and short.content == canonical.content
    assert _link_header(short.headers["link"])["owl:sameAs"] == [
        {"href": BASE_URL + sample.resolver_path}
    ]
    assert "owl:sameAs" not in _link_header(canonical.headers["link"])
    # GTIN-12 and GTIN-8 are well-formed keys too (left-padded to 14 digits): no passport here
    for other in ("614141123452", "96385074"):
        assert_problem(
            sample.client.get(f"/01/{other}/21/{serial}", headers=JSON), 404, "passport_not_found"
        )


def test_compressed_links_decompress_as_the_gs1_reference_vectors(sample: Sample) -> None:
    vectors = {
        "AQnYUc1gmkIXDU-iun": {"01": "05412345000013", "21": "72292641703"},
        "AQnYUc1gmiCNV4JGQhcNT6K6c": {"01": "05412345000013", "10": "ABC123", "21": "72292641703"},
        "AQnO2IRCICDKWcnpqQtCQiJABemo": {"01": "05392000229648", "10": "LOT01", "21": "SERIAL01"},
        "AQnYUc1gmg": {"01": "05412345000013"},
    }
    for segment, ais in vectors.items():
        assert decompress(segment) == ais
    assert compress("05412345000013", "72292641703") == "AQnYUc1gmkIXDU-iun"
    # well-formed keys of batteries this ledger does not hold: 404 (a GTIN alone, a lot: too)
    for segment in vectors:
        assert_problem(sample.client.get(f"/{segment}", headers=JSON), 404, "passport_not_found")


def test_a_compressed_link_resolves_as_its_uncompressed_uri_without_redirect(
    sample: Sample,
) -> None:
    gtin, serial = _gtin_serial(sample)
    canonical = sample.client.get(sample.resolver_path, headers=JSON)
    plain = compress(gtin, serial)
    # the same key under optimisation code 0x0C ("01 then 21"): the AI 21 byte left out
    bits = key_bits(gtin, serial)
    cut = 8 + value_bits(14)
    segment_0c = to_base64url("00001100" + bits[8:cut] + bits[cut + 8 :])
    assert decompress(segment_0c) == {"01": gtin, "21": serial}
    for segment in (plain, segment_0c):
        response = sample.client.get(f"/{segment}", headers=JSON, follow_redirects=False)
        assert response.status_code == 200 and response.content == canonical.content
        same_as = _link_header(response.headers["link"])["owl:sameAs"]
        assert same_as == [{"href": BASE_URL + sample.resolver_path}]
        pip = sample.client.get(f"/{segment}?linkType=gs1:pip", follow_redirects=False)
        assert pip.status_code == 307
        assert sample.client.head(f"/{segment}", headers=JSON).status_code == 200


def test_an_undecodable_compressed_link_answers_400_with_a_problem(sample: Sample) -> None:
    for segment in ("AQnYUc1gmkIX", "AQnYUc1gmkIXDU", "ZZZZZZZZZZZZ"):
        assert_problem(
            sample.client.get(f"/{segment}", headers=JSON), 400, "digital_link_malformed"
        )
