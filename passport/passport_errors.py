"""Errors of the battery passport: subclasses of the one hierarchy in :mod:`passport.errors`.

Each has a stable ``code`` (the API's problem ``code``, printed by the CLI). Errors that carry a
list of problems put it in ``details["problems"]`` as ``[{"pointer": …, "message": …}]`` and also
spell every problem out in the message, so a terminal shows all of them, not the first only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from passport.errors import LedgerError, NotFoundError, RuleViolationError


def _listing(headline: str, problems: Sequence[dict[str, str]]) -> str:
    lines = [f"{headline} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    lines.extend(f"  {p['pointer']}: {p['message']}" for p in problems)
    return "\n".join(lines)


class PassportError(LedgerError):
    """Base for errors of passport issuance, access, lifecycle, compliance and export."""

    code = "passport_error"


class PassportInvalidError(PassportError):
    """The passport (or its model data) breaks the schema or a semantic rule; all listed."""

    code = "passport_invalid"

    def __init__(
        self, problems: Sequence[dict[str, str]], headline: str = "the passport is invalid"
    ) -> None:
        super().__init__(_listing(headline, problems), problems=list(problems))
        self.problems = list(problems)


class PassportNotFoundError(NotFoundError):
    """No passport with this identifier (or battery identifier) exists."""

    code = "passport_not_found"


class UnknownAccessRoleError(PassportError):
    """The reader's role is none of public, legitimate-interest, authority."""

    code = "access_role_unknown"


class PartitionUnverifiedError(PassportError):
    """A served partition does not match the commitment in the signed passport record."""

    code = "partition_unverified"
    category = "unverified"


class PassportUnverifiedError(PassportError):
    """The passport does not verify against the ledger; every failed check listed."""

    code = "passport_unverified"
    category = "unverified"

    def __init__(self, problems: Sequence[dict[str, str]], **details: Any) -> None:
        super().__init__(
            _listing("the passport does not verify against the ledger", problems),
            problems=list(problems),
            **details,
        )
        self.problems = list(problems)


class IllegalTransitionError(RuleViolationError):
    """The status change is not allowed from the passport's current status."""

    code = "passport_transition_illegal"
    category = "conflict"


class PassportCeasedError(RuleViolationError):
    """The passport has ceased (battery recycled) or was superseded: it takes no more changes."""

    code = "passport_closed"
    category = "conflict"


class PassportStaleError(RuleViolationError):
    """The update was made against a point-4 state that is no longer the current one."""

    code = "passport_stale"
    category = "conflict"


class PartitionMissingError(RuleViolationError):
    """A record commits to a partition whose signed body was not supplied with it."""

    code = "partition_missing"


class ExportIncompleteError(PassportError):
    """The target data model requires values this passport does not hold; every gap listed."""

    code = "export_incomplete"

    def __init__(self, problems: Sequence[dict[str, str]]) -> None:
        super().__init__(
            _listing("the Battery Pass export needs data the passport lacks", problems),
            problems=list(problems),
        )
        self.problems = list(problems)
