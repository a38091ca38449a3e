"""Online backups of the master's database: consistent while the master writes, checked, pruned, and refused loudly."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from master import db
from master.backup import NAME_PATTERN, BackupError, prune, take_backup

WAIT_S = 20.0
"""Longest wait for the writer thread to make progress (2 shared cores)."""

INSERT = "INSERT INTO campaigns (id, name, description, spec_text, state, created_at) VALUES (?, ?, ?, '', 'done', 0)"


def master_db(path: Path, rows: int = 0) -> Path:
    """A database with the master's schema (db.connect: WAL mode) and ``rows`` campaigns of about 2 KB each."""
    conn = db.connect(path)
    db.migrate(conn)
    with db.write(conn):
        conn.executemany(INSERT, [(f"c-{i:06d}", f"c{i}", "x" * 2000) for i in range(rows)])
    conn.close()
    return path


def campaign_ids(path: Path) -> list[str]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT id FROM campaigns ORDER BY id")]
    finally:
        conn.close()


class Writer(threading.Thread):
    """Inserts campaigns c-000000, c-000001, ... one per transaction, as the master does, until stopped."""

    def __init__(self, path: Path, start: int):
        super().__init__(daemon=True)
        self.path, self.next, self.stop = path, start, threading.Event()

    def run(self) -> None:
        conn = db.connect(self.path)
        try:
            while not self.stop.is_set():
                with db.write(conn):
                    conn.execute(INSERT, (f"c-{self.next:06d}", "w", "y" * 500))
                self.next += 1
                time.sleep(0.001)
        finally:
            conn.close()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + WAIT_S
        while self.next < count:
            assert self.is_alive() and time.monotonic() < deadline, f"writer stuck at {self.next}"
            time.sleep(0.01)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m master.backup ARGS`` as a real process."""
    return subprocess.run([sys.executable, "-m", "master.backup", *args], capture_output=True, text=True, timeout=60)


def test_backup_while_writing_is_a_consistent_checked_copy(tmp_path):
    """A backup taken while another thread inserts rows holds every row committed before it, in one snapshot."""
    path = master_db(tmp_path / "ffwatt.db", rows=2000)
    writer = Writer(path, start=2000)
    writer.start()
    try:
        writer.wait_for(2050)
        before = writer.next
        backup = take_backup(path, tmp_path / "backups")
        after = writer.next
        writer.wait_for(after + 20)  # the writer went on while and after the backup ran
    finally:
        writer.stop.set()
        writer.join(WAIT_S)

    ids = campaign_ids(backup)
    assert len(ids) >= before and len(ids) <= after + 1
    assert ids == [f"c-{i:06d}" for i in range(len(ids))]  # a prefix of the commits: no row missing in between
    conn = sqlite3.connect(backup)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.migrations()[-1][0]
    conn.close()
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [backup.name]
    assert NAME_PATTERN.match(backup.name)


def test_keep_2_after_4_backups_leaves_the_2_newest(tmp_path):
    """Four backups a minute apart with keep=2: the two newest stay, files not named like backups are untouched."""
    path = master_db(tmp_path / "ffwatt.db", rows=3)
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "notes.txt").write_text("mine")
    (backups / "ffwatt-manual.db").write_text("mine too")
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    written = []
    for minute in range(4):
        written.append(take_backup(path, backups, now=start + timedelta(minutes=minute)))
        prune(backups, 2, spare=written[-1])

    assert written[0].name == "ffwatt-20260102T030405Z.db"
    assert sorted(p.name for p in backups.iterdir()) == sorted(
        ["notes.txt", "ffwatt-manual.db", written[2].name, written[3].name]
    )
    assert len(campaign_ids(written[3])) == 3


def test_cli_writes_a_backup_and_logs_its_size(tmp_path):
    """``python -m master.backup --db --dir --keep`` exits 0 and logs the file it wrote with its size."""
    path = master_db(tmp_path / "ffwatt.db", rows=5)
    done = run_cli("--db", str(path), "--dir", str(tmp_path / "b"), "--keep", "1")
    assert done.returncode == 0, done.stderr
    [backup] = list((tmp_path / "b").iterdir())
    assert f"{backup} ({backup.stat().st_size} bytes)" in done.stderr
    assert len(campaign_ids(backup)) == 5


def test_missing_database_exits_1_and_creates_nothing(tmp_path):
    """A wrong --db is an error naming it; no empty database and no backups directory appear."""
    done = run_cli("--db", str(tmp_path / "nope.db"), "--dir", str(tmp_path / "b"))
    assert done.returncode == 1
    assert "nope.db does not exist" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_unreadable_database_exits_1(tmp_path):
    """A file that is not an SQLite database is refused with SQLite's reason."""
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    done = run_cli("--db", str(tmp_path / "junk.db"), "--dir", str(tmp_path / "b"))
    assert done.returncode == 1
    assert "cannot read database" in done.stderr and "not a database" in done.stderr


def test_unwritable_directory_exits_1(tmp_path):
    """A --dir that cannot hold files (here: a regular file) is an error naming it."""
    path = master_db(tmp_path / "ffwatt.db")
    (tmp_path / "b").write_text("a file, not a directory")
    done = run_cli("--db", str(path), "--dir", str(tmp_path / "b"))
    assert done.returncode == 1
    assert f"cannot write to backups directory {tmp_path / 'b'}" in done.stderr


def test_a_copy_that_fails_quick_check_is_not_kept(tmp_path):
    """A database with a damaged page gives no backup file (the damaged copy is deleted), only an error."""
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("CREATE INDEX t_x ON t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(f"{i:08d}" * 20,) for i in range(2000)])
    conn.commit()
    page_size, pages = conn.execute("PRAGMA page_size").fetchone()[0], conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with open(path, "r+b") as f:  # scribble over a page in the middle (an index or table page, not the header)
        f.seek(page_size * (pages // 2) + 16)
        f.write(b"\xff" * 64)

    with pytest.raises(BackupError, match="quick_check"):
        take_backup(path, tmp_path / "b")
    assert list((tmp_path / "b").iterdir()) == []
