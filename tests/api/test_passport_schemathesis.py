"""schemathesis over the passport, lot and resolver operations, against a sample ledger: random
input never gets a 5xx and every response conforms to the OpenAPI document. Half the generated
cases have their path parameters replaced by ones that exist (the passport, its pack lot, its
GTIN and serial, a figure id), so the operations also run on real data, not just on 404s.

``tests/api/test_schemathesis.py`` covers every operation on an empty ledger; this adds the data.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.helpers.api_passport import Sample, sample

__all__ = ["sample"]

MAX_EXAMPLES = 30
PREFIXES = ("/passports", "/lots", "/01/")

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


def _ok(result: Ok[T] | Err[E]) -> T:
    """The operation a schemathesis result holds; its error if the schema could not give one."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


def _real(s: Sample) -> dict[str, str]:
    _, _, gtin, _, serial = s.resolver_path.split("/")
    return {
        "passport_id": s.passport_id,
        "lot": s.summary.packs[0].lot,
        "figure": "Ni.country.ID",
        "gtin": gtin,
        "serial": serial,
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_passport_operations_never_fail_with_5xx(sample: Sample, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", sample.client.app)
    every = [_ok(op) for op in schema.get_all_operations()]
    operations = [op for op in every if op.path.startswith(PREFIXES)]
    assert len(operations) >= 12
    real = _real(sample)
    for operation in operations:
        costly = operation.path.endswith("/bundle")

        @settings(
            max_examples=8 if costly else MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), use_real=st.booleans())
        def run(case: Any, use_real: bool) -> None:
            if use_real and case.path_parameters:
                case.path_parameters = {k: real.get(k, v) for k, v in case.path_parameters.items()}
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE and not operation.body
        except BaseException as exc:
            exc.add_note(f"operation: {operation.label}")
            raise
