"""Run one claimed job through its scenario and shape the result the master accepts (docs/WIRE.md)."""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from typing import Any

from agent.scenarios import KINDS
from agent.scenarios.base import JobFailed, RunContext, require_input
from agent.sources import attach, prepare_source

log = logging.getLogger(__name__)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def execute_job(job: dict[str, Any], ctx: RunContext, node_id: str) -> dict[str, Any]:
    """Prepare the job's source (:mod:`agent.sources`), then prepare, run and clean up ``job``; always returns a
    result (failed ones say why)."""
    result: dict[str, Any] = {
        "job_id": job["id"],
        "attempt": job["attempt"],
        "node_id": node_id,
        "status": "failed",
        "error": None,
        "started_at": utcnow(),
    }
    ctx.live.job_id, ctx.live.job_name, ctx.live.progress = job["id"], job.get("name"), {}
    scenario_cls = KINDS.get(job.get("kind") or job["params"].get("kind"))
    state: dict[str, Any] = {}
    source = None
    try:
        if scenario_cls is None:
            raise JobFailed(f"unsupported scenario kind {job.get('kind')!r} on this agent")
        require_input(ctx, job["params"])
        source = prepare_source(job, ctx)  # before the scenario's idle baseline: never inside the window
        if source is not None:
            job = {**job, "params": source.params}
        scenario = scenario_cls()
        try:
            state = scenario.prepare(job, ctx)
            result.update(scenario.run(job, ctx, state))
            result["status"] = "succeeded"
        finally:
            scenario.cleanup(job, ctx, state)
    except JobFailed as exc:
        result["error"] = exc.reason
        result.update(exc.extra)
    except Exception as exc:  # a bug in a scenario fails its job, not the agent
        log.error("job %s crashed:\n%s", job["id"], traceback.format_exc())
        result["error"] = f"agent error: {exc.__class__.__name__}: {exc}"
    finally:
        if source is not None:
            attach(result, source)
        ctx.live.job_id = ctx.live.job_name = None
        ctx.live.phase, ctx.live.progress = "idle", {}
    if ctx.cancel.is_set() and result["status"] == "failed":
        result["error"] = f"cancelled: {result['error']}"
    result["finished_at"] = utcnow()
    return result
