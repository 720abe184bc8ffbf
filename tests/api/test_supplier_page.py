"""The supplier page in a real browser (Debian's Chromium, headless, driven by Playwright) against
the API served by uvicorn on loopback: a supplier picks its key file, uploads a CSV of
Extractions, sees the failing row reported (nothing appended), fixes it, signs in the browser and
appends; then a CSV of Transfers of those lots. The ledger then holds the records, its audit
passes (signatures, chains, log), and no request the browser sent held the private key."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.config import ApiConfig
from passport.ledger.audit import audit
from passport.ledger.pipeline import Ledger
from passport.records.proof import check_record_proof
from passport.service.disclosures import read_disclosures
from passport.settings import Settings
from passport.store.sql.repository import Repository
from signing.disclosures import parse_disclosure
from signing.jcs import canonicalize, parse_canonical
from signing.keys import SigningKey
from tests.conftest import Actors, _new_db_url
from tests.helpers.browser import browser_page, free_port, served_app, static_server
from tests.helpers.imports import FACILITY, csv_bytes, extraction_row, transformation_rows

OPERATOR = SigningKey.from_seed(b"\x01" * 32)
LOG = SigningKey.from_seed(b"\x02" * 32)
SEED = secrets.token_bytes(32)
MINER = SigningKey.from_seed(SEED)


@dataclass
class Site:
    base: str
    ledger: Ledger
    buyer: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A ledger with a registered miner and refiner, served by uvicorn on 127.0.0.1."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url, drop = _new_db_url(tmp_path_factory.mktemp("supplier"))
    ledger = Ledger(Repository(url), log_key=LOG, workers=1)
    ledger.initialise(OPERATOR, "supplier.test/log", "Supplier test operator")
    actors = Actors(ledger, OPERATOR)
    subject = {"id": MINER.did, "name": "Mine Co", "country": "CL", "roles": ["miner"]}
    ledger.append(
        ledger.sign_new(OPERATOR, "ActorRegistration", {**subject, "facilities": [FACILITY]})
    )
    buyer = actors.add("refiner", name="Refiner").did
    app = create_app(
        Settings(public_base_url=base), ledger, config=ApiConfig(checkpoint_cache_seconds=0)
    )
    try:
        with served_app(app, port):
            yield Site(base, ledger, buyer)
    finally:
        ledger.close()
        drop()


@pytest.fixture
def page(site: Site) -> Iterator[Any]:
    """A page that records errors and the body of every request it sends."""
    with browser_page() as pg:
        pg.bodies = []
        pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
        pg.on("request", lambda r: pg.bodies.append((r.url, r.post_data_buffer or b"")))
        yield pg


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_bytes(csv_bytes(rows))
    return path


def check(page: Any, kind: str, path: Path) -> str:
    """Upload ``path`` as ``kind`` and wait for the check's verdict; its text."""
    page.evaluate("() => { document.getElementById('check-status').className = 'status'; }")
    page.select_option("#kind", kind)
    page.set_input_files("#data-file", str(path))
    page.click("#check")
    page.wait_for_selector("#check-status.ok, #check-status.bad", timeout=60_000)
    text: str = page.text_content("#check-status")
    return text


def append(page: Any) -> list[dict[str, str]]:
    """Sign and append; the receipts table's rows."""
    page.click("#append")
    page.wait_for_selector("#append-status.ok, #append-status.bad", timeout=60_000)
    status = page.text_content("#append-status")
    assert "appended and logged" in status, status
    rows: list[dict[str, str]] = page.evaluate(
        """() => [...document.querySelectorAll('#receipts tbody tr')].map(tr => {
             const td = tr.querySelectorAll('td');
             return {row: td[0].textContent, hash: td[1].textContent, index: td[2].textContent};
           })"""
    )
    return rows


def secrets_of(key_pem: bytes) -> list[bytes]:
    """Every form the private key could travel in: its seed raw, base64, base64url and hex,
    and the PEM's body and DER."""
    seed = SEED
    body = b"".join(line for line in key_pem.splitlines() if not line.startswith(b"-----"))
    return [
        seed,
        base64.b64encode(seed).rstrip(b"="),
        base64.urlsafe_b64encode(seed).rstrip(b"="),
        seed.hex().encode(),
        body,
        base64.b64decode(body),
    ]


