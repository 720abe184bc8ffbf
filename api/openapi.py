"""OpenAPI document helpers: the record envelope as a request schema, problem responses."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

import schemas
from api.problems import PROBLEM_JSON, Problem

_DESCRIPTIONS = {
    400: "Malformed request: the body is not one strict JSON text (syntax, duplicate keys)",
    401: "The bearer token is malformed, expired, for another audience, or its key was revoked",
    403: "Forbidden: unknown issuer, key not valid, role not allowed, or not the reader's to see",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable: none of the accepted media types can be served",
    409: "Conflict with the ledger's state (e.g. a chain fork)",
    413: "Request body too large",
    422: "Invalid or unverified input",
    429: "Too many requests (per address, per DID) or no free slot; see Retry-After",
    500: "Internal server error (logged; the problem carries no details)",
    503: "The database is unreachable or the server is busy; retry later",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting problem+json bodies for ``statuses``."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "Problem"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {
            k: _inline(v, defs) for k, v in node.items() if k not in ("$schema", "$id", "$defs")
        }
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@cache
def _record_schema() -> dict[str, Any]:
    envelope = schemas.load("records/envelope.schema.json")
    inlined: dict[str, Any] = _inline(envelope, envelope.get("$defs", {}))
    return inlined


def record_schema() -> dict[str, Any]:
    """The record envelope's JSON Schema, local ``$ref``s inlined (usable inside OpenAPI)."""
    return copy.deepcopy(_record_schema())


def record_body(*, batch: bool) -> dict[str, Any]:
    """``openapi_extra`` for an endpoint that reads one signed record, or an array of them."""
    schema: dict[str, Any] = {
        "anyOf": [
            record_schema(),
            {
                "type": "object",
                "description": "A confidential record and the Disclosures of its concealed members",
                "required": ["record", "disclosures"],
                "additionalProperties": False,
                "properties": {
                    "record": record_schema(),
                    "disclosures": {"type": "array", "items": {"type": "string"}},
                },
            },
        ]
    }
    if batch:
        schema = {"type": "array", "items": schema, "minItems": 1}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def model_schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """Component schemas (serialisation form) of ``models`` and of every model they use."""
    _, top = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def finish(
    document: dict[str, Any], extra_models: Iterable[type[BaseModel]] = ()
) -> dict[str, Any]:
    """Complete FastAPI's document: the Problem schema (and ``extra_models``, which hand-written
    response schemas refer to by name), 500/503 everywhere, optional bearer auth.

    Every endpoint that reads a bearer token also serves anonymous callers (as the public), which
    OpenAPI spells as an empty security requirement next to the bearer one. Any operation may meet
    an unreachable database (503) or an unexpected failure (500, a problem without details).
    """
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema()
    for name, schema in model_schemas(extra_models).items():
        components.setdefault(name, schema)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in problems(500, 503).items():
                operation.setdefault("responses", {}).setdefault(str(status), response)
            security = operation.get("security")
            if security and {} not in security:
                operation["security"] = [{}, *security]
    return document
