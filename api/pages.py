"""HTML pages: the public passport page a QR code leads to, and the resolver's 404 page.

The page shows the public partition (Annex XIII point 1) readably and verifies it in the browser
(``/static/passport-page.js`` with ``/static/bpass-verify.js``, WebCrypto): it fetches the public
verification bundle and checks the passport record's proof, the OEM's registered key, each
record's inclusion under the signed checkpoint, the checkpoint's signature, the partition against
its commitment, and that every value shown (each element marked ``data-ptr``, whose text is the
value exactly as signed) equals the verified partition. Nothing is loaded from another origin:
same-origin CSS and JS only, under a strict Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
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

COUNTRIES = {
    "AR": "Argentina", "AU": "Australia", "BO": "Bolivia", "BR": "Brazil", "CA": "Canada",
    "CD": "DR Congo", "CL": "Chile", "CN": "China", "CU": "Cuba", "DE": "Germany",
    "FI": "Finland", "FR": "France", "GA": "Gabon", "HU": "Hungary", "ID": "Indonesia",
    "IN": "India", "JP": "Japan", "KR": "South Korea", "MA": "Morocco", "MG": "Madagascar",
    "MZ": "Mozambique", "NC": "New Caledonia", "NO": "Norway", "PH": "Philippines",
    "PL": "Poland", "RU": "Russia", "SE": "Sweden", "TZ": "Tanzania", "US": "United States",
    "ZA": "South Africa", "ZM": "Zambia", "ZW": "Zimbabwe",
}  # fmt: skip
"""Names of the countries supply chains commonly name; others are shown by their ISO code."""

STATUS_TEXT = {
    "original": "first life, as placed on the market",
    "repurposed": "second life in another application",
    "re-used": "second life, re-used as it was",
    "remanufactured": "remanufactured",
    "waste": "waste: to be recycled",
    "recycled": "recycled: the passport has ceased",
}
CATEGORIES = {
    "ev": "Electric vehicle battery",
    "lmt": "Light means of transport battery",
    "industrial": "Industrial battery",
    "stationary": "Stationary energy storage",
}
LABELS = {"naturalGraphite": "Natural graphite"}
STAGES = (
    ("rawMaterialAcquisition", "Raw material acquisition"),
    ("mainProduction", "Main production"),
    ("distribution", "Distribution"),
    ("endOfLifeAndRecycling", "End of life and recycling"),
)
MATERIALS = ("cobalt", "nickel", "lithium", "manganese", "graphite")


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


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
    """Builds the page's markup from the public document; every shown value is marked."""

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

    def row(
        self,
        label: str,
        pointer: str,
        suffix: str = "",
        prefix: Mapping[str, str] | None = None,
    ) -> str:
        value = self.get(pointer)
        if value is None:
            return ""
        shown = self.v(pointer, suffix)
        if prefix and str(value) in prefix:
            shown = f"{_e(prefix[str(value)])} ({shown})"
        return f"<div><dt>{_e(label)}</dt><dd>{shown}</dd></div>"

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
    status = p.get("/status")
    status_class = "status-" + str(status).replace(" ", "-") if status else "status"
    return f"""
<header class="top">
  <p class="eyebrow">EU battery passport · Regulation (EU) 2023/1542</p>
  <h1>{p.v("/point1/identification/modelName")}</h1>
  <p class="status-line">Status: <strong class="badge {_e(status_class)}">{p.v("/status")}</strong>
    <span class="status-text">{_e(STATUS_TEXT.get(str(status), ""))}</span></p>
</header>"""


def _verdict() -> str:
    return """
<section class="card verdict-card" aria-labelledby="verdict-title">
  <h2 id="verdict-title">Verification</h2>
  <p id="verdict" class="verdict pending" role="status" aria-live="polite">
    Verifying on this device…</p>
  <details id="checks-box">
    <summary>What was checked</summary>
    <ol id="checks" class="checks"></ol>
  </details>
  <noscript><p class="verdict failed">Verification needs JavaScript: this page checks the
    signatures and the public log itself, on your device.</p></noscript>
</section>"""


