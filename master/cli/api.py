"""A small HTTP client the ``campaign`` command uses to talk to a master (embedded or remote)."""
from __future__ import annotations

from typing import Any

import requests


class ApiError(Exception):
    """The master refused a request or could not be reached."""


class MasterApi:
    def __init__(self, base_url: str, timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = requests.Session()

    def call(self, method: str, path: str, **kwargs) -> Any:
        try:
            resp = self.session.request(method, self.base_url + path, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(f"master {self.base_url} unreachable: {exc}") from exc
        if resp.status_code >= 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = {"error": resp.text[:300]}
            problems = payload.get("problems") or []
            raise ApiError("\n".join([f"{resp.status_code}: {payload.get('error')}", *problems]))
        return resp.json()

    def submit_campaign(self, spec_text: str, spec_path: str | None) -> dict[str, Any]:
        return self.call("POST", "/campaigns", json={"spec_text": spec_text, "spec_path": spec_path})

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        return self.call("GET", f"/campaigns/{campaign_id}")

    def run_data(self, campaign_id: str) -> dict[str, Any]:
        return self.call("GET", f"/campaigns/{campaign_id}/results")
