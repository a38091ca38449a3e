"""The agent's HTTP client for the master API (docs/WIRE.md, tokens per docs/DISTRIBUTED.md).

Registration presents the enrollment token (``Authorization: Bearer``) and receives a node token; every later call
presents the node token. HTTPS is verified against the system store or ``verify`` (a CA file); ``cert`` is a client
certificate for a master that requires one (mTLS).
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from wire.errors import ERROR_TEXT_MAX, RequestFailed, error_of

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
"""Timeout of every request, on top of any long-poll wait the request asks for."""

OPTIONAL_REGISTER_FIELDS = ("heartbeat_interval_s", "max_concurrent_jobs", "node_token")
"""Register fields a master older than the contract may refuse (400 naming them); registration retries without."""


class MasterError(RequestFailed):
    """The master answered with an error status, or could not be reached (``status`` 0); the text starts with the
    status."""

    def __init__(self, status: int, message: str, problems: list[str] | None = None):
        super().__init__(message, status, problems)
        self.args = (f"{status}: {message}" if status else message,)


class MasterClient:
    """Talks to one master: register, heartbeat, claim (long-poll), submit results."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        verify: bool | str = True,
        cert: tuple[str, str] | None = None,
        enrollment_token: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.enrollment_token = enrollment_token
        self.node_token: str | None = None
        # Passed with every request, not set on the session: requests lets REQUESTS_CA_BUNDLE override a session's
        # verify, which would silently ignore --tls-ca.
        self.verify, self.cert = verify, cert
        self.session = requests.Session()

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        extra_timeout: float = 0.0,
        token: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        timeout = (self.timeout_s if timeout_s is None else timeout_s) + extra_timeout
        try:
            resp = self.session.request(
                method,
                self.base_url + path,
                json=json,
                params=params,
                headers=headers,
                timeout=timeout,
                verify=self.verify,
                cert=self.cert,
            )
        except requests.exceptions.SSLError as exc:
            raise MasterError(
                0, f"master {self.base_url}: TLS failed ({exc}); check --tls-ca, --tls-cert/--tls-key"
            ) from exc
        except requests.RequestException as exc:
            raise MasterError(0, f"master {self.base_url} unreachable: {exc.__class__.__name__}: {exc}") from exc
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        if resp.status_code >= 400:
            raise MasterError(resp.status_code, *error_of(payload, resp.text, resp.reason))
        if not isinstance(payload, dict):  # 204, or not an ffwatt answer: callers read the keys they expect
            return {"error": (resp.text if payload is None else str(payload))[:ERROR_TEXT_MAX]}
        return payload

    def close(self) -> None:
        """Close pooled connections (the client stays usable: new calls open new ones)."""
        self.session.close()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def register(
        self,
        hostname: str,
        inventory: dict,
        labels: dict | None = None,
        *,
        heartbeat_interval_s: float | None = None,
        max_concurrent_jobs: int | None = None,
    ) -> str:
        """Register (or re-register) this host with the enrollment token; keeps the node token, returns the node id.

        A node token already held (``self.node_token``: this process's, or one loaded from the state dir) is sent
        as ``node_token``: it proves we are the node that holds the hostname, which the master requires while that
        node is online (409 otherwise)."""
        body: dict[str, Any] = {"hostname": hostname, "inventory": inventory, "labels": labels or {}}
        if self.node_token:
            body["node_token"] = self.node_token
        if heartbeat_interval_s is not None:
            body["heartbeat_interval_s"] = heartbeat_interval_s
        if max_concurrent_jobs is not None:
            body["max_concurrent_jobs"] = max_concurrent_jobs
        try:
            payload = self._call("POST", "/nodes/register", json=body, token=self.enrollment_token)
        except MasterError as exc:
            refused = [f for f in OPTIONAL_REGISTER_FIELDS if f in body and exc.status == 400 and f in exc.message]
            if not refused:
                raise
            log.warning("master does not know %s yet (%s); registering without", ", ".join(refused), exc)
            for name in OPTIONAL_REGISTER_FIELDS:
                body.pop(name, None)
            payload = self._call("POST", "/nodes/register", json=body, token=self.enrollment_token)
        self.node_token = payload.get("node_token")
        return payload["node_id"]

    def heartbeat(
        self,
        node_id: str,
        watts: float | None,
        job_id: str | None,
        progress: dict | None,
        held_jobs: list[str] | None = None,
    ) -> dict:
        """One heartbeat. ``held_jobs``: every job this node holds (running, or its result not yet acknowledged);
        the master extends those leases only and requeues any other job it thinks the node runs."""
        body = {"watts": watts, "job_id": job_id, "progress": progress}
        if held_jobs is not None:
            body["held_jobs"] = held_jobs
        return self._call("POST", f"/nodes/{node_id}/heartbeat", json=body, token=self.node_token)

    def going_offline(self, node_id: str, held_jobs: list[str], timeout_s: float) -> dict:
        """The last heartbeat of a stopping agent (``status: offline``), waiting at most ``timeout_s``: the master
        marks the node offline at once and requeues the jobs it has running there that ``held_jobs`` leaves out."""
        body = {"watts": None, "job_id": None, "progress": None, "held_jobs": held_jobs, "status": "offline"}
        return self._call("POST", f"/nodes/{node_id}/heartbeat", json=body, token=self.node_token, timeout_s=timeout_s)

    def next_job(self, node_id: str, wait_s: float) -> dict[str, Any] | None:
        """Claim the next job, waiting up to ``wait_s`` seconds for one (long-poll)."""
        payload = self._call(
            "GET",
            "/jobs/next",
            params={"node_id": node_id, "wait": wait_s},
            extra_timeout=wait_s,
            token=self.node_token,
        )
        return payload.get("job")

    def submit_result(self, result: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/results", json=result, token=self.node_token)