def sign_in(page: Any, site: Site, tmp_path: Path) -> Path:
    """Open the page, pick the miner's key file and sign in; the key file."""
    key_file = tmp_path / "miner.key"
    key_file.write_bytes(MINER.to_pem())
    page.goto(f"{site.base}/supplier")
    page.wait_for_selector("body[data-ready]")
    page.set_input_files("#key-file", str(key_file))
    page.wait_for_selector("#sign-in:not([disabled])")
    assert page.input_value("#did") == MINER.did
    page.click("#sign-in")
    page.wait_for_selector("#key-status.ok, #key-status.bad", timeout=60_000)
    assert page.text_content("#key-status") == f"Signed in as {MINER.did}."
    return key_file


def _other_issuer(report: dict[str, Any]) -> None:
    report["issuer"] = report["drafts"][0]["record"]["issuer"] = OPERATOR.did


def _other_key(report: dict[str, Any]) -> None:
    report["verificationMethod"] = f"{MINER.did}#{OPERATOR.multikey}"


def _skipped_sequence(report: dict[str, Any]) -> None:
    report["drafts"][1]["record"]["chain"]["sequence"] += 1


def _other_kind(report: dict[str, Any]) -> None:
    report["kind"] = "Transfer"


@pytest.mark.parametrize("tamper", [_other_issuer, _other_key, _skipped_sequence, _other_kind])
def test_the_page_signs_no_draft_it_was_not_asked_for(
    page: Any, site: Site, tmp_path: Path, tamper: Any
) -> None:
    """A node (or anything between) that answers the check with drafts of another issuer,
    key, kind or chain position gets nothing signed."""
    sign_in(page, site, tmp_path)

    def handle(route: Any) -> None:
        response = route.fetch()
        report = response.json()
        tamper(report)
        route.fulfill(response=response, json=report)

    page.route("**/imports/validate*", handle)
    size = site.ledger.info().size
    rows = [extraction_row(10), extraction_row(11)]
    verdict = check(page, "Extraction", write_csv(tmp_path / "lots.csv", rows))
    assert "nothing signed" in verdict, verdict
    assert page.is_disabled("#append")
    assert not any(url.endswith("/records/batch") for url, _ in page.bodies)
    assert site.ledger.info().size == size


def test_a_supplier_signs_and_appends_a_csv_in_the_browser(
    page: Any, site: Site, tmp_path: Path
) -> None:
    key_file = sign_in(page, site, tmp_path)

    # a failing row is reported with its row and column; nothing is appended
    size = site.ledger.info().size
    rows = [extraction_row(0), extraction_row(1, massGrams="12.5"), extraction_row(2)]
    verdict = check(page, "Extraction", write_csv(tmp_path / "lots.csv", rows))
    assert verdict.startswith("1 problem: nothing was signed or appended"), verdict
    problems = page.evaluate(
        "() => [...document.querySelectorAll('#problems tbody tr')].map(tr => "
        "[...tr.querySelectorAll('td')].map(td => td.textContent))"
    )
    assert len(problems) == 1 and problems[0][:2] == ["3", "massGrams"], problems
    assert page.is_disabled("#append")
    assert site.ledger.info().size == size

    # a rule only the ledger checks (the facility is not the miner's): the check passes, the
    # batch is refused as a whole, and the page names the row and the problem's code
    rows[1] = extraction_row(1, facility="mine-2")
    verdict = check(page, "Extraction", write_csv(tmp_path / "lots-elsewhere.csv", rows))
    assert verdict.startswith("3 rows valid"), verdict
    page.click("#append")
    page.wait_for_selector("#append-status.ok, #append-status.bad", timeout=60_000)
    refused = page.text_content("#append-status")
    assert refused.startswith("row 3: ") and "[unknown_facility]" in refused, refused
    assert "(0 records appended before)" in refused
    assert site.ledger.info().size == size

    # fixed: signed in the browser and appended, confidential members concealed
    rows[1] = extraction_row(1)
    verdict = check(page, "Extraction", write_csv(tmp_path / "lots-fixed.csv", rows))
    assert verdict == "3 rows valid: ready to sign as Extraction records.", verdict
    preview = page.evaluate(
        "() => [...document.querySelectorAll('#preview-list pre')].map(p => p.textContent)"
    )
    assert len(preview) == 3 and preview[1].startswith("row 3: {")
    assert json.loads(preview[1].removeprefix("row 3: "))["massGrams"] == 1_000_001
    extractions = append(page)
    assert [r["row"] for r in extractions] == ["2", "3", "4"]
    assert [int(r["index"]) for r in extractions] == [size, size + 1, size + 2]

    # Transformations: the second consumes the lot the first creates, whose record hash only
    # the browser knows once it has signed the first
    steps = transformation_rows("urn:lot:mine:00000")
    verdict = check(page, "Transformation", write_csv(tmp_path / "steps.csv", steps))
    assert verdict.startswith("2 rows valid"), verdict
    made = append(page)

    # Transfers of those lots continue the chain; the node fills in each lot's record
    transfers = [{"lot": f"urn:lot:mine:{i:05d}", "massGrams": "1000", "buyer": site.buyer}
                 for i in range(3)]  # fmt: skip
    verdict = check(page, "Transfer", write_csv(tmp_path / "transfers.csv", transfers))
    assert verdict.startswith("3 rows valid"), verdict
    moves = append(page)
    # the failing check's and the refused batch's responses (Chromium logs every non-2xx
    # response); no script error
    assert len(page.errors) == 2, page.errors
    assert all(e.startswith("Failed to load resource: the server responded with a status of 4")
               for e in page.errors), page.errors  # fmt: skip
    _check_ledger(page, site, [r["hash"] for r in extractions + made + moves])
    _check_no_key_was_sent(page, key_file.read_bytes())


