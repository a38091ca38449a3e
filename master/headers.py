"""Headers that make every answer of the master safe to open, set by one ``after_request`` hook.

API JSON, /metrics, /openapi.json, error answers, reports and the web UI all carry ``X-Content-Type-Options:
nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` and a Content-Security-Policy: the web UI's
same-origin one (:data:`master.web.CONTENT_SECURITY_POLICY`), the HTML report's own (inline scripts and styles, as
its ``<meta>`` tag says, nothing fetched), and for everything else a policy that loads nothing at all.
"""

from __future__ import annotations

from flask import Flask, Response, request

from master import web

NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""CSP of JSON, text and everything not meant to be rendered: a browser that opens it loads nothing."""

REPORT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:;"
    " font-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""CSP of ``/campaigns/<id>/report*``: what the self-contained report (master/reports/templates/report.html) needs
to render (its inline scripts and styles, data: images), nothing from anywhere."""

REPORT_ENDPOINT = "campaigns.report"


def policy_for(blueprint: str | None, endpoint: str | None) -> str:
    """The Content-Security-Policy of a response from ``endpoint`` (of ``blueprint``)."""
    if blueprint == "web":
        return web.CONTENT_SECURITY_POLICY
    if endpoint == REPORT_ENDPOINT:
        return REPORT_POLICY
    return NOTHING_POLICY


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = policy_for(request.blueprint, request.endpoint)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.blueprint == "web" and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"  # live pages: always the current state
    return response


def init_app(app: Flask) -> None:
    """Set the headers on every response of ``app``."""
    app.after_request(_secure)
