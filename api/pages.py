"""HTML pages: the public passport page a QR code leads to, and the resolver's 404 page.

The page shows the public partition (Annex XIII point 1) readably and verifies it in the browser
(``/static/passport-page.js`` with ``/static/bpass-verify.js``, WebCrypto): it fetches the public
verification bundle and checks the passport record's proof, the OEM's registered key, each
record's inclusion under the signed checkpoint, the checkpoint's signature, the partition against
its commitment, and that every value shown (each element marked ``data-ptr``: its text is the
value exactly as signed, or the words for it from ``passport-words.json`` with the value in
``data-value``, or a date in words with the value in ``<time datetime>``) equals the verified
partition. On a phone the first screen holds the verdict, what the battery is and the figures
that matter; the details follow. Nothing is loaded from another origin:
same-origin CSS and JS only, under a strict Content-Security-Policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.responses import HTMLResponse

from passport.document.body import parts_of
from passport.document.compliance import carbon_class_status

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

WORDS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "static" / "passport-words.json").read_text(encoding="utf-8")
)
"""Words for coded values (categories, statuses, element names, flags, ...), shared with the
page's script, which checks that each word shown is the one for the signed value."""
COUNTRIES = WORDS["country"]
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
STAGES = (
    ("rawMaterialAcquisition", "Raw material acquisition"),
    ("mainProduction", "Main production"),
    ("distribution", "Distribution"),
    ("endOfLifeAndRecycling", "End of life and recycling"),
)
MATERIALS = ("cobalt", "nickel", "lithium", "manganese", "graphite")
PROVISIONAL = "provisional: the EU has not yet set the class boundaries"


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def word(kind: str, value: Any) -> str:
    """The word for a coded value; the value itself when there is none."""
    return WORDS.get(kind, {}).get(str(value), str(value))


def date_words(value: str) -> str:
    """A date (``2026-05-11``) or timestamp as words in UTC (``11 May 2026``, ``6 December 2026,
    06:46 UTC``); the page's script checks the same form, then shows the reader's local time."""
    try:
        if "T" not in value:
            d = date.fromisoformat(value)
            return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if t.tzinfo is None:
        return value
    t = t.astimezone(UTC)
    return f"{t.day} {MONTHS[t.month - 1]} {t.year}, {t.hour:02d}:{t.minute:02d} UTC"


