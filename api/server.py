"""Limits of the HTTP server itself, below ASGI: read timeouts, a header size cap, a connection cap.

uvicorn (what ``bpass serve`` runs) times out idle keep-alive connections but not a request being
read: a client that sends half a header, or a body, and then stalls holds its connection (and
whatever the application holds for it) for ever, and nothing caps the connections. The protocol
class :func:`guarded_protocol` returns adds, for uvicorn's own HTTP/1.1 protocol (httptools when
installed, else h11):

* a **header timeout**: a request's head (request line and headers) must be complete within
  ``header_timeout`` seconds of its first byte (of the connection, for the first request);
* a **body timeout**: while a body is being received, the client may stall at most
  ``body_timeout`` seconds between two reads (not counted while the application is not reading);
* a **header size cap**: a head larger than ``max_header_bytes`` is refused (431);
* a **connection cap**: a connection beyond ``max_connections`` open at once gets 503
  (``connections_full``, ``Retry-After``) to its request and is closed.

A timed-out request gets ``408 Request Timeout`` (when nothing was answered yet) and its
connection is closed. The limits apply per server process.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.errors import ConnectionsFullError
from api.problems import problem_response

log = logging.getLogger("bpass.api")

TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\nconnection: close\r\n\r\nrequest timeout\n"
)
TOO_LARGE_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 23\r\nconnection: close\r\n\r\nrequest head too large\n"
)


@dataclass(frozen=True)
class ServerLimits:
    """The server's own limits (see the module docstring)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1000
    max_header_bytes: int = 16 * 1024


async def refuse_connection(scope: Scope, receive: Receive, send: Send) -> None:
    """The application of a connection over the cap: 503 with ``Retry-After``, then close."""
    if scope["type"] != "http":
        return
    error = ConnectionsFullError("the server has too many open connections; retry shortly")
    await problem_response(error, headers={"Connection": "close"})(scope, receive, send)


class _Guard(asyncio.Protocol):
    """The timeouts and caps, mixed into one of uvicorn's HTTP/1.1 protocols."""

    limits: ClassVar[ServerLimits] = ServerLimits()
    # uvicorn's protocol attributes that the guard reads
    cycle: Any
    flow: Any
    transport: asyncio.Transport
    connections: set[Any]
    app: Any
    _guard_timer: asyncio.TimerHandle | None
    _guard_cycle: Any
    _head_bytes: int

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Count the connection against the cap and start the first head's timeout."""
        super().connection_made(transport)
        self._guard_timer = None
        self._guard_cycle = None
        self._head_bytes = 0
        if len(self.connections) > self.limits.max_connections:
            self.app = refuse_connection  # this connection's request gets 503, then it closes
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the timer with the connection."""
        self._cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, then time and size whatever part of a request is still being read."""
        if self._reading_head():
            self._head_bytes += len(data)
        super().data_received(data)
        if self.transport.is_closing():
            self._cancel()
            return
        cycle = self.cycle
        if self._reading_head():
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(
                    TOO_LARGE_431, "request head over %d bytes", self.limits.max_header_bytes
                )
            elif self._guard_timer is None:
                self._arm(self.limits.header_timeout)  # a new head began: its deadline runs
            return
        if cycle is not self._guard_cycle:  # a new request: its head is complete
            self._guard_cycle = cycle
            self._head_bytes = 0
        if cycle.more_body:
            self._arm(self.limits.body_timeout)  # an idle timeout: each read restarts it
        else:
            self._cancel()

    def _reading_head(self) -> bool:
        cycle = self.cycle
        return cycle is None or bool(cycle.response_complete)

    def _arm(self, seconds: float) -> None:
        self._cancel()
        self._guard_timer = asyncio.get_running_loop().call_later(seconds, self._expired)

    def _cancel(self) -> None:
        if self._guard_timer is not None:
            self._guard_timer.cancel()
            self._guard_timer = None

    def _expired(self) -> None:
        self._guard_timer = None
        if self.transport.is_closing():
            return
        if self._reading_head():
            self._refuse(TIMEOUT_408, "request head not complete within %.1f s",
                         self.limits.header_timeout)  # fmt: skip
            return
        if self.flow.read_paused:  # the application is not reading: the client is not stalling
            self._arm(self.limits.body_timeout)
            return
        if self.cycle.more_body:
            self._refuse(TIMEOUT_408, "request body stalled for %.1f s", self.limits.body_timeout)

    def _refuse(self, response: bytes, why: str, *args: Any) -> None:
        self._cancel()
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            self.transport.write(response)
        log.warning("closing a connection: " + why, *args)
        self.transport.close()


class GuardedH11Protocol(_Guard, H11Protocol):
    """uvicorn's h11 protocol with the guard's limits."""


def _base_protocol() -> type[_Guard]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
        return GuardedH11Protocol

    class GuardedHttpToolsProtocol(_Guard, HttpToolsProtocol):
        """uvicorn's httptools protocol with the guard's limits."""

    return GuardedHttpToolsProtocol


def guarded_protocol(limits: ServerLimits) -> type[asyncio.Protocol]:
    """A uvicorn HTTP protocol class (``uvicorn.run(http=...)``) enforcing ``limits``."""
    base = _base_protocol()
    return type("GuardedHTTPProtocol", (base,), {"limits": limits})


__all__ = ["GuardedH11Protocol", "ServerLimits", "guarded_protocol", "refuse_connection"]
