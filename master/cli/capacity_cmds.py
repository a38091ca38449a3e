"""``campaign plan-capacity RUN --streams N``: nodes, energy, cost and CO2 per month for N live streams, from the
density results of a run (master/analysis/capacity.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from master.cli.api import ApiError
from master.cli.connect import api_for, master_options, state_dir_option
from master.cli.options import HELP_OPTIONS
from master.cli.run_cmds import campaign_pricing

EXIT_NO_DENSITY = 1
"""Exit status when the run has no density result to plan from."""


def load_run(run_ref: str, api_args: tuple) -> dict:
    """The run RUN names: a report's results.json (or the report folder holding one), else a campaign id (``latest``:
    the latest) in the embedded database or on ``--master``."""
    path = Path(run_ref)
    if path.is_dir():
        path = path / "results.json"
    if path.is_file():
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{path}: not a readable results.json: {exc}") from exc
        if not isinstance(run, dict) or not isinstance(run.get("jobs"), list):
            raise click.ClickException(f"{path}: not a results.json (no jobs list)")
        return run
    api = api_for(*api_args)
    try:
        return api.run_data(api.latest_campaign_id() if run_ref == "latest" else run_ref)
    except ApiError as exc:
        raise click.ClickException(f"{run_ref}: no such results.json, and as a campaign id: {exc}") from exc


@click.command("plan-capacity", context_settings=HELP_OPTIONS)
@click.argument("run_ref", metavar="RUN")
@click.option("--streams", type=click.IntRange(min=1), required=True, help="Concurrent live streams to plan for.")
@click.option(
    "--pricing",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pricing file for the energy cost, CO2 and node cost; wins over the campaign file's pricing: key.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@master_options
@state_dir_option()
def plan_capacity(
    run_ref: str,
    streams: int,
    pricing: Path | None,
    as_json: bool,
    master_url,
    token,
    tls_ca,
    tls_cert,
    tls_key,
    state_dir,
) -> None:
    """What --streams N live streams need per month on each density profile of RUN: nodes (N / the measured max
    streams per node, rounded up), kWh (watts per stream x N x 730 h), and with pricing the energy cost, CO2 and node
    cost.

    RUN is a report's results.json (or its folder), or a campaign id ("latest") in the embedded database or on
    --master URL."""
    from master.analysis.capacity import NoDensityResult
    from master.analysis.capacity import plan_capacity as plan

    run = load_run(run_ref, (master_url, token, tls_ca, tls_cert, tls_key, state_dir))
    prices = campaign_pricing(run.get("campaign"), pricing)
    try:
        result = plan(run, streams, prices)
    except NoDensityResult as exc:
        click.echo(f"error: {run_ref}: {exc}", err=True)
        sys.exit(EXIT_NO_DENSITY)
    click.echo(json.dumps(result, indent=1) if as_json else "\n".join(plan_lines(result)))


def plan_lines(result: dict) -> list[str]:
    """The plan in words, one profile after another."""
    currency = result["currency"]
    source = f"prices: {result['pricing_file']} ({currency})" if currency else "no pricing given (--pricing FILE)"
    lines = [f"capacity for {result['streams']} streams, a month of {result['hours_per_month']:g} h; {source}"]
    for p in result["profiles"]:
        rates = p["rates"] or {}
        where = f" (host {rates['host']}, region {rates['region']})" if rates else ""
        lines.append(f"profile {p['variant']}{where}{' [estimated]' if p['estimated'] else ''}")
        for label, name, unit in (
            ("max streams per node", "max_streams", ""),
            ("nodes needed", "nodes", ""),
            ("watts per stream", "watts_per_stream", " W"),
            ("kWh per month", "kwh_per_month", " kWh"),
            ("energy cost per month", "energy_cost_per_month", f" {currency}"),
            ("CO2 per month", "co2_kg_per_month", " kg"),
            ("node cost per month", "node_cost_per_month", f" {currency}"),
        ):
            value = p[name]
            text = f"{value:,.4g}{unit}" if value is not None else f"— ({p['missing'].get(name, 'not computed')})"
            lines.append(f"  {label:<22} {text}")
        lines += [f"  note: {note}" for note in p["notes"]]
    return lines
