"""Fixtures for the master: a fresh SQLite file per test, the real app (with tokens) and its test client, and the
realistic campaign run the analysis and report tests read (tests/data/reports/run_quick.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from master import db
from master.app import create_app

RUN_FILE = Path(__file__).resolve().parents[1] / "data" / "reports" / "run_quick.json"
"""The quick campaign run: 2 estimated x264 variants, a measured x265 one, a failed NVENC job."""

ENROLLMENT_TOKEN = "enroll-test-token"
ADMIN_TOKEN = "admin-test-token"

LIBX264 = {
    "encoders": {
        "libx264": {"usable": True, "reason": None},
        "h264_nvenc": {"usable": False, "reason": "no NVIDIA device"},
    },
    "gpus": [],
}
"""Inventory of a CPU-only node: libx264 works, NVENC does not."""

NVENC = {
    "encoders": {"libx264": {"usable": True, "reason": None}, "h264_nvenc": {"usable": True, "reason": None}},
    "gpus": [{"index": 0, "name": "NVIDIA H100", "uuid": "GPU-1"}],
}
"""Inventory of a GPU node: libx264 and NVENC work."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Node:
    """A registered node: its id and its token."""

    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@pytest.fixture
def app(tmp_path):
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "ffwatt.db"),
            "LEASE_S": 60.0,
            "ENROLLMENT_TOKEN": ENROLLMENT_TOKEN,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "REQUEUE_CHECK_S": 0.05,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin() -> dict[str, str]:
    """Headers carrying the admin token."""
    return bearer(ADMIN_TOKEN)


@pytest.fixture
def conn(app):
    c = db.connect(app.config["DATABASE"])
    yield c
    c.close()


def job_spec(name: str, requirements: dict | None = None, priority: int = 0, **params) -> dict:
    """A minimal expanded job, as the campaign expansion produces it."""
    return {
        "name": name,
        "scenario": name.split("#")[0],
        "variant": name.split("#")[0],
        "repetition": 1,
        "kind": "transcode",
        "params": {"kind": "transcode", **params},
        "priority": priority,
        "requirements": {"encoder": "libx264", "targets": ["local"]} if requirements is None else requirements,
    }


@pytest.fixture
def make_campaign(conn):
    def make(n_jobs: int = 2, jobs: list[dict] | None = None, **kwargs) -> str:
        from master import queue

        jobs = jobs if jobs is not None else [job_spec(f"v{i}#1", encoder="libx264") for i in range(n_jobs)]
        return queue.create_campaign(
            conn, name="t", description="", spec_text="name: t", spec_path=None, jobs=jobs, **kwargs
        )

    return make


@pytest.fixture
def node(client):
    def register(hostname: str = "host-a", inventory: dict | None = None, **extra) -> Node:
        body = {"hostname": hostname, "inventory": LIBX264 if inventory is None else inventory, **extra}
        resp = client.post("/nodes/register", json=body, headers=bearer(ENROLLMENT_TOKEN))
        assert resp.status_code in (200, 201), resp.get_json()
        return Node(resp.get_json()["node_id"], resp.get_json()["node_token"])

    return register


@pytest.fixture
def run() -> dict:
    """A fresh copy of the quick campaign run: 2 estimated x264 variants, a measured x265 one, a failed NVENC job."""
    return json.loads(RUN_FILE.read_text())
