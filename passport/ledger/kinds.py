"""The registry of record kinds: every kind's rule, gathered once from the modules that define
them (append pipeline step 4). The ledger and the offline verifier look kinds up here."""

from __future__ import annotations

from passport.document import assurance, disclosure_grants
from passport.document import rules as passport_rules
from passport.records import actors
from passport.records.kinds import KindRule
from passport.trace import attestations, lots

_RULES: dict[str, KindRule] = {
    **actors.RULES,
    **lots.RULES,
    **attestations.RULES,
    **passport_rules.RULES,
    **assurance.RULES,
    # After the attestations: its Retraction rule extends theirs to end disclosure grants.
    **disclosure_grants.RULES,
}


def rule(kind: str) -> KindRule | None:
    """The registered rule of a kind, if any."""
    return _RULES.get(kind)


def registered() -> dict[str, KindRule]:
    """All registered kinds."""
    return dict(_RULES)
