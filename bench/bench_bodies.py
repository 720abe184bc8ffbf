"""What anonymous large bodies cost a running node: memory and CPU of ``bpass serve`` under a burst.

Run ``python bench/bench_bodies.py`` (well under a minute; it stops by itself). It:

1. initialises a temporary SQLite ledger and starts ``bpass serve`` on a free loopback port, as a
   user starts it (a subprocess of the installed command);
2. reads the server's memory from ``/proc/PID/status`` (``VmRSS``, and ``VmHWM``, the peak) and
   its CPU time from ``/proc/PID/stat``, at the baseline (after a few warm-up requests);
3. sends a burst of ``--bodies`` (6) concurrent 32 MiB junk bodies to ``POST /records/batch``
   from raw sockets, as an attacker would (no ``Expect: 100-continue``, the whole body blasted):
   a JSON array of 11 million empty objects, the shape that used to be parsed in full before any
   cap applied. The server's RSS is sampled every 20 ms meanwhile;
4. waits ``--settle`` seconds and reads the memory again;
5. prints baseline, peak during the burst, after, CPU seconds spent, each body's answer, and
   the targets: peak below baseline + 512 MiB, after below baseline + 64 MiB.

Every load goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from report import Figure, add_argument, record_run
from server import free_port, stop, wait_ready

MIB = 1024 * 1024
PEAK_TARGET_MIB = 512
AFTER_TARGET_MIB = 64
BODY_BYTES = 32 * MIB


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in bytes."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def junk_body(size: int) -> bytes:
    """A JSON array of empty objects, ``size`` bytes long."""
    count = (size - 4) // 3
    body = b"[" + b"{}," * count
    return body + b" " * (size - len(body) - 3) + b"{}]"


@dataclass
class Burst:
    answers: list[str] = field(default_factory=list)
    peak_rss: int = 0
    samples: int = 0


def send_one(port: int, body: bytes, answers: list[str], lock: threading.Lock) -> None:
    """Blast one body over a raw socket and note the status line (or how the socket ended)."""
    head = (
        f"POST /records/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    answer = "no answer"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            try:
                sock.sendall(head + body)
            except OSError as exc:
                answer = f"send ended: {type(exc).__name__}"
            data = b""
            deadline = time.monotonic() + 120
            while len(data) < 65536 and time.monotonic() < deadline:  # until the server closes
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data:
                status = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[1]
                code = b'"code": "'
                at = data.find(code)
                name = data[at + len(code) :].split(b'"', 1)[0].decode() if at >= 0 else ""
                answer = f"{status} {name}".strip()
    except OSError as exc:
        answer = f"{answer}; {type(exc).__name__}"
    with lock:
        answers.append(answer)


def burst(port: int, pid: int, bodies: int) -> Burst:
    """``bodies`` concurrent junk bodies; the server's RSS sampled until they are all answered."""
    body = junk_body(BODY_BYTES)
    result = Burst()
    lock = threading.Lock()
    senders = [
        threading.Thread(target=send_one, args=(port, body, result.answers, lock))
        for _ in range(bodies)
    ]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 180
    while any(s.is_alive() for s in senders) and time.monotonic() < deadline:
        result.peak_rss = max(result.peak_rss, memory(pid)["VmRSS"])
        result.samples += 1
        time.sleep(0.02)
    for sender in senders:
        sender.join(timeout=5)
    return result


def main() -> None:
    """Start the server, measure, burst, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bodies", type=int, default=6, help="concurrent 32 MiB bodies")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after")
    add_argument(parser)
    args = parser.parse_args()
    bpass = str(Path(sys.executable).parent / "bpass")
    with tempfile.TemporaryDirectory(prefix="bench-bodies-") as tmp:
        env = {**os.environ, "BPASS_HOME": tmp}
        env.pop("BPASS_DATABASE_URL", None)
        subprocess.run(
            [bpass, "init", "--origin", "bench.test/log"], env=env, check=True, capture_output=True
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [bpass, "serve", "--port", str(port), "--base-url", url, "--log-level", "warning"],
            env=env,
        )
        try:
            wait_ready(f"{url}/log", process)
            for _ in range(20):
                httpx.get(f"{url}/log", timeout=5)
            time.sleep(0.5)
            base = memory(process.pid)
            cpu0 = cpu_seconds(process.pid)
            t0 = time.monotonic()
            result = burst(port, process.pid, args.bodies)
            elapsed = time.monotonic() - t0
            cpu = cpu_seconds(process.pid) - cpu0
            time.sleep(args.settle)
            after = memory(process.pid)
            alive = httpx.get(f"{url}/log", timeout=10).status_code
        finally:
            stop(process)
    peak = max(result.peak_rss, after["VmHWM"])
    rows = [
        ("baseline RSS", base["VmRSS"] / MIB, ""),
        (f"peak RSS during the burst ({result.samples} samples, VmHWM)", peak / MIB,
         f"< baseline + {PEAK_TARGET_MIB}"),
        (f"RSS {args.settle:.0f} s after", after["VmRSS"] / MIB,
         f"< baseline + {AFTER_TARGET_MIB}"),
    ]  # fmt: skip
    print(f"{args.bodies} concurrent {BODY_BYTES // MIB} MiB junk bodies to POST /records/batch")
    for name, mib, target in rows:
        print(f"  {name:<52} {mib:8.1f} MiB  {target}")
    print(f"  server CPU during the burst: {cpu:.1f} s over {elapsed:.1f} s wall")
    print(f"  answers: {', '.join(sorted(result.answers))}")
    print(f"  GET /log afterwards: {alive}")
    peak_ok = peak < base["VmRSS"] + PEAK_TARGET_MIB * MIB
    after_ok = after["VmRSS"] < base["VmRSS"] + AFTER_TARGET_MIB * MIB
    print(
        f"\ntargets: peak {'met' if peak_ok else 'MISSED'}, "
        f"back to baseline {'met' if after_ok else 'MISSED'}"
    )
    base_mib = base["VmRSS"] / MIB
    record_run(
        "bench_bodies",
        [
            Figure("baseline RSS", f"{base_mib:.0f} MiB"),
            Figure(
                f"peak RSS, {args.bodies} concurrent 32 MiB junk bodies",
                f"{peak / MIB:.0f} MiB",
                f"< baseline + {PEAK_TARGET_MIB} MiB",
                "met" if peak_ok else "MISSED",
            ),
            Figure(
                f"RSS {args.settle:.0f} s after the burst",
                f"{after['VmRSS'] / MIB:.0f} MiB",
                f"< baseline + {AFTER_TARGET_MIB} MiB",
                "met" if after_ok else "MISSED",
            ),
            Figure("server CPU for the burst", f"{cpu:.1f} s over {elapsed:.1f} s wall"),
            Figure("answers", ", ".join(sorted(result.answers))),
        ],
        no_record=args.no_record,
    )


if __name__ == "__main__":
    main()
