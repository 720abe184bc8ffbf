"""WAL checkpoints run on the repository's own thread, not inside an appender's commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from passport.store.sql.repository import Repository
from passport.store.sql.walcheckpoint import BACKSTOP_PAGES, Checkpointer


def _wal_frames(path: Path) -> tuple[int, int]:
    """(frames in the WAL, frames of it already copied into the database)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # A PASSIVE checkpoint copies nothing new while another connection holds no frames
        # back; its answer says how much of the WAL was already checkpointed.
        busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0
        return log, done
    finally:
        conn.close()


def test_commits_wake_the_checkpointer_and_leave_the_wal_to_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    repo = Repository(f"sqlite:///{path}")
    repo.migrate()
    with repo.write() as tx:
        setting = tx.conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        tx.conn.execute(text("CREATE TABLE filler (n INTEGER, pad BLOB)"))
    assert setting == BACKSTOP_PAGES  # commits no longer checkpoint at 1,000 pages
    for batch in range(5):
        with repo.write() as tx:
            tx.conn.exec_driver_sql(
                "INSERT INTO filler VALUES (?, zeroblob(4000))",
                [(batch * 300 + i,) for i in range(300)],
            )
    checkpointer = repo._checkpointer
    assert checkpointer is not None
    checkpointer.close()  # joins the thread after a last checkpoint
    assert checkpointer.runs >= 1
    assert checkpointer.error is None
    log, done = _wal_frames(path)
    assert log == done  # every committed frame reached the database file
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM filler").fetchone() == (1500,)
    repo.dispose()


def test_an_unusable_database_is_recorded_not_raised(tmp_path: Path) -> None:
    checkpointer = Checkpointer(str(tmp_path / "missing-dir" / "db.sqlite"))
    checkpointer.wake()
    checkpointer.close()
    assert checkpointer.runs == 0
    assert isinstance(checkpointer.error, sqlite3.OperationalError)


def test_only_sqlite_files_have_a_checkpointer(db_url: str) -> None:
    repo = Repository(db_url)
    try:
        assert (repo._checkpointer is not None) == repo.is_sqlite
    finally:
        repo.dispose()
    assert Repository("sqlite://")._checkpointer is None


def test_forks_wait_for_a_running_checkpoint_and_children_use_sqlite_safely(
    tmp_path: Path,
) -> None:
    # A child forked while the checkpoint thread was inside SQLite could inherit SQLite's
    # mutexes held and hang in its first SQLite call. Forks wait for a running checkpoint.
    # (Each fork follows a commit, which wakes the checkpointer: it is usually mid-checkpoint.
    # No other thread of this process is inside SQLite when it forks.)
    import os
    import signal
    import time

    path = tmp_path / "ledger.sqlite"
    repo = Repository(f"sqlite:///{path}")
    repo.migrate()
    with repo.write() as tx:
        tx.conn.execute(text("CREATE TABLE filler (n INTEGER, pad BLOB)"))
    children = []
    for round_ in range(20):
        with repo.write() as tx:
            tx.conn.exec_driver_sql(
                "INSERT INTO filler VALUES (?, zeroblob(4000))",
                [(round_ * 200 + i,) for i in range(200)],
            )
        pid = os.fork()
        if pid == 0:  # the child: SQLite must work, and no checkpointer runs here
            code = 0
            try:
                conn = sqlite3.connect(path, timeout=60)
                conn.execute("SELECT count(*) FROM filler").fetchone()
                conn.close()
                checkpointer = repo._checkpointer
                if checkpointer is None or checkpointer._thread is not None:
                    code = 3
                else:
                    checkpointer.wake()
                    code = 0 if checkpointer._thread is None else 4
            except BaseException:
                code = 2
            os._exit(code)
        children.append(pid)
    deadline = time.monotonic() + 120  # a liveness bound for a hang, not a speed limit
    codes: list[int | str] = []
    for pid in children:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                codes.append(os.waitstatus_to_exitcode(status))
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                codes.append("hung")
                break
            time.sleep(0.01)
    checkpointer = repo._checkpointer
    assert checkpointer is not None and checkpointer.runs >= 1
    repo.dispose()
    assert codes == [0] * len(children)
