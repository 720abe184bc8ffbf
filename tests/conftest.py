"""Shared fixtures. The backend comes from ``BPASS_TEST_DATABASE`` (``sqlite`` or ``postgresql``):
the same suite runs against both (``make test`` runs the two legs).

On PostgreSQL each test gets its own schema in the ``test`` database (dropped afterwards), so
tests stay isolated and can run in parallel.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from passport.ledger.pipeline import Ledger
from passport.records.envelope import dumps, record_hash, sign_next
from passport.store.sql.repository import Repository
from signing.keys import SigningKey

BACKEND = os.environ.get("BPASS_TEST_DATABASE", "sqlite")
PG_URL = os.environ.get("BPASS_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
assert BACKEND in ("sqlite", "postgresql"), f"unknown BPASS_TEST_DATABASE={BACKEND!r}"


def pytest_report_header() -> str:
    return f"battery-passport backend: {BACKEND}"


def _new_db_url(tmp_path: Path) -> tuple[str, Callable[[], None]]:
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}", lambda: None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", drop


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on the backend under test."""
    url, drop = _new_db_url(tmp_path)
    yield url
    drop()


@pytest.fixture
def operator_key() -> SigningKey:
    return SigningKey.from_seed(b"\x01" * 32)


@pytest.fixture
def log_key() -> SigningKey:
    return SigningKey.from_seed(b"\x02" * 32)


@pytest.fixture
def ledger(db_url: str, operator_key: SigningKey, log_key: SigningKey) -> Iterator[Ledger]:
    """An initialised ledger with its operator registered (leaf 0)."""
    from tests.helpers.chain import Chain

    led = Ledger(Repository(db_url), log_key=log_key, workers=1)
    led.initialise(operator_key, "test.example/log", "Test operator")
    yield led
    # The in-memory store that mirrored the ledger through each ``tests.helpers.chain.Chain`` answers
    # every traceability query as the database does (``tests.helpers.mirror``).
    try:
        for chain in [c for c in Chain.created if c.ledger is led]:
            chain.mirror.verify()
    finally:
        Chain.created[:] = [c for c in Chain.created if c.ledger is not led]
        led.close()


class Actors:
    """Registers actors with fresh keys on a ledger."""

    def __init__(self, ledger: Ledger, operator_key: SigningKey) -> None:
        self.ledger = ledger
        self.operator_key = operator_key
        self.counter = 0

    def add(
        self, *roles: str, name: str | None = None, country: str = "DE", **extra: Any
    ) -> SigningKey:
        self.counter += 1
        key = SigningKey.from_seed(uuid.uuid4().bytes * 2)
        subject: dict[str, Any] = {
            "id": key.did,
            "name": name or f"Actor {self.counter}",
            "country": country,
            "roles": list(roles),
            **extra,
        }
        self.ledger.append(self.ledger.sign_new(self.operator_key, "ActorRegistration", subject))
        return key


@pytest.fixture
def actors(ledger: Ledger, operator_key: SigningKey) -> Actors:
    return Actors(ledger, operator_key)


def rotation_chain(
    did: str,
    key: SigningKey,
    n: int,
    *,
    next_key: Callable[[int], SigningKey] | None = None,
    valid_from: str = "2026-01-01T00:00:00Z",
) -> list[dict[str, Any]]:
    """``n`` KeyRotation records of ``did``'s chain from sequence 1, each signed by the key the
    previous one named (``next_key(i)`` gives the i-th new key; random by default)."""
    out: list[dict[str, Any]] = []
    head: tuple[int, str | None] = (0, None)
    for i in range(n):
        nxt = next_key(i) if next_key is not None else SigningKey.generate()
        signed = sign_next(
            key,
            "KeyRotation",
            {"nextKey": nxt.multikey},
            issuer=did,
            head=head,
            valid_from=valid_from,
        )
        out.append(signed)
        head = (head[0] + 1, record_hash(dumps(signed)))
        key = nxt
    return out
