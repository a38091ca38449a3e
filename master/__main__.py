"""``python -m master --port 8080 --db PATH``: the master service, served by gunicorn (see master/service.py).

Refuses to start without an enrollment token and an admin token unless ``--insecure``, which serves loopback only
(docs/DISTRIBUTED.md). Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot start (busy port, database), 2 for a
usage error (missing tokens, --insecure on a public address, TLS flags that do not go together, a malformed
--victoriametrics-url).
"""

from __future__ import annotations

import logging
import sqlite3

import click

from master import db, leases, service, vmpush
from master.app import create_app
from master.campaign.jobcount import DEFAULT_MAX_JOBS
from wire.env import ADMIN_TOKEN_ENV, ENROLLMENT_TOKEN_ENV
from wire.options import duration_option, file_option, token_option

VICTORIAMETRICS_URL_ENV = "FFWATT_VICTORIAMETRICS_URL"

log = logging.getLogger("master")


def check_security(host: str, insecure: bool, enrollment_token: str | None, admin_token: str | None) -> None:
    """Raise a usage error (exit 2) unless both tokens are set, or --insecure on a loopback address."""
    if insecure:
        if not service.is_loopback(host):
            raise click.UsageError(
                f"--insecure serves without tokens and so only on loopback; refusing --host {host}"
                " (use 127.0.0.1, or set tokens instead)"
            )
        if enrollment_token or admin_token:
            log.warning("--insecure: the tokens given are ignored, no route checks them")
        return
    missing = [
        flag for flag, value in (("--enrollment-token", enrollment_token), ("--admin-token", admin_token)) if not value
    ]
    if missing:
        raise click.UsageError(
            f"refusing to start without {' and '.join(missing)} (or {ENROLLMENT_TOKEN_ENV} / {ADMIN_TOKEN_ENV});"
            " pass --insecure to serve loopback without tokens"
        )
    if enrollment_token == admin_token:
        raise click.UsageError("--enrollment-token and --admin-token must differ")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 for every interface).")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one; the log says which).",
)
@click.option("--db", "db_path", default=".ffwatt/ffwatt.db", show_default=True, help="SQLite database file.")
@token_option("--enrollment-token", envvar=ENROLLMENT_TOKEN_ENV, help="Token agents present to POST /nodes/register.")
@token_option("--admin-token", envvar=ADMIN_TOKEN_ENV, help="Token that submits, cancels, retries, drains and deletes.")
@click.option("--insecure", is_flag=True, help="No tokens at all; only allowed on a loopback --host.")
@file_option("--tls-cert", help="Serve HTTPS with this certificate (PEM, chain allowed).")
@file_option("--tls-key", help="Key of --tls-cert.")
@file_option("--tls-client-ca", help="Require client certificates signed by this CA (mTLS).")
@duration_option("--lease", "lease_s", default="120s", help="How long a claimed job stays leased without a heartbeat.")
@duration_option(
    "--heartbeat-interval",
    "heartbeat_s",
    default="30s",
    help="Heartbeat interval assumed for agents: offline after 3 missed.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Attempts before a job whose lease keeps expiring fails.",
)
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_JOBS,
    show_default=True,
    help="Most jobs one submitted campaign may come to; a larger one is refused with a 400.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=4),
    default=service.DEFAULT_THREADS,
    show_default=True,
    help="Request threads (each long-polling agent holds one).",
)
@click.option(
    "--victoriametrics-url",
    "vm_url",
    envvar=VICTORIAMETRICS_URL_ENV,
    show_envvar=True,
    metavar="URL",
    help="Push each accepted result's figures to this VictoriaMetrics (http(s)://HOST:PORT;"
    ' docs/DISTRIBUTED.md "Results in VictoriaMetrics"). Unset: off.',
)
def main(
    host,
    port,
    db_path,
    enrollment_token,
    admin_token,
    insecure,
    tls_cert,
    tls_key,
    tls_client_ca,
    lease_s,
    heartbeat_s,
    max_attempts,
    max_jobs,
    threads,
    vm_url,
) -> None:
    """Run the ffwatt master until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    check_security(host, insecure, enrollment_token or None, admin_token or None)
    vm_url = check_victoriametrics_url(vm_url)
    opts = service.ServeOptions(
        host=host, port=port, threads=threads, tls_cert=tls_cert, tls_key=tls_key, tls_client_ca=tls_client_ca
    )
    try:
        service.check_tls(opts)
    except service.ServiceError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        lock = service.lock_database(db_path)  # noqa: F841 (held until the process exits)
        listener = service.bind_listener(host, port)
        app = create_app(
            {
                "DATABASE": db_path,
                "LEASE_S": lease_s,
                "HEARTBEAT_INTERVAL_S": heartbeat_s,
                "MAX_ATTEMPTS": max_attempts,
                "MAX_JOBS": max_jobs,
                "INSECURE": insecure,
                "ENROLLMENT_TOKEN": None if insecure else enrollment_token,
                "ADMIN_TOKEN": None if insecure else admin_token,
                "VICTORIAMETRICS_URL": vm_url,
            }
        )
        renewed = renew_leases(db_path, lease_s)
    except service.ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    except (OSError, sqlite3.Error) as exc:
        raise click.ClickException(f"cannot open database {db_path}: {exc}") from exc
    log.info(
        "ffwatt master on %s://%s:%s (db %s, %s%s)",
        opts.scheme,
        host,
        listener.getsockname()[1],
        db_path,
        "insecure: no tokens" if insecure else "tokens required",
        ", client certificates required" if tls_client_ca else "",
    )
    if renewed:
        log.info(
            "%d running job(s) from before this start get a fresh %gs lease for their nodes to report back",
            renewed,
            lease_s,
        )
    service.serve(app, listener, opts)


def check_victoriametrics_url(url: str | None) -> str | None:
    """The VictoriaMetrics URL without a trailing slash, None when unset; a usage error (exit 2) when malformed."""
    if not url:
        return None
    try:
        return vmpush.check_url(url)
    except ValueError as exc:
        raise click.UsageError(f"--victoriametrics-url ({VICTORIAMETRICS_URL_ENV}): {exc}") from exc


def renew_leases(db_path: str, lease_s: float) -> int:
    """Renew the leases of the jobs that were running when the master last stopped (see leases.renew_leases)."""
    conn = db.connect(db_path)
    try:
        return leases.renew_leases(conn, lease_s)
    finally:
        conn.close()


if __name__ == "__main__":
    main()
