"""WAL checkpoints run on the repository's own thread, not inside an appender's commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from passport.store.repository import Repository
from passport.store.walcheckpoint import BACKSTOP_PAGES, Checkpointer


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
