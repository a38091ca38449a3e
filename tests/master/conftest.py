"""Fixtures for the master: a fresh SQLite file per test, the real app and its test client."""
from __future__ import annotations

import pytest

from master import db
from master.app import create_app


@pytest.fixture
def app(tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "ffwatt.db"), "LEASE_S": 60.0})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def conn(app):
    c = db.connect(app.config["DATABASE"])
    yield c
    c.close()


def job_spec(name: str, **params) -> dict:
    """A minimal expanded job, as the campaign expansion produces it."""
    return {"name": name, "scenario": name.split("#")[0], "variant": name.split("#")[0], "repetition": 1,
            "kind": "transcode", "params": {"kind": "transcode", **params}, "requirements": {}}


@pytest.fixture
def make_campaign(conn):
    def make(n_jobs: int = 2, **kwargs) -> str:
        from master import queue

        jobs = [job_spec(f"v{i}#1", encoder="libx264") for i in range(n_jobs)]
        return queue.create_campaign(conn, name="t", description="", spec_text="name: t", spec_path=None,
                                     jobs=jobs, **kwargs)
    return make


@pytest.fixture
def node(client):
    def register(hostname: str = "host-a") -> str:
        resp = client.post("/nodes/register", json={"hostname": hostname, "inventory": {"cpu": {"model": "x"}}})
        assert resp.status_code in (200, 201)
        return resp.get_json()["node_id"]
    return register
