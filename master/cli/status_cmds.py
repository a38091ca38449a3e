"""``campaign status [ID]`` (one campaign's progress, or a table of campaigns) and ``campaign cancel ID``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from master.cli.api import ApiError
from master.cli.connect import api_for, master_options, remote_api, state_dir_option
from master.cli.follow import status_line
from master.cli.options import HELP_OPTIONS

FINISHED_STATES = ("succeeded", "failed", "cancelled")
"""Job states that count as done in a campaign's progress."""


def _counts_text(counts: dict[str, int]) -> str:
    order = ("running", "queued", "succeeded", "failed", "cancelled")
    names = [s for s in order if counts.get(s)] + sorted(s for s in counts if s not in order and counts[s])
    return ", ".join(f"{counts[s]} {s}" for s in names) or "no jobs"


def campaign_lines(campaign: dict[str, Any]) -> list[str]:
    """One campaign's progress as lines of text: header, job counts, running jobs, what it waits for."""
    counts = campaign.get("jobs") or {}
    total = campaign.get("total", sum(counts.values()))
    done = campaign.get("done", sum(n for s, n in counts.items() if s in FINISHED_STATES))
    lines = [
        f"campaign {campaign['name']} ({campaign['id']}): {campaign['state']}, {done}/{total} jobs done",
        f"  jobs: {_counts_text(counts)}",
        f"  created {campaign.get('created_at')}"
        + (f", finished {campaign['finished_at']}" if campaign.get("finished_at") else ""),
    ]
    for job in campaign.get("running") or []:
        watts = job.get("current_watts")
        phase = (job.get("progress") or {}).get("phase")
        lines.append(
            f"  running: {job['name']} (attempt {job.get('attempt')}) on node {job.get('node_id')}"
            + (f", {phase}" if phase else "")
            + (f", {watts:.1f} W" if watts is not None else "")
        )
    lines += confidence_lines(campaign.get("confidence") or [])
    if campaign.get("waiting_reason"):
        lines.append(f"  waiting: {campaign['waiting_reason']}")
    elif campaign["state"] == "running" and not campaign.get("running"):
        lines.append(f"  {status_line(campaign)}")
    return lines


REACHED_WORDS = {"reached": "yes", "still running": "still running", "not reached": "no"}
"""``reached`` in words for each outcome of a confidence variant (master/rundata.py CONFIDENCE_OUTCOMES)."""


def confidence_lines(variants: list[dict[str, Any]]) -> list[str]:
    """Per variant repeated by ``confidence``: runs (samples) of jobs so far and at most, the 95% interval's
    half-width against the target, and whether it was reached (yes, no, or still running)."""
    if not variants:
        return []
    lines = ["  confidence (95% CI half-width of J/frame vs target):"]
    width = max(len(v["variant"]) for v in variants)
    for v in variants:
        half = v.get("half_width_pct")
        half_text = f"±{half:.1f}%" if isinstance(half, (int, float)) else "—"
        if half is None:
            half_text += " (needs 2 runs)"
        reached = REACHED_WORDS.get(v.get("outcome"), "yes" if v.get("reached") else "no")
        lines.append(
            f"    {v['variant']:<{width}}  runs {v['runs']} of {v['jobs']} jobs (max {v['max']}),"
            f" half-width {half_text}, target ±{v['target'] * 100:g}%, reached: {reached}"
        )
    return lines


def campaigns_table(campaigns: list[dict[str, Any]]) -> Table:
    """Every campaign, newest first: id, name, state, done/total, job counts, created."""
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "NAME", "STATE", "DONE", "JOBS", "CREATED"):
        table.add_column(column, no_wrap=column != "JOBS")
    for c in campaigns:
        counts = c.get("jobs") or {}
        done = sum(n for s, n in counts.items() if s in FINISHED_STATES)
        table.add_row(
            c["id"],
            c["name"],
            c["state"],
            f"{done}/{sum(counts.values())}",
            _counts_text(counts),
            str(c.get("created_at") or ""),
        )
    return table


@click.command(context_settings=HELP_OPTIONS)
@click.argument("campaign_id", required=False)
@master_options
@state_dir_option("Without --master: the embedded state dir to read.")
@click.option("--json", "as_json", is_flag=True, help="Print the master's JSON instead of text.")
def status(
    campaign_id: str | None, master_url, token, tls_ca, tls_cert, tls_key, state_dir: Path, as_json: bool
) -> None:
    """Progress of CAMPAIGN_ID, or a table of every campaign."""
    api = api_for(master_url, token, tls_ca, tls_cert, tls_key, state_dir)
    try:
        found = api.campaign(campaign_id) if campaign_id else api.campaigns()
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(found, indent=2))
    elif campaign_id:
        click.echo("\n".join(campaign_lines(found)))
    elif not found:
        click.echo(f"no campaigns on {api.where}")
    else:
        Console(width=max(Console().width, 120)).print(campaigns_table(found))


@click.command(context_settings=HELP_OPTIONS)
@click.argument("campaign_id")
@master_options
def cancel(campaign_id: str, master_url, token, tls_ca, tls_cert, tls_key) -> None:
    """Cancel CAMPAIGN_ID on the master: queued jobs never run, running ones are stopped."""
    if not master_url:
        raise click.UsageError("cancel needs --master URL (an embedded campaign stops with Ctrl-C)")
    api = remote_api(master_url, token, tls_ca, tls_cert, tls_key)
    try:
        answer = api.cancel_campaign(campaign_id)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    n = answer.get("cancelled_jobs")
    click.echo(f"campaign {campaign_id} cancelled" + (f": {n} job(s) stopped or dequeued" if n is not None else ""))