def _check_ledger(page: Any, site: Site, hashes: list[str]) -> None:
    """The records are in the log, chained 1..8 under the miner, each proof verifies, the
    concealed members' Disclosures are kept; the whole ledger's audit passes; and the page's
    JCS writes each stored record exactly as the Python canonicaliser stored it."""
    ledger = site.ledger
    stored = [ledger.record(h) for h in hashes]
    assert [s.sequence for s in stored] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert {s.issuer for s in stored} == {MINER.did}
    assert ledger.chain_head(MINER.did) == (8, hashes[-1])
    previous = None
    for s in stored:
        doc, canonical = parse_canonical(s.body)
        assert canonical == s.body
        check_record_proof(doc, canonical)
        assert doc["chain"].get("previous") == previous
        previous = s.hash
    extraction = json.loads(stored[0].body)["credentialSubject"]
    assert set(extraction) == {"lot", "material", "_sd", "_sd_alg"}  # concealed in the browser
    names = {parse_disclosure(d).name for d in read_disclosures(ledger, stored[0].hash, MINER.did)}
    assert {"massGrams", "facility", "country"} <= names
    revealed = {
        d.name: d.value
        for d in map(parse_disclosure, read_disclosures(ledger, stored[4].hash, MINER.did))
    }
    assert revealed["inputs"][0]["record"] == hashes[3]  # the lot the first Transformation made
    transfer = json.loads(stored[5].body)["credentialSubject"]
    assert transfer["record"] == hashes[0]  # the lot's creating record
    info = ledger.info()
    report = audit(ledger.repo, info.origin, info.log_vkey, workers=1)
    assert report.ok, report.to_dict()
    page.goto(f"{site.base}/static/bpass-verify.js")
    written = page.evaluate(
        """async (bodies) => {
             const V = await import('/static/bpass-verify.js');
             return bodies.map((b) => V.canonicalize(JSON.parse(b)));
           }""",
        [s.body.decode("utf-8") for s in stored],
    )
    assert [w.encode("utf-8") for w in written] == [s.body for s in stored]


def _check_no_key_was_sent(page: Any, key_pem: bytes) -> None:
    """No request held the private key in any of its forms, in its URL or its body (the test
    records every request the page sent)."""
    posts = [(url, body) for url, body in page.bodies if body]
    assert any(url.endswith("/records/batch") for url, _ in posts)
    assert any("/imports/validate" in url for url, _ in posts)
    for url, body in page.bodies:
        for secret in secrets_of(key_pem):
            assert secret not in body, url
            assert secret not in url.encode("utf-8"), url


def test_the_key_is_imported_so_that_it_cannot_be_exported(page: Any, site: Site) -> None:
    """A PEM or a JWK becomes a non-extractable signing key; an encrypted PEM is refused."""
    page.goto(f"{site.base}/supplier")
    page.wait_for_selector("body[data-ready]")
    jwk = {"kty": "OKP", "crv": "Ed25519", "d": _b64url(SEED), "x": _b64url(MINER.public_key_bytes)}
    encrypted = MINER.to_pem(b"passphrase").decode()
    result = page.evaluate(
        """async (keys) => {
             const S = await import('/static/supplier.js');
             const out = [];
             for (const text of keys.slice(0, 2)) {
               const k = await S.importSigningKey(text);
               let exported = 'refused';
               try { await crypto.subtle.exportKey('jwk', k.key); exported = 'exported'; }
               catch (e) { /* non-extractable */ }
               out.push([k.did, k.key.extractable, k.key.usages.join(), exported]);
             }
             try { await S.importSigningKey(keys[2]); out.push('imported'); }
             catch (e) { out.push(e.message); }
             return out;
           }""",
        [MINER.to_pem().decode(), json.dumps(jwk), encrypted],
    )
    for did, extractable, usages, exported in result[:2]:
        assert (did, extractable, usages, exported) == (MINER.did, False, "sign", "refused")
    assert "encrypted" in result[2]
    assert page.errors == []


