"""Every error as an RFC 9457 problem document (``application/problem+json``).

One mapping for the whole API: a :class:`~signing.errors.BpassError` becomes a problem whose
``code`` is the error's stable code and whose status follows its ``category``; a batch item's
error is unwrapped (the problem names the item by ``index``). FastAPI's request validation,
Starlette's 404/405 and anything unexpected are rendered the same way, never with a stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import (
    ApiError,
    BodyTooLarge,
    JsonMalformedError,
    MethodNotAllowedError,
    RequestInvalidError,
    RequestTooLargeError,
    RouteNotFoundError,
)
from passport.errors import BatchItemError
from signing.errors import BpassError, Category

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:battery-passport:problem:"

STATUS_BY_CATEGORY: dict[Category, int] = {
    "invalid": 422,
    "unverified": 422,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "unavailable": 503,
}
STATUS_BY_CODE: dict[str, int] = {
    "json_malformed": 400,  # not JSON at all: the request is malformed, not merely invalid
    "record_malformed": 400,
    "digital_link_malformed": 400,  # GS1 resolver: a syntactically invalid key is a bad request
    "token_invalid": 401,
    "authentication_required": 401,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "server_busy": 503,
    "rate_limited": 429,
    "challenges_full": 429,
}
"""Codes whose HTTP status is more specific than their category's."""

_RESERVED = frozenset({"type", "title", "status", "detail", "instance", "code"})
log = logging.getLogger("bpass.api")


class Problem(BaseModel):
    """An RFC 9457 problem document; error-specific members (``index``, ``problems``) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="URI naming the problem type: urn:battery-passport:problem:<code>."
    )
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request.")
    code: str = Field(description="Stable machine-readable error code.")


def status_for(error: BpassError) -> int:
    """The HTTP status of a domain error."""
    return STATUS_BY_CODE.get(error.code, STATUS_BY_CATEGORY.get(error.category, 422))


def _title(error: BpassError) -> str:
    doc = (type(error).__doc__ or error.code).strip()
    return doc.split("\n", 1)[0].strip()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def problem_body(error: BpassError) -> dict[str, Any]:
    """The problem document of ``error`` (a batch item's error is unwrapped, keeping ``index``)."""
    index: int | None = None
    if isinstance(error, BatchItemError):
        index, error = error.index, error.error
    body: dict[str, Any] = {
        "type": TYPE_BASE + error.code,
        "title": _title(error),
        "status": status_for(error),
        "detail": error.message,
        "code": error.code,
    }
    for key, value in error.details.items():
        if key not in _RESERVED:
            body[key] = _jsonable(value)
    if index is not None:
        body["index"] = index
    return body


def problem_response(error: BpassError, headers: Mapping[str, str] | None = None) -> Response:
    """An ``application/problem+json`` response for ``error``."""
    body = problem_body(error)
    all_headers = dict(headers or {})
    if body["status"] == 401:  # RFC 6750 §3.1: no error code when no token was sent
        anonymous = error.code == "authentication_required"
        challenge = "Bearer" if anonymous else 'Bearer error="invalid_token"'
        all_headers.setdefault("WWW-Authenticate", challenge)
    if body["status"] in (429, 503):
        all_headers.setdefault("Retry-After", str(body.get("retryAfter", 1)))
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status_code=body["status"],
        media_type=PROBLEM_JSON,
        headers=all_headers,
    )


def internal_error_response() -> Response:
    """The 500 problem: no detail about the cause, which is logged server-side only."""
    body = {
        "type": TYPE_BASE + "internal_error",
        "title": "Internal server error",
        "status": 500,
        "detail": "the server failed to handle this request; the failure has been logged",
        "code": "internal_error",
    }
    return Response(json.dumps(body).encode("utf-8"), status_code=500, media_type=PROBLEM_JSON)


def _pointer(loc: tuple[Any, ...]) -> tuple[str, str]:
    where = str(loc[0]) if loc else "body"
    return where, "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in loc[1:])


def validation_error(exc: RequestValidationError) -> ApiError:
    """FastAPI's validation failure as a typed error: malformed JSON, or invalid fields."""
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return JsonMalformedError("the request body is not valid JSON")
    problems = []
    for e in errors:
        where, pointer = _pointer(tuple(e.get("loc", ())))
        problems.append({"in": where, "pointer": pointer, "message": str(e.get("msg", "invalid"))})
    problems.sort(key=lambda p: (p["in"], p["pointer"]))
    first = problems[0] if problems else {"in": "request", "pointer": "/", "message": "invalid"}
    return RequestInvalidError(
        f"{first['in']} {first['pointer']}: {first['message']}", problems=problems
    )


def http_error(exc: StarletteHTTPException) -> BpassError:
    """Starlette's own HTTP errors (unknown route, wrong method …) as typed errors."""
    if isinstance(exc, BodyTooLarge):
        return exc.error
    if exc.status_code == 404:
        return RouteNotFoundError("no resource at this URL")
    if exc.status_code == 405:
        return MethodNotAllowedError("this resource does not support the request's method")
    if exc.status_code == 413:
        return RequestTooLargeError("the request body is too large")
    if exc.status_code == 400:
        return JsonMalformedError("the request body could not be read")
    return RequestInvalidError(f"the request was refused (HTTP {exc.status_code})")


async def _on_bpass_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BpassError)
    return problem_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_error(exc))


async def _on_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(http_error(exc), headers=exc.headers)


def install(app: FastAPI) -> None:
    """Register the problem+json exception handlers on ``app``."""
    app.add_exception_handler(BpassError, _on_bpass_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
