"""A cheap structural scan of a batch body, before it is parsed.

``POST /records/batch`` takes up to ``max_batch_bytes`` from anyone: the records' signatures are
what authenticate them, and checking those needs the body parsed. Parsing 32 MiB of crafted JSON
into Python objects took seconds of CPU and gigabytes of memory, so the body is first scanned
token by token without building anything: it must be a JSON array of at most ``max_items``
values, nest at most ``max_depth`` deep and hold at most ``max_values`` JSON values in all. The
scan stops at the first violation; a body that passes is then parsed strictly
(:func:`signing.jcs.parse_json`), which reports any syntax error the scan let through.
"""

from __future__ import annotations

import re

from api.errors import (
    BatchInvalidError,
    BatchTooLargeError,
    JsonMalformedError,
    JsonTooComplexError,
)

_TOKEN = re.compile(
    rb"[ \t\n\r]*(?:"
    rb'(?P<string>"[^"\\]*(?:\\.[^"\\]*)*")'
    rb"|(?P<open>[\[{])"
    rb"|(?P<close>[\]}])"
    rb"|(?P<sep>[,:])"
    rb"|(?P<scalar>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)"
    rb")",
    re.DOTALL,
)
_SPACE = re.compile(rb"[ \t\n\r]*")


def scan_batch(body: bytes, *, max_items: int, max_depth: int, max_values: int) -> None:
    """Refuse ``body`` early when it cannot be an acceptable batch.

    Raises BatchInvalidError (not an array), BatchTooLargeError (more than ``max_items``
    records), JsonTooComplexError (deeper than ``max_depth``, or more than ``max_values``
    values) or JsonMalformedError (a byte no JSON token starts with). Incomplete or otherwise
    ill-formed JSON is left to the strict parser.
    """
    match = _TOKEN.match
    pos, end = 0, len(body)
    depth = 0
    items = 0
    values = 0
    while pos < end:
        token = match(body, pos)
        if token is None:
            space = _SPACE.match(body, pos)  # always matches: the pattern allows no spaces
            if space is not None and space.end() == end:
                return
            raise JsonMalformedError(f"the batch is not valid JSON (byte {pos})")
        pos = token.end()
        kind = token.lastgroup
        if kind == "close":
            depth -= 1
            if depth <= 0:
                return  # the array is closed: the parser judges what follows
            continue
        if kind == "sep":
            continue
        if (depth == 0 and kind != "open") or (depth == 0 and body[pos - 1 : pos] != b"["):
            raise BatchInvalidError("a batch is a non-empty JSON array of signed records")
        values += 1
        if depth == 1:
            items += 1
            if items > max_items:
                raise BatchTooLargeError(
                    f"the batch holds more than {max_items} records", limit=max_items
                )
        if values > max_values:
            raise JsonTooComplexError(
                f"the batch holds more than {max_values} JSON values", limit=max_values
            )
        if kind == "open":
            depth += 1
            if depth > max_depth + 1:  # the batch's own array is not a record's nesting
                raise JsonTooComplexError(
                    f"a record nests deeper than {max_depth} levels", limit=max_depth
                )


__all__ = ["scan_batch"]
