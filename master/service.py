"""The master as a service: the Flask app served by gunicorn (gthread), one worker process, many threads.

One worker process because SQLite has one writer and the long-poll wake-up (:class:`master.notify.WorkSignal`) lives
in that process's memory; many threads because every long-polling agent holds one while it waits. The listening
socket is bound here, before gunicorn starts, so a busy port is one clear error instead of gunicorn's retries; it is
handed to gunicorn as ``fd://N``. An exclusive lock next to the database keeps a second master off the same file.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gunicorn.app.base import BaseApplication

from master import vmpush

log = logging.getLogger("master")

DEFAULT_THREADS = 1_100
"""Request threads of the one worker: every long-polling agent holds one while it waits, so 1,000 agents plus 100 for
results, heartbeats and everyone else (a request finding every thread taken waits for one: with fewer threads than
waiting agents, a submission or a result waits out a long-poll). Threads start on demand; an idle one costs little
memory (bench/master_memory.py, docs/BENCHMARKS.md)."""

GRACEFUL_TIMEOUT_S = 5
"""Seconds SIGTERM waits for requests in flight (long-polls included) before the worker is killed."""

WORKER_TIMEOUT_S = 30
"""Seconds of silence after which gunicorn restarts a hung worker (its main loop, not a request thread)."""

LISTEN_BACKLOG = 2048
"""Pending connections the kernel queues while every thread is busy."""


class ServiceError(Exception):
    """The service cannot start; the message is the one line to show."""


@dataclass
class ServeOptions:
    """Where and how the master listens."""

    host: str
    port: int
    threads: int = DEFAULT_THREADS
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    addresses = {info[4][0].split("%", 1)[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def check_tls(opts: ServeOptions) -> None:
    """Load the certificate, key and client CA once here, so a bad file is a clear error before serving."""
    if bool(opts.tls_cert) != bool(opts.tls_key):
        raise ServiceError("--tls-cert and --tls-key go together")
    if opts.tls_client_ca and not opts.tls_cert:
        raise ServiceError("--tls-client-ca needs --tls-cert and --tls-key (mTLS is on top of HTTPS)")
    if not opts.tls_cert:
        return
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile=opts.tls_cert, keyfile=opts.tls_key)
    except (ssl.SSLError, OSError) as exc:
        raise ServiceError(f"cannot load --tls-cert {opts.tls_cert} / --tls-key {opts.tls_key}: {exc}") from exc
    if opts.tls_client_ca:
        try:
            context.load_verify_locations(cafile=opts.tls_client_ca)
        except (ssl.SSLError, OSError) as exc:
            raise ServiceError(f"cannot load --tls-client-ca {opts.tls_client_ca}: {exc}") from exc


def lock_database(db_path: str | Path) -> IO:
    """Hold ``DB.lock`` exclusively for the life of this process; ServiceError if another master holds it."""
    path = Path(f"{db_path}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ServiceError(f"another master is serving {db_path} (it holds {path})") from None
    return handle


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (not yet listening); ServiceError naming the address if that fails."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ServiceError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        raise ServiceError(f"cannot listen on {host}:{port}: {reason}") from exc
    return sock


def gunicorn_settings(listener: socket.socket, opts: ServeOptions) -> dict[str, Any]:
    """The gunicorn configuration: gthread, exactly one worker, the pre-bound socket, TLS and mTLS."""
    settings: dict[str, Any] = {
        "bind": [f"fd://{listener.fileno()}"],
        "workers": 1,
        "worker_class": "gthread",
        "threads": opts.threads,
        "worker_connections": max(1000, opts.threads * 2),
        "backlog": LISTEN_BACKLOG,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "timeout": WORKER_TIMEOUT_S,
        "max_requests": 0,  # never recycle: the long-poll signal lives in this worker
        "preload_app": True,
        "proc_name": "ffwatt-master",
        "errorlog": "-",
        "accesslog": None,
        "loglevel": "info",
        # gunicorn >= 25.1 opens a control socket under $HOME or $XDG_RUNTIME_DIR by default; not for us.
        "control_socket_disable": True,
    }
    if opts.tls_cert:
        settings.update(certfile=opts.tls_cert, keyfile=opts.tls_key)
    if opts.tls_client_ca:
        settings.update(ca_certs=opts.tls_client_ca, cert_reqs=ssl.CERT_REQUIRED)
    return settings


class MasterService(BaseApplication):
    """gunicorn serving an already-built Flask app (no config file, no command line of gunicorn's own)."""

    def __init__(self, app, settings: dict[str, Any]):
        self.application = app
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self.application


def serve(app, listener: socket.socket, opts: ServeOptions) -> None:
    """Serve ``app`` on ``listener`` until SIGTERM/SIGINT; gunicorn exits the process (0 on a clean stop)."""
    settings = gunicorn_settings(listener, opts)
    # background work (the VictoriaMetrics pusher) runs in the worker, which serves /metrics and counts into it
    settings["post_worker_init"] = lambda worker: vmpush.start(app)
    settings["worker_exit"] = lambda server, worker: vmpush.stop(app)
    listener.detach()  # gunicorn owns the descriptor from here on (and closes it)
    MasterService(app, settings).run()
