"""The master's SQLite store: connections, migrations, and the single write path.

Every write goes through :func:`write`, which opens the transaction with ``BEGIN IMMEDIATE`` so two writers never
interleave; reads use plain autocommit statements. The database runs in WAL mode so readers never block the writer.

Requests share connections: each request thread keeps one connection per app (:class:`ThreadConnections`) and
reuses it for every request it serves, since opening one (WAL, pragmas) costs about as much as a small request. A
connection is handed out only outside a transaction: one left inside a transaction (an error between ``BEGIN`` and
``COMMIT`` that skipped :func:`write`'s rollback) is rolled back at the request's teardown and again before reuse.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from flask import current_app, g

BUSY_TIMEOUT_MS = 10_000
"""How long a connection waits for the write lock before failing."""


class Connection(sqlite3.Connection):
    """A connection that remembers which database file it writes to (for :func:`writer_lock`)."""

    file: str | None = None


def connect(path: str | Path) -> Connection:
    """Open the database in WAL mode with autocommit (transactions are explicit)."""
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False, factory=Connection
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for every file in master/migrations, in order."""
    folder = resources.files("master") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database's ``user_version``; return the resulting version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, sql in migrations():
        if version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in sql.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        current = version
    return current


_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def writer_lock(conn: sqlite3.Connection) -> threading.RLock:
    """This process's lock for writing to ``conn``'s database file (see :func:`write`)."""
    path = getattr(conn, "file", None)
    if path is None:
        path = conn.execute("PRAGMA database_list").fetchone()[2]
        if isinstance(conn, Connection):
            conn.file = path
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(path, threading.RLock())


@contextlib.contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error), entered one thread at a
    time per database file in this process.

    SQLite's busy handler makes a waiting writer poll the lock with growing sleeps; with hundreds of request threads
    some of them lose every round and fail with "database is locked". Queueing here first wakes them in turn, so the
    SQLite lock is only ever contended by other processes.
    """
    with writer_lock(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def rollback_open(conn: sqlite3.Connection) -> None:
    """Roll back a transaction left open on ``conn`` (releasing the database's write lock); no-op otherwise."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class ThreadConnections:
    """One connection per thread to one database file, kept for the thread's life (or until :meth:`close_all`)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        self._open: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._guard = threading.Lock()
        self._generation = 0

    def get(self) -> Connection:
        """This thread's connection, opened on first use; never inside a transaction."""
        conn, generation = getattr(self._local, "slot", (None, -1))
        if conn is None or generation != self._generation:
            conn = connect(self.path)
            with self._guard:
                self._open.add(conn)
                self._local.slot = (conn, self._generation)
        rollback_open(conn)
        return conn

    def close_all(self) -> int:
        """Close every connection handed out (threads open a new one on their next :meth:`get`); returns how many."""
        with self._guard:
            self._generation += 1
            conns, self._open = list(self._open), weakref.WeakSet()
        for conn in conns:
            conn.close()
        return len(conns)


def connections(app=None) -> ThreadConnections:
    """The app's (default: the current app's) per-thread connections."""
    return (app or current_app).extensions["ffwatt.db"]


def get_db() -> Connection:
    """The request's connection: this thread's connection to the app's database, reused across requests."""
    if "db" not in g:
        g.db = connections().get()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    """End the request's use of its connection: roll back whatever it left open (the connection stays open)."""
    conn = g.pop("db", None)
    if conn is not None:
        try:
            rollback_open(conn)
        except sqlite3.ProgrammingError:  # closed meanwhile by close_all
            pass


def init_app(app) -> None:
    """Create the database file's folder, apply migrations, and register teardown."""
    path = Path(app.config["DATABASE"])
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        migrate(conn)
    finally:
        conn.close()
    app.extensions["ffwatt.db"] = ThreadConnections(path)
    app.teardown_appcontext(close_db)


def loads(text: str | None, default: Any = None) -> Any:
    """Decode a JSON column; NULL gives ``default``."""
    return default if text is None else json.loads(text)


def dumps(value: Any) -> str:
    """Encode a value for a JSON column."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
