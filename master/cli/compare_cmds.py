"""``campaign compare RUN_A RUN_B``: did B change energy per frame (and watts, fps, quality) against A, and is the
change significant; ``campaign history``: the runs so far with a headline figure each.

A RUN is a report folder (its results.json), a results.json file, or a campaign id read from the embedded state dir
or ``--master URL`` (as ``campaign report`` reads it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from master.cli.api import ApiError, MasterApi
from master.cli.connect import api_for, master_options, state_dir_option
from master.cli.options import HELP_OPTIONS

WIDE = 200
"""Columns of the terminal tables when stdout is not a terminal (a file, a pipe): wide enough never to fold a
figure."""


class RunSource:
    """Where campaign ids are read from: the remote master or the embedded database, connected on first use."""

    def __init__(self, connect):
        self._connect = connect
        self._api: MasterApi | None = None

    def run(self, ref: str) -> dict:
        """The run of ``ref``: a report folder, a results.json file, or a campaign id."""
        path = Path(ref)
        if path.is_dir():
            path = path / "results.json"
            if not path.is_file():
                raise click.ClickException(f"{ref}: a folder without results.json (is it a report folder?)")
        if path.is_file():
            return read_results(path)
        try:
            return self.api().run_data(ref)
        except ApiError as exc:
            raise click.ClickException(
                f"{ref}: not a report folder or results.json, and as a campaign id: {exc}"
            ) from exc

    def api(self) -> MasterApi:
        if self._api is None:
            self._api = self._connect()
        return self._api


def read_results(path: Path) -> dict:
    """A results.json file as a run dict; a click error when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: cannot read it as JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise click.ClickException(f"{path}: not a results.json (no 'jobs' list)")
    return data


def console() -> Console:
    """Standard output; tables as wide as they need when it is not a terminal."""
    return Console(width=None if sys.stdout.isatty() else WIDE, highlight=False)


VERDICT_STYLE = {"better": "green", "worse": "red", "cannot tell": "yellow", "no significant change": ""}


def print_comparison(result: dict, out: Console) -> None:
    """Verdict lines first, then which runs A and B are, the environment, a table per metric, unmatched variants."""
    from master.reports.compare_page import environment_rows, metric_tables, side_name

    for line in result["headlines"] or ["no variant of A has the same parameters as one of B"]:
        out.print(line, markup=False)
    out.print(f"A: {side_name(result['a'])}", markup=False)
    out.print(f"B: {side_name(result['b'])}", markup=False)
    env = Table(title="environment", title_justify="left")
    for column in ("", "A", "B", ""):
        env.add_column(column)
    for row in environment_rows(result):
        env.add_row(*map(Text, (row["label"], row["a"], row["b"], "DIFFERS" if row["differs"] else "same")))
    out.print(env)
    for table in metric_tables(result):
        better = "lower" if table["rows"][0]["lower_is_better"] else "higher"
        grid = Table(title=f"{table['label']} ({better} is better, alpha {result['alpha']:g})", title_justify="left")
        for column in ("variant", "A mean ± CI", "B mean ± CI", "difference", "CI of difference", "p", "verdict"):
            grid.add_column(column, no_wrap=column != "verdict")
        for row in table["rows"]:
            cells = (row["variant"], row["a"], row["b"], row["diff_pct"], row["diff_ci"], row["p"])
            grid.add_row(*map(Text, cells), Text(row["verdict_text"], style=VERDICT_STYLE[row["verdict"]]))
        out.print(grid)
    for side, key in (("A", "unmatched_a"), ("B", "unmatched_b")):
        for variant in result[key]:
            out.print(f"only in {side}: {variant['variant']} {json.dumps(variant['params'])}", markup=False)


@click.command(context_settings=HELP_OPTIONS)
@click.argument("run_a")
@click.argument("run_b")
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level of the verdicts (the difference's interval is at 1 - alpha).",
)
@click.option("--allow-estimated", is_flag=True, help="Compare estimated with measured energy anyway, labelled.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "--html",
    "html_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write a self-contained compare.html into this folder.",
)
@master_options
@state_dir_option("Embedded mode: where campaign ids are looked up.")
def compare(
    run_a, run_b, alpha, allow_estimated, as_json, html_dir, master_url, token, tls_ca, tls_cert, tls_key, state_dir
):
    """Compare run B against run A: per variant (matched by parameters) and metric, the difference of the means,
    its confidence interval, Welch's p-value and a verdict (better, worse, no significant change, cannot tell).

    RUN_A and RUN_B are report folders, results.json files or campaign ids (embedded state dir or --master URL)."""
    from master.analysis.compare import EstimatedVsMeasured, compare_runs

    source = RunSource(lambda: api_for(master_url, token, tls_ca, tls_cert, tls_key, state_dir))
    first, second = source.run(run_a), source.run(run_b)
    try:
        result = compare_runs(first, second, alpha=alpha, allow_estimated=allow_estimated)
    except EstimatedVsMeasured as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        print_comparison(result, console())
    if html_dir is not None:
        from master.reports.compare_page import render_compare_html

        html_dir.mkdir(parents=True, exist_ok=True)
        page = html_dir / "compare.html"
        page.write_text(render_compare_html(result), encoding="utf-8")
        click.echo(f"comparison: {page}", err=as_json)


@click.command(context_settings=HELP_OPTIONS)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest runs to list.")
@master_options
@state_dir_option("Embedded mode: the database whose campaigns are listed.")
def history(as_json, limit, master_url, token, tls_ca, tls_cert, tls_key, state_dir):
    """List the campaigns run so far, newest first: date, name, state, jobs and the mean J/frame of the best variant
    (labelled estimated when it is)."""
    from master.analysis.compare import best_figure

    api = api_for(master_url, token, tls_ca, tls_cert, tls_key, state_dir)
    try:
        runs = [history_entry(c, api.run_data(c["id"]), best_figure) for c in api.campaigns()[:limit]]
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"runs": runs}, indent=1, ensure_ascii=False))
        return
    table = Table()
    for column in ("date", "id", "name", "state", "jobs", "best mean J/frame"):
        table.add_column(column)
    for entry in runs:
        cells = (entry["created_at"] or "—", entry["id"], entry["name"] or "—", entry["state"] or "—")
        table.add_row(*map(Text, (*cells, jobs_text(entry), best_text(entry["best"]))))
    console().print(table)


def history_entry(campaign: dict, run: dict, best_figure) -> dict:
    """One line of ``campaign history``."""
    jobs = campaign.get("jobs") or {}
    return {
        "id": campaign["id"],
        "name": campaign.get("name"),
        "state": campaign.get("state"),
        "created_at": campaign.get("created_at"),
        "jobs": jobs,
        "best": best_figure(run),
    }


def jobs_text(entry: dict) -> str:
    """``4 (4 succeeded)``."""
    jobs = entry["jobs"]
    return f"{sum(jobs.values())} ({jobs.get('succeeded', 0)} succeeded)"


def best_text(best: dict | None) -> str:
    """``0.01234 (x264-medium, n=3)``, ``estimated`` added when it is; a dash with no figure."""
    if best is None:
        return "— (no succeeded run with joules per frame)"
    return f"{best['mean']:.4g} ({best['variant']}, n={best['n']}{', estimated' if best['estimated'] else ''})"
