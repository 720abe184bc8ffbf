"""Pure ASGI middleware: request body limits, a redacting access log, and the last-resort 500.

* :class:`BodyLimitMiddleware` refuses a body whose ``Content-Length`` exceeds its endpoint's limit
  with 413 before reading any of it, stops a body streamed without a length as soon as it
  passes the limit, and refuses a large body with 503 while too many are in flight.
* :class:`AccessLogMiddleware` logs method, path, status and duration. It never logs headers (so
  never an ``Authorization`` header) and masks sensitive query parameters.
* :class:`CatchAllMiddleware` turns any unexpected exception into a bare 500 problem and logs the
  traceback server-side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, BodiesBusyError, BodyTooLarge, RequestTooLargeError
from api.problems import internal_error_response, problem_response
from signing.errors import BpassError

access_log = logging.getLogger("bpass.access")
error_log = logging.getLogger("bpass.api")

LimitRule = Callable[[str, str], tuple[int, Callable[[int], BpassError]]]
"""(method, path) -> (byte limit, error to raise when it is exceeded)."""

SENSITIVE_QUERY = frozenset({"token", "access_token", "signature", "challenge", "code"})


class BodyLimitMiddleware:
    """Enforce a per-endpoint body size limit before the body is read or parsed, and bound how
    many large bodies are in flight at once.

    A body is large when it declares more than ``large_bytes`` or, without a ``Content-Length``,
    when its endpoint accepts more. At most ``max_large`` large requests are received and handled
    at once (this process); one more is refused at once with 503 ``bodies_busy`` and
    ``Retry-After``, before any of its body is read: six anonymous 32 MiB batch bodies at once
    once cost gigabytes of memory.
    """

    def __init__(
        self, app: ASGIApp, rule: LimitRule, large_bytes: int = 1 << 20, max_large: int = 2
    ) -> None:
        self.app = app
        self.rule = rule
        self.large_bytes = large_bytes
        self.max_large = max_large
        self.large_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check ``Content-Length`` up front, then count the streamed bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, make_error = self.rule(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = problem_response(make_error(declared), headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        large = limit > self.large_bytes and (declared is None or declared > self.large_bytes)
        if not large:
            await self._run(scope, receive, send, limit, make_error)
            return
        if self.large_in_flight >= self.max_large:
            busy = BodiesBusyError(
                f"{self.max_large} large request bodies are being handled; retry shortly"
            )
            await problem_response(busy, headers={"Connection": "close"})(scope, receive, send)
            return
        self.large_in_flight += 1
        try:
            await self._run(scope, receive, send, limit, make_error)
        finally:
            self.large_in_flight -= 1

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int,
        make_error: Callable[[int], BpassError],
    ) -> None:
        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(make_error(seen))
            return message

        await self.app(scope, capped_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_large(limit: int) -> Callable[[int], ApiError]:
    """An error factory for a generic body limit."""

    def make(size: int) -> ApiError:
        return RequestTooLargeError(
            f"the request body is {size} bytes or more; the limit here is {limit}", limit=limit
        )

    return make


def redact_query(query: str) -> str:
    """A query string with the values of sensitive parameters masked."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "***" if k.lower() in SENSITIVE_QUERY else v) for k, v in pairs])


class AccessLogMiddleware:
    """One log line per request: method, path (query redacted), status, milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and log it once the response has started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                query = redact_query(scope.get("query_string", b"").decode("latin-1"))
                client = scope.get("client")
                access_log.info(
                    '%s "%s %s%s" %d %.1fms',
                    f"{client[0]}:{client[1]}" if client else "-",
                    scope["method"],
                    scope["path"],
                    f"?{query}" if query else "",
                    status,
                    (time.perf_counter() - started) * 1000,
                )


class CatchAllMiddleware:
    """Any exception the handlers did not render becomes a 500 problem without details."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; on an unexpected exception log it and answer 500 if nothing was sent."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except ClientDisconnect:  # the client left (or was cut off) mid-body: nobody to answer
            return
        except BodyTooLarge as exc:  # raised while a handler streamed the body itself
            if started:
                raise
            await problem_response(exc.error, headers={"Connection": "close"})(scope, receive, send)
        except Exception:
            error_log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if started:
                raise
            await internal_error_response()(scope, receive, send)
