"""Scratch folders of bundle replays: a killed verifier's are swept, a living one's are kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from passport import bundle_replay
from passport.bundle_replay import sweep_orphans


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_removes_only_folders_of_processes_that_are_gone(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f"bpass-replay-{_dead_pid()}-abc"
        alive = tmp_path / f"bpass-replay-{sleeper.pid}-def"
        mine = tmp_path / f"bpass-replay-{os.getpid()}-ghi"
        foreign = tmp_path / "bpass-replay-notapid-jkl"
        other = tmp_path / "something-else-1-x"
        for folder in (dead, alive, mine, foreign, other):
            folder.mkdir()
            (folder / "template.sqlite").write_bytes(b"x" * 1024)

        assert sweep_orphans(str(tmp_path)) == [dead]

        assert not dead.exists()
        assert alive.exists() and mine.exists() and foreign.exists() and other.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_verifier_killed_mid_replay_leaves_nothing_after_the_next_sweep(tmp_path: Path) -> None:
    # The threat: SIGKILL runs neither atexit nor finally, so the killed process's template and
    # replay database stay in /dev/shm (memory) until something removes them. The child keeps
    # its scratch folders in tmp_path, so no other test process sweeps them first.
    code = (
        "import os, signal\n"
        "from passport import bundle_replay\n"
        f"bundle_replay._scratch_dir = lambda: {str(tmp_path)!r}\n"
        "with bundle_replay.scratch_repository() as repo:\n"
        "    print(os.getpid(), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr
    pid = int(child.stdout.strip())
    left = sorted(tmp_path.glob(f"bpass-replay-{pid}-*"))
    assert len(left) == 2  # its template folder and its replay folder
    assert any((path / "replay.sqlite").exists() for path in left)

    removed = sweep_orphans(str(tmp_path))

    assert sorted(removed) == left
    assert not any(path.exists() for path in left)


def test_own_scratch_folders_carry_the_pid_and_go_when_the_block_ends() -> None:
    with bundle_replay.scratch_repository() as repo:
        assert repo.engine.url.database is not None
        folder = Path(repo.engine.url.database).parent
        assert folder.name.startswith(f"bpass-replay-{os.getpid()}-")
        assert folder.exists()
    assert not folder.exists()
