"""``campaign run FILE`` (embedded default, ``--master URL``, or ``--inventory INV [--deploy]``) and
``campaign report [ID]``."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import click
from rich.console import Console

from master.campaign.jobcount import DEFAULT_MAX_JOBS
from master.cli.api import ApiError, MasterApi
from master.cli.connect import DEFAULT_STATE_DIR, api_for, master_options, remote_api, state_dir_option
from master.cli.fleet import Connection, FleetArgs, fleet_options, prepare_fleet
from master.cli.follow import follow
from master.cli.options import HELP_OPTIONS, bundle

EXIT_INVALID = 2
"""Exit status for a campaign file with problems."""

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT)."""


def _problems_exit(exc) -> None:
    """Print a SpecError's problems, one per line, and exit 2."""
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    sys.exit(EXIT_INVALID)


def _load_or_exit(path: Path, max_jobs: int):
    from master.campaign.spec import SpecError, load_campaign

    try:
        return load_campaign(path, max_jobs)
    except SpecError as exc:
        _problems_exit(exc)


def write_report(run: dict, reports_root: Path, out_dir: Path | None = None, pricing=None) -> Path:
    """Write the run's report into ``out_dir`` (its report files replaced, the folder created if needed), else into a
    new ``reports_root/<campaign>-<time>`` folder, and say where: ``report: DIR/index.html`` and
    ``report folder: DIR``. With ``pricing`` (master/analysis/pricing.py) it has the cost and carbon."""
    from master.embedded import report_dir
    from master.reports.writer import write_report as write

    index = write(run, out_dir if out_dir is not None else report_dir(reports_root, run["campaign"]["name"]), pricing)
    click.echo(f"report: {index}")
    click.echo(f"report folder: {index.parent} (index.html, results.json, results.csv)")
    return index


pricing_option = click.option(
    "--pricing",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pricing file (pricing.yml, or a JSON file of electricity_prices and co2_intensity) for the report's cost "
    "and carbon; wins over the campaign file's pricing: key.",
)


def campaign_pricing(campaign: dict | None, flag: Path | None):
    """The pricing of a run (``--pricing``, else the campaign's ``pricing:`` file, else None); a file with problems
    has them printed, exit 2."""
    from master.analysis.pricing import PricingError, pricing_for_run

    try:
        return pricing_for_run(campaign, flag)
    except PricingError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        sys.exit(EXIT_INVALID)


def _spec_path(campaign_file: Path | str) -> str:
    """What the master records as the campaign's source: a file's absolute path, or a label such as
    ``<campaign batch FILE>`` for a campaign generated in memory (``campaign single|multi|batch``)."""
    return campaign_file if isinstance(campaign_file, str) else str(campaign_file.resolve())


def jobs_line(submitted: dict) -> str:
    """``4 jobs``, or ``6 jobs (up to 20 as confidence asks)`` when variants repeat until a confidence target."""
    jobs, most = submitted["jobs"], submitted.get("max_jobs")
    return f"{jobs} jobs" + (f" (up to {most} as confidence asks)" if most and most > jobs else "")


def _submit(api: MasterApi, campaign, campaign_file: Path | str) -> dict:
    """POST the campaign; a master that finds problems in it gets them printed, exit 2."""
    try:
        return api.submit_campaign(campaign.text, _spec_path(campaign_file))
    except ApiError as exc:
        if exc.status == 400 and exc.problems:
            click.echo(str(exc), err=True)
            for problem in exc.problems:
                click.echo(problem, err=True)
            sys.exit(EXIT_INVALID)
        raise


