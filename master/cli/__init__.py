"""``campaign``: validate, plan, run and report benchmark campaigns."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from master.cli.api import ApiError, MasterApi
from master.cli.follow import follow
from master.cli.spec_cmds import plan, validate

EXIT_INVALID = 2
EXIT_INTERRUPTED = 130


@click.group()
def main() -> None:
    """ffwatt campaigns: what FFmpeg work really costs, measured."""


main.add_command(validate)
main.add_command(plan)


def _load_or_exit(path: Path):
    from master.campaign.spec import SpecError, load_campaign

    try:
        return load_campaign(path)
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_INVALID)


def _write_report(run: dict, reports_root: Path, console: Console) -> Path:
    from master.embedded import report_dir
    from master.reports.writer import write_report

    index = write_report(run, report_dir(reports_root, run["campaign"]["name"]))
    click.echo(f"report: {index}")
    return index


@main.command()
@click.argument("campaign_file", type=click.Path(path_type=Path))
@click.option("--master", "master_url", help="Submit to this master instead of the embedded default.")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".ffwatt"), show_default=True,
              help="Embedded mode: database, agent state and work files.")
@click.option("--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--powercap-root", help="Powercap sysfs root for the embedded agent (env FFWATT_POWERCAP_ROOT).")
@click.option("--tdp-watts", type=float, help="CPU TDP in watts for the estimate power model.")
def run(campaign_file: Path, master_url, state_dir: Path, reports_dir: Path, powercap_root, tdp_watts) -> None:
    """Run CAMPAIGN_FILE and write its HTML report."""
    console = Console(stderr=True)
    campaign = _load_or_exit(campaign_file)
    if master_url:
        raise click.ClickException("--master: remote masters come with distributed mode (not in this version)")
    from agent.ffmpeg.locate import FFmpegNotFound
    from master.embedded import StateDirError, embedded, wait_registered

    try:
        with embedded(state_dir, powercap=powercap_root, tdp_watts=tdp_watts) as handle:
            wait_registered(handle)
            api = MasterApi(handle.url)
            submitted = api.submit_campaign(campaign.text, str(campaign_file.resolve()))
            campaign_id = submitted["campaign_id"]
            console.print(f"campaign {campaign.name}: {submitted['jobs']} jobs (id {campaign_id}),"
                          f" embedded master {handle.url}")
            interrupted = False
            try:
                follow(api, campaign_id, console, is_done=lambda: not handle.thread.is_alive())
            except KeyboardInterrupt:
                interrupted = True
                console.print("[yellow]interrupted: stopping FFmpeg, keeping finished results[/]")
                handle.interrupt(campaign_id)
            _write_report(api.run_data(campaign_id), reports_dir, console)
    except (StateDirError, FFmpegNotFound, ApiError) as exc:
        raise click.ClickException(str(exc)) from exc
    if interrupted:
        sys.exit(EXIT_INTERRUPTED)


@main.command()
@click.argument("campaign_id", required=False)
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".ffwatt"), show_default=True)
@click.option("--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
def report(campaign_id: str | None, state_dir: Path, reports_dir: Path) -> None:
    """Regenerate the report of CAMPAIGN_ID (default: the latest) from the embedded database."""
    from master import db, rundata

    db_path = state_dir / "ffwatt.db"
    if not db_path.exists():
        raise click.ClickException(f"no database at {db_path}: run a campaign first or pass --state-dir")
    conn = db.connect(db_path)
    try:
        if campaign_id is None:
            row = conn.execute("SELECT id FROM campaigns ORDER BY created_at DESC LIMIT 1").fetchone()
            if row is None:
                raise click.ClickException(f"no campaign in {db_path}")
            campaign_id = row["id"]
        run_data = rundata.load_run(conn, campaign_id)
    finally:
        conn.close()
    if run_data is None:
        raise click.ClickException(f"campaign {campaign_id} not found in {db_path}")
    _write_report(run_data, reports_dir, Console(stderr=True))
