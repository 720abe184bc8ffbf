"""Presentation helpers of the passport routes: content negotiation, RFC 8288/9264 links, and
cutting the compliance report to the reader's partitions. No domain rule lives here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from passport.document.compliance import ALL as CATEGORIES
from passport.document.compliance import ANNEX_XIII_ITEMS, compliance_report
from passport.document.partitions import partition_of, partitions_for

HTML = "text/html"
JSON = "application/json"
LINKSET = "application/linkset+json"

REL_BASE = "urn:battery-passport:rel:"
"""Extension relation types (RFC 8288 §2.1.2 asks for URIs) of a passport's links."""


# -- content negotiation (RFC 9110 §12.5.1) ------------------------------------------------------
def _accept(header: str) -> list[tuple[str, float]]:
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media or "/" not in media:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((media, q))
    return ranges


def _quality(ranges: Sequence[tuple[str, float]], offer: str) -> float:
    kind = offer.split("/", 1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for media, q in ranges:
        specificity = 2 if media == offer else 1 if media == f"{kind}/*" else 0
        if media in (offer, f"{kind}/*", "*/*") and specificity > best[0]:
            best = (specificity, q)
    return best[1]


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer the ``Accept`` header prefers (ties go to the earlier offer); None if none is
    acceptable. No header accepts anything."""
    if not accept or not accept.strip():
        return offers[0]
    ranges = _accept(accept)
    if not ranges:
        return offers[0]
    scored = [(_quality(ranges, offer), -i, offer) for i, offer in enumerate(offers)]
    q, _, offer = max(scored)
    return offer if q > 0 else None


# -- links ---------------------------------------------------------------------------------------
def passport_links(passport_id: str, resolver_path: str) -> list[dict[str, str]]:
    """The links of a passport: verification bundle, QR images, checkpoint, HTML page, JSON."""
    pid = quote(passport_id, safe=":")
    return [
        {"rel": REL_BASE + "bundle", "href": f"/passports/{pid}/bundle", "type": JSON},
        {"rel": REL_BASE + "qr", "href": f"/passports/{pid}/qr.png", "type": "image/png"},
        {"rel": REL_BASE + "qr", "href": f"/passports/{pid}/qr.svg", "type": "image/svg+xml"},
        {"rel": REL_BASE + "checkpoint", "href": "/log/checkpoint", "type": "text/plain"},
        {"rel": REL_BASE + "passport", "href": f"/passports/{pid}", "type": JSON},
        {"rel": "alternate", "href": resolver_path, "type": HTML},
    ]


def link_header(links: Sequence[Mapping[str, str]], linkset_href: str) -> str:
    """An RFC 8288 ``Link`` header: the linkset (RFC 9264 §6) and each link."""
    parts = [f'<{linkset_href}>; rel="linkset"; type="{LINKSET}"']
    parts += [f'<{link["href"]}>; rel="{link["rel"]}"; type="{link["type"]}"' for link in links]
    return ", ".join(parts)


def linkset(anchor: str, links: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The links as an RFC 9264 JSON linkset anchored at the battery's identifier."""
    context: dict[str, Any] = {"anchor": anchor}
    for link in links:
        context.setdefault(link["rel"], []).append({"href": link["href"], "type": link["type"]})
    return {"linkset": [context]}


# -- compliance over a role's view ----------------------------------------------------------------
def scoped_compliance(document: Mapping[str, Any], role: str) -> dict[str, Any]:
    """The compliance report of what ``role`` may see of a passport (its view's document).

    The report is the domain's (:func:`passport.document.compliance.compliance_report`); only the
    completeness items outside the role's partitions are left out, so that a reader is told
    neither that a partition it may not read is complete nor that it is not.
    """
    allowed = partitions_for(role)
    report = compliance_report(document)
    category = report["completeness"]["category"]
    hidden = [
        item
        for item in ANNEX_XIII_ITEMS
        if category in item.categories and partition_of(item.pointer) not in allowed
    ]
    hidden_pointers = {item.pointer for item in hidden}
    completeness = report["completeness"]
    dropped = [gap for gap in completeness["missing"] if gap["pointer"] in hidden_pointers]
    missing = [gap for gap in completeness["missing"] if gap["pointer"] not in hidden_pointers]
    hidden_findings = {f"missing {gap['item']} ({gap['pointer']})" for gap in dropped}
    findings = [f for f in report["findings"] if f not in hidden_findings]
    report.update(
        role=str(role),
        partitions=sorted(allowed),
        completeness={
            **completeness,
            "checked": completeness["checked"] - len(hidden),
            "missing": missing,
            "complete": not missing and category in CATEGORIES,
        },
        findings=findings,
        ok=not findings,
    )
    return report
