"""A small HTTP client the ``campaign`` command uses to talk to a master (embedded or remote).

Every failure becomes one :class:`ApiError` whose message is one line a user can act on: the master could not be
reached (and why), the token is missing or wrong (401), the token may not do this (403), the thing is unknown (404).
"""

from __future__ import annotations

import re
from typing import Any

import requests

from wire.env import ADMIN_TOKEN_ENV
from wire.errors import RequestFailed, error_of

DEFAULT_TIMEOUT_S = 30.0
"""Timeout of one request to the master."""


class ApiError(RequestFailed):
    """The master refused a request or could not be reached (``status`` 0); the text is a whole sentence for the
    user."""


def _hint(status: int) -> str:
    if status == 401:
        return f" (pass --token or set {ADMIN_TOKEN_ENV})"
    if status == 403:
        return " (this needs the admin token)"
    return ""


def _unreachable_reason(exc: requests.RequestException) -> str:
    """'connection refused', 'timed out', 'TLS: ...': the cause without urllib3's nesting."""
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "TLS: certificate verify failed (pass --tls-ca with the CA that signed the master's certificate)"
        if "CERTIFICATE_REQUIRED" in text or "HANDSHAKE_FAILURE" in text:
            return "TLS: the master requires a client certificate (pass --tls-cert and --tls-key)"
        found = re.search(r"\[SSL: [A-Z0-9_]+\] ([^(]+)", text)
        return f"TLS: {found.group(1).strip() if found else 'handshake failed'}"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    text = str(exc)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("No route to host", "no route to host"),
        ("RemoteDisconnected", "connection closed by the master"),
        ("Connection reset", "connection reset"),
    ):
        if needle in text:
            return reason
    return exc.__class__.__name__


class MasterApi:
    """The master's API as Python calls; ``token`` goes in ``Authorization: Bearer``, ``verify`` is a CA file."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        token: str | None = None,
        verify: bool | str = True,
        cert: tuple[str, str] | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.where = f"master {self.base_url}"
        self.timeout_s = timeout_s
        self.session = requests.Session()
        # per request, not on the session: REQUESTS_CA_BUNDLE in the environment would override a session's verify
        self.verify, self.cert = verify, cert
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs) -> Any:
        try:
            resp = self.session.request(
                method, self.base_url + path, timeout=self.timeout_s, verify=self.verify, cert=self.cert, **kwargs
            )
        except requests.RequestException as exc:
            raise ApiError(f"master {self.base_url} unreachable: {_unreachable_reason(exc)}") from exc
        if resp.status_code >= 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = None
            error, problems = error_of(payload, resp.text, resp.reason)
            raise ApiError(
                f"master answered {resp.status_code}: {error}{_hint(resp.status_code)}", resp.status_code, problems
            )
        try:
            return resp.json()
        except ValueError as exc:
            raise ApiError(
                f"master {self.base_url} answered {resp.status_code} without JSON (is this an ffwatt master?)",
                status=resp.status_code,
            ) from exc

    def submit_campaign(self, spec_text: str, spec_path: str | None) -> dict[str, Any]:
        return self.call("POST", "/campaigns", json={"spec_text": spec_text, "spec_path": spec_path})

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        return self.call("GET", f"/campaigns/{campaign_id}")

    def campaigns(self) -> list[dict[str, Any]]:
        return self.call("GET", "/campaigns")["campaigns"]

    def cancel_campaign(self, campaign_id: str) -> dict[str, Any]:
        return self.call("POST", f"/campaigns/{campaign_id}/cancel")

    def run_data(self, campaign_id: str) -> dict[str, Any]:
        return self.call("GET", f"/campaigns/{campaign_id}/results")

    def latest_campaign_id(self) -> str:
        """The id of the campaign submitted last; ApiError when the master has none."""
        found = self.campaigns()
        if not found:
            raise ApiError(f"{self.where} has no campaigns", status=404)
        return max(found, key=lambda c: c.get("created_at") or "")["id"]
