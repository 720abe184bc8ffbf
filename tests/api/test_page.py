"""The passport page in a real browser (Debian's Chromium, headless, driven by Playwright) against
the API served by uvicorn on loopback: the page a QR code leads to verifies the passport on the
device and says so; a served bundle with one changed byte makes it fail, naming the check.
Screenshots (mobile 390×844 and desktop) go to docs/screenshots/ as documentation."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.config import ApiConfig
from api.pages import WORDS
from passport.ledger.pipeline import Ledger
from passport.settings import Settings
from passport.store.sql.repository import Repository
from samples.generate import SampleSummary, build_sample_ledger
from signing.keys import SigningKey
from tests.conftest import _new_db_url
from tests.helpers.browser import chromium, free_port, served_app

# Screenshots are documentation: `BPASS_SCREENSHOTS=docs/screenshots make test-sqlite` refreshes
# the committed ones; by default they go to a temporary folder so a test run leaves the tree clean.


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``BPASS_SCREENSHOTS``, else pytest's temporary folder (cleaned up
    with its others)."""
    chosen = os.environ.get("BPASS_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
OPERATOR = SigningKey.from_seed(b"\x01" * 32)
LOG = SigningKey.from_seed(b"\x02" * 32)
CHECKS = [
    "bundle",
    "checkpoint",
    "inclusion",
    "signatures",
    "operator",
    "passport record",
    "OEM key",
    "status",
    "partitions",
    "shown data",
]


@dataclass
class Site:
    base: str
    ledger: Ledger
    summary: SampleSummary

    @property
    def url(self) -> str:
        return self.summary.packs[0].battery_id

    @property
    def passport_id(self) -> str:
        pid = self.summary.packs[0].passport_id
        assert pid is not None
        return pid


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A sample ledger served by uvicorn on 127.0.0.1, its links under that address."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url, drop = _new_db_url(tmp_path_factory.mktemp("page"))
    ledger = Ledger(Repository(url), log_key=LOG, workers=1)
    ledger.initialise(OPERATOR, "page.test/log", "Page test operator")
    summary = build_sample_ledger(ledger, packs=1, operator_key=OPERATOR, base_url=base)
    app = create_app(
        Settings(public_base_url=base), ledger, config=ApiConfig(checkpoint_cache_seconds=0)
    )
    try:
        with served_app(app, port):
            yield Site(base, ledger, summary)
    finally:
        ledger.close()
        drop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh page (own storage) that records errors and every URL it requests."""
    context = browser.new_context(viewport=MOBILE)
    pg = context.new_page()
    pg.errors = []
    pg.requests = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("request", lambda r: pg.requests.append(r.url))
    yield pg
    context.close()


def _verdict(page: Any) -> dict[str, Any]:
    page.wait_for_selector("#verdict[data-result]", timeout=60_000)
    result: dict[str, Any] = page.evaluate(
        """() => {
          const v = document.getElementById('verdict');
          return {
            result: v.dataset.result,
            failed: v.dataset.failed ? v.dataset.failed.split(',') : [],
            text: v.textContent,
            checks: [...document.querySelectorAll('#checks li')].map(li => ({
              check: li.dataset.check, ok: li.className === 'ok', text: li.textContent})),
          };
        }"""
    )
    return result


def _flip(text: str, target: str, *, last: bool = True) -> str:
    """``text`` with one byte changed: the middle character of the last (or first) occurrence of
    ``target`` (the bundle's records come last; the served view repeats the passport record)."""
    where = (text.rindex(target) if last else text.index(target)) + len(target) // 2
    return text[:where] + ("B" if text[where] != "B" else "C") + text[where + 1 :]


def test_a_good_passport_shows_verified(page: Any, site: Site, shots: Path) -> None:
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["result"] == "verified", verdict
    assert "Verified" in verdict["text"]
    assert [c["check"] for c in verdict["checks"]] == CHECKS
    assert all(c["ok"] for c in verdict["checks"])
    assert page.errors == []
    assert all(u.startswith(site.base + "/") for u in page.requests), page.requests
    assert f"{site.base}/passports/{site.passport_id}/bundle" in page.requests
    page.screenshot(path=str(shots / "passport-mobile.png"))
    page.screenshot(path=str(shots / "passport-mobile-full.png"), full_page=True)
    page.click("#checks-box summary")
    page.locator("#checks-box").screenshot(path=str(shots / "passport-checks-mobile.png"))
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / "passport-desktop.png"), full_page=True)