def run_remote(
    api: MasterApi, campaign, campaign_file: Path | str, reports_dir: Path, console: Console, pricing=None
) -> None:
    """Submit to a remote master, follow it, write the report here; Ctrl-C stops following, not the campaign."""
    submitted = _submit(api, campaign, campaign_file)
    campaign_id = submitted["campaign_id"]
    console.print(f"campaign {campaign.name}: {jobs_line(submitted)} (id {campaign_id}), master {api.base_url}")
    try:
        final = follow(api, campaign_id, console)
    except KeyboardInterrupt:
        console.print(
            f"[yellow]stopped following: campaign {campaign_id} keeps running on {api.base_url}[/]\n"
            f"  campaign status {campaign_id} --master {api.base_url}\n"
            f"  campaign cancel {campaign_id} --master {api.base_url}\n"
            f"  campaign report {campaign_id} --master {api.base_url}"
        )
        sys.exit(EXIT_INTERRUPTED)
    write_report(api.run_data(campaign_id), reports_dir, pricing=pricing)
    if final["state"] != "finished":
        raise click.ClickException(f"campaign {campaign_id} ended {final['state']} on the master")


def embedded_input_dirs(campaign, input_dirs: tuple[Path, ...]) -> tuple[Path, ...]:
    """Where the embedded agent may read file inputs: ``--input-dir``s and the campaign file's directory (the
    working directory, against which relative inputs resolve, for a campaign generated in memory)."""
    return (*input_dirs, campaign.path.parent if campaign.path else Path.cwd())


def run_embedded(campaign, campaign_file: Path | str, options: RunOptions, console: Console, pricing=None) -> None:
    """The embedded default: master and agent in this process; Ctrl-C stops FFmpeg and keeps finished results."""
    from master.embedded import embedded, wait_registered

    with embedded(
        options.state_dir,
        powercap=options.powercap_root,
        tdp_watts=options.tdp_watts,
        max_jobs=options.max_jobs,
        input_dirs=embedded_input_dirs(campaign, tuple(options.input_dirs)),
    ) as handle:
        wait_registered(handle)
        api = MasterApi(handle.url)
        submitted = api.submit_campaign(campaign.text, _spec_path(campaign_file))
        campaign_id = submitted["campaign_id"]
        console.print(
            f"campaign {campaign.name}: {jobs_line(submitted)} (id {campaign_id}), embedded master {handle.url}"
        )
        interrupted = False
        try:
            follow(api, campaign_id, console, is_done=lambda: not handle.thread.is_alive())
        except KeyboardInterrupt:
            interrupted = True
            console.print("[yellow]interrupted: stopping FFmpeg, keeping finished results[/]")
            handle.interrupt(campaign_id)
        write_report(api.run_data(campaign_id), options.reports_dir, pricing=pricing)
    if interrupted:
        sys.exit(EXIT_INTERRUPTED)


