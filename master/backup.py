"""``ffwatt-master-backup --db PATH --dir DIR [--keep N]``: an online backup of the master's SQLite database.

Why: the database holds every campaign and result, and the master keeps writing to it (WAL mode: recent commits live
in the ``-wal`` file), so copying the file with ``cp`` can give a torn or stale copy. SQLite's backup API copies one
consistent snapshot while the master goes on writing (a WAL reader never blocks the writer).

Each backup is written to a temporary file in DIR, checked with ``PRAGMA quick_check`` (refused and deleted unless
"ok"), fsynced, renamed atomically to ``ffwatt-YYYYmmddTHHMMSSZ.db`` (UTC) and the directory fsynced: a file with that
name is always a complete, checked database. Then the oldest backups beyond ``--keep`` are deleted (only files with
that name pattern). The source is opened read-only, so a wrong ``--db`` never creates an empty database.
Exit status: 0 after a backup, 1 when the database cannot be read or DIR cannot be written.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

DEFAULT_KEEP = 7
"""Backups kept by default: a week of daily backups."""

NAME_FORMAT = "ffwatt-%Y%m%dT%H%M%SZ.db"
"""A backup's file name: its UTC time, so names sort in time order."""

NAME_PATTERN = re.compile(r"^ffwatt-\d{8}T\d{6}Z\.db$")
"""The names pruning may delete; any other file in DIR is left alone."""

log = logging.getLogger("master.backup")


class BackupError(Exception):
    """A backup that could not be made; the message says which file and why."""


def backup_name(now: datetime) -> str:
    """The file name of a backup taken at ``now`` (converted to UTC)."""
    return now.astimezone(UTC).strftime(NAME_FORMAT)


def open_source(db_path: Path) -> sqlite3.Connection:
    """Open ``db_path`` read-only (a URI with ``mode=ro``: a missing file is an error, never a new database)."""
    if not db_path.is_file():
        raise BackupError(f"database {db_path} does not exist (or is not a file)")
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read database {db_path}: {exc}") from exc


def quick_check(conn: sqlite3.Connection) -> str:
    """``PRAGMA quick_check``'s answer as one string: "ok" for a sound database, else what is wrong (SQLite may also
    stop the check itself with "database disk image is malformed")."""
    try:
        return "; ".join(str(row[0]) for row in conn.execute("PRAGMA quick_check"))
    except sqlite3.DatabaseError as exc:
        return str(exc)


def copy_into(source: sqlite3.Connection, temp_path: Path) -> None:
    """Copy ``source`` into ``temp_path`` in one backup step (one snapshot), make it a single file, and check it."""
    dest = sqlite3.connect(temp_path)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")  # the copy stands alone: no -wal file beside it
        verdict = quick_check(dest)
    finally:
        dest.close()
    if verdict != "ok":
        raise BackupError(f"the copy failed PRAGMA quick_check, not kept: {verdict[:500]}")


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's content (a rename is durable once its directory is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_file(directory: Path) -> Path:
    """A new empty temporary file in ``directory`` (created if missing); BackupError when it cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".ffwatt-backup-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise BackupError(f"cannot write to backups directory {directory}: {exc}") from exc
    os.close(fd)
    return Path(name)


def take_backup(db_path: Path, directory: Path, now: datetime | None = None) -> Path:
    """Back up ``db_path`` into ``directory`` as the backup of ``now`` (default: the current UTC time)."""
    now = now or datetime.now(UTC)
    source = open_source(Path(db_path))
    try:
        temp = temp_file(Path(directory))
        try:
            copy_into(source, temp)
            fsync_path(temp)
            final = Path(directory) / backup_name(now)
            os.replace(temp, final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"backup of {db_path} into {directory} failed: {exc}") from exc
    finally:
        source.close()
    fsync_path(Path(directory))
    return final


def prune(directory: Path, keep: int, spare: Path | None = None) -> list[Path]:
    """Delete the oldest backups (by name) beyond the newest ``keep``, never ``spare``; returns those deleted."""
    backups = sorted(p for p in Path(directory).iterdir() if NAME_PATTERN.match(p.name) and p.is_file())
    doomed = [p for p in backups[: max(len(backups) - keep, 0)] if p != spare]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(path_type=Path),
    help="The master's SQLite database (opened read-only; the master may keep running).",
)
@click.option(
    "--dir", "directory", required=True, type=click.Path(path_type=Path), help="Backups directory (created if missing)."
)
@click.option(
    "--keep",
    default=DEFAULT_KEEP,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many backups to keep; older ffwatt-*.db files in DIR are deleted.",
)
def main(db_path: Path, directory: Path, keep: int) -> None:
    """Take an online backup of the ffwatt master's database, check it, and keep the newest KEEP backups."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        written = take_backup(db_path, directory)
        removed = prune(directory, keep, spare=written)
    except (BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    log.info("backup written: %s (%d bytes)", written, written.stat().st_size)
    for path in removed:
        log.info("old backup deleted: %s", path)


if __name__ == "__main__":
    main()
