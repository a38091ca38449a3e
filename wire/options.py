"""Command-line options the agent's and the master's commands spell alike (one factory per sort of option), and the
check of the flags that reach a master."""

from __future__ import annotations

import click

from wire.durations import Duration


def file_option(*decls: str, help: str):
    """An option naming a file that exists (a certificate, a key), shown as ``FILE``."""
    return click.option(*decls, type=click.Path(exists=True, dir_okay=False), metavar="FILE", help=help)


def token_option(*decls: str, envvar: str, help: str):
    """An option taking a token, shown as ``TOKEN``, also read from the environment variable ``envvar``."""
    return click.option(*decls, envvar=envvar, show_envvar=True, metavar="TOKEN", help=help)


def duration_option(*decls: str, default: str, help: str):
    """An option taking a duration (10s, 2m, 500ms: :class:`~wire.durations.Duration`), its default shown."""
    return click.option(*decls, type=Duration(), default=default, show_default=True, help=help)


def check_master_flags(master_url: str, tls_cert: str | None, tls_key: str | None) -> None:
    """A usage error for a ``--master`` that is not http(s), or for ``--tls-cert`` and ``--tls-key`` not given
    together."""
    if not master_url.startswith(("http://", "https://")):
        raise click.UsageError(f"--master {master_url!r}: expected http://HOST:PORT or https://HOST:PORT")
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
