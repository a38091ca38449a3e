"""How a ``campaign`` subcommand reaches a master: a remote URL (token, TLS) or the embedded state dir's database.

The embedded database is read through the master app itself (Flask's test client, no socket), so a local
``campaign status`` shows exactly what a remote master would answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from master.cli.api import ADMIN_TOKEN_ENV, ApiError, MasterApi
from master.cli.options import bundle
from wire.options import check_master_flags, file_option, token_option

DEFAULT_STATE_DIR = Path(".ffwatt")
"""Where the embedded default keeps its database (``campaign run --state-dir``)."""


master_options = bundle(
    click.option(
        "--master",
        "master_url",
        metavar="URL",
        help="A master service, e.g. http://HOST:8080 (default: the embedded state dir).",
    ),
    token_option("--token", envvar=ADMIN_TOKEN_ENV, help="Admin token for a remote master (submit, cancel)."),
    file_option("--tls-ca", help="CA certificate that signed an HTTPS master's certificate."),
    file_option("--tls-cert", help="Client certificate, for a master that requires one (mTLS)."),
    file_option("--tls-key", help="Key of --tls-cert."),
)
"""``--master``, ``--token``, ``--tls-ca``, ``--tls-cert``, ``--tls-key``: how to reach a remote master."""


def state_dir_option(help: str | None = None) -> Callable[[Callable], Callable]:
    """``--state-dir``: the embedded default's directory (database, agent state, work files)."""
    return click.option(
        "--state-dir", type=click.Path(path_type=Path), default=DEFAULT_STATE_DIR, show_default=True, help=help
    )


def remote_api(
    master_url: str, token: str | None, tls_ca: str | None, tls_cert: str | None, tls_key: str | None
) -> MasterApi:
    """A client for the master at ``master_url``; usage errors for a URL that is not http(s) or --tls-cert and
    --tls-key not given together."""
    check_master_flags(master_url, tls_cert, tls_key)
    return MasterApi(master_url, token=token, verify=tls_ca or True, cert=(tls_cert, tls_key) if tls_cert else None)


class LocalApi(MasterApi):
    """The same calls answered by the master app over the embedded database, without a server."""

    def __init__(self, db_path: Path):
        from master.app import create_app

        super().__init__(str(db_path))
        self.where = f"embedded database {db_path}"
        app = create_app({"DATABASE": str(db_path), "INSECURE": True, "TESTING": True})
        self.client = app.test_client()

    def call(self, method: str, path: str, **kwargs) -> Any:
        resp = self.client.open(path, method=method, json=kwargs.get("json"))
        payload = resp.get_json(silent=True)
        if resp.status_code >= 400:
            error = (payload or {}).get("error") or resp.status
            raise ApiError(f"{error} (in {self.where})", status=resp.status_code)
        return payload


def local_api(state_dir: Path) -> LocalApi:
    """The embedded database of ``state_dir``; a click error when there is none yet."""
    db_path = state_dir / "ffwatt.db"
    if not db_path.exists():
        raise click.ClickException(
            f"no database at {db_path}: run a campaign first, pass --state-dir, or ask a master with --master URL"
        )
    return LocalApi(db_path)


def api_for(
    master_url: str | None,
    token: str | None,
    tls_ca: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    state_dir: Path,
) -> MasterApi:
    """The remote master when ``--master`` was given, else the embedded database."""
    if master_url:
        return remote_api(master_url, token, tls_ca, tls_cert, tls_key)
    return local_api(state_dir)
