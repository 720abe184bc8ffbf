"""Each access role sees exactly its Annex XIII partitions through every passport endpoint.

``PARTITION_VISIBILITY`` extends the table of ``tests/api/test_access.py`` (which classifies every GET
route) with the routes whose content depends on the reader: for each, which partitions each
role receives (``None``: refused). A partition counts as received when anything that only it
holds shows in the response: its signature (``proofValue``) or, for points 2 to 4, its salt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from passport.document.access import AccessRole
from passport.document.partitions import ROLE_PARTITIONS
from passport.service.views import full_document, show_passport
from tests.helpers.api import assert_problem
from tests.helpers.api_passport import Sample, sample

__all__ = ["sample"]

ROLES = tuple(AccessRole)
BY_ROLE: Mapping[AccessRole, frozenset[int] | None] = {
    role: ROLE_PARTITIONS[role.value] for role in ROLES
}
NONE: Mapping[AccessRole, frozenset[int] | None] = dict.fromkeys(ROLES, frozenset())
REFUSED: Mapping[AccessRole, frozenset[int] | None] = dict.fromkeys(ROLES)

PARTITION_VISIBILITY: dict[str, Mapping[AccessRole, frozenset[int] | None]] = {
    "/passports/{passport_id}": BY_ROLE,
    "/passports/{passport_id}/bundle": BY_ROLE,
    "/passports/{passport_id}/compliance": BY_ROLE,
    "/01/{gtin}/21/{serial}": BY_ROLE,
    "/passports/{passport_id}/page": NONE,  # the public page, alike for all; proofs via bundle
    "/passports/{passport_id}/export": REFUSED,  # the economic operator's own: see below
    "/passports/{passport_id}/qr.png": NONE,
    "/passports/{passport_id}/qr.svg": NONE,
}
"""Every GET route whose content is about a passport or its pack: the partitions each access role
receives through it (empty: public ledger data only, the same for every role)."""


AT = "2030-01-01T00:00:00Z"
"""A fixed roll-up time, so that the same roll-up is compared across readers."""

DERIVED = frozenset({"/passports/{passport_id}/compliance"})
"""Routes serving figures computed from the partitions rather than the partitions themselves:
nothing of a partition the role may not see shows, and the partitions they cover are declared."""


def _urls(s: Sample) -> dict[str, str]:
    pid = s.passport_id
    return {
        "/passports/{passport_id}": f"/passports/{pid}",
        "/passports/{passport_id}/bundle": f"/passports/{pid}/bundle",
        "/passports/{passport_id}/compliance": f"/passports/{pid}/compliance",
        "/01/{gtin}/21/{serial}": s.resolver_path,
        "/passports/{passport_id}/page": f"/passports/{pid}/page",
        "/passports/{passport_id}/export": f"/passports/{pid}/export",
        "/passports/{passport_id}/qr.png": f"/passports/{pid}/qr.png",
        "/passports/{passport_id}/qr.svg": f"/passports/{pid}/qr.svg",
    }


def _markers(s: Sample) -> dict[int, list[str]]:
    """What only partition n holds: its signature, and the salt of points 2 to 4."""
    evidence = show_passport(s.ledger, s.passport_id, "authority").partitions
    evidence4 = show_passport(s.ledger, s.passport_id, "legitimate-interest").partitions
    document = full_document(s.ledger, s.passport_id)
    out: dict[int, list[str]] = {}
    for n in (1, 2, 3, 4):
        partition = (evidence4 if n == 4 else evidence)[n]
        out[n] = [partition["proof"]["proofValue"]]
        if n > 1:
            out[n].append(document[f"point{n}"]["salt"])
    return out


def _received(body: str, markers: Mapping[int, list[str]]) -> frozenset[int]:
    return frozenset(n for n, found in markers.items() if any(m in body for m in found))


def test_the_table_covers_the_routes_it_names(sample: Sample) -> None:
    assert set(PARTITION_VISIBILITY) == set(_urls(sample))
    paths = sample.client.get("/openapi.json").json()["paths"]
    assert set(PARTITION_VISIBILITY) <= {p for p, item in paths.items() if "get" in item}


@pytest.mark.parametrize("route", sorted(PARTITION_VISIBILITY))
def test_each_role_receives_exactly_its_partitions(sample: Sample, route: str) -> None:
    url = _urls(sample)[route]
    markers = _markers(sample)
    bodies = {}
    for role in ROLES:
        response = sample.client.get(
            url, headers={**sample.headers(role.value), "Accept": "application/json"}
        )
        expected = PARTITION_VISIBILITY[route][role]
        if expected is None:
            assert_problem(response, 403, "export_forbidden")
            continue
        assert response.status_code == 200, (role, response.text)
        received = _received(response.text, markers)
        assert received <= expected if route in DERIVED else received == expected, role
        bodies[role] = response.content
        if response.headers["content-type"].startswith("application/json"):
            _check_declared(route, response.json(), role)
    if PARTITION_VISIBILITY[route] == NONE:
        assert len(set(bodies.values())) == 1  # public ledger data: nobody sees more or less


def _check_declared(route: str, body: dict[str, Any], role: AccessRole) -> None:
    """Where a response names its partitions, they are the role's."""
    allowed = sorted(str(n) for n in ROLE_PARTITIONS[role.value])
    checks: dict[str, Callable[[], object]] = {
        "/passports/{passport_id}": lambda: sorted(body["evidence"]["partitions"]),
        "/01/{gtin}/21/{serial}": lambda: sorted(body["evidence"]["partitions"]),
        "/passports/{passport_id}/bundle": lambda: sorted(body["view"]["evidence"]["partitions"]),
        "/passports/{passport_id}/compliance": lambda: [str(n) for n in body["partitions"]],
    }
    if route in checks:
        assert checks[route]() == allowed, role
    if route in ("/passports/{passport_id}", "/01/{gtin}/21/{serial}"):
        shown = {k for k in body["passport"] if k.startswith("point")}
        assert shown == {f"point{n}" for n in ROLE_PARTITIONS[role.value]}


def test_compliance_reports_only_the_items_of_the_roles_partitions(sample: Sample) -> None:
    reports = {
        role: sample.client.get(
            f"/passports/{sample.passport_id}/compliance", headers=sample.headers(role.value)
        ).json()
        for role in ROLES
    }
    counts = {role: r["completeness"]["checked"] for role, r in reports.items()}
    assert counts[AccessRole.PUBLIC] < counts[AccessRole.AUTHORITY]
    assert counts[AccessRole.PUBLIC] < counts[AccessRole.LEGITIMATE_INTEREST]
    for role, report in reports.items():
        allowed = ROLE_PARTITIONS[role.value]
        for gap in report["completeness"]["missing"]:
            assert gap["pointer"].startswith(tuple(f"/point{n}" for n in allowed)), role
        assert report["role"] == role.value
        # the Art. 8 and carbon figures are point 1: everyone gets the same
        assert report["recycledContent"] == reports[AccessRole.PUBLIC]["recycledContent"]
        assert report["carbonFootprint"] == reports[AccessRole.PUBLIC]["carbonFootprint"]


def test_restricted_views_are_never_cached_by_shared_caches(sample: Sample) -> None:
    url = f"/passports/{sample.passport_id}"
    public = sample.client.get(url)
    assert public.headers["cache-control"].startswith("public")
    assert "Authorization" in public.headers["vary"]
    for role in ("legitimate-interest", "authority"):
        restricted = sample.client.get(url, headers=sample.headers(role))
        assert restricted.headers["cache-control"] == "private, no-store"
