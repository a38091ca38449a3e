"""``python -m agent``: the agent service (``--register --master URL``) and ``measure``.

The service also serves its Prometheus metrics (:mod:`agent.exporter`) on ``--metrics-address:--metrics-port``
(0.0.0.0:9101; port 0 turns the exporter off); ``python -m agent exporter`` serves the power metrics alone.

Exit status: 0 after SIGTERM/SIGINT (or --burst/--max-jobs), 1 when the master refuses this agent for good (bad
enrollment token, a node token refused even after re-registering), 2 for a usage error, a metrics port that cannot
be listened on, or a state dir that another agent holds (or that cannot be created).
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
import threading
from pathlib import Path

import click

from agent.client import MasterClient, MasterError
from agent.context import build_context
from agent.exporter import DEFAULT_ADDRESS, DEFAULT_PORT, Exporter, ExporterBindError
from agent.identity import IdentityFile
from agent.measure_cmd import measure
from agent.monitor import DEFAULT_INTERVAL_S, PowerMonitor, monitor_sources
from agent.spool import Spool
from agent.statedir import DEFAULT_HELP as DEFAULT_STATE_DIR_HELP
from agent.statedir import StateDirBusy, default_state_dir, lock_state_dir
from agent.worker import Worker, WorkerOptions
from wire.env import ENROLLMENT_TOKEN_ENV
from wire.options import check_master_flags, duration_option, file_option, token_option

log = logging.getLogger("agent")


def parse_labels(values: tuple[str, ...]) -> dict[str, str]:
    """('gpu=nvidia', 'rack=r1') -> {'gpu': 'nvidia', 'rack': 'r1'}; a usage error for anything but k=v.

    A key given more than once holds every value, comma-separated, in the order given: ('group=agents',
    'group=gpu') -> {'group': 'agents,gpu'}; the master matches targets and label requirements against each value.
    """
    labels = {}
    for item in values:
        key, sep, val = item.partition("=")
        key, val = key.strip(), val.strip()
        if not sep or not key or not val:
            raise click.BadParameter(f"{item!r}: expected k=v", param_hint="--labels")
        if key not in labels:
            labels[key] = val
        elif val not in labels[key].split(","):
            labels[key] = f"{labels[key]},{val}"
    return labels


def build_client(
    master_url: str, enrollment_token: str | None, tls_ca: str | None, tls_cert: str | None, tls_key: str | None
) -> MasterClient:
    """A client for ``master_url``; usage errors for a URL that is not http(s) or TLS flags that do not fit it."""
    check_master_flags(master_url, tls_cert, tls_key)
    if (tls_ca or tls_cert) and not master_url.startswith("https://"):
        raise click.UsageError("--tls-ca/--tls-cert need an https:// --master")
    return MasterClient(
        master_url,
        verify=tls_ca or True,
        cert=(tls_cert, tls_key) if tls_cert else None,
        enrollment_token=enrollment_token or None,
    )


def install_signal_handlers(stop: threading.Event) -> list[Worker]:
    """SIGTERM and SIGINT stop the agent gracefully; a second one abandons the running job at once.

    Installed before the (slow) host probe: a signal then just sets ``stop``. Put the worker in the returned list
    once it exists and signals go to :meth:`Worker.request_stop`.
    """
    holder: list[Worker] = []

    def handler(signum, _frame):
        log.info("received %s", signal.Signals(signum).name)
        if holder:
            holder[0].request_stop()
        else:
            stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return holder


def hold_state_dir(state_dir: Path):
    """Lock ``state_dir`` for the life of this process (keep what this returns); exit 2 when another agent holds it
    or it cannot be created."""
    try:
        return lock_state_dir(state_dir)
    except StateDirBusy as exc:
        click.echo(f"Error: {exc}", err=True)
    except OSError as exc:
        click.echo(
            f"Error: cannot use state dir {state_dir}: {exc.strerror or exc} (use --state-dir to choose another)",
            err=True,
        )
    sys.exit(2)


def start_exporter(
    port: int,
    address: str,
    interval_s: float,
    powercap_root: str | None,
    tdp_watts: float | None,
    flags: tuple[str, str],
    hostname: str | None = None,
) -> Exporter:
    """An exporter serving on ``address:port`` with its own power monitor running; exit 2 when it cannot listen."""
    sources, notes = monitor_sources(powercap_root, tdp_watts)
    monitor = PowerMonitor(sources, interval_s)
    for note in notes + monitor.notes:
        log.info("metrics: %s", note)
    try:
        return Exporter(monitor, hostname).start(port, address)
    except ExporterBindError as exc:
        monitor.stop()
        port_flag, address_flag = flags
        hint = f"choose another {port_flag}" if exc.errno == errno.EADDRINUSE else f"check {address_flag}"
        click.echo(f"Error: {exc.strerror} ({hint})", err=True)
        sys.exit(2)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--register", is_flag=True, help="Register with the master and run jobs.")
@click.option("--master", "master_url", metavar="URL", help="Master URL, e.g. http://HOST:8080.")
@token_option(
    "--enrollment-token",
    envvar=ENROLLMENT_TOKEN_ENV,
    help="Token the master asks of new agents (not needed by an --insecure master).",
)
@duration_option("--poll-interval", default="10s", help="Long-poll wait for the next job.")
@duration_option(
    "--heartbeat-interval", default="30s", help="Heartbeat interval (live watts, lease extension, cancellation)."
)
@click.option("--labels", multiple=True, metavar="K=V", help="Label jobs can require (repeatable).")
@click.option(
    "--hostname",
    default=socket.gethostname,
    show_default="this host's name",
    help="Name this node registers under (one node per name).",
)
@file_option("--tls-ca", help="CA certificate to verify an https:// master with.")
@file_option("--tls-cert", help="Client certificate, for a master that requires one (mTLS).")
@file_option("--tls-key", help="Key of --tls-cert.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    show_default=DEFAULT_STATE_DIR_HELP,
    help="Node identity (node.json, 0600), spool of unsent results, FFmpeg work files, probe cache;"
    " one agent at a time (it holds agent.lock in it).",
)
@click.option(
    "--max-concurrent-jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Told to the master at registration; this agent still runs one job at a time.",
)
@duration_option(
    "--shutdown-timeout", default="60s", help="After SIGTERM, how long the running job may take before it is abandoned."
)
@click.option("--powercap-root", help="Powercap sysfs root (env FFWATT_POWERCAP_ROOT).")
@click.option("--tdp-watts", type=float, help="CPU TDP for the estimate power model.")
@click.option(
    "--input-dir",
    "input_dirs",
    multiple=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="A directory jobs may read file inputs from (repeatable); the state dir always is one.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port of the agent's Prometheus metrics (GET /metrics); 0 turns the exporter off.",
)
@click.option(
    "--metrics-address",
    default=DEFAULT_ADDRESS,
    show_default=True,
    metavar="ADDRESS",
    help="Address the metrics port listens on.",
)
@duration_option(
    "--metrics-interval",
    default=f"{DEFAULT_INTERVAL_S:g}s",
    help="How often the exporter's power monitor reads the sensors (scrapes never do).",
)
@click.option("--max-jobs", type=click.IntRange(min=1), help="Exit after this many jobs.")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.pass_context
def main(
    ctx,
    register,
    master_url,
    enrollment_token,
    poll_interval,
    heartbeat_interval,
    labels,
    hostname,
    tls_ca,
    tls_cert,
    tls_key,
    state_dir,
    max_concurrent_jobs,
    shutdown_timeout,
    powercap_root,
    tdp_watts,
    input_dirs,
    metrics_port,
    metrics_address,
    metrics_interval,
    max_jobs,
    burst,
):
    """ffwatt agent: runs FFmpeg jobs from a master and measures their energy."""
    if ctx.invoked_subcommand is not None:
        return
    if not register or not master_url:
        raise click.UsageError("run as: python -m agent --register --master http://HOST:8080")
    client = build_client(master_url, enrollment_token, tls_ca, tls_cert, tls_key)
    state_dir = state_dir or default_state_dir(hostname)
    lock = hold_state_dir(state_dir)  # noqa: F841 (held until the process exits)
    options = WorkerOptions(
        hostname=hostname,
        labels=parse_labels(labels),
        poll_interval_s=poll_interval,
        heartbeat_interval_s=heartbeat_interval,
        max_jobs=max_jobs,
        burst=burst,
        shutdown_timeout_s=shutdown_timeout,
        max_concurrent_jobs=max_concurrent_jobs,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.info("state dir %s", state_dir)
    stop = threading.Event()
    holder = install_signal_handlers(stop)
    exporter = (
        start_exporter(
            metrics_port,
            metrics_address,
            metrics_interval,
            powercap_root,
            tdp_watts,
            ("--metrics-port", "--metrics-address"),
            hostname,
        )
        if metrics_port
        else None
    )
    try:
        run_ctx, inventory = build_context(
            state_dir, powercap=powercap_root, tdp_watts=tdp_watts, input_dirs=tuple(input_dirs)
        )
        spool = Spool(state_dir / "spool")
        metrics = exporter.attach(run_ctx.live, spool.depth) if exporter else None
        worker = Worker(
            client, run_ctx, spool, inventory, options, stop=stop, identity=IdentityFile(state_dir), metrics=metrics
        )
        holder.append(worker)
        done = worker.work()
    except MasterError as exc:
        log.error("the master refuses this agent: %s", exc)
        sys.exit(1)
    finally:
        if exporter is not None:
            exporter.close()
    log.info("agent stopped after %d job(s)", done)
    sys.exit(0)


main.add_command(measure)


@main.command("exporter")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True, help="Port of GET /metrics."
)
@click.option("--address", default=DEFAULT_ADDRESS, show_default=True, help="Address to listen on.")
@duration_option(
    "--interval",
    default=f"{DEFAULT_INTERVAL_S:g}s",
    help="How often the power monitor reads the sensors (scrapes never do).",
)
@click.option("--powercap-root", help="Powercap sysfs root (env FFWATT_POWERCAP_ROOT).")
@click.option("--tdp-watts", type=float, help="CPU TDP for the estimate power model.")
def exporter_command(port, address, interval, powercap_root, tdp_watts):
    """Serve this host's power metrics alone (no master, no jobs) until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    install_signal_handlers(stop)
    exporter = start_exporter(port, address, interval, powercap_root, tdp_watts, ("--port", "--address"))
    try:
        stop.wait()
    finally:
        exporter.close()
    log.info("exporter stopped")
    sys.exit(0)
