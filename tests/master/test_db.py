"""The master's connections: one per request thread and app, reused across requests, never left in a transaction."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from flask import jsonify

from master import db
from master.app import create_app


def _app(path) -> object:
    """The master app plus two test routes; every connection a request got is appended to ``app.seen``."""
    app = create_app({"TESTING": True, "DATABASE": str(path), "INSECURE": True})
    app.seen = []

    @app.get("/_test/conn")
    def which():
        app.seen.append(db.get_db())
        return jsonify({"in_transaction": db.get_db().in_transaction})

    @app.post("/_test/fail-in-transaction")
    def fail():
        conn = db.get_db()
        conn.execute("BEGIN IMMEDIATE")  # a write that skips db.write's rollback, then fails
        conn.execute("INSERT INTO campaigns (id, name, spec_text, state, created_at) VALUES ('c-x', 'x', '', 'x', 0)")
        raise RuntimeError("failed half way")

    return app


def test_a_thread_reuses_its_connection_across_requests(tmp_path):
    """Two requests from the same thread get the same connection; another thread gets its own."""
    app = _app(tmp_path / "a.db")
    client = app.test_client()
    client.get("/_test/conn")
    client.get("/_test/conn")
    thread = threading.Thread(target=lambda: client.get("/_test/conn"))
    thread.start()
    thread.join()
    first, second, other = app.seen
    assert first is second
    assert other is not first


def test_a_failed_transaction_is_rolled_back_before_the_next_request(tmp_path):
    """A request that dies inside a transaction leaves neither the write lock held nor its rows behind."""
    app = _app(tmp_path / "a.db")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    client.get("/_test/conn")
    assert client.post("/_test/fail-in-transaction").status_code == 500
    assert client.get("/_test/conn").get_json()["in_transaction"] is False
    assert app.seen[0] is app.seen[1]  # the very connection that failed, reused clean
    other = sqlite3.connect(app.config["DATABASE"], timeout=0.5)
    other.execute("BEGIN IMMEDIATE")  # the write lock is free
    assert other.execute("SELECT COUNT(*) FROM campaigns").fetchone()[0] == 0
    other.rollback()
    other.close()


def test_apps_with_different_files_do_not_share_connections(tmp_path):
    """Each app's requests read its own database file, from the same thread one after the other."""
    apps = [_app(tmp_path / f"{name}.db") for name in ("a", "b")]
    clients = [app.test_client() for app in apps]
    for client in clients * 2:
        client.get("/_test/conn")
    assert apps[0].seen[0] is apps[0].seen[1] and apps[1].seen[0] is apps[1].seen[1]
    assert apps[0].seen[0] is not apps[1].seen[0]
    with apps[0].app_context():
        db.get_db().execute(
            "INSERT INTO campaigns (id, name, spec_text, state, created_at) VALUES ('c-a', 'a', '', 'running', 0)"
        )
    for app, expected in zip(apps, (1, 0)):
        with app.app_context():
            assert db.get_db().execute("SELECT COUNT(*) FROM campaigns").fetchone()[0] == expected


def test_close_all_closes_every_thread_connection_and_reopens_on_demand(tmp_path):
    """At shutdown close_all closes the connections; a later request opens a fresh one."""
    app = _app(tmp_path / "a.db")
    client = app.test_client()
    client.get("/_test/conn")
    assert db.connections(app).close_all() == 1
    with pytest.raises(sqlite3.ProgrammingError):
        app.seen[0].execute("SELECT 1")
    assert client.get("/_test/conn").status_code == 200
    assert app.seen[1] is not app.seen[0]
