"""Campaigns: submit a campaign file, follow its progress, fetch its results and report."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, send_file

from master import auth, db, fleet, jobstore, openapi, queue, rundata
from master.api.bodies import json_body
from master.campaign import spec
from master.errors import InvalidInput, NotFound
from wire.states import CampaignState, JobState

bp = Blueprint("campaigns", __name__)

SUBMIT_SCHEMA = {
    "type": "object",
    "required": ["spec_text"],
    "properties": {
        "spec_text": {"type": "string", "minLength": 1},
        "spec_path": {"type": ["string", "null"]},
        "priority": {"type": "integer", "minimum": -1000, "maximum": 1000, "description": "higher runs first"},
    },
    "additionalProperties": False,
}


@bp.post("/campaigns")
@openapi.doc(
    "Submit a campaign file; its jobs are queued", body=SUBMIT_SCHEMA, response="CampaignSubmitted", status=201
)
@auth.require_admin
def submit():
    body = json_body(SUBMIT_SCHEMA)
    try:
        campaign = spec.load_campaign_text(
            body["spec_text"], body.get("spec_path") or "<submitted>", max_jobs=current_app.config["MAX_JOBS"]
        )
    except spec.SpecError as exc:
        raise InvalidInput("spec_text: campaign file is invalid", problems=[str(p) for p in exc.problems]) from exc
    jobs = [dict(j.to_dict(), priority=body.get("priority", 0)) for j in spec.expand(campaign)]
    campaign_id = queue.create_campaign(
        db.get_db(),
        name=campaign.name,
        description=campaign.description or "",
        spec_text=body["spec_text"],
        spec_path=body.get("spec_path"),
        jobs=jobs,
        max_attempts=current_app.config["MAX_ATTEMPTS"],
    )
    current_app.extensions["ffwatt.work"].bump(len(jobs))
    return jsonify({"campaign_id": campaign_id, "id": campaign_id, "jobs": len(jobs), "max_jobs": max_jobs(jobs)}), 201


def max_jobs(jobs: list[dict]) -> int:
    """The most jobs the campaign can come to: a variant with ``confidence`` up to its ``max`` runs."""
    variants: dict[str, list[dict]] = {}
    for job in jobs:
        variants.setdefault(job["variant"], []).append(job)
    return sum(
        group[0]["confidence"]["max"] if group[0].get("confidence") else len(group) for group in variants.values()
    )


@bp.get("/campaigns")
@openapi.doc("Campaigns, newest first, with job counts by state", response="CampaignList")
def list_campaigns():
    conn = db.get_db()
    rows = conn.execute("SELECT * FROM campaigns ORDER BY created_at DESC LIMIT 500").fetchall()
    return jsonify(
        {"campaigns": [dict(rundata.campaign_to_dict(r), jobs=rundata.job_counts(conn, r["id"])) for r in rows]}
    )


def waiting(conn, campaign_id: str) -> list[dict]:
    """The campaign's queued jobs no online node can run, grouped by requirements, each with the reason."""
    groups = conn.execute(
        "SELECT requirements, COUNT(*) AS n FROM jobs WHERE campaign_id = ? AND state = ? GROUP BY requirements",
        (campaign_id, JobState.QUEUED.value),
    ).fetchall()
    if not groups:
        return []
    online = fleet.online(conn, fleet.Liveness.from_config(current_app.config))
    found = []
    for group in groups:
        requirements = fleet.parse_requirements(group["requirements"])
        reason = fleet.waiting_reason(requirements, online)
        if reason is not None:
            found.append({"jobs": group["n"], "requirements": requirements, "reason": reason})
    return found


@bp.get("/campaigns/<campaign_id>")
@openapi.doc(
    "A campaign's progress: counts, running jobs with live watts, why queued jobs wait, and where each"
    " variant repeated by confidence stands against its target",
    response="CampaignProgress",
)
def progress(campaign_id: str):
    conn = db.get_db()
    campaign = rundata.campaign_to_dict(jobstore.get_campaign(conn, campaign_id))
    counts = rundata.job_counts(conn, campaign_id)
    running = conn.execute(
        "SELECT j.id, j.name, j.node_id, j.attempt, n.current_watts, n.progress FROM jobs j"
        " LEFT JOIN nodes n ON n.id = j.node_id WHERE j.campaign_id = ? AND j.state = ? ORDER BY j.seq",
        (campaign_id, JobState.RUNNING.value),
    ).fetchall()
    campaign["jobs"] = counts
    campaign["total"] = sum(counts.values())
    campaign["done"] = sum(n for s, n in counts.items() if JobState(s).finished)
    campaign["running"] = [dict(dict(r), progress=db.loads(r["progress"])) for r in running]
    campaign["waiting"] = waiting(conn, campaign_id)
    campaign["confidence"] = rundata.confidence_progress(conn, campaign_id, campaign["state"])
    campaign["waiting_reason"] = (
        "; ".join(f"{w['jobs']} job{'s' if w['jobs'] != 1 else ''}: {w['reason']}" for w in campaign["waiting"]) or None
    )
    return jsonify(campaign)


@bp.post("/campaigns/<campaign_id>/cancel")
@openapi.doc("Cancel every queued or running job of the campaign", response="CampaignCancelled")
@auth.require_admin
def cancel(campaign_id: str):
    n = queue.cancel_running_campaign(db.get_db(), campaign_id)
    current_app.extensions["ffwatt.work"].bump()
    return jsonify({"cancelled_jobs": n, "campaign_id": campaign_id, "state": CampaignState.CANCELLED.value})


@bp.get("/campaigns/<campaign_id>/results")
@openapi.doc("The campaign's jobs with their accepted results and the nodes that ran them", response="Run")
def results(campaign_id: str):
    conn = db.get_db()
    jobstore.get_campaign(conn, campaign_id)
    return jsonify(rundata.load_run(conn, campaign_id))


@bp.get("/campaigns/<campaign_id>/report")
@bp.get("/campaigns/<campaign_id>/report.<fmt>")
@openapi.doc("The campaign's report: HTML, or results.json / results.csv with .json / .csv", response="Report")
def report(campaign_id: str, fmt: str = "html"):
    from master.reports.writer import write_report

    names = {"html": "index.html", "json": "results.json", "csv": "results.csv"}
    if fmt not in names:
        raise NotFound(f"report format {fmt!r}: use html, json or csv")
    conn = db.get_db()
    jobstore.get_campaign(conn, campaign_id)
    run = rundata.load_run(conn, campaign_id)
    out = Path(current_app.config["REPORT_CACHE_DIR"]) / campaign_id
    write_report(run, out)
    return send_file(out / names[fmt], max_age=0)
