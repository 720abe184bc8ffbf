"""A compiled JSON Schema check in front of the reference validator.

The reference validator (``jsonschema``, pure Python) lists every error with the messages our
users see, but costs 250-700 µs per record, several times the record's signature check.
``jsonschema_rs`` (a maintained Rust implementation of draft 2020-12) answers "valid or not" in
3-10 µs. Valid input, the common case, is decided by it alone; only invalid input goes on to
the reference validator, which then lists the problems.

Soundness rests on one property, tested in ``tests/test_schema_gate.py`` on mutated records of
every kind: the compiled check never accepts what the reference validator rejects. (It may be
the stricter of the two: ECMA-262 ``$`` does not match before a final newline, Python's does.
Where the compiled check finds a problem the reference validator says nothing about, the
compiled check's own message is listed too, so a rejection names every cause.)
Formats are annotations in both (draft 2020-12 default), never assertions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

import jsonschema_rs

import schemas

__all__ = ["Problem", "compile_schema", "compiled", "compiled_problems", "errors_or_none"]

Problem = dict[str, str]


@cache
def compiled(relpath: str) -> jsonschema_rs.Draft202012Validator:
    """The compiled validator of a shipped schema (``records/…``), built once per process."""
    return jsonschema_rs.Draft202012Validator(schemas.load(relpath))


def compile_schema(schema: Mapping[str, Any]) -> jsonschema_rs.Draft202012Validator:
    """A compiled validator for a schema document given as a mapping."""
    return jsonschema_rs.Draft202012Validator(dict(schema))


def _pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 JSON Pointer of a path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def compiled_problems(
    validator: jsonschema_rs.Draft202012Validator, instance: Any, prefix: str = ""
) -> list[Problem]:
    """The compiled validator's own errors as ``{pointer, message}``."""
    return [
        {"pointer": prefix + _pointer(err.instance_path) or "/", "message": err.message}
        for err in validator.iter_errors(instance)
    ]


def errors_or_none(
    validator: jsonschema_rs.Draft202012Validator,
    instance: Any,
    reference: Callable[[], list[Problem]],
    prefix: str = "",
) -> list[Problem]:
    """``[]`` when ``instance`` is valid; else every problem, in the reference's words first.

    ``reference`` computes the reference validator's listing; it runs only for invalid input.
    A problem the compiled check sees where the reference listing names nothing at or below
    the same pointer (the compiled check is the stricter one there) is added in its own words,
    so every rejection names its causes. ("required" errors sit at the object in one listing
    and at the missing member in the other: the subtree rule matches them.)
    """
    if validator.is_valid(instance):
        return []
    problems = reference()
    named = [p["pointer"] for p in problems]
    problems.extend(
        p
        for p in compiled_problems(validator, instance, prefix)
        if not any(_within(n, p["pointer"]) for n in named)
    )
    return problems


def _within(pointer: str, ancestor: str) -> bool:
    """True if ``pointer`` is ``ancestor`` or below it (``"/"`` and ``""`` are the root)."""
    return ancestor in ("", "/") or pointer == ancestor or pointer.startswith(ancestor + "/")
