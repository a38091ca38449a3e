"""GET /openapi.json: the OpenAPI 3.1 document of the master, generated from the app's own routes.

Every rule in ``app.url_map`` is described. A view decorated with :func:`doc` contributes its summary, its request
body schema (the very dict the view validates with, so the document cannot drift from the checks), its query
arguments and a response shape from :data:`SCHEMAS`; :mod:`master.auth` marks which token it needs. Views without
:func:`doc` (web pages, ``/metrics``) are described from their docstring and :data:`KNOWN`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from wire.states import CampaignState, JobState, NodeStatus

bp = Blueprint("openapi", __name__)

TITLE = "ffwatt master"
VERSION = "1"

_STR, _INT, _NUM, _BOOL, _OBJ = (
    {"type": "string"},
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "object"},
)
_OPT_STR, _OPT_NUM = {"type": ["string", "null"]}, {"type": ["number", "null"]}


def _obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(key: str, item: str) -> dict[str, Any]:
    return _obj((key,), **{key: {"type": "array", "items": _ref(item)}})


_JOB_STATES = [state.value for state in JobState]
_CAMPAIGN = dict(
    id=_STR,
    name=_STR,
    description=_STR,
    spec_text=_STR,
    spec_path=_OPT_STR,
    state={"enum": [state.value for state in CampaignState]},
    created_at=_OPT_STR,
    finished_at=_OPT_STR,
)
_COUNTS = {"type": "object", "additionalProperties": _INT, "description": "jobs by state"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj(
        ("error", "status"),
        error=_STR,
        status=_INT,
        problems={"type": "array", "items": _STR},
        request_id={**_STR, "description": "on a 500 only: the id its log entry carries (X-Request-Id)"},
    ),
    "Health": _obj(("status",), status={"const": "healthy"}),
    "Job": _obj(
        ("id", "state", "attempt", "params", "requirements"),
        id=_STR,
        campaign_id=_OPT_STR,
        seq=_INT,
        name=_STR,
        scenario=_STR,
        variant=_STR,
        repetition=_INT,
        kind=_STR,
        params=_OBJ,
        requirements=_obj(
            encoder=_STR,
            gpu=_BOOL,
            labels={"type": "object", "additionalProperties": _STR},
            targets={"type": "array", "items": _STR},
        ),
        state={"enum": _JOB_STATES},
        priority=_INT,
        attempt=_INT,
        max_attempts=_INT,
        node_id=_OPT_STR,
        lease_expires=_OPT_NUM,
        created_at=_NUM,
        started_at=_OPT_NUM,
        finished_at=_OPT_NUM,
        error=_OPT_STR,
    ),
    "JobList": _obj(
        ("jobs", "total", "next"),
        jobs={"type": "array", "items": _ref("Job")},
        total=_INT,
        offset=_INT,
        limit=_INT,
        next={**_OPT_STR, "description": "the following page; null on the last"},
    ),
    "Claim": _obj(("job",), job={"anyOf": [_ref("Job"), {"type": "null"}]}),
    "Submitted": _obj(("job_id",), job_id=_STR, id=_STR),
    "JobEvent": {
        **_obj(
            ("attempt", "event", "at"),
            attempt=_INT,
            node_id=_OPT_STR,
            at=_NUM,
            error=_OPT_STR,
            event={
                "enum": [
                    "claimed",
                    "lease_expired",
                    "not_held",
                    "result",
                    "cancelled",
                    "retried",
                    "unrunnable",
                    "queued",
                ]
            },
            status=_STR,
            stderr_tail={"type": "array", "items": _STR},
            outcome=_STR,
        ),
        "additionalProperties": True,
    },
    "JobLogs": _obj(
        ("job_id", "state", "events"),
        job_id=_STR,
        state={"enum": _JOB_STATES},
        attempt=_INT,
        max_attempts=_INT,
        error=_OPT_STR,
        events={"type": "array", "items": _ref("JobEvent")},
    ),
    "Node": _obj(
        ("id", "hostname", "status"),
        id=_STR,
        hostname=_STR,
        inventory=_OBJ,
        labels=_OBJ,
        status={"enum": [status.value for status in NodeStatus]},
        draining=_BOOL,
        registered_at=_NUM,
        last_heartbeat=_OPT_NUM,
        current_watts=_OPT_NUM,
        current_job_id=_OPT_STR,
        progress={"type": ["object", "null"]},
        max_concurrent_jobs=_INT,
        heartbeat_interval_s=_OPT_NUM,
    ),
    "NodeList": _list_of("nodes", "Node"),
    "Registration": _obj(
        ("node_id", "id", "node_token", "reused"), node_id=_STR, id=_STR, node_token=_STR, reused=_BOOL
    ),
    "Deleted": _obj(("deleted",), deleted=_STR),
    "HeartbeatReply": _obj(
        ("ok", "cancel_jobs"), ok=_BOOL, cancel_jobs={"type": "array", "items": _STR}, draining=_BOOL
    ),
    "ResultAck": _obj(("accepted", "duplicate", "job_id"), accepted=_BOOL, duplicate=_BOOL, job_id=_STR),
    "Campaign": _obj(("id", "name", "state"), **_CAMPAIGN),
    "CampaignList": _obj(("campaigns",), campaigns={"type": "array", "items": _obj(**_CAMPAIGN, jobs=_COUNTS)}),
    "CampaignSubmitted": _obj(("campaign_id", "jobs"), campaign_id=_STR, id=_STR, jobs=_INT),
    "CampaignProgress": _obj(
        ("id", "state", "jobs", "total", "done", "running", "waiting", "confidence"),
        **_CAMPAIGN,
        jobs=_COUNTS,
        total=_INT,
        done=_INT,
        running={
            "type": "array",
            "items": _obj(
                id=_STR,
                name=_STR,
                node_id=_OPT_STR,
                attempt=_INT,
                current_watts=_OPT_NUM,
                progress={"type": ["object", "null"]},
            ),
        },
        waiting={
            "type": "array",
            "items": _obj(("jobs", "requirements", "reason"), jobs=_INT, requirements=_OBJ, reason=_STR),
        },
        waiting_reason=_OPT_STR,
        confidence={
            "type": "array",
            "items": _obj(
                (
                    "variant",
                    "target",
                    "min",
                    "max",
                    "runs",
                    "half_width_pct",
                    "reached",
                    "jobs",
                    "outstanding",
                    "outcome",
                ),
                variant=_STR,
                target=_NUM,
                min=_INT,
                max=_INT,
                runs=_INT,
                half_width_pct=_OPT_NUM,
                reached=_BOOL,
                jobs=_INT,
                outstanding=_INT,
                outcome={"type": "string", "enum": ["reached", "still running", "not reached"]},
            ),
        },
    ),
    "Comparison": _obj(
        ("alpha", "a", "b", "environment", "matched", "unmatched_a", "unmatched_b", "headlines"),
        alpha=_NUM,
        a=_OBJ,
        b=_OBJ,
        environment={**_OBJ, "description": "ffmpeg, cpu, hosts: {a, b, differs}"},
        matched={"type": "array", "items": _OBJ, "description": "per variant pair: label, params, energy, metrics"},
        unmatched_a={"type": "array", "items": _OBJ},
        unmatched_b={"type": "array", "items": _OBJ},
        headlines={"type": "array", "items": _STR},
    ),
    "ResultList": _obj(
        ("results", "total", "next"),
        results={"type": "array", "items": _OBJ},
        total=_INT,
        offset=_INT,
        limit=_INT,
        next={**_OPT_STR, "description": "the following page; null on the last"},
    ),
    "CampaignCancelled": _obj(("cancelled_jobs",), cancelled_jobs=_INT, campaign_id=_STR, state=_STR),
    "Run": _obj(
        ("campaign", "nodes", "jobs"),
        campaign=_ref("Campaign"),
        nodes={"type": "array", "items": _OBJ},
        jobs={"type": "array", "items": _OBJ},
        generated_at=_STR,
    ),
}
"""Response shapes, referenced by name from :func:`doc`."""

MEDIA: dict[str, dict[str, Any]] = {
    "Report": {"text/html": {"schema": _STR}, "application/json": {"schema": _OBJ}, "text/csv": {"schema": _STR}},
    "Metrics": {"text/plain": {"schema": _STR, "example": "ffwatt_queue_depth 0"}},
    "Page": {"text/html": {"schema": _STR}},
    "OpenAPI": {"application/json": {"schema": _OBJ}},
}
"""Responses that are not a JSON schema of :data:`SCHEMAS`."""

KNOWN: dict[str, tuple[str, str]] = {
    "health": ('Liveness: always {"status": "healthy"}', "Health"),
    "metrics.metrics": ("Prometheus metrics: jobs by state, queue depth, nodes, claim latency, watts", "Metrics"),
    "openapi.spec": ("This document", "OpenAPI"),
}
"""Summary and response of endpoints registered without :func:`doc`."""

SECURITY = {"admin": "adminToken", "node": "nodeToken", "enrollment": "enrollmentToken"}


def doc(
    summary: str,
    *,
    body: dict | None = None,
    query: dict[str, str] | None = None,
    response: str | None = None,
    status: int | tuple[int, ...] = 200,
) -> Callable:
    """Describe a view for the OpenAPI document; ``body`` is the JSON Schema the view validates its body with."""

    def mark(view: Callable) -> Callable:
        view.openapi = {"summary": summary, "body": body, "query": query or {}, "response": response, "status": status}
        return view

    return mark


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _content(name: str | None, method: str) -> dict[str, Any]:
    if name in SCHEMAS:
        return {"application/json": {"schema": _ref(name)}}
    if name in MEDIA:
        return MEDIA[name]
    return MEDIA["Page"] if method == "GET" else {"application/json": {"schema": _OBJ}}


def _responses(info: dict[str, Any], method: str, has_path_args: bool, party: str | None) -> dict[str, Any]:
    statuses = info.get("status") or 200
    content = _content(info.get("response"), method)
    out = {
        str(s): {"description": "success", "content": content}
        for s in (statuses if isinstance(statuses, tuple) else (statuses,))
    }
    error = {"description": "", "content": {"application/json": {"schema": _ref("Error")}}}
    errors = {"400": "invalid body or query (names the field)"} if info.get("body") or info.get("query") else {}
    if info.get("body"):
        errors["413"] = "body larger than MAX_CONTENT_LENGTH"
    if party:
        errors.update({"401": "no token or an unknown one", "403": "a valid token of another party"})
    if has_path_args:
        errors["404"] = "unknown id"
    if method in ("POST", "DELETE") and has_path_args:
        errors["409"] = "not possible in the current state"
    out.update({code: {**error, "description": text} for code, text in errors.items()})
    return out


def _operation(app: Flask, rule, method: str) -> dict[str, Any]:
    view = app.view_functions[rule.endpoint]
    info = dict(getattr(view, "openapi", None) or {})
    if rule.endpoint in KNOWN and not info:
        info = {"summary": KNOWN[rule.endpoint][0], "response": KNOWN[rule.endpoint][1]}
    summary = info.get("summary") or ((view.__doc__ or "").strip().splitlines() or [rule.endpoint])[0]
    party = getattr(view, "auth_party", None)
    op: dict[str, Any] = {
        "operationId": f"{rule.endpoint}.{method.lower()}",
        "summary": summary,
        "tags": [rule.endpoint.split(".")[0]],
    }
    params = [{"name": arg, "in": "path", "required": True, "schema": _STR} for arg in sorted(rule.arguments)]
    params += [
        {"name": name, "in": "query", "required": "(required)" in text, "description": text, "schema": _STR}
        for name, text in info.get("query", {}).items()
    ]
    if params:
        op["parameters"] = params
    if info.get("body"):
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": info["body"]}}}
    if party:
        op["security"] = [{SECURITY[party]: []}]
    op["responses"] = _responses(info, method, bool(rule.arguments), party)
    return op


def build(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every rule of ``app`` (static files left out)."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(_path(rule.rule), {})[method.lower()] = _operation(app, rule, method)
    bearer = {"type": "http", "scheme": "bearer"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Tokens and scheduling: docs/DISTRIBUTED.md; job and result shapes: docs/WIRE.md."
            " Errors and limits: docs/DISTRIBUTED.md; every answer carries X-Request-Id.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "adminToken": {**bearer, "description": "ADMIN_TOKEN: submit, cancel, retry, drain, delete"},
                "nodeToken": {**bearer, "description": "the node's own token from POST /nodes/register"},
                "enrollmentToken": {**bearer, "description": "ENROLLMENT_TOKEN: POST /nodes/register only"},
            },
        },
    }


@bp.get("/openapi.json")
def spec():
    """This document."""
    cached = current_app.extensions.get("ffwatt.openapi")
    if cached is None:
        cached = current_app.extensions["ffwatt.openapi"] = build(current_app)
    return jsonify(cached)
