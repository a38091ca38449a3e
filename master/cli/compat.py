"""``campaign single``, ``campaign multi``, ``campaign batch --file``: the original run_tests.py commands, as campaigns.

Each command writes a campaign (YAML with a comment header saying which command or file it came from; the conversion
is :mod:`master.campaign.runtests`), validates it with the campaign loader and runs it exactly as ``campaign run``
does (embedded, or ``--master URL``); ``--print`` shows the YAML instead, to save as a campaign file. A problem is
reported against what the user wrote (an option, or a batch entry and its field), exit 2, and nothing runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from master.campaign import runtests
from master.campaign.batch import convert_batch
from master.campaign.runtests import (
    ConversionError,
    Scenario,
    baseline_scenario,
    render,
    slug,
    stream_fields,
    unique,
    validated,
    with_timeout,
)
from master.cli.options import HELP_OPTIONS, bundle
from master.cli.run_cmds import EXIT_INVALID, RunOptions, run_campaign, run_options
from wire.encoders import ENCODERS


def finish(text: str, campaign, label: str, print_only: bool, run_args: dict[str, Any]) -> None:
    """Print the YAML (``--print``), or run the campaign as ``campaign run`` does."""
    if print_only:
        click.echo(text, nl=False)
        return
    run_campaign(campaign, label, RunOptions(**run_args))


def _fail(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"Error: {problem}", err=True)
    raise SystemExit(EXIT_INVALID)


# ---------------------------------------------------------------------------------------------------- options

RUN_PARAMS = frozenset(field.name for field in fields(RunOptions))
"""The ``campaign run`` options (run_cmds.run_options), passed through untouched."""


_stream_options = bundle(
    click.option("--resolution", default=runtests.RESOLUTION, show_default=True, help="Stream size WIDTHxHEIGHT."),
    click.option("--fps", type=int, default=runtests.FPS, show_default=True),
    click.option(
        "--duration",
        type=float,
        default=runtests.DURATION_S,
        show_default=True,
        help="Seconds measured per stream (run_tests.py's default; its docs' example used 60).",
    ),
    click.option(
        "--encoder",
        type=click.Choice([*runtests.ORIGINAL_ENCODERS, *ENCODERS]),
        default=runtests.ENCODER,
        show_default=True,
        metavar="runtests.ENCODER",
        help="h264 (libx264), h265 (libx265), h264_nvenc, hevc_nvenc, or an ffwatt encoder name.",
    ),
    click.option(
        "--preset",
        help=f"Encoder preset, checked per encoder [default: {runtests.PRESET} where the encoder "
        "takes it (x264, x265), else the encoder's own].",
    ),
    click.option(
        "--stabilization",
        type=float,
        default=runtests.STABILIZATION_S,
        show_default=True,
        help="Seconds waited before measuring (not measured).",
    ),
    click.option(
        "--cooldown",
        type=float,
        default=runtests.COOLDOWN_S,
        show_default=True,
        help="Seconds waited after the stream (not measured).",
    ),
    click.option("--with-baseline", is_flag=True, help="Measure idle power first (a baseline scenario)."),
    click.option("--baseline-duration", type=float, default=runtests.BASELINE_S, show_default=True),
    click.option(
        "--print",
        "--dry-run",
        "print_only",
        is_flag=True,
        help="Print the generated campaign YAML and exit without running it.",
    ),
    run_options,
)
"""The per-stream options single and multi share, with run_tests.py's defaults."""


def _command_line(command: str) -> str:
    """``campaign COMMAND`` and the options given on the command line (not the run options: no tokens)."""
    ctx = click.get_current_context()
    words = ["campaign", command]
    for param in ctx.command.params:
        if param.name in RUN_PARAMS or param.name == "print_only":
            continue
        if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name]
        words.append(param.opts[0])
        if not getattr(param, "is_flag", False):
            text = f"{value:g}" if isinstance(value, float) else str(value)
            words.append(text if re.fullmatch(r"[\w.,:/@+-]+", text) else json.dumps(text))
    return " ".join(words)


def _cli_sources(extra: dict[str, str] | None = None) -> dict[str, str]:
    names = ("resolution", "fps", "duration", "encoder", "preset", "bitrate", "stabilization", "cooldown")
    sources = {name: f"--{name}" for name in names}
    sources |= {key: f"--{value}" for key, value in runtests.STREAM_SOURCES.items()}
    sources["timeout"] = "--duration"
    return sources | (extra or {})


STREAM_PARAMS = ("resolution", "fps", "duration", "encoder", "preset", "stabilization", "cooldown")
"""The stream options of _stream_options, in the order stream_fields takes them after the bitrate."""


def _stream_fields(bitrate: str, options: dict[str, Any]) -> dict[str, Any]:
    """The fields of a stream at ``bitrate`` (stream_fields), from the stream options it takes out of ``options``."""
    return stream_fields(bitrate, *(options.pop(name) for name in STREAM_PARAMS))


