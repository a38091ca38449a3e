"""The agent's HTTP client for the master API (docs/WIRE.md)."""
from __future__ import annotations

from typing import Any

import requests

DEFAULT_TIMEOUT_S = 10.0
"""Timeout of every request, on top of any long-poll wait the request asks for."""


class MasterError(Exception):
    """The master answered with an error status; ``status`` holds it (0 when it could not be reached)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status


class MasterClient:
    """Talks to one master: register, heartbeat, claim (long-poll), submit results."""

    def __init__(self, base_url: str, timeout_s: float = DEFAULT_TIMEOUT_S, verify: bool | str = True):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.verify = verify

    def _call(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
              extra_timeout: float = 0.0) -> dict[str, Any]:
        try:
            resp = self.session.request(method, self.base_url + path, json=json, params=params,
                                        timeout=self.timeout_s + extra_timeout)
        except requests.RequestException as exc:
            raise MasterError(0, f"master {self.base_url} unreachable: {exc.__class__.__name__}: {exc}") from exc
        try:
            payload = resp.json()
        except ValueError:
            payload = {"error": resp.text[:200]}
        if resp.status_code >= 400:
            raise MasterError(resp.status_code, payload.get("error") or resp.reason)
        return payload

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def register(self, hostname: str, inventory: dict, labels: dict | None = None) -> str:
        """Register (or re-register) this host; returns its node id."""
        body = {"hostname": hostname, "inventory": inventory, "labels": labels or {}}
        return self._call("POST", "/nodes/register", json=body)["node_id"]

    def heartbeat(self, node_id: str, watts: float | None, job_id: str | None, progress: dict | None) -> dict:
        body = {"watts": watts, "job_id": job_id, "progress": progress}
        return self._call("POST", f"/nodes/{node_id}/heartbeat", json=body)

    def next_job(self, node_id: str, wait_s: float) -> dict[str, Any] | None:
        """Claim the next job, waiting up to ``wait_s`` seconds for one (long-poll)."""
        payload = self._call("GET", "/jobs/next", params={"node_id": node_id, "wait": wait_s},
                             extra_timeout=wait_s)
        return payload.get("job")

    def submit_result(self, result: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/results", json=result)