def test_the_page_shows_the_public_passport_readably(page: Any, site: Site) -> None:
    page.goto(site.url)
    _verdict(page)
    assert page.evaluate("document.documentElement.lang") == "en"
    headings = page.eval_on_selector_all(
        "h1, h2", "els => els.map(e => e.tagName + ':' + e.textContent.trim())"
    )
    assert headings[0].startswith("H1:") and sum(h.startswith("H1:") for h in headings) == 1
    titles = [h.split(":", 1)[1] for h in headings[1:]]
    for title in (
        "Verification",
        "The battery",
        "Carbon footprint",
        "Materials and their origins",
        "Recycled content",
        "Certifications and due diligence",
    ):
        assert title in titles
    text = page.inner_text("main")
    for expected in (
        "State",
        "In its first life, as sold",
        "Electric vehicle battery",
        "kg CO₂e per kWh",
        "Class",
        "DR Congo",
        "Pre-consumer",
        "RMI-RMAP",
        "Due diligence",
    ):
        assert expected in text, expected
    assert page.get_attribute("#verdict", "aria-live") == "polite"
    assert page.get_attribute("#verdict", "role") == "status"
    for alt in page.eval_on_selector_all("img", "els => els.map(e => e.alt)"):
        assert alt
    # fits a phone: nothing wider than the viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]


CONTRAST = """() => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      const alpha = bg.match(/[0-9.]+/g)[3];
      if (alpha === undefined || Number(alpha) > 0.5) return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  const worst = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('meter') || !el.getClientRects().length) continue;
    const [a, b] = [lum(getComputedStyle(el).color), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push([el.tagName, el.textContent.trim().slice(0, 40), ratio.toFixed(2)]);
  }
  return worst;
}"""


def test_text_contrast_meets_wcag_aa(page: Any, site: Site) -> None:
    page.goto(site.url)
    _verdict(page)
    page.click("#checks-box summary")
    assert page.evaluate(CONTRAST) == []


def test_the_page_sends_a_strict_content_security_policy(page: Any, site: Site) -> None:
    response = page.goto(site.url)
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe" not in csp and "http" not in csp
    _verdict(page)
    assert page.errors == []  # nothing on the page was blocked by it


def test_the_first_phone_screen_says_what_matters(page: Any, site: Site) -> None:
    """At 390×844 the verdict, what the battery is and the carbon figure with its class marked
    provisional are all above the fold, before any scrolling."""
    page.goto(site.url)
    _verdict(page)
    assert page.evaluate("window.scrollY") == 0
    glance = page.locator("section.glance")
    facts = glance.locator(".glance-facts").inner_text()
    for expected in ("Elbe Motors AG", "Electric vehicle battery", "NMC811", "75 kWh", "214 Ah"):
        assert expected in facts, expected
    carbon = glance.locator(".carbon-class").inner_text()
    assert "provisional" in carbon and "the EU has not yet set the class boundaries" in carbon
    for selector in (
        "#verdict",
        "h1",
        ".glance-facts",
        "#glance-carbon .big",
        "#glance-carbon .carbon-class",
    ):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= MOBILE["height"], (selector, box)


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # a date or the start of a timestamp


def test_the_page_shows_words_not_codes_or_iso_dates(page: Any, site: Site) -> None:
    page.goto(site.url)
    _verdict(page)
    text = page.inner_text("body")
    assert not ISO_DATE.search(text), ISO_DATE.findall(text)
    for raw in ("(ev)", "acuteToxicity", "naturalGraphite", "cahra", "CAHRA", "(CD)", "sulfidic"):
        assert raw not in text, raw
    for code in WORDS["flag"]:
        assert code not in text, code
    # dates in words, the signed value kept in the <time> element's datetime attribute
    times = page.eval_on_selector_all(
        "time[data-ptr]", "els => els.map(e => [e.dataset.ptr, e.dateTime, e.textContent])"
    )
    assert {t[0] for t in times} >= {"/issuedAt", "/lastUpdated", "/point1/manufacturing/date"}
    for _, iso, shown in times:
        assert ISO_DATE.match(iso), iso
        assert re.search(
            r"(January|February|March|April|May|June|July|August|September|"
            r"October|November|December)",
            shown,
        ), shown
        assert iso[:4] in shown
    assert "11 May 2026" in text or "May 11, 2026" in text  # the manufacturing date


