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


# -- links (RFC 8288, RFC 9264; GS1 Digital Link / Resolver 1.2 link types) -----------------------
GS1_VOC = "https://gs1.org/voc/"
"""The GS1 Web Vocabulary: the namespace of GS1 link types (``gs1:pip`` is ``GS1_VOC + "pip"``)."""
GS1_PIP = GS1_VOC + "pip"
GS1_DEFAULT = GS1_VOC + "defaultLink"
SAME_AS = "owl:sameAs"
LINK_TITLES = {
    "bundle": "Offline verification bundle",
    "qr": "QR code",
    "checkpoint": "Signed checkpoint of the transparency log",
    "passport": "Battery passport (JSON)",
}


def passport_links(passport_id: str, base_url: str, resolver_path: str) -> list[dict[str, str]]:
    """The links of a passport, absolute under ``base_url``: the passport page as GS1's product
    information page (``gs1:pip``) and default link, then our own (verification bundle, QR images,
    checkpoint, passport JSON) and the resolver URI itself as the HTML alternate."""
    pid = quote(passport_id, safe=":")
    base = base_url.rstrip("/")
    page = {"href": f"{base}/passports/{pid}/page", "type": HTML, "hreflang": "en"}
    own = [
        ("bundle", f"/passports/{pid}/bundle", JSON),
        ("qr", f"/passports/{pid}/qr.png", "image/png"),
        ("qr", f"/passports/{pid}/qr.svg", "image/svg+xml"),
        ("checkpoint", "/log/checkpoint", "text/plain"),
        ("passport", f"/passports/{pid}", JSON),
    ]
    return [
        {"rel": GS1_PIP, "title": "Battery passport page", **page},
        {"rel": GS1_DEFAULT, "title": "Battery passport page", **page},
        *(
            {"rel": REL_BASE + name, "href": base + path, "title": LINK_TITLES[name], "type": media}
            for name, path, media in own
        ),
        {
            "rel": "alternate",
            "href": base + resolver_path,
            "title": "Battery passport page",
            "type": HTML,
        },
    ]


def link_type_uri(link_type: str) -> str:
    """A ``linkType`` as its relation type URI: ``gs1:pip`` is ``https://gs1.org/voc/pip`` (the
    ``http`` namespace too), ``bpass:bundle`` is ours, a full URI stays as it is."""
    if link_type.startswith("gs1:"):
        return GS1_VOC + link_type.removeprefix("gs1:")
    if link_type.startswith("bpass:"):
        return REL_BASE + link_type.removeprefix("bpass:")
    if link_type.startswith("http://gs1.org/voc/"):
        return GS1_VOC + link_type.removeprefix("http://gs1.org/voc/")
    return link_type


def find_link(links: Sequence[Mapping[str, str]], link_type: str) -> Mapping[str, str] | None:
    """The first link of ``link_type`` (a CURIE ``gs1:…`` or a full URI), or None."""
    rel = link_type_uri(link_type)
    return next((link for link in links if link["rel"] == rel), None)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def link_header(
    links: Sequence[Mapping[str, str]], linkset_href: str, same_as: str | None = None
) -> str:
    """An RFC 8288 ``Link`` header: the linkset (RFC 9264 §6), each link with its type, title
    and language, and (for a request by an equivalent URI) ``owl:sameAs`` the canonical URI."""
    parts = [f'<{linkset_href}>; rel="linkset"; type="{LINKSET}"; title="Links of this battery"']
    for link in links:
        part = f'<{link["href"]}>; rel="{link["rel"]}"; type="{link["type"]}"'
        if "hreflang" in link:
            part += f'; hreflang="{link["hreflang"]}"'
        parts.append(part + f'; title="{_quoted(link["title"])}"')
    if same_as is not None:
        parts.append(f'<{same_as}>; rel="{SAME_AS}"')
    return ", ".join(parts)


def linkset(anchor: str, links: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The links as an RFC 9264 JSON linkset anchored at the battery's Digital Link URI, as GS1
    resolvers serve it: relation type URIs as keys, each target with ``href``, ``title``,
    ``type`` and (where known) ``hreflang`` (an array, RFC 9264 §4.2.4.1)."""
    context: dict[str, Any] = {"anchor": anchor}
    for link in links:
        target: dict[str, Any] = {
            "href": link["href"],
            "title": link["title"],
            "type": link["type"],
        }
        if "hreflang" in link:
            target["hreflang"] = [link["hreflang"]]
        context.setdefault(link["rel"], []).append(target)
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


# -- the GS1 resolver description (/.well-known/gs1resolver) -------------------------------------
def resolver_description(base_url: str, version: str) -> dict[str, Any]:
    """The resolver description document of GS1-Conformant Resolver 1.2: who we are, the root
    under which Digital Links resolve, the primary keys and link type vocabularies served."""
    base = base_url.rstrip("/")
    return {
        "name": "battery-passport ledger: EU battery passports by GS1 Digital Link",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["gtin"],
        "supportedLinkType": [
            {"namespace": GS1_VOC, "prefix": "gs1:", "profile": GS1_VOC + "?show=linktypes"},
            {"namespace": REL_BASE, "prefix": "bpass:"},
        ],
        "linkTypeDefaultCanBeLinkset": True,
        "linkTypes": [GS1_PIP, GS1_DEFAULT, *(REL_BASE + name for name in LINK_TITLES)],
        "gs1ResolverVersion": "1.2.0",
        "version": version,
    }