def test_an_encrypted_key_file_opens_with_its_passphrase(
    page: Any, site: Site, tmp_path: Path
) -> None:
    """A key file `bpass` encrypted (BPASS_KEY_PASSPHRASE: PBES2, PBKDF2, AES-256-CBC) is
    opened in the browser with its passphrase into the same non-extractable key; without it,
    with a wrong one, or under an algorithm the page does not read, it is refused saying so.
    Through the page: the file refused, then read once the passphrase is typed; sign-in works."""
    encrypted = MINER.to_pem(b"correct horse").decode()
    # The same file naming AES-192-CBC instead of AES-256-CBC: a cipher the page does not read.
    der = base64.b64decode("".join(encrypted.splitlines()[1:-1]))
    aes256 = bytes.fromhex("060960864801650304012a")  # OID 2.16.840.1.101.3.4.1.42
    assert der.count(aes256) == 1
    other = base64.b64encode(der.replace(aes256, aes256[:-1] + b"\x16")).decode()
    other_cipher = (
        f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{other}\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    lines = encrypted.splitlines()  # and the file cut short
    cut = "\n".join([*lines[:-2], lines[-2][:12], lines[-1]])
    page.goto(f"{site.base}/supplier")
    page.wait_for_selector("body[data-ready]")
    result = page.evaluate(
        """async ([encrypted, otherCipher, cut]) => {
             const S = await import('/static/supplier.js');
             const attempt = async (text, passphrase) => {
               try {
                 const k = await S.importSigningKey(text, passphrase);
                 return [k.did, k.key.extractable, k.key.usages.join()];
               } catch (e) { return e.message; }
             };
             return [await attempt(encrypted, 'correct horse'), await attempt(encrypted, ''),
                     await attempt(encrypted, 'wrong horse'), await attempt(otherCipher, 'correct horse'),
                     await attempt(cut, 'correct horse')];
           }""",
        [encrypted, other_cipher, cut],
    )
    assert result[0] == [MINER.did, False, "sign"]
    assert "encrypted: type its passphrase" in result[1]
    assert result[2] == "the passphrase does not open this key file"
    assert "does not read" in result[3]
    assert "damaged" in result[4]  # the file cut short

    key_file = tmp_path / "miner.key"
    key_file.write_text(encrypted, encoding="utf-8")
    page.set_input_files("#key-file", str(key_file))
    page.wait_for_selector("#key-status.bad")
    assert "passphrase" in (page.text_content("#key-status") or "")
    page.fill("#passphrase", "correct horse")
    page.dispatch_event("#passphrase", "change")
    page.wait_for_selector("#sign-in:not([disabled])")
    assert page.input_value("#did") == MINER.did
    page.click("#sign-in")
    page.wait_for_selector("#key-status.ok, #key-status.bad", timeout=60_000)
    assert page.text_content("#key-status") == f"Signed in as {MINER.did}."
    assert page.errors == []
    for _, body in page.bodies:
        assert b"correct horse" not in body


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
# What records hold: strings (any Unicode scalar value), integers a JavaScript number holds
# exactly, booleans, null, and objects and arrays of them.
TEXT_CHARS = st.characters(exclude_categories=["Cs"])
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(TEXT_CHARS),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(TEXT_CHARS, max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def static_page() -> Iterator[Any]:
    with static_server(STATIC) as base, browser_page() as pg:
        pg.goto(f"{base}/bpass-verify.js")
        pg.evaluate("async () => { window.V = await import('/bpass-verify.js'); }")
        yield pg
        assert pg.errors == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(JSON_VALUES, min_size=1, max_size=10))
def test_the_pages_jcs_writes_what_python_writes(static_page: Any, values: list[Any]) -> None:
    """The canonical JSON the page signs (bpass-verify.js ``canonicalize``) is byte for byte
    the node's (signing.jcs, RFC 8785) on every value a record may hold."""
    texts = [json.dumps(v, ensure_ascii=False) for v in values]
    written = static_page.evaluate(
        "(texts) => texts.map((t) => V.canonicalize(JSON.parse(t)))", texts
    )
    assert [w.encode("utf-8") for w in written] == [canonicalize(v) for v in values]
