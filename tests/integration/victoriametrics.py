"""A real single-node VictoriaMetrics on a loopback port, for tests that write series and query them back.

``VictoriaMetrics.start(tmp_path)`` runs Debian's ``victoria-metrics`` binary with its storage in a temp directory
(its own session, killed with its process group by :meth:`stop`). Queries see samples at once:
``-search.latencyOffset=0s`` (the default hides the last 30 s) and :meth:`flush` forces ingested rows to be
searchable; a new series still takes a second or two to show in queries, so tests poll with :meth:`wait_query`. Tests
skip when the binary is absent (``make test`` installs it).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.procs import Proc, free_port, wait_until

BINARY = "victoria-metrics"
START_TIMEOUT_S = 30.0


def require_binary(name: str = BINARY) -> str:
    """The path of ``name``, or skip the test (Debian: apt-get install victoria-metrics)."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (make test installs it)")
    return path


@dataclass
class VictoriaMetrics:
    """One running victoria-metrics process."""

    proc: Proc
    host: str
    port: int

    @classmethod
    def start(cls, root: Path, host: str = "127.0.0.1", *extra: str) -> VictoriaMetrics:
        binary = require_binary()
        port = free_port(host)
        root.mkdir(parents=True, exist_ok=True)
        argv = [
            binary,
            f"-storageDataPath={root / 'data'}",
            f"-httpListenAddr={host}:{port}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            *extra,
        ]
        vm = cls(Proc("victoria-metrics", argv, root / "victoria-metrics.log", {}).start(), host, port)
        wait_until(vm.healthy, START_TIMEOUT_S, f"victoria-metrics on {host}:{port}")
        return vm

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def healthy(self) -> bool:
        if not self.proc.alive():
            raise AssertionError(f"victoria-metrics exited:\n{self.proc.log()}")
        try:
            return requests.get(f"{self.url}/health", timeout=2).ok
        except requests.RequestException:
            return False

    def flush(self) -> None:
        """Make every ingested sample searchable now."""
        requests.get(f"{self.url}/internal/force_flush", timeout=10).raise_for_status()

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` (``data.result``); an HTTP error raises."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        resp = requests.get(f"{self.url}/api/v1/query", params=params, timeout=10)
        resp.raise_for_status()
        return resp.json()["data"]["result"]

    def wait_query(self, expr: str, timeout: float = 20.0, at: float | None = None) -> list[dict[str, Any]]:
        """Poll ``expr`` until it returns at least one series (flushing first); AssertionError after ``timeout``."""
        self.flush()
        return wait_until(lambda: self.query(expr, at), timeout, f"VictoriaMetrics to answer {expr!r}", interval=0.5)

    def series(self, match: str, start: float | None = None) -> list[dict[str, str]]:
        """Label sets of every series matching ``match`` (since ``start``, default the last day)."""
        start = time.time() - 86400 if start is None else start
        resp = requests.get(f"{self.url}/api/v1/series", params={"match[]": match, "start": f"{start:.0f}"}, timeout=10)
        resp.raise_for_status()
        return resp.json()["data"]

    def stop(self) -> None:
        self.proc.stop()
