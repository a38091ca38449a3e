"""``campaign validate FILE`` and ``campaign plan FILE``: check a campaign file, and show the jobs it expands to.

A variant with ``confidence`` shows its first ``min`` jobs, then a line ``VARIANT: 3-10 runs (auto ±5%)``; the total
gives the range of jobs and of time (``min`` to ``max`` runs each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from master.campaign import timing
from master.campaign.confidence import describe as describe_confidence
from master.campaign.errors import SpecError
from master.campaign.expand import JobSpec, expand
from master.campaign.jobcount import DEFAULT_MAX_JOBS
from master.campaign.spec import Campaign, load_campaign
from master.campaign.timing import estimate_seconds, estimate_terms, format_seconds, job_terms, prepare_seconds
from master.cli.options import HELP_OPTIONS, bundle

EXIT_INVALID = 2
"""Exit status for a campaign file with problems (as click uses for bad usage)."""

PLAN_MIN_WIDTH = 120
"""Columns ``plan`` renders at least, so piped output keeps one job per line."""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _load_or_exit(path: Path, max_jobs: int) -> Campaign:
    """The campaign at ``path`` (at most ``max_jobs`` jobs), or its problems on stderr, one per line, and exit
    status 2."""
    try:
        return load_campaign(path, max_jobs)
    except SpecError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(EXIT_INVALID) from None


def max_jobs_option(func):
    """``--max-jobs N``: the most jobs the campaign may come to."""
    return click.option(
        "--max-jobs",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_JOBS,
        show_default=True,
        help="Most jobs the campaign may come to (confidence variants at their max).",
    )(func)


campaign_file_args = bundle(click.argument("file", type=click.Path(path_type=Path)), max_jobs_option)
"""``FILE`` and ``--max-jobs``: the arguments of validate and plan."""


def _load_expanded(path: Path, max_jobs: int) -> tuple[Campaign, list[JobSpec]]:
    """The campaign at ``path`` and the jobs it expands to; its problems and exit status 2 (see _load_or_exit)."""
    campaign = _load_or_exit(path, max_jobs)
    return campaign, expand(campaign)


@click.command(context_settings=HELP_OPTIONS)
@campaign_file_args
def validate(file: Path, max_jobs: int) -> None:
    """Check FILE: print every problem as FILE:LINE:COLUMN: KEY: MESSAGE (exit 2), or a one-line summary."""
    campaign, jobs = _load_expanded(file, max_jobs)
    most = len(_most_jobs(jobs))
    count = _plural(len(jobs), "job") if most == len(jobs) else f"{len(jobs)}-{most} jobs"
    click.echo(f"{file}: OK ({_plural(len(campaign.scenarios), 'scenario')}, {count})")


def _rate_control(params: dict[str, Any]) -> str:
    if params.get("bitrate") is not None:
        return f"bitrate {params['bitrate']}"
    return f"crf {params['crf']}" if params.get("crf") is not None else "-"


def _shown(value: Any, unset: str) -> str:
    return unset if value is None else str(value)


def plan_table(jobs: list[JobSpec]) -> Table:
    """The jobs in run order, one row each."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("#", "job", "kind", "encoder", "preset", "rate control", "resolution", "fps", "duration"):
        table.add_column(header, no_wrap=True, justify="right" if header in ("#", "fps", "duration") else "left")
    for number, job in enumerate(jobs, start=1):
        params = job.params

        def unset(key: str, default: str, params: dict = params) -> str:  # "-" where this kind has no such field
            return default if key in params else "-"

        table.add_row(
            str(number),
            job.name,
            job.kind,
            _shown(params.get("encoder"), "-"),
            _shown(params.get("preset"), unset("preset", "default")),
            _rate_control(params),
            _shown(params.get("resolution"), unset("resolution", "as input")),
            _shown(params.get("fps"), unset("fps", "as input")),
            f"{_shown(params.get('duration'), '-')} s",
        )
    return table


def confidence_lines(jobs: list[JobSpec]) -> list[str]:
    """One line per variant that repeats until its confidence target: ``x264-fast: 3-10 runs (auto ±5%)``."""
    shown: dict[str, str] = {}
    for job in jobs:
        if job.confidence is not None:
            shown.setdefault(job.variant, describe_confidence(job.confidence))
    return [f"{variant}: {text}" for variant, text in shown.items()]


def _most_jobs(jobs: list[JobSpec]) -> list[JobSpec]:
    """The jobs if every confidence variant ran to its ``max``: its last job repeated for the runs not queued yet."""
    last: dict[str, JobSpec] = {}
    counts: dict[str, int] = {}
    for job in jobs:
        last[job.variant] = job
        counts[job.variant] = counts.get(job.variant, 0) + 1
    extra = [last[v] for v in last if last[v].confidence for _ in range(last[v].confidence["max"] - counts[v])]
    return [*jobs, *extra]


