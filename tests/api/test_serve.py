"""`bpass serve` end to end: a real uvicorn process on loopback, over the backend under test.

Covers what in-process tests cannot: the command wiring (settings, home, log key), a body refused
by its Content-Length before it is sent, the remote client over a socket, and the server's own
log output (which must never show a token).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.client import ApiClient, RemoteLedger
from passport.ledger.keystore import load_key
from signing.keys import SigningKey

BPASS = str(Path(sys.executable).parent / "bpass")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[Server]:
    home = tmp_path / "home"
    env = {**os.environ, "BPASS_HOME": str(home), "BPASS_DATABASE_URL": db_url}
    subprocess.run(
        [BPASS, "init", "--origin", "serve.test/log"], env=env, check=True, capture_output=True
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [BPASS, "serve", "--port", str(port), "--base-url", url],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/log", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield Server(url, home, process, log_path)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_appends_through_the_remote_client(server: Server) -> None:
    operator = load_key(server.home / "operator.key")
    remote = RemoteLedger(server.url)
    info = remote.info()
    assert info.origin == "serve.test/log" and info.operator_did == operator.did
    remote.log_vkey = info.log_vkey  # pinned from now on: receipts are verified
    supplier = SigningKey.generate()
    record = remote.sign_new(
        operator, "ActorRegistration", {"id": supplier.did, "name": "S", "roles": ["miner"]}
    )
    receipt = remote.append(record)
    assert receipt.leaf_index == 1 and not receipt.existing
    assert remote.checkpoint().startswith("serve.test/log\n2\n")
    remote.close()


def test_oversized_body_is_refused_before_it_is_sent(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.decode("utf-8", errors="replace").partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413")
    assert "application/problem+json" in head
    assert '"code":"record_too_large"' in body.replace(" ", "")


def test_server_logs_requests_but_never_tokens(server: Server) -> None:
    operator = load_key(server.home / "operator.key")
    api = ApiClient(server.url)
    token = api.login(operator.did, operator)
    assert api.json("GET", "/auth/whoami")["did"] == operator.did
    httpx.get(f"{server.url}/auth/whoami", headers={"Authorization": f"Bearer {token}x"})
    api.close()
    time.sleep(0.2)
    log = server.log()
    assert '"GET /auth/whoami" 200' in log and '"POST /auth/token" 200' in log
    assert token not in log and token.split(".")[2] not in log
    assert "Traceback" not in log


def test_remote_cli_appends_and_reads_through_the_server(server: Server, tmp_path: Path) -> None:
    """A supplier's machine: no database, only keys and ``--server``."""
    from passport.ledger.keystore import save_key
    from signing.jcs import canonicalize

    elsewhere = tmp_path / "supplier"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPASS_")}
    env["BPASS_HOME"] = str(elsewhere / "no-ledger-here")

    def bpass(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BPASS, *args, "--server", server.url],
            env=env,
            capture_output=True,
            text=True,
            cwd=elsewhere,
        )

    operator = load_key(server.home / "operator.key")
    supplier = SigningKey.generate()
    remote = RemoteLedger(server.url)
    registration = remote.sign_new(
        operator, "ActorRegistration", {"id": supplier.did, "name": "Supplier", "roles": ["miner"]}
    )
    fork = remote.sign_new(
        operator,
        "ActorRegistration",
        {"id": SigningKey.generate().did, "name": "F", "roles": ["miner"]},
    )
    remote.close()
    (elsewhere / "reg.json").write_bytes(canonicalize(registration))
    (elsewhere / "fork.json").write_bytes(canonicalize(fork))
    done = bpass("append", str(elsewhere / "reg.json"))
    assert done.returncode == 0, done.stderr
    assert "appended as leaf 1" in done.stdout
    rejected = bpass("append", str(elsewhere / "fork.json"))
    assert rejected.returncode == 1 and "[chain_fork]" in rejected.stderr

    save_key(supplier, elsewhere / "supplier.key")
    (elsewhere / "subject.json").write_text(f'{{"nextKey": "{SigningKey.generate().multikey}"}}')
    new = bpass(
        "record", "new", "KeyRotation", "--key", str(elsewhere / "supplier.key"),
        "--data", str(elsewhere / "subject.json"), "--append",
    )  # fmt: skip
    assert new.returncode == 0, new.stderr
    assert '"leafIndex": 2' in new.stderr

    checkpoint = bpass("log", "checkpoint")
    assert checkpoint.returncode == 0 and checkpoint.stdout.split("\n")[1] == "3"
    record_hash = done.stdout.strip().rsplit(", ", 1)[1]
    inclusion = bpass("log", "inclusion", record_hash)
    assert inclusion.returncode == 0 and '"leafIndex": 1' in inclusion.stdout
    consistency = bpass("log", "consistency", "1")
    assert consistency.returncode == 0 and '"newSize": 3' in consistency.stdout
    assert not (elsewhere / "no-ledger-here").exists()
