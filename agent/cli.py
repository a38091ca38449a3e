"""``python -m agent``: the agent service (``--register --master URL``) and ``measure``."""
from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from agent.client import MasterClient
from agent.measure_cmd import measure
from agent.setup import build_context
from agent.spool import Spool
from agent.worker import Worker, WorkerOptions


def parse_duration(value: str) -> float:
    """'10s', '2m', '500ms' or a bare number of seconds."""
    text = str(value).strip().lower()
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value, param, ctx):
        try:
            seconds = parse_duration(value)
        except ValueError:
            self.fail(f"{value!r} is not a duration like 10s, 2m or 500ms", param, ctx)
        if seconds <= 0:
            self.fail("must be positive", param, ctx)
        return seconds


def parse_labels(values: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for item in values:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected k=v", param_hint="--labels")
        labels[key] = val
    return labels


@click.group(invoke_without_command=True)
@click.option("--register", is_flag=True, help="Register with the master and run jobs.")
@click.option("--master", "master_url", help="Master URL, e.g. http://HOST:8080.")
@click.option("--poll-interval", type=Duration(), default="10s", show_default=True,
              help="Long-poll wait for the next job.")
@click.option("--heartbeat-interval", type=Duration(), default="30s", show_default=True)
@click.option("--labels", multiple=True, help="k=v label (repeatable).")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".ffwatt-agent"), show_default=True)
@click.option("--powercap-root", help="Powercap sysfs root (env FFWATT_POWERCAP_ROOT).")
@click.option("--tdp-watts", type=float, help="CPU TDP for the estimate power model.")
@click.option("--max-jobs", type=int, help="Exit after this many jobs.")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.pass_context
def main(ctx, register, master_url, poll_interval, heartbeat_interval, labels, state_dir, powercap_root,
         tdp_watts, max_jobs, burst):
    """ffwatt agent: runs FFmpeg jobs from a master and measures their energy."""
    if ctx.invoked_subcommand is not None:
        return
    if not register or not master_url:
        raise click.UsageError("run as: python -m agent --register --master http://HOST:8080")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run_ctx, inventory = build_context(state_dir, powercap=powercap_root, tdp_watts=tdp_watts)
    options = WorkerOptions(labels=parse_labels(labels), poll_interval_s=poll_interval,
                            heartbeat_interval_s=heartbeat_interval, max_jobs=max_jobs, burst=burst)
    worker = Worker(MasterClient(master_url), run_ctx, Spool(state_dir / "spool"), inventory, options)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
    done = worker.work()
    click.echo(f"agent stopped after {done} job(s)", err=True)
    sys.exit(0)


main.add_command(measure)