def _run_generated(command: str, what: str, name: str, stream: Scenario, options: dict[str, Any]) -> None:
    """Run (or ``--print``) the campaign of ``stream``, after an idle baseline scenario with ``--with-baseline``;
    ``options``: the rest of _stream_options (``--with-baseline``, ``--baseline-duration``, ``--print``, the run
    options)."""
    with_baseline, baseline_duration = options.pop("with_baseline"), options.pop("baseline_duration")
    print_only = options.pop("print_only")
    scenarios = [baseline_scenario(baseline_duration), stream] if with_baseline else [stream]
    taken: set[str] = set()
    for scenario in scenarios:
        scenario.name = unique(scenario.name, taken)
    header = [
        f"Generated by: {_command_line(command)}",
        f"run_tests.py `{command}` as an ffwatt campaign: {what}.",
        runtests.DEFAULTS_HELP,
        "Save it as a campaign file, edit it, `campaign run` it; `campaign validate FILE` checks your edits.",
    ]
    label = f"<campaign {command}>"
    text = render(header, name, f"run_tests.py {command}, converted", scenarios)
    try:
        campaign = validated(text, label, scenarios, "")
    except ConversionError as error:
        _fail(error.problems)
    finish(text, campaign, label, print_only, options)


@click.command(epilog=runtests.DEFAULTS_HELP, context_settings=HELP_OPTIONS)
@click.option("--name", required=True, help="Stream name (becomes the scenario name).")
@click.option("--bitrate", required=True, help="Video bitrate such as 2000k or 6M (CBR: -maxrate the same).")
@_stream_options
def single(name, bitrate, **options) -> None:
    """run_tests.py single: one live RTMP stream (kind live), optionally after an idle baseline."""
    stream = Scenario(
        slug(name) or "live",
        "live",
        with_timeout(_stream_fields(bitrate, options)),
        [f"run_tests.py single --name {name!r}: one live stream"],
        _cli_sources({"name": "--name"}),
    )
    _run_generated("single", "one live stream", slug(name, lower=True) or "single", stream, options)


@click.command(epilog=runtests.DEFAULTS_HELP, context_settings=HELP_OPTIONS)
@click.option("--count", type=click.IntRange(1), help="Concurrent streams (required unless --bitrates lists them).")
@click.option("--bitrate", default=runtests.MULTI_BITRATE, show_default=True, help="Bitrate of every stream.")
@click.option("--bitrates", help="Comma-separated bitrates, one stream each (1000k,2500k,5000k); overrides --bitrate.")
@click.option("--name", help="Scenario name (default as run_tests.py: 'N Streams @ BITRATE' or 'Mixed Streams').")
@_stream_options
def multi(count, bitrate, bitrates, name, **options) -> None:
    """run_tests.py multi: concurrent live streams (kind multi), started 2 s apart as run_tests.py did."""
    fields = _stream_fields(bitrate, options)
    if bitrates is not None:
        listed = [part.strip() for part in bitrates.split(",") if part.strip()]
        if count is not None and count != len(listed):
            raise click.UsageError(f"--bitrates lists {len(listed)} streams but --count is {count}")
        fields.pop("bitrate", None)
        fields["bitrates"], count = listed, len(listed)
        default_name = "Mixed Streams"
    elif count is None:
        raise click.UsageError("--count is required unless --bitrates lists the streams")
    else:
        fields["count"] = count
        default_name = f"{count} Streams @ {bitrate}"
    fields["stagger"] = runtests.STAGGER_S
    stream = Scenario(
        slug(name or default_name) or "multi",
        "multi",
        with_timeout(fields, count),
        [f"run_tests.py multi: {count} concurrent live streams"],
        _cli_sources({"count": "--count", "bitrates": "--bitrates", "name": "--name"}),
    )
    _run_generated(
        "multi", f"{count} concurrent live streams", slug(f"multi-{stream.name}", lower=True), stream, options
    )


# ---------------------------------------------------------------------------------------------------- batch files


@click.command(context_settings=HELP_OPTIONS)
@click.option(
    "--file",
    "batch_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A run_tests.py batch file: a JSON list of entries, or {"scenarios": [...]}.',
)
@click.option(
    "--stabilization",
    type=float,
    default=runtests.STABILIZATION_S,
    show_default=True,
    help="For entries that set none (as run_tests.py batch --stabilization).",
)
@click.option(
    "--cooldown",
    type=float,
    default=runtests.COOLDOWN_S,
    show_default=True,
    help="For entries that set none (as run_tests.py batch --cooldown).",
)
@click.option(
    "--print",
    "--dry-run",
    "print_only",
    is_flag=True,
    help="Print the generated campaign YAML and exit without running it.",
)
@run_options
def batch(batch_file: Path, stabilization, cooldown, print_only, **run_args) -> None:
    """run_tests.py batch --file: each entry becomes a scenario (baseline, live, multi, or ladder for `outputs`).

    Entry fields left out take run_tests.py's defaults (type single, 1280x720, 30 fps, h264 veryfast, 300 s, baseline
    120 s, multi 2500k). Fields run_tests.py ignored (description, quality_target, ...) are kept as YAML comments, with
    a warning for any but description. A bad entry is an error naming FILE, the entry and the field: exit 2, nothing
    runs.
    """
    try:
        text, scenarios, warnings = convert_batch(batch_file, stabilization, cooldown, _command_line("batch"))
        label = f"<campaign batch {batch_file.resolve()}>"
        campaign = validated(text, label, scenarios, f"{batch_file}: ")
    except ConversionError as error:
        _fail(error.problems)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    finish(text, campaign, label, print_only, run_args)


COMMANDS = (single, multi, batch)
"""The compatibility commands, for the ``campaign`` group."""