def test_risk_flags_read_in_plain_language(page: Any, site: Site) -> None:
    page.goto(site.url)
    _verdict(page)
    flags = page.eval_on_selector_all(".flags li", "els => els.map(e => e.innerText)")
    text = "\n".join(flags)
    assert "Cobalt from a conflict-affected or high-risk area (EU list)" in text
    assert "Nickel from lateritic ore" in text
    assert "Cobalt from artisanal and small-scale mines" in text
    for jargon in ("Co ", " Li ", "CAHRA", "the evidence lists", "HPAL"):
        assert jargon not in text, jargon
    meanings = page.eval_on_selector_all(".flags .meaning", "els => els.map(e => e.textContent)")
    assert len(meanings) == len(flags) and all(len(m) > 30 for m in meanings)


@pytest.mark.parametrize(
    "edit",
    [
        # the word shown for a coded value is not the word for the signed value
        (
            'data-ptr="/point1/category">Electric vehicle battery<',
            'data-ptr="/point1/category">Industrial battery<',
        ),
        # the coded value kept beside the word is not the signed one
        ('data-value="ev"', 'data-value="industrial"'),
        # a risk flag's plain words are another flag's
        (">from lateritic ore<", ">of unknown origin<"),
        # a date's signed value (datetime) differs
        ('<time datetime="', '<time datetime="2020-01-01T00:00:00Z" data-old="'),
    ],
    ids=["word", "data-value", "flag words", "datetime"],
)
def test_words_and_dates_are_checked_against_the_signed_values(
    page: Any, site: Site, edit: tuple[str, str]
) -> None:
    old, new = edit

    def handle(route: Any) -> None:
        response = route.fetch()
        html = response.text()
        assert old in html, old
        route.fulfill(response=response, body=html.replace(old, new, 1))

    page.route(site.url, handle)
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["failed"] == ["shown data"], verdict


def _serve_tampered(page: Any, site: Site, tamper: Any) -> None:
    bundle_url = f"{site.base}/passports/{site.passport_id}/bundle"

    def handle(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=tamper(response.text()))

    page.route(bundle_url, handle)


def test_one_changed_byte_in_the_passport_record_fails(page: Any, site: Site, shots: Path) -> None:
    def tamper(text: str) -> str:
        bundle = json.loads(text)
        record = next(
            r["record"] for r in bundle["records"] if r["record"]["type"][1] == "BatteryPassport"
        )
        return _flip(text, record["proof"]["proofValue"])

    _serve_tampered(page, site, tamper)
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["result"] == "failed"
    assert "failed" in verdict["text"].lower()
    assert "signatures" in verdict["failed"]
    assert "Record signatures (signatures)" in verdict["text"]
    assert {"checkpoint", "operator", "OEM key", "partitions"}.isdisjoint(verdict["failed"])
    page.screenshot(path=str(shots / "passport-failed-mobile.png"))


def test_a_changed_checkpoint_signature_fails_the_checkpoint(page: Any, site: Site) -> None:
    def tamper(text: str) -> str:
        note = json.loads(text)["checkpoint"]
        signature = note.rsplit(" ", 1)[1].strip()
        return _flip(text, signature[8:40], last=False)

    _serve_tampered(page, site, tamper)
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["result"] == "failed"
    assert verdict["failed"][0] == "checkpoint"
    assert "inclusion" in verdict["failed"]  # nothing to check inclusion against