def _identity(p: _Page, links: Mapping[str, str]) -> str:
    rows = "".join(
        [
            p.row("Manufacturer", "/point1/manufacturer/name"),
            p.row("Economic operator", "/economicOperator/name"),
            p.row("Category", "/point1/category", prefix=CATEGORIES),
            p.row("Chemistry", "/point1/chemistry/shortName"),
            p.row("Rated energy", "/point1/performance/ratedEnergyKWh", " kWh"),
            p.row("Rated capacity", "/point1/performance/ratedCapacityAh", " Ah"),
            p.row("Nominal voltage", "/point1/performance/voltage/nominalV", " V"),
            p.row("Mass", "/point1/massKg", " kg"),
            p.row("Expected lifetime", "/point1/performance/expectedLifetime/cycles", " cycles"),
            p.row("Warranty", "/point1/performance/warrantyPeriodMonths", " months"),
            p.row("Manufactured on", "/point1/manufacturing/date"),
            p.row("Manufactured at", "/point1/manufacturing/facility/name"),
            p.row("GTIN", "/point1/identification/gtin"),
            p.row("Serial number", "/point1/identification/serialNumber"),
            p.row("Issued", "/issuedAt"),
            p.row("Last updated", "/lastUpdated"),
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
<section class="card" aria-labelledby="battery-title">
  <h2 id="battery-title">The battery</h2>
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
    provisional = (
        f' <span class="provisional" title="{_e(carbon["note"])}">(provisional)</span>'
        if carbon and carbon["provisional"]
        else ""
    )
    provisional_note = (
        f'\n  <p class="note provisional-note">Provisional class: {_e(carbon["note"])}</p>'
        if carbon and carbon["provisional"]
        else ""
    )
    return f"""
<section class="card" aria-labelledby="carbon-title">
  <h2 id="carbon-title">Carbon footprint</h2>
  <p class="headline"><span class="big">{p.v(f"{base}/perKWh/total")}</span>
    <span class="unit">kg CO₂e per kWh</span>
    <span class="class-badge" title="performance class">Class
      {p.v(f"{base}/performanceClass")}{provisional}</span></p>{provisional_note}
  <p class="note">Over the battery's life cycle: {p.v(f"{base}/absoluteKg/total")} kg CO₂e in
    total, for {p.v(f"{base}/serviceLifeEnergyKWh")} kWh delivered over its service life.
    Primary data: {p.v(f"{base}/primaryDataSharePercent")} %. Class table:
    {p.v(f"{base}/classTable")}.</p>
  <div class="scroll"><table>
    <caption>By life-cycle stage</caption>
    <thead><tr><th scope="col">Stage</th><th scope="col">kg CO₂e/kWh</th>
      <th scope="col">kg CO₂e</th></tr></thead>
    <tbody>{rows}</tbody>
  </table></div>
  <ul class="links">{links}</ul>
</section>"""


def _shares(p: _Page, pointer: str, key: str) -> list[tuple[str, str]]:
    items = p.get(pointer)
    out = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        name = str(item.get(key, ""))
        shown = COUNTRIES.get(name, name) if key == "country" else name.replace("-", " ")
        out.append((shown, f"{pointer}/{i}"))
    return out


def _materials(p: _Page) -> str:
    base = "/point1/responsibleSourcing/materials"
    blocks = []
    for material in MATERIALS:
        m = f"{base}/{material}"
        if p.get(m) is None:
            continue
        origins = "".join(
            f'<li><span class="label">{_e(name)} ({p.v(at + "/country")})</span>'
            f"{_percent_meter(p.get(at + '/sharePercent'), name)}"
            f'<span class="pct">{p.v(at + "/sharePercent")} %</span></li>'
            for name, at in _shares(p, f"{m}/originByCountry", "country")
        )
        ores = ", ".join(
            f"{_e(name)} {p.v(at + '/sharePercent')} %"
            for name, at in _shares(p, f"{m}/oreTypes", "oreType")
        )
        recycled = f"/point1/recycledContent/{material}"
        blocks.append(
            f"""
  <article class="material" aria-labelledby="m-{material}">
    <h3 id="m-{material}">{material.capitalize()}</h3>
    <ul class="bars" aria-label="Origin of {material} by country">{origins}</ul>
    <dl class="facts small">
      <div><dt>Ore or deposit types</dt><dd>{ores or "–"}</dd></div>
      <div><dt>Artisanal mining</dt><dd>{p.v(m + "/artisanalPercent", " %")}</dd></div>
      <div><dt>From conflict-affected or high-risk areas</dt>
        <dd>{p.v(m + "/cahraPercent", " %")}</dd></div>
      <div><dt>Unknown origin</dt><dd>{p.v(m + "/unknownOriginPercent", " %")}</dd></div>
      <div><dt>Recycled (pre- / post-consumer)</dt>
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
  <p class="note">Shares of each element's mass in this pack, traced through the signed supply
    chain from mine or recycler to pack.</p>
  {"".join(blocks)}
  {split}
</section>"""


def _recycled(p: _Page) -> str:
    base = "/point1/recycledContent"
    shares = p.get(base)
    if not isinstance(shares, dict):
        return ""
    rows = "".join(
        f'<tr><th scope="row">{_e(name.capitalize())}</th>'
        f"<td>{p.v(f'{base}/{name}/preConsumerPercent', ' %')}</td>"
        f"<td>{p.v(f'{base}/{name}/postConsumerPercent', ' %')}</td></tr>"
        for name in shares
    )
    return f"""
<section class="card" aria-labelledby="recycled-title">
  <h2 id="recycled-title">Recycled content</h2>
  <div class="scroll"><table>
    <caption>Share of each material from recycling (Art. 8)</caption>
    <thead><tr><th scope="col">Material</th><th scope="col">Pre-consumer</th>
      <th scope="col">Post-consumer</th></tr></thead>
    <tbody>{rows}</tbody>
  </table></div>
  <p class="note">Renewable content: {p.v("/point1/renewableContentPercent", " %")}.</p>
</section>"""


def _sourcing(p: _Page) -> str:
    base = "/point1/responsibleSourcing"
    certs = p.get(f"{base}/certifications")
    rows = "".join(
        f'<tr><th scope="row">{_e(c.get("scheme"))}</th><td>{_e(c.get("element"))}</td>'
        f"<td>{p.v(f'{base}/certifications/{i}/coveragePercent', ' %')}</td></tr>"
        for i, c in enumerate(certs if isinstance(certs, list) else [])
        if isinstance(c, dict) and str(c.get("coveragePercent", "0")) not in ("0", "0.00")
    )
    dd = p.get(f"{base}/dueDiligence")
    dd_rows = "".join(
        f"<div><dt>{_e(LABELS.get(name, name.capitalize()))}</dt>"
        f"<dd>{p.v(f'{base}/dueDiligence/{name}/coveragePercent', ' %')}</dd></div>"
        for name in (dd if isinstance(dd, dict) else {})
    )
    flags = p.get(f"{base}/riskFlags")
    flag_items = "".join(
        f'<li class="sev-{_e(f.get("severity"))}"><span class="sev">{_e(f.get("severity"))}'
        f"</span> {p.v(f'{base}/riskFlags/{i}/description')}</li>"
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
        else "<p>No certification covers any of this pack's materials.</p>"
    )
    return f"""
<section class="card" aria-labelledby="sourcing-title">
  <h2 id="sourcing-title">Certifications and due diligence</h2>
  {cert_table}
  <h3>Due diligence (Art. 48)</h3>
  <p class="note">Share of the mined material every handler of which had a valid due-diligence
    report.</p>
  <dl class="facts small">{dd_rows}</dl>
  <h3>Risk flags</h3>
  <ul class="flags">{flag_items or "<li>None</li>"}</ul>
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
        f"<li>{p.v(f'/point1/hazardousSubstances/{i}/name')} "
        f"({p.v(f'/point1/hazardousSubstances/{i}/hazardClass')})</li>"
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
  <h3>Extinguishing agents</h3><ul>{agent_items or "<li>–</li>"}</ul>
  <ul class="links">{links}</ul>
</section>"""


def passport_page(document: Mapping[str, Any], links: Sequence[Mapping[str, str]]) -> str:
    """The public passport page of ``document`` (a public view), with its links."""
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
{_identity(p, by_rel)}
{_carbon(p)}
{_materials(p)}
{_recycled(p)}
{_sourcing(p)}
{_safety(p)}
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
