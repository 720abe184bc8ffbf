"""api.client.RemoteLedger: the Ledger operations the CLI uses, through the HTTP API, with the
same results and the same typed errors as the local ledger."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.client import RemoteLedger, error_from_problem
from api.errors import RemoteError
from passport.errors import (
    BatchItemError,
    ConfigurationError,
    ForkError,
    LedgerStateError,
    NotFoundError,
    UnknownIssuerError,
)
from passport.ledger.log import verify_receipt
from passport.ledger.pipeline import Ledger
from signing.errors import NoteError, ProofError
from signing.keys import SigningKey
from signing.note import verifier_key
from tests.conftest import Actors
from tests.helpers.api import client

__all__ = ["client"]


@pytest.fixture
def remote(client: TestClient, ledger: Ledger) -> Iterator[RemoteLedger]:
    r = RemoteLedger("http://testserver", client=client, log_vkey=ledger.info().log_vkey)
    yield r
    r.close()


def test_sign_append_and_retry_through_the_api(
    remote: RemoteLedger, ledger: Ledger, operator_key: SigningKey
) -> None:
    subject = {"id": SigningKey.generate().did, "name": "Remote Co", "roles": ["miner"]}
    record = remote.sign_new(operator_key, "ActorRegistration", subject)
    assert record["chain"]["sequence"] == 2  # continued from the server's head
    remote.parse(record)
    receipt = remote.append(record)
    assert not receipt.existing and receipt.leaf_index == 1
    assert ledger.record(receipt.record_hash).hash == receipt.record_hash
    again = remote.append(record)
    assert again.existing and again.leaf_index == 1
    assert remote.record(receipt.record_hash) == ledger.record(receipt.record_hash).body


def test_queries_equal_the_local_ledger(
    remote: RemoteLedger, ledger: Ledger, actors: Actors
) -> None:
    miner = actors.add("miner")
    rotated_to = SigningKey.generate()
    ledger.append(ledger.sign_new(miner, "KeyRotation", {"nextKey": rotated_to.multikey}))
    actors.add("oem")
    assert remote.info() == ledger.info()
    assert remote.chain_head(miner.did) == ledger.chain_head(miner.did)
    assert remote.chain_head(SigningKey.generate().did) == (0, None)
    assert remote.issuer_for_key(rotated_to) == miner.did == ledger.issuer_for_key(rotated_to)
    stranger = SigningKey.generate()
    assert remote.issuer_for_key(stranger) == stranger.did
    assert remote.checkpoint() == ledger.checkpoint()
    assert remote.checkpoint(2) == ledger.checkpoint(2)
    assert remote.consistency(2) == ledger.consistency(2)
    assert remote.consistency(1, 3) == ledger.consistency(1, 3)
    head = ledger.chain_head(miner.did)[1]
    assert head is not None
    assert remote.receipt(head) == ledger.receipt(head)
    assert remote.receipt(head, 4) == ledger.receipt(head, 4)
    verify_receipt(remote.receipt(head).to_dict(), ledger.info().log_vkey)


def test_problems_come_back_as_the_domain_errors(
    remote: RemoteLedger, ledger: Ledger, operator_key: SigningKey
) -> None:
    a = remote.sign_new(
        operator_key,
        "ActorRegistration",
        {"id": SigningKey.generate().did, "name": "A", "roles": ["miner"]},
    )
    b = remote.sign_new(
        operator_key,
        "ActorRegistration",
        {"id": SigningKey.generate().did, "name": "B", "roles": ["miner"]},
    )
    remote.append(a)
    with pytest.raises(ForkError) as fork:
        remote.append(b)
    assert fork.value.code == "chain_fork" and fork.value.details["sequence"] == 2
    stranger = SigningKey.generate()
    orphan = remote.sign_new(stranger, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
    with pytest.raises(UnknownIssuerError):
        remote.append(orphan)
    with pytest.raises(NotFoundError):
        remote.receipt("sha256:" + "0" * 64)
    with pytest.raises(NotFoundError):
        remote.consistency(5, 2)


def test_batches_through_the_api(
    remote: RemoteLedger, ledger: Ledger, operator_key: SigningKey
) -> None:
    one = remote.sign_new(
        operator_key,
        "ActorRegistration",
        {"id": SigningKey.generate().did, "name": "1", "roles": ["miner"]},
    )
    receipts = remote.append_batch([one])
    assert [r.leaf_index for r in receipts] == [1]
    stranger = SigningKey.generate()
    orphan = remote.sign_new(stranger, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
    with pytest.raises(BatchItemError) as rejected:
        remote.append_batch([one, orphan])
    assert rejected.value.index == 1 and isinstance(rejected.value.error, UnknownIssuerError)
    forged = dict(one, validFrom="2020-01-01T00:00:00Z")
    with pytest.raises(BatchItemError) as bad:
        remote.append_batch([forged])
    assert isinstance(bad.value.error, ProofError)
    with pytest.raises(BatchItemError) as local:  # step 1 runs before anything is sent
        remote.append_batch([one, b"{not json"])
    assert local.value.index == 1


def test_a_pinned_log_key_is_enforced(client: TestClient, ledger: Ledger) -> None:
    wrong = verifier_key(ledger.info().origin, SigningKey.generate().public_key_bytes)
    r = RemoteLedger("http://testserver", client=client, log_vkey=wrong)
    with pytest.raises(LedgerStateError):
        r.info()
    with pytest.raises(NoteError):
        r.checkpoint()


def test_unreachable_server_is_a_configuration_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = RemoteLedger(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ConfigurationError, match="cannot reach"):
        r.checkpoint()
    r.close()


def test_unknown_problem_codes_stay_typed() -> None:
    err = error_from_problem(418, {"code": "teapot", "detail": "short and stout"})
    assert isinstance(err, RemoteError) and err.details["remote_code"] == "teapot"
    assert err.message == "short and stout"


def test_login_signs_only_genuine_challenges(client: TestClient, actors: Actors) -> None:
    from api.client import ApiClient
    from signing.errors import SignatureError

    key = actors.add("authority")
    api = ApiClient("http://testserver", client=client)
    assert api.login(key.did, key)
    assert api.json("GET", "/auth/whoami")["access_role"] == "authority"

    class Evil:
        """A server handing out a signed note's text as a 'challenge'."""

        def json(self, *_: object, **__: object) -> dict[str, str]:
            return {"challenge": "test.example/log\n9\nAAAA\n"}

    with pytest.raises(SignatureError):
        ApiClient.login(Evil(), key.did, key)  # type: ignore[arg-type]
