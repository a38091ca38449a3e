"""``measure``: run one command and report the energy it used, like ``perf stat`` for joules.

    python -m agent measure [--powercap-root DIR] [--rate HZ] [--tdp-watts W] [--idle S] [--json] -- COMMAND [ARGS...]

The command runs through :func:`agent.process.run_process` in its own process group; the sampler tracks its tree and
takes its final reading once it exited, before it is reaped. The report (a table on stderr, so the command's stdout
stays clean; or the result's energy part as JSON on stdout with ``--json``) shows energy by source, duration, mean and
peak watts, where the numbers came from and the sampler's own overhead. Exits with the command's exit code.
"""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from agent.energy import summarize
from agent.power.detect import ENV_POWERCAP_ROOT, detect_sources
from agent.process import run_process
from agent.sampler import DEFAULT_RATE_HZ, Measurement, Sampler, measure_idle


def _run_measured(command: list[str], sampler: Sampler, echo) -> tuple[int, Measurement]:
    """Run the command under the sampler; (exit code, measurement). The final reading happens in ``on_exited``,
    while the command is an unreaped zombie; ``stop()`` again afterwards returns that same measurement."""
    sampler.start()
    try:
        outcome = run_process(
            command, on_stdout_line=echo, on_start=sampler.track, on_exited=lambda pid: sampler.stop()
        )
    finally:
        measurement = sampler.stop()
    for line in outcome.stderr_tail:
        click.echo(line, err=True)
    code = outcome.returncode if outcome.returncode is not None else 1
    return (128 - code if code < 0 else code), measurement


def _fmt(value: float | None, unit: str, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def _render(summary: dict, run: Measurement, command: list[str], code: int) -> None:
    console = Console(stderr=True)
    metrics, prov = summary["metrics"], summary["provenance"]
    label = "ESTIMATED" if prov["estimated"] else "measured"
    table = Table(title=f"Energy of: {' '.join(command)}  (exit {code}, {label})")
    for col in ("source", "kind", "energy", "mean", "peak", "samples valid/invalid"):
        table.add_column(col, justify="left" if col in ("source", "kind") else "right")
    for st in run.sources.values():
        kind = st.kind if st.measured else f"{st.kind} (estimated)"
        table.add_row(
            st.name,
            kind,
            _fmt(st.energy_j, "J"),
            _fmt(st.mean_watts, "W"),
            _fmt(st.peak_watts, "W"),
            f"{st.valid_samples}/{st.invalid_samples}",
        )
    table.add_row(
        "total",
        "",
        _fmt(metrics["total_energy_j"], "J"),
        _fmt(metrics["mean_watts"], "W"),
        _fmt(metrics["peak_watts"], "W"),
        "",
        style="bold",
    )
    console.print(table)
    console.print(
        f"duration {run.duration_s:.3f} s; {run.sample_count} samples at {run.rate_hz:.4g} Hz "
        f"({run.invalid_count} with an invalid reading)"
    )
    console.print(f"idle {_fmt(metrics['idle_watts'], 'W')}, dynamic energy {_fmt(metrics['dynamic_energy_j'], 'J')}")
    console.print(
        f"sampler overhead {run.sampler_overhead_pct:.3f}% of one core "
        f"({run.sampler_cpu_s * 1e3:.1f} ms CPU); agent process {run.process_overhead_pct:.3f}%"
    )
    for key, reason in summary["missing"].items():
        console.print(f"[dim]{key} missing: {reason}[/dim]", highlight=False)
    for note in prov["notes"]:
        console.print(f"[dim]note: {note}[/dim]", highlight=False)


@click.command("measure", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "--powercap-root",
    type=click.Path(file_okay=False),
    envvar=ENV_POWERCAP_ROOT,
    default=None,
    help="Powercap tree to read RAPL from (default /sys/class/powercap; env FFWATT_POWERCAP_ROOT).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1, max=1000.0),
    default=DEFAULT_RATE_HZ,
    show_default=True,
    help="Samples per second (raised automatically when a counter could wrap twice in between).",
)
@click.option(
    "--tdp-watts",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="CPU power at full load for the estimate, when no sensor exists.",
)
@click.option(
    "--idle",
    "idle_s",
    type=click.FloatRange(min=0.0),
    default=0.0,
    show_default=True,
    help="Seconds of idle baseline measured before the command (0: none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result's energy part as JSON on stdout.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def measure(powercap_root, rate, tdp_watts, idle_s, as_json, command) -> None:
    """Run COMMAND and report the energy it used."""
    command = list(command)
    detection = detect_sources(powercap_root=powercap_root, tdp_watts=tdp_watts)
    baseline = measure_idle(detection.sources, idle_s, rate) if idle_s > 0 else None
    echo = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    try:
        code, run = _run_measured(command, Sampler(detection.sources, rate), echo)
    except FileNotFoundError as exc:
        raise click.ClickException(f"command not found: {exc.filename or command[0]}") from None
    except PermissionError as exc:
        raise click.ClickException(f"command not executable: {exc.filename or command[0]}") from None
    run.notes[:0] = [n for n in detection.notes if n not in run.notes]
    summary = summarize(baseline, run, frames=None)
    if as_json:
        doc = {"command": command, "exit_code": code, "duration_s": round(run.duration_s, 3), **summary}
        click.echo(json.dumps(doc, indent=2))
    else:
        _render(summary, run, command, code)
    sys.exit(code)
