"""``python -m master --port 8080 --db PATH``: the master service, served by waitress."""
from __future__ import annotations

import logging
import signal
import sys

import click

from master.app import create_app
from master.server import build


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--db", "db_path", default=".ffwatt/ffwatt.db", show_default=True, help="SQLite database file.")
@click.option("--lease", "lease_s", default=120.0, show_default=True, help="Job lease in seconds.")
def main(host: str, port: int, db_path: str, lease_s: float) -> None:
    """Run the ffwatt master until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app({"DATABASE": db_path, "LEASE_S": lease_s})
    try:
        server = build(app, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    def stop(signum, _frame):
        logging.getLogger("master").info("signal %s: shutting down", signum)
        server.close()

    signal.signal(signal.SIGTERM, stop)
    logging.getLogger("master").info("ffwatt master on http://%s:%s (db %s)", host, server.effective_port, db_path)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