def pointer_get(doc: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901: object keys and array indices), or None."""
    node = doc
    for key in parts_of(pointer):
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


class _Page:
    """Builds the page's markup from the public document; every shown value is marked: its
    element has ``data-ptr`` (the value's JSON pointer) last, and shows the value exactly, or
    the word for it (``data-words``, ``data-value``), or a date in words (``<time datetime>``)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.doc = document

    def get(self, pointer: str) -> Any:
        return pointer_get(self.doc, pointer)

    def v(self, pointer: str, suffix: str = "") -> str:
        """The signed value at ``pointer``, marked for the page's check; ``–`` if absent."""
        value = self.get(pointer)
        if value is None or isinstance(value, dict | list):
            return '<span class="none">–</span>'
        unit = f'<span class="unit">{_e(suffix)}</span>' if suffix else ""
        marked = f'<span data-ptr="{_e(pointer)}">{_e(value)}</span>{unit}'
        return f'<span class="val">{marked}</span>' if len(str(value)) <= 24 else marked

    def w(self, kind: str, pointer: str, css: str = "") -> str:
        """The word for the coded value at ``pointer`` (see :data:`WORDS`), marked."""
        value = self.get(pointer)
        if value is None or isinstance(value, dict | list):
            return '<span class="none">–</span>'
        klass = f' class="{_e(css)}"' if css else ""
        return (
            f'<span{klass} data-words="{_e(kind)}" data-value="{_e(value)}" '
            f'data-ptr="{_e(pointer)}">{_e(word(kind, value))}</span>'
        )

    def when(self, pointer: str) -> str:
        """The date or time at ``pointer`` in words; the signed value in ``datetime``."""
        value = self.get(pointer)
        if value is None or isinstance(value, dict | list):
            return '<span class="none">–</span>'
        return (
            f'<time datetime="{_e(value)}" data-ptr="{_e(pointer)}">'
            f"{_e(date_words(str(value)))}</time>"
        )

    def row(self, label: str, pointer: str, suffix: str = "") -> str:
        if self.get(pointer) is None:
            return ""
        return f"<div><dt>{_e(label)}</dt><dd>{self.v(pointer, suffix)}</dd></div>"

    def word_row(self, label: str, kind: str, pointer: str) -> str:
        if self.get(pointer) is None:
            return ""
        return f"<div><dt>{_e(label)}</dt><dd>{self.w(kind, pointer)}</dd></div>"

    def date_row(self, label: str, pointer: str) -> str:
        if self.get(pointer) is None:
            return ""
        return f"<div><dt>{_e(label)}</dt><dd>{self.when(pointer)}</dd></div>"

    def link(self, label: str, pointer: str) -> str:
        url = self.get(pointer)
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return ""
        return f'<li><a href="{_e(url)}" rel="noopener noreferrer">{_e(label)}</a></li>'


def _percent_meter(value: Any, label: str) -> str:
    try:
        number = max(0.0, min(100.0, float(str(value))))
    except ValueError:
        return ""
    return f'<meter min="0" max="100" value="{number:g}" aria-label="{_e(label)}"></meter>'


def _header(p: _Page) -> str:
    return f"""
<header class="top">
  <p class="eyebrow">EU battery passport</p>
  <h1>{p.v("/point1/identification/modelName")}</h1>
</header>"""


def _verdict() -> str:
    return """
<section class="card verdict-card" aria-labelledby="verdict-title">
  <h2 id="verdict-title" class="quiet">Verification</h2>
  <p id="verdict" class="verdict pending" role="status" aria-live="polite">
    Verifying on this device…</p>
  <details id="checks-box">
    <summary>What was checked</summary>
    <ol id="checks" class="checks"></ol>
  </details>
  <noscript><p class="verdict failed">Verification needs JavaScript: this page checks the
    signatures and the public log itself, on your device.</p></noscript>
</section>"""


def _carbon_class(p: _Page) -> str:
    """``Class B — provisional: ...`` (the sentence when the class table is not final)."""
    base = "/point1/carbonFootprint"
    if p.get(f"{base}/performanceClass") is None:
        return ""
    carbon = carbon_class_status(p.doc)
    tail = f" — {PROVISIONAL}" if carbon["provisional"] else ""
    return (
        f'<p class="carbon-class"><span class="class-name">Class '
        f"{p.v(f'{base}/performanceClass')}</span>{_e(tail)}.</p>"
    )


def _recycled_lines(p: _Page) -> str:
    base = "/point1/recycledContent"
    shares = p.get(base)
    if not isinstance(shares, dict) or not shares:
        return ""
    items = "".join(
        f"<li><span>{_e(word('element', name))}</span>"
        f"<span>{p.v(f'{base}/{name}/preConsumerPercent', ' %')}</span>"
        f"<span>{p.v(f'{base}/{name}/postConsumerPercent', ' %')}</span></li>"
        for name in shares
    )
    return f"""
  <div class="glance-block">
    <h3>Recycled content</h3>
    <ul class="recycled" aria-label="Recycled share of each material">
      <li class="head"><span>Material</span><span>from production scrap</span>
        <span>from used batteries</span></li>{items}</ul>
  </div>"""


def _glance(p: _Page) -> str:
    """The first screen on a phone: what the battery is and the figures that matter."""
    base = "/point1/carbonFootprint"
    energy = p.get("/point1/performance/ratedEnergyKWh")
    capacity = p.get("/point1/performance/ratedCapacityAh")
    both = (
        f"{p.v('/point1/performance/ratedEnergyKWh', ' kWh')} · "
        f"{p.v('/point1/performance/ratedCapacityAh', ' Ah')}"
        if energy is not None and capacity is not None
        else p.v("/point1/performance/ratedEnergyKWh", " kWh")
        if energy is not None
        else p.v("/point1/performance/ratedCapacityAh", " Ah")
    )
    capacity_row = f"<div><dt>Capacity</dt><dd>{both}</dd></div>" if energy or capacity else ""
    rows = "".join(
        [
            p.row("Made by", "/point1/manufacturer/name"),
            p.word_row("Type", "category", "/point1/category"),
            p.row("Chemistry", "/point1/chemistry/shortName"),
            capacity_row,
            p.word_row("State", "status", "/status"),
        ]
    )
    carbon = (
        f"""
  <div class="glance-block" id="glance-carbon">
    <h3>Carbon footprint over its life</h3>
    <p class="headline"><span class="big">{p.v(f"{base}/perKWh/total")}</span>
      <span class="unit">kg CO₂e per kWh</span></p>
    {_carbon_class(p)}
  </div>"""
        if p.get(f"{base}/perKWh/total") is not None
        else ""
    )
    return f"""
<section class="card glance" aria-labelledby="battery-title">
  <h2 id="battery-title">The battery</h2>
  <dl class="glance-facts">{rows}</dl>{carbon}{_recycled_lines(p)}
  <p class="more"><a href="#details">All details of this passport</a></p>
</section>"""


def _identity(p: _Page, links: Mapping[str, str]) -> str:
    rows = "".join(
        [
            p.row("Manufacturer", "/point1/manufacturer/name"),
            p.row("Economic operator", "/economicOperator/name"),
            p.row("Chemistry in full", "/point1/chemistry/clearName"),
            p.row("Rated energy", "/point1/performance/ratedEnergyKWh", " kWh"),
            p.row("Rated capacity", "/point1/performance/ratedCapacityAh", " Ah"),
            p.row("Nominal voltage", "/point1/performance/voltage/nominalV", " V"),
            p.row("Mass", "/point1/massKg", " kg"),
            p.row("Expected lifetime", "/point1/performance/expectedLifetime/cycles", " cycles"),
            p.row("Warranty", "/point1/performance/warrantyPeriodMonths", " months"),
            p.date_row("Manufactured on", "/point1/manufacturing/date"),
            p.row("Manufactured at", "/point1/manufacturing/facility/name"),
            p.row("GTIN", "/point1/identification/gtin"),
            p.row("Serial number", "/point1/identification/serialNumber"),
            p.date_row("Passport issued", "/issuedAt"),
            p.date_row("Last updated", "/lastUpdated"),
        ]
    )
    qr = links.get("qr")
    battery_id = p.get("/batteryId")
    figure = (
        f'<figure class="qr"><img src="{_e(qr)}" width="148" height="148" '
        f'alt="QR code of this battery\'s link {_e(battery_id)}"><figcaption>Scan to open this '
        "passport</figcaption></figure>"
        if qr
        else ""
    )
    return f"""
<section class="card" id="details" aria-labelledby="details-title">
  <h2 id="details-title">About this battery</h2>
  <div class="split"><dl class="facts">{rows}</dl>{figure}</div>
  <p class="ids">Battery identifier: <span class="mono">{p.v("/batteryId")}</span><br>
    Passport: <span class="mono">{p.v("/passportId")}</span></p>
</section>"""


def _carbon(p: _Page) -> str:
    base = "/point1/carbonFootprint"
    if p.get(base) is None:
        return ""
    rows = "".join(
        f'<tr><th scope="row">{_e(label)}</th><td>{p.v(f"{base}/perKWh/{key}")}</td>'
        f"<td>{p.v(f'{base}/absoluteKg/{key}')}</td></tr>"
        for key, label in STAGES
        if p.get(f"{base}/perKWh/{key}") is not None
    )
    links = p.link("Carbon footprint study", f"{base}/studyUrl") + p.link(
        "Carbon footprint declaration", f"{base}/declarationUrl"
    )
    carbon = carbon_class_status(p.doc) if p.get(f"{base}/performanceClass") else None
    note = (
        f'\n  <p class="note provisional-note">About the class table: {_e(carbon["note"])}</p>'
        if carbon and carbon["provisional"] and carbon["note"]
        else ""
    )
    return f"""
<section class="card" aria-labelledby="carbon-title">
  <h2 id="carbon-title">Carbon footprint</h2>
  <p class="headline"><span class="big">{p.v(f"{base}/perKWh/total")}</span>
    <span class="unit">kg CO₂e per kWh</span></p>
  {_carbon_class(p)}{note}
  <p class="note">Over the battery's life: {p.v(f"{base}/absoluteKg/total")} kg CO₂e in
    total, for {p.v(f"{base}/serviceLifeEnergyKWh")} kWh delivered over its service life.
    Share from suppliers' own data: {p.v(f"{base}/primaryDataSharePercent")} %. Class table:
    {p.v(f"{base}/classTable")}.</p>
  <div class="scroll"><table>
    <caption>By life-cycle stage</caption>
    <thead><tr><th scope="col">Stage</th><th scope="col">kg CO₂e/kWh</th>
      <th scope="col">kg CO₂e</th></tr></thead>
    <tbody>{rows}</tbody>
  </table></div>
  <ul class="links">{links}</ul>
</section>"""


def _origin(p: _Page, at: str, origin: Mapping[str, Any]) -> str:
    """One country of origin: its name, a bar and its share."""
    meter = _percent_meter(origin.get("sharePercent"), word("country", origin.get("country")))
    return (
        f'<li><span class="label">{p.w("country", at + "/country")}</span>{meter}'
        f'<span class="pct">{p.v(at + "/sharePercent")} %</span></li>'
    )


def _materials(p: _Page) -> str:
    base = "/point1/responsibleSourcing/materials"
    blocks = []
    for material in MATERIALS:
        m = f"{base}/{material}"
        if p.get(m) is None:
            continue
        countries = p.get(f"{m}/originByCountry")
        origins = "".join(
            _origin(p, f"{m}/originByCountry/{i}", c)
            for i, c in enumerate(countries if isinstance(countries, list) else [])
            if isinstance(c, dict)
        )
        ore_list = p.get(f"{m}/oreTypes")
        ores = ", ".join(
            f"{p.w('oreType', f'{m}/oreTypes/{i}/oreType')} "
            f"{p.v(f'{m}/oreTypes/{i}/sharePercent')} %"
            for i in range(len(ore_list if isinstance(ore_list, list) else []))
        )
        recycled = f"/point1/recycledContent/{material}"
        name = word("element", material)
        blocks.append(
            f"""
  <article class="material" aria-labelledby="m-{material}">
    <h3 id="m-{material}">{_e(name)}</h3>
    <ul class="bars" aria-label="Where the {material} was mined or recycled">{origins}</ul>
    <dl class="facts small">
      <div><dt>Kind of ore or deposit</dt><dd>{ores or "–"}</dd></div>
      <div><dt>From artisanal and small-scale mines</dt>
        <dd>{p.v(m + "/artisanalPercent", " %")}</dd></div>
      <div><dt>From conflict-affected or high-risk areas (EU list)</dt>
        <dd>{p.v(m + "/cahraPercent", " %")}</dd></div>
      <div><dt>Origin unknown</dt><dd>{p.v(m + "/unknownOriginPercent", " %")}</dd></div>
      <div><dt>Recycled (from production scrap / from used batteries)</dt>
        <dd>{p.v(recycled + "/preConsumerPercent", " %")} /
          {p.v(recycled + "/postConsumerPercent", " %")}</dd></div>
    </dl>
  </article>"""
        )
    if not blocks:
        return ""
    graphite = "/point1/responsibleSourcing/graphite"
    split = (
        f'<p class="note">Graphite: natural {p.v(graphite + "/naturalPercent", " %")}, synthetic '
        f"{p.v(graphite + '/syntheticPercent', ' %')}, recycled "
        f"{p.v(graphite + '/recycledPercent', ' %')}.</p>"
        if p.get(graphite) is not None
        else ""
    )
    return f"""
<section class="card" aria-labelledby="materials-title">
  <h2 id="materials-title">Materials and their origins</h2>
  <p class="note">Shares of each material's mass in this battery, traced through the signed
    supply chain from mine or recycler to battery.</p>
  {"".join(blocks)}
  {split}
</section>"""


def _recycled(p: _Page) -> str:
    base = "/point1/recycledContent"
    shares = p.get(base)
    if not isinstance(shares, dict):
        return ""
    rows = "".join(
        f'<tr><th scope="row">{_e(word("element", name))}</th>'
        f"<td>{p.v(f'{base}/{name}/preConsumerPercent', ' %')}</td>"
        f"<td>{p.v(f'{base}/{name}/postConsumerPercent', ' %')}</td></tr>"
        for name in shares
    )
    return f"""
<section class="card" aria-labelledby="recycled-title">
  <h2 id="recycled-title">Recycled content</h2>
  <div class="scroll"><table>
    <caption>Share of each material that was recycled (EU Battery Regulation, Art. 8)</caption>
    <thead><tr><th scope="col">Material</th><th scope="col">Pre-consumer (production scrap)</th>
      <th scope="col">Post-consumer (used batteries)</th></tr></thead>
    <tbody>{rows}</tbody>
  </table></div>
  <p class="note">Renewable content: {p.v("/point1/renewableContentPercent", " %")}.</p>
</section>"""


def _flag(p: _Page, at: str, flag: Mapping[str, Any]) -> str:
    """One risk flag in plain words: what it is, what it means, and its share."""
    element = f"{p.w('element', at + '/element')} " if flag.get("element") is not None else ""
    percent = (
        f'<span class="flag-share">{p.w("flagPercent", at + "/flag")}: '
        f"{p.v(at + '/percent', ' %')}</span>"
        if flag.get("percent") is not None and flag.get("flag") in WORDS["flagPercent"]
        else ""
    )
    return (
        f'<li class="sev-{_e(flag.get("severity"))}">'
        f"{p.w('severity', at + '/severity', 'sev')}"
        f"<strong>{element}{p.w('flag', at + '/flag')}</strong>"
        f'<span class="meaning">{p.w("flagMeaning", at + "/flag")}</span>{percent}</li>'
    )


def _sourcing(p: _Page) -> str:
    base = "/point1/responsibleSourcing"
    certs = p.get(f"{base}/certifications")
    rows = "".join(
        f'<tr><th scope="row">{p.v(f"{base}/certifications/{i}/scheme")}</th>'
        f"<td>{p.w('element', f'{base}/certifications/{i}/element')}</td>"
        f"<td>{p.v(f'{base}/certifications/{i}/coveragePercent', ' %')}</td></tr>"
        for i, c in enumerate(certs if isinstance(certs, list) else [])
        if isinstance(c, dict) and str(c.get("coveragePercent", "0")) not in ("0", "0.00")
    )
    dd = p.get(f"{base}/dueDiligence")
    dd_rows = "".join(
        f"<div><dt>{_e(word('element', name))}</dt>"
        f"<dd>{p.v(f'{base}/dueDiligence/{name}/coveragePercent', ' %')}</dd></div>"
        for name in (dd if isinstance(dd, dict) else {})
    )
    flags = p.get(f"{base}/riskFlags")
    flag_items = "".join(
        _flag(p, f"{base}/riskFlags/{i}", f)
        for i, f in enumerate(flags if isinstance(flags, list) else [])
        if isinstance(f, dict)
    )
    links = p.link("Due-diligence report", f"{base}/reportUrl") + p.link(
        "Third-party assurances", f"{base}/thirdPartyAssurancesUrl"
    )
    cert_table = (
        f"""<div class="scroll"><table>
    <caption>Certified share of each material's mass</caption>
    <thead><tr><th scope="col">Scheme</th><th scope="col">Material</th>
      <th scope="col">Covered</th></tr></thead>
    <tbody>{rows}</tbody></table></div>"""
        if rows
        else "<p>No certification covers any of this battery's materials.</p>"
    )
    return f"""
<section class="card" aria-labelledby="sourcing-title">
  <h2 id="sourcing-title">Certifications and due diligence</h2>
  <h3>Risk flags</h3>
  <p class="note">What the traced supply chain shows that a buyer should know.</p>
  <ul class="flags">{flag_items or "<li>None</li>"}</ul>
  {cert_table}
  <h3>Due diligence (Art. 48)</h3>
  <p class="note">Share of the mined material for which every company that handled it had a
    valid due-diligence report (a check of human-rights and environmental risks).</p>
  <dl class="facts small">{dd_rows}</dl>
  <ul class="links">{links}</ul>
</section>"""


def _safety(p: _Page) -> str:
    agents = p.get("/point1/extinguishingAgents")
    hazards = p.get("/point1/hazardousSubstances")
    agent_items = "".join(
        f"<li>{p.v(f'/point1/extinguishingAgents/{i}')}</li>"
        for i in range(len(agents if isinstance(agents, list) else []))
    )
    hazard_items = "".join(
        f"<li>{p.v(f'/point1/hazardousSubstances/{i}/name')}: "
        f"{p.w('hazardClass', f'/point1/hazardousSubstances/{i}/hazardClass')}</li>"
        for i in range(len(hazards if isinstance(hazards, list) else []))
    )
    links = "".join(
        [
            p.link("Separate collection", "/point1/endOfLife/separateCollectionUrl"),
            p.link("Take-back and recycling", "/point1/endOfLife/collectionInformationUrl"),
            p.link("Waste prevention", "/point1/endOfLife/wastePreventionUrl"),
            p.link("EU declaration of conformity", "/point1/declarationOfConformityUrl"),
        ]
    )
    return f"""
<section class="card" aria-labelledby="safety-title">
  <h2 id="safety-title">Safety and end of life</h2>
  <h3>Hazardous substances</h3><ul>{hazard_items or "<li>None declared</li>"}</ul>
  <h3>To put out a fire</h3><ul>{agent_items or "<li>–</li>"}</ul>
  <ul class="links">{links}</ul>
</section>"""


def _assurance(assurances: Sequence[Mapping[str, Any]]) -> str:
    """Who independently checked which figures (``Assurance`` records, named by
    :func:`passport.service.assurance.named_assurances`), said plainly: these figures rest on
    the checker's replay of confidential records, not on the reader's. Not marked ``data-ptr``:
    they are not partition values; the node computes them from the signed records."""
    if not assurances:
        return ""
    items = []
    for a in assurances:
        who = f"{_e(a['issuerName'])} on {date_words(str(a['issuedAt']))}"
        held = ", ".join(_e(label) for label in a["holdsLabels"])
        lines = [f"<li>Checked by {who}: {held} hold.</li>"] if held else []
        for label, fail in zip(a["failsLabels"], a["fails"], strict=True):
            lines.append(
                f'<li class="fails">Checked by {who}: {_e(label)} does <strong>not</strong> '
                f"hold ({_e(fail['reason'])}).</li>"
            )
        items.extend(lines)
    return f"""
<section class="card" id="assurance" aria-labelledby="assurance-title">
  <h2 id="assurance-title">Independent checks</h2>
  <ul class="assurances">{"".join(items)}</ul>
  <p class="quiet">The supply-chain records behind these figures are confidential. The
    checker named above read them and recomputed the figures; this page and you did not.
    These lines rest on the checker's signed statement in the public log.</p>
</section>"""


def passport_page(
    document: Mapping[str, Any],
    links: Sequence[Mapping[str, str]],
    assurances: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The public passport page of ``document`` (a public view), with its links and the
    independent checks of its figures (``assurances``, named)."""
    p = _Page(document)
    by_rel: dict[str, str] = {}
    for link in links:
        rel = link["rel"].rsplit(":", 1)[-1]
        if rel == "qr" and link["type"] != "image/svg+xml":
            continue
        by_rel.setdefault(rel, link["href"])
    passport_id = str(document.get("passportId", ""))
    bundle = by_rel.get("bundle", "")
    title = p.get("/point1/identification/modelName") or "Battery passport"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{_e(title)} · battery passport</title>
<link rel="stylesheet" href="/static/passport.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<script type="module" src="/static/passport-page.js"></script>
</head>
<body>
<a class="skip" href="#content">Skip to the passport</a>
<main id="content" data-passport-id="{_e(passport_id)}" data-bundle="{_e(bundle)}">
{_header(p)}
{_verdict()}
{_glance(p)}
{_assurance(assurances)}
{_carbon(p)}
{_sourcing(p)}
{_materials(p)}
{_recycled(p)}
{_safety(p)}
{_identity(p, by_rel)}
</main>
<footer>
  <p>This page checks the passport on your device: the manufacturer's signature, its registered
    key and the public transparency log. It loads nothing from other sites.</p>
  <ul class="links inline">
    <li><a href="{_e(by_rel.get("passport", ""))}">Passport data (JSON)</a></li>
    <li><a href="{_e(by_rel.get("bundle", ""))}">Verification bundle</a></li>
    <li><a href="/passports/{_e(quote(passport_id, safe=":"))}/qr.png">QR code (PNG)</a></li>
    <li><a href="{_e(by_rel.get("checkpoint", ""))}">Log checkpoint</a></li>
  </ul>
</footer>
</body>
</html>
"""


def not_found_page(gtin: str, serial: str, status_code: int = 404) -> HTMLResponse:
    """The resolver's 404 page for a browser (400 when the link itself is malformed)."""
    detail = (
        f'No battery passport is registered for GTIN <span class="mono">{_e(gtin)}</span>, '
        f'serial number <span class="mono">{_e(serial)}</span>'
    )
    body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>No battery passport here</title>
<link rel="stylesheet" href="/static/passport.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
</head>
<body>
<main id="content">
<header class="top"><p class="eyebrow">EU battery passport</p>
<h1>No battery passport at this link</h1></header>
<section class="card"><p>{detail}.</p>
<p>Check the code on the battery's label and scan it again. If the label is damaged, the
  manufacturer can tell you the battery's passport link from its serial number.</p></section>
</main>
</body>
</html>
"""
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)
