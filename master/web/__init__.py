"""The web UI: server-rendered pages for nodes, campaigns and jobs.

Routes live at ``/`` and under ``/ui/`` so they never shadow the JSON API (``/nodes``, ``/jobs``, ``/campaigns``).
Pages are Jinja templates (autoescaped); ``static/ui.js`` refreshes the parts of a page marked ``data-live`` every
:data:`REFRESH_S` seconds by fetching the same page again, until a live part marked ``data-final`` arrives (a
campaign that is no longer running). Nothing is loaded from outside the master: the
Content-Security-Policy allows this origin only, so the UI works offline and no browser request leaves the host.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from master import db
from master.api.bodies import query_int
from master.web import campaigns, formatting, jobs, nodes
from wire.states import CampaignState, JobState, NodeStatus

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/ui/static")

REFRESH_S = 5
"""Seconds between two refreshes of a page's live parts in the browser."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Every UI response forbids loading anything from another origin (and inline scripts and styles); set with the
other security headers by master/headers.py."""


@bp.context_processor
def _page_context() -> dict:
    return {"fmt": formatting, "now": time.time(), "refresh_s": REFRESH_S}


@bp.errorhandler(HTTPException)
def _error_page(exc: HTTPException):
    return render_template("error.html", code=exc.code, title=exc.name, description=exc.description), exc.code


@bp.get("/")
def dashboard():
    conn, config = db.get_db(), current_app.config
    queued = conn.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (JobState.QUEUED.value,)).fetchone()[0]
    running = conn.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (JobState.RUNNING.value,)).fetchone()[0]
    node_counts = nodes.counts(conn, config)
    return render_template(
        "dashboard.html",
        nodes=nodes.overview(conn, config, limit=nodes.DASHBOARD_NODES),
        node_counts=node_counts,
        campaigns=campaigns.overview(conn),
        jobs=jobs.recent(conn),
        queued=queued,
        running=running,
        online=node_counts[NodeStatus.ONLINE.value],
    )


def _offset() -> int:
    """The ``offset`` query argument of a paged list: how many rows come before this page."""
    return query_int("offset", 0, 0, 2**62)


@bp.get("/ui/jobs")
def jobs_list():
    state = request.args.get("state") or None
    if state is not None and state not in campaigns.STATES:
        abort(400, description=f"state: must be one of {', '.join(campaigns.STATES)}")
    conn, offset = db.get_db(), _offset()
    counts = jobs.count_by_state(conn)
    total = counts[state] if state else sum(counts.values())
    return render_template(
        "jobs_page.html",
        jobs=jobs.recent(conn, jobs.PAGE_JOBS, offset, state),
        counts=counts,
        state_filter=state,
        total=total,
        offset=offset,
        page=jobs.PAGE_JOBS,
    )


@bp.get("/ui/nodes")
def nodes_list():
    conn, config, offset = db.get_db(), current_app.config, _offset()
    return render_template(
        "nodes_page.html",
        nodes=nodes.overview(conn, config, limit=nodes.PAGE_NODES, offset=offset),
        node_counts=nodes.counts(conn, config),
        offset=offset,
        page=nodes.PAGE_NODES,
    )


@bp.get("/ui/nodes/<node_id>")
def node_page(node_id: str):
    node = nodes.detail(db.get_db(), current_app.config, node_id)
    if node is None:
        abort(404, description=f"node {node_id} not found")
    return render_template("node.html", node=node)


COMPARE_LINKS = 5
"""A campaign page links a comparison with at most this many other runs of the same name, newest first."""


@bp.get("/ui/campaigns/<campaign_id>")
def campaign_page(campaign_id: str):
    state = request.args.get("state") or None
    if state is not None and state not in campaigns.STATES:
        abort(400, description=f"state: must be one of {', '.join(campaigns.STATES)}")
    conn = db.get_db()
    online = nodes.count_online(conn, current_app.config)
    campaign = campaigns.detail(conn, campaign_id, state, online_nodes=online)
    if campaign is None:
        abort(404, description=f"campaign {campaign_id} not found")
    results = campaigns.results(conn, campaign_id, campaign["state"])
    earlier = conn.execute(
        "SELECT id, created_at FROM campaigns WHERE name = ? AND id != ? ORDER BY created_at DESC LIMIT ?",
        (campaign["name"], campaign_id, COMPARE_LINKS),
    ).fetchall()
    return render_template(
        "campaign.html",
        campaign=campaign,
        earlier=[dict(row) for row in earlier],
        states=campaigns.STATES,
        results=results,
        live=campaign["state"] == CampaignState.RUNNING.value,
    )


@bp.get("/ui/jobs/<job_id>")
def job_page(job_id: str):
    job = jobs.detail(db.get_db(), job_id)
    if job is None:
        abort(404, description=f"job {job_id} not found")
    return render_template("job.html", job=job)


@bp.get("/ui/")
@bp.get("/ui")
def ui_root():
    """``/ui/`` is the dashboard's other name (the pages live under it): 302 to ``/``."""
    return redirect(url_for("web.dashboard"), code=302)


@bp.get("/ui/<path:_rest>")
def not_found(_rest: str):
    abort(404, description=f"no page at {request.path}")
