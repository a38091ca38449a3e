"""``/ui/compare/<a>/<b>``: the comparison of two campaigns as a web UI page (same figures as
``campaign compare`` and GET /campaigns/<a>/compare/<b>). Its view joins the web blueprint, so it has the UI's
layout and same-origin Content-Security-Policy."""

from __future__ import annotations

from flask import abort, render_template, request

from master import db, jobstore
from master.analysis.compare import ALPHA, EstimatedVsMeasured, compare_runs
from master.errors import NotFound
from master.rundata import load_run
from master.web import bp


@bp.get("/ui/compare/<campaign_id>/<other_id>")
def compare_page(campaign_id: str, other_id: str):
    from master.reports.compare_page import render_compare_body, side_name

    try:
        alpha = float(request.args.get("alpha", ALPHA))
    except ValueError:
        alpha = -1.0
    if not 0.0 < alpha < 1.0:
        abort(400, description="alpha: expected a number between 0 and 1 (exclusive)")
    allow = request.args.get("allow_estimated", "0") in ("1", "true")
    conn = db.get_db()
    try:
        jobstore.get_campaign(conn, campaign_id)
        jobstore.get_campaign(conn, other_id)
    except NotFound as exc:
        abort(404, description=str(exc))
    try:
        result = compare_runs(load_run(conn, campaign_id), load_run(conn, other_id), alpha, allow)
    except EstimatedVsMeasured as exc:
        abort(400, description=f"allow_estimated: {exc}")
    return render_template(
        "compare.html",
        result=result,
        a_name=side_name(result["a"]),
        b_name=side_name(result["b"]),
        body=render_compare_body(result),
        ids=(campaign_id, other_id),
    )
