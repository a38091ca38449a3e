"""Comparing runs and searching results: ``GET /campaigns/<a>/compare/<b>`` (master/analysis/compare.py as JSON) and
``GET /results`` (accepted results across campaigns, filtered and paged). Read routes: no token, like the others."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Blueprint, jsonify, request

from master import db, jobstore, openapi, rundata
from master.analysis.compare import ALPHA, EstimatedVsMeasured, compare_runs
from master.api.bodies import query_int
from master.errors import InvalidInput
from master.web import compare as web_compare  # noqa: F401  (its page joins the web blueprint before it registers)
from wire.kinds import KINDS

bp = Blueprint("compare", __name__)

COMPARE_QUERY = {
    "alpha": f"significance level of the verdicts, 0 < alpha < 1 (default {ALPHA})",
    "allow_estimated": "1 to compare estimated with measured energy anyway (each such row says so); default 0",
}

RESULTS_LIMIT = 100
"""Results per page of GET /results by default."""

MAX_RESULTS = 1_000
"""Most results one page of GET /results holds."""

RESULTS_QUERY = {
    "encoder": "only results of jobs with this encoder (e.g. libx264)",
    "preset": "only results of jobs with this preset",
    "node": "only results from this node id",
    "kind": f"only results of this kind ({', '.join(KINDS)})",
    "since": "only results received at or after this ISO 8601 date or time (UTC unless it says)",
    "until": "only results received before this ISO 8601 date or time (UTC unless it says)",
    "limit": f"results per page (1..{MAX_RESULTS}, default {RESULTS_LIMIT})",
    "offset": "results before this page (default 0)",
}


def query_alpha() -> float:
    """The ``alpha`` query argument; 400 naming it when it is not a number strictly between 0 and 1."""
    raw = request.args.get("alpha")
    if raw is None:
        return ALPHA
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not 0.0 < value < 1.0:
        raise InvalidInput(f"alpha: expected a number between 0 and 1 (exclusive), got {raw[:40]!r}")
    return value


def query_flag(name: str) -> bool:
    """A 0/1 (false/true) query argument; 400 naming it otherwise."""
    raw = (request.args.get(name) or "0").strip().lower()
    if raw not in ("0", "1", "false", "true"):
        raise InvalidInput(f"{name}: expected 1 or 0, got {raw[:40]!r}")
    return raw in ("1", "true")


def comparison(campaign_a: str, campaign_b: str, alpha: float, allow_estimated: bool) -> dict:
    """The comparison of two stored campaigns; NotFound (404) for an unknown id, InvalidInput (400) naming
    allow_estimated when estimated and measured energy would be compared without it."""
    conn = db.get_db()
    jobstore.get_campaign(conn, campaign_a)
    jobstore.get_campaign(conn, campaign_b)
    try:
        return compare_runs(
            rundata.load_run(conn, campaign_a), rundata.load_run(conn, campaign_b), alpha, allow_estimated
        )
    except EstimatedVsMeasured as exc:
        raise InvalidInput(f"allow_estimated: {exc}") from exc


@bp.get("/campaigns/<campaign_id>/compare/<other_id>")
@openapi.doc(
    "Compare campaign other_id (B) against campaign_id (A): variants matched by parameters, Welch's test per metric"
    " with a verdict; 400 naming allow_estimated when estimated energy would be compared with measured",
    query=COMPARE_QUERY,
    response="Comparison",
)
def compare(campaign_id: str, other_id: str):
    return jsonify(comparison(campaign_id, other_id, query_alpha(), query_flag("allow_estimated")))


def query_time(name: str) -> float | None:
    """An ISO 8601 date or date-time query argument as a UNIX timestamp (UTC when it names no zone)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"{name}: expected an ISO 8601 date such as 2026-12-01, got {raw[:40]!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def result_filters() -> tuple[list[str], list]:
    """The WHERE clauses and arguments of GET /results's filters; 400 naming a bad one."""
    clauses, args = [], []
    kind = request.args.get("kind")
    if kind and kind not in KINDS:
        raise InvalidInput(f"kind: must be one of {', '.join(KINDS)}")
    for name, column in (
        ("encoder", "json_extract(j.params, '$.encoder')"),
        ("preset", "json_extract(j.params, '$.preset')"),
        ("node", "r.node_id"),
        ("kind", "j.kind"),
    ):
        if request.args.get(name):
            clauses.append(f"{column} = ?")
            args.append(request.args[name])
    for name, op in (("since", ">="), ("until", "<")):
        when = query_time(name)
        if when is not None:
            clauses.append(f"r.received_at {op} ?")
            args.append(when)
    return clauses, args


RESULT_COLUMNS = (
    "r.job_id, r.attempt, r.node_id, r.status, r.received_at, j.campaign_id, j.variant, j.kind, j.repetition,"
    " json_extract(j.params, '$.encoder') AS encoder, json_extract(j.params, '$.preset') AS preset,"
    " CASE WHEN json_valid(r.body) THEN json_extract(r.body, '$.metrics') END AS metrics,"
    " CASE WHEN json_valid(r.body) THEN json_extract(r.body, '$.provenance.estimated') END AS estimated,"
    " CASE WHEN json_valid(r.body) THEN json_extract(r.body, '$.error') END AS error"
)


def result_row(row) -> dict:
    """One result of GET /results: where it came from, its metrics, and whether its energy is estimated."""
    found = dict(row)
    found["received_at"] = rundata.iso(found["received_at"])
    found["metrics"] = db.loads(found["metrics"], {})
    found["estimated"] = bool(found["estimated"])
    return found


@bp.get("/results")
@openapi.doc(
    "Accepted results across campaigns, newest first, filtered; total counts every match, next is the following page",
    query=RESULTS_QUERY,
    response="ResultList",
)
def list_results():
    clauses, args = result_filters()
    limit, offset = query_int("limit", RESULTS_LIMIT, 1, MAX_RESULTS), query_int("offset", 0, 0, 2**62)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    source = "FROM results r JOIN jobs j ON j.id = r.job_id"
    conn = db.get_db()
    rows = conn.execute(
        f"SELECT {RESULT_COLUMNS} {source} {where} ORDER BY r.received_at DESC, r.id DESC LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    total = conn.execute(f"SELECT COUNT(*) {source} {where}", args).fetchone()[0]
    following = offset + len(rows)
    query = {key: value for key, value in request.args.items() if key not in ("offset", "limit")}
    return jsonify(
        {
            "results": [result_row(r) for r in rows],
            "total": total,
            "offset": offset,
            "limit": limit,
            "next": f"{request.path}?{urlencode({**query, 'limit': limit, 'offset': following})}"
            if following < total and rows
            else None,
        }
    )