run_options = bundle(
    master_options,
    state_dir_option("Embedded mode: database, agent state and work files."),
    click.option("--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True),
    click.option("--powercap-root", help="Powercap sysfs root for the embedded agent (env FFWATT_POWERCAP_ROOT)."),
    click.option("--tdp-watts", type=float, help="CPU TDP in watts for the estimate power model."),
    click.option(
        "--max-jobs",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_JOBS,
        show_default=True,
        help="Most jobs the campaign may come to (confidence variants at their max); embedded mode: "
        "the embedded master's limit too.",
    ),
    click.option(
        "--input-dir",
        "input_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Embedded mode: a directory file inputs may come from besides the campaign file's (repeatable).",
    ),
    pricing_option,
)
"""The options ``campaign run`` takes besides its file: how to reach a master, or the embedded one's dirs; their
values make a :class:`RunOptions`."""


@dataclass(frozen=True)
class RunOptions:
    """What :data:`run_options` gave: where the campaign runs (a remote master, or embedded) and its report goes."""

    master_url: str | None = None
    token: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    reports_dir: Path = Path("reports")
    powercap_root: str | None = None
    tdp_watts: float | None = None
    max_jobs: int = DEFAULT_MAX_JOBS
    input_dirs: tuple[Path, ...] = ()
    pricing: Path | None = None


@click.command(context_settings=HELP_OPTIONS)
@click.argument("campaign_file", type=click.Path(path_type=Path))
@run_options
@fleet_options
def run(
    campaign_file: Path,
    inventory: Path | None,
    vault_password_file: str | None,
    deploy: bool,
    playbook: Path | None,
    **run_args,
) -> None:
    """Run CAMPAIGN_FILE and write its HTML report (embedded, on the master at --master URL, or on the fleet of
    --inventory INV).

    With --inventory the master's URL, admin token and TLS CA come from the inventory (ffwatt_master_url, or the
    master host's address and ffwatt_master_port; ffwatt_admin_token; ffwatt_tls_ca) unless --master, --token or
    --tls-ca are given, and every campaign target must be local/all/any, a group or a host of the inventory (or a
    value of an agent's ffwatt_agent_labels).
    --deploy first runs the deploy playbook on the master and the targeted hosts.
    """
    from master.campaign.spec import SpecError

    options = RunOptions(**run_args)
    campaign = _load_or_exit(campaign_file, options.max_jobs)
    console = Console(stderr=True)
    try:
        connection = prepare_fleet(
            FleetArgs(inventory, vault_password_file, deploy, playbook),
            campaign,
            str(campaign_file),
            Connection(options.master_url, options.token, options.tls_ca),
            console,
        )
    except SpecError as exc:
        _problems_exit(exc)
    options = replace(options, master_url=connection.master_url, token=connection.token, tls_ca=connection.tls_ca)
    run_campaign(campaign, campaign_file, options, console)


def run_campaign(campaign, campaign_file: Path | str, options: RunOptions, console: Console | None = None) -> None:
    """Run a loaded campaign as ``campaign run`` does; ``campaign_file`` is its file, or a ``<label>`` for one
    generated in memory."""
    from agent.ffmpeg.locate import FFmpegNotFound
    from master.embedded import StateDirError

    console = console or Console(stderr=True)
    pricing = campaign_pricing({"spec_text": campaign.text, "spec_path": campaign.path}, options.pricing)
    try:
        if options.master_url:
            api = remote_api(options.master_url, options.token, options.tls_ca, options.tls_cert, options.tls_key)
            run_remote(api, campaign, campaign_file, options.reports_dir, console, pricing)
        else:
            run_embedded(campaign, campaign_file, options, console, pricing)
    except (StateDirError, FFmpegNotFound, ApiError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.command(context_settings=HELP_OPTIONS)
@click.argument("campaign_id", required=False)
@master_options
@state_dir_option()
@click.option(
    "--reports-dir",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Without --out, each call writes a new timestamped folder <campaign>-<time> under this one.",
)
@pricing_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the report into this folder instead (created if needed; its index.html, results.json and"
    " results.csv are overwritten, other files left alone).",
)
@click.option("--pdf", is_flag=True, help="Also print the report to report.pdf beside index.html (headless Chromium).")
def report(
    campaign_id: str | None,
    master_url,
    token,
    tls_ca,
    tls_cert,
    tls_key,
    state_dir: Path,
    reports_dir: Path,
    out_dir: Path | None,
    pdf: bool,
    pricing: Path | None,
) -> None:
    """Write the report of CAMPAIGN_ID (default: the latest) from the embedded database or --master URL.

    Without --out each call writes a new timestamped folder under --reports-dir; with --out DIR it rewrites the
    report files in DIR. Prints the index.html and the folder it wrote; with --pdf also report.pdf."""
    api = api_for(master_url, token, tls_ca, tls_cert, tls_key, state_dir)
    try:
        campaign_id = campaign_id or api.latest_campaign_id()
        run_data = api.run_data(campaign_id)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    index = write_report(run_data, reports_dir, out_dir, campaign_pricing(run_data.get("campaign"), pricing))
    if pdf:
        from master.reports.pdf import PdfError, write_pdf

        try:
            click.echo(f"pdf: {write_pdf(index)}")
        except PdfError as exc:
            raise click.ClickException(str(exc)) from exc
