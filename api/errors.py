"""Errors raised by the HTTP layer itself. They join the project's one hierarchy (BpassError), so
the same problem+json mapping renders them; ``code`` values are stable API."""

from __future__ import annotations

import sys

from starlette.exceptions import HTTPException as StarletteHTTPException

import passport.errors
import signing.errors
from signing.errors import BpassError


class ApiError(BpassError):
    """Base of the HTTP layer's own errors."""

    code = "api_error"


class JsonMalformedError(ApiError):
    """The request body is not a single strict JSON text (syntax, duplicate keys, bad UTF-8)."""

    code = "json_malformed"


class RequestInvalidError(ApiError):
    """Parameters or body have the wrong shape (FastAPI request validation)."""

    code = "request_invalid"


class BatchInvalidError(ApiError):
    """A batch body is not a non-empty JSON array of records."""

    code = "batch_invalid"


class RequestTooLargeError(ApiError):
    """The request body exceeds the size limit of its endpoint."""

    code = "request_too_large"
    category = "too_large"


class BatchTooLargeError(ApiError):
    """A batch holds more records than the configured maximum."""

    code = "batch_too_large"
    category = "too_large"


class ChallengeInvalidError(ApiError):
    """An authentication challenge is unknown, already used, expired or issued to another DID."""

    code = "challenge_invalid"
    category = "unverified"


class TokenInvalidError(ApiError):
    """A bearer token is malformed, expired, for another audience, or its key was revoked."""

    code = "token_invalid"
    category = "forbidden"


class AuthenticationRequiredError(ApiError):
    """The endpoint acts for an actor: it needs a bearer token from ``POST /auth/token`` (401)."""

    code = "authentication_required"
    category = "forbidden"


class RouteNotFoundError(ApiError):
    """No resource lives at this URL."""

    code = "route_not_found"
    category = "not_found"


class MethodNotAllowedError(ApiError):
    """The resource exists but not with this HTTP method."""

    code = "method_not_allowed"


class BodyTooLarge(StarletteHTTPException):
    """Raised into the application when a streamed body passes its limit (rendered as 413).

    An ``HTTPException`` so that FastAPI's own body reading passes it through unchanged.
    """

    def __init__(self, error: BpassError) -> None:
        super().__init__(status_code=413, detail=error.message)
        self.error = error


class ServerBusyError(ApiError):
    """The server has too much work queued; retry after a moment (503)."""

    code = "server_busy"


class ExportForbiddenError(ApiError):
    """Only the passport's economic operator may export it (the export holds all partitions)."""

    code = "export_forbidden"
    category = "forbidden"


class NotAcceptableError(ApiError):
    """None of the media types the request accepts can be served here (406)."""

    code = "not_acceptable"


class SubmissionInvalidError(ApiError):
    """A passport submission holds the wrong kind of record, or one for another passport."""

    code = "submission_invalid"


class RemoteError(BpassError):
    """The server answered with an error this client does not know by its code."""

    code = "remote_error"


class LinkTypeNotFoundError(ApiError):
    """The battery has no link of the requested ``linkType`` (GS1 resolver, 404)."""

    code = "link_type_not_found"
    category = "not_found"


class RateLimitedError(ApiError):
    """Too many requests from this client or for this DID; retry after ``retryAfter`` seconds."""

    code = "rate_limited"


class ChallengesFullError(ApiError):
    """Every challenge slot holds a pending challenge; retry after ``retryAfter`` seconds."""

    code = "challenges_full"


class JsonTooComplexError(ApiError):
    """A body nests deeper, or holds more JSON values, than its endpoint allows."""

    code = "json_too_complex"
    category = "too_large"


class BodiesBusyError(ApiError):
    """Too many large request bodies are being received at once; retry shortly (503)."""

    code = "bodies_busy"
    category = "unavailable"


class ConnectionsFullError(ApiError):
    """The server has as many open connections as it allows; retry shortly (503)."""

    code = "connections_full"
    category = "unavailable"


ERROR_MODULES = (signing.errors, passport.errors, sys.modules[__name__])
"""The one error module of each layer: signing, the domain, the HTTP layer. Every error class
the project raises is defined in one of them (``tests`` holds that)."""


def error_classes() -> list[type[BpassError]]:
    """Every error class the layers' error modules define, in module order."""
    return [
        obj
        for module in ERROR_MODULES
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BpassError)
        and obj.__module__ == module.__name__
    ]


def errors_by_code() -> dict[str, type[BpassError]]:
    """The error class of each code (codes are unique across the layers; a test holds that)."""
    return {cls.code: cls for cls in error_classes()}