def _seconds(seconds: float) -> str:
    """Like :func:`format_seconds`, with one decimal under 10 s (so 0.2 s per job does not print as 0 s)."""
    return f"{seconds:.1f} s" if 0 < seconds < 10 and round(seconds, 1) != round(seconds) else format_seconds(seconds)


def _each(jobs: list[JobSpec], term: str) -> str:
    """``4 x 2 s`` when every job counting ``term`` counts the same, else ``4 jobs``."""
    values = [job_terms(job)[term] for job in jobs]
    values = [v for v in values if v > 0]
    return f"{len(values)} x {_seconds(values[0])}" if len(set(values)) == 1 else _plural(len(values), "job")


def basis_lines(jobs: list[JobSpec]) -> list[str]:
    """The estimate's basis, one line per term that counts (``idle baselines: 4 x 2 s = 8 s``): what each term is
    made of and its seconds; the terms add up to the total."""
    terms = estimate_terms(jobs)
    lines = []
    if terms["idle baselines"]:
        lines.append(f"idle baselines: {_each(jobs, 'idle baselines')} = {_seconds(terms['idle baselines'])}")
    if terms["stabilization and cooldown"]:
        lines.append(
            f"stabilization and cooldown: {_each(jobs, 'stabilization and cooldown')}"
            f" = {_seconds(terms['stabilization and cooldown'])}"
        )
    if terms["encoding"]:
        encodes = [job for job in jobs if job_terms(job)["encoding"]]
        media = sum(job.params.get("duration") or 0 for job in encodes)
        factors: dict[str, dict[str, float]] = {}
        for job in encodes:
            kind = job.params.get("kind", job.kind)
            encoder = job.params.get("encoder")
            label = kind if not encoder else encoder if kind == "transcode" else f"{encoder} {kind}"
            preset = job.params.get("preset") or ("default" if encoder else "")
            factors.setdefault(label, {})[preset] = timing.job_encode_factor(job)
        how = "; ".join(
            f"{encoder} " + ", ".join(f"{preset} {factor:.2g}".strip() for preset, factor in presets.items())
            for encoder, presets in factors.items()
        )
        lines.append(
            f"encoding: {_plural(len(encodes), 'encode')} of {_seconds(media)} of input"
            f" ({how} s per s of input) = {_seconds(terms['encoding'])}"
        )
    if terms["streaming"]:
        lines.append(
            f"streaming: {_each(jobs, 'streaming')} in real time, with {timing.STREAM_SETUP_S:g} s setup"
            f" per window = {_seconds(terms['streaming'])}"
        )
    if terms["quality"]:
        lines.append(f"quality (PSNR/SSIM after each encode): {_each(jobs, 'quality')} = {_seconds(terms['quality'])}")
    count, seconds = prepare_seconds(jobs)
    if count:
        lines.append(
            f"source preparation: {_plural(count, 'source')} rendered once, then SI/TI and checksum"
            f" = {_seconds(seconds)}"
        )
    lines.append(
        f"overhead: {len(jobs)} x {timing.JOB_OVERHEAD_S:g} s per job + {timing.CAMPAIGN_OVERHEAD_S:g} s"
        f" start-up and report = {_seconds(terms['overhead'])}"
    )
    return ["estimate basis (measured on 2 cores; a faster machine runs shorter):"] + [f"  {line}" for line in lines]


def total_line(campaign: Campaign, jobs: list[JobSpec]) -> str:
    """How many jobs and variants, and the rough time they take (with confidence: up to how many, how long)."""
    variants = len({job.variant for job in jobs})
    most = _most_jobs(jobs)
    count, seconds = _plural(len(jobs), "job"), format_seconds(estimate_seconds(jobs))
    if len(most) > len(jobs):
        count = f"{len(jobs)}-{len(most)} jobs"
        seconds = f"{seconds} to {format_seconds(estimate_seconds(most))}"
    return (
        f"{count} ({_plural(variants, 'variant')} of "
        f"{_plural(len(campaign.scenarios), 'scenario')}); estimated time about {seconds}"
    )


@click.command(context_settings=HELP_OPTIONS)
@campaign_file_args
def plan(file: Path, max_jobs: int) -> None:
    """Show the jobs FILE expands to, in run order, and roughly how long they take."""
    campaign, jobs = _load_expanded(file, max_jobs)
    console = Console()
    if console.width < PLAN_MIN_WIDTH and not console.is_terminal:
        console = Console(width=PLAN_MIN_WIDTH)
    console.print(
        f"[bold]{campaign.name}[/]: {campaign.description}" if campaign.description else campaign.name, highlight=False
    )
    console.print(plan_table(jobs))
    for line in confidence_lines(jobs):
        console.print(line, highlight=False)
    for line in basis_lines(jobs):
        console.print(line, highlight=False, soft_wrap=True)
    console.print(total_line(campaign, jobs), highlight=False)