def test_a_changed_partition_byte_fails_the_partitions(page: Any, site: Site) -> None:
    def tamper(text: str) -> str:
        bundle = json.loads(text)
        data = bundle["view"]["evidence"]["partitions"]["1"]["credentialSubject"]["data"]
        mass = data["massKg"]
        return text.replace(f'"massKg":"{mass}"', f'"massKg":"{mass}1"')

    _serve_tampered(page, site, tamper)
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["failed"][0] == "partitions", verdict


def test_a_page_showing_other_values_than_signed_fails(page: Any, site: Site) -> None:
    """The server renders the page; the browser checks each shown value against the partition."""

    def handle(route: Any) -> None:
        response = route.fetch()
        html = response.text().replace('perKWh/total">', 'perKWh/total">0.0001', 1)
        route.fulfill(response=response, body=html)

    page.route(site.url, handle)
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["failed"] == ["shown data"], verdict


def test_an_unreachable_bundle_fails_plainly(page: Any, site: Site) -> None:
    page.route(
        f"{site.base}/passports/{site.passport_id}/bundle",
        lambda route: route.fulfill(status=503, body="{}"),
    )
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["result"] == "failed" and verdict["failed"] == ["bundle"]


def test_restricted_bundles_verify_in_the_browser(page: Any, site: Site) -> None:
    """With a bearer token the same module verifies the role's partitions."""
    from fastapi.testclient import TestClient

    from tests.helpers.api import login

    page.goto(site.url)
    _verdict(page)
    with TestClient(create_app(Settings(public_base_url=site.base), site.ledger)) as client:
        tokens = {
            role: login(client, site.summary.actor(slug).key.did, site.summary.actor(slug).key)
            for role, slug in (("legitimate-interest", "saale"), ("authority", "msa"))
        }
    for role, token in tokens.items():
        result = page.evaluate(
            """async ([url, token, id]) => {
              const V = await import('/static/bpass-verify.js');
              const r = await fetch(url, {headers: {Authorization: `Bearer ${token}`}});
              const report = await V.verifyBundle(await r.json(), {passportId: id});
              return {ok: report.ok, parts: Object.keys(report.passport.partitions), checks: report.checks};
            }""",
            [f"{site.base}/passports/{site.passport_id}/bundle", token, site.passport_id],
        )
        assert result["ok"], result["checks"]
        assert result["parts"] == (
            ["1", "2", "4"] if role == "legitimate-interest" else ["1", "2", "3"]
        )


def test_an_unknown_link_gets_an_html_404(page: Any, site: Site, shots: Path) -> None:
    gtin = site.url.split("/01/", 1)[1].split("/")[0]
    response = page.goto(f"{site.base}/01/{gtin}/21/NO-SUCH-PACK")
    assert response.status == 404
    assert page.inner_text("h1") == "No battery passport at this link"
    page.screenshot(path=str(shots / "passport-not-found-mobile.png"))


def test_a_bundle_without_the_oems_registration_fails_the_key_check(page: Any, site: Site) -> None:
    oem = site.summary.actor("elbe").did

    def tamper(text: str) -> str:
        bundle = json.loads(text)
        bundle["records"] = [
            r
            for r in bundle["records"]
            if not (
                r["record"]["type"][1] == "ActorRegistration"
                and r["record"]["credentialSubject"]["id"] == oem
            )
        ]
        return json.dumps(bundle)

    _serve_tampered(page, site, tamper)
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["failed"] == ["OEM key"], verdict


def test_the_oems_key_history_is_replayed(page: Any, site: Site) -> None:
    """After the OEM rotates its key, the passport signed with the old one still verifies: that
    key was the OEM's registered key when the log accepted the passport."""
    old = site.summary.actor("elbe").key
    new = SigningKey.generate()
    site.ledger.append(site.ledger.sign_new(old, "KeyRotation", {"nextKey": new.multikey}))
    bundle = site.ledger.info().size
    page.goto(site.url)
    verdict = _verdict(page)
    assert verdict["result"] == "verified", verdict
    records = next(c for c in verdict["checks"] if c["check"] == "inclusion")["text"]
    assert f"in the log at {bundle}" in records  # the bundle holds the rotation
    oem_check = next(c for c in verdict["checks"] if c["check"] == "OEM key")
    assert old.multikey in oem_check["text"]
