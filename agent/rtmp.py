"""RTMP ingests for live jobs, and the receivers that count what arrived.

An ingest is a context manager (:func:`open_ingest`) that hands out one :class:`Receiver` per stream
(:meth:`Ingest.receiver`): the receiver is started and ready before its pusher, gives the pusher its publish URL,
counts the video frames it got, and is stopped by :meth:`Receiver.finish`.

- ``nginx`` (:class:`NginxIngest`): nginx with the RTMP module, started by the agent from a config it writes in its
  work dir: ``daemon off``, one worker, its own pid file, error log and prefix there, ``load_module`` of the RTMP
  module (found on disk, see :func:`find_nginx`), listening on a free loopback port (127.0.0.1). It is up once its
  master process holds the listening socket; it is stopped by process group (SIGTERM, then SIGKILL), never by name.
  Each stream's receiver is a puller: FFmpeg playing ``rtmp://127.0.0.1:PORT/live/KEY`` back.
- ``listen`` (:class:`ListenIngest`): no server; each stream's receiver is FFmpeg's own RTMP listener
  (``ffmpeg -listen 1 -i rtmp://127.0.0.1:PORT/live/KEY``) on its own free loopback port, ready once it listens.
- ``external`` (:class:`ExternalIngest`, ``rtmp_url``): an ingest someone else runs; the agent starts no server, the
  pushers publish to ``rtmp_url/KEY`` and each receiver pulls the stream back from the same URL (so the ingest must
  allow playing it, as nginx-rtmp does by default).

``auto`` is nginx when nginx and its RTMP module are installed, else ``listen``; ``nginx`` and ``listen`` insist.

Configuration (for operators and tests; all optional): ``FFWATT_NGINX`` (the nginx binary), ``FFWATT_NGINX_RTMP_MODULE``
(the module's ``.so``), ``FFWATT_RTMP_PORT`` (a fixed loopback port for the agent's nginx instead of a free one).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from agent.ffmpeg.live import is_frame_line, receiver_argv
from agent.process import Child, start_process

ENV_NGINX = "FFWATT_NGINX"
ENV_RTMP_MODULE = "FFWATT_NGINX_RTMP_MODULE"
ENV_RTMP_PORT = "FFWATT_RTMP_PORT"

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
"""Where nginx is looked for when it is not on PATH."""

RTMP_MODULE_CANDIDATES = (
    "/usr/lib/nginx/modules/ngx_rtmp_module.so",          # Debian, Ubuntu (libnginx-mod-rtmp)
    "/usr/lib64/nginx/modules/ngx_rtmp_module.so",        # Fedora, RHEL
    "/usr/share/nginx/modules/ngx_rtmp_module.so",
    "/usr/lib/nginx/modules/ngx_rtmp_module.so.0",
    "/usr/local/nginx/modules/ngx_rtmp_module.so",
    "/usr/local/lib/nginx/modules/ngx_rtmp_module.so",
)
"""Where the dynamic RTMP module is looked for (after nginx's own ``--modules-path``)."""

APPLICATION = "live"
"""The RTMP application the agent's ingest serves."""

START_TIMEOUT_S = 10.0
"""Longest wait for an ingest or a listener to listen (nginx alone retries a busy port for 2.5 s)."""

STOP_GRACE_S = 3.0
"""Seconds between SIGTERM and SIGKILL when an ingest is stopped."""

RECEIVER_GRACE_S = 2.0
"""How long a receiver may keep reading after its pusher ended before it is stopped."""


class IngestError(Exception):
    """An ingest could not be started or used; the message is the one-line reason."""


@dataclass(frozen=True)
class NginxInstall:
    """An nginx binary and its RTMP module (``module`` None: built in, no ``load_module`` needed)."""

    binary: str
    module: str | None


def _nginx_build_info(binary: str) -> str:
    try:
        out = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout + out.stderr


def find_nginx(binary: str | None = None, module: str | None = None) -> tuple[NginxInstall | None, str | None]:
    """The nginx to run and its RTMP module, or None and why not.

    ``binary``/``module`` (else ``$FFWATT_NGINX``/``$FFWATT_NGINX_RTMP_MODULE``) are taken as given: a named module
    that does not load makes nginx fail to start, with nginx's own reason. Otherwise nginx is looked up on PATH and in
    :data:`NGINX_CANDIDATES`, and the module in nginx's ``--modules-path`` and :data:`RTMP_MODULE_CANDIDATES`; an
    nginx built with the module (``--add-module=...rtmp...``) needs none.
    """
    binary = binary or os.environ.get(ENV_NGINX) or shutil.which("nginx") or next(
        (c for c in NGINX_CANDIDATES if os.access(c, os.X_OK)), None)
    if not binary or not os.access(binary, os.X_OK):
        return None, f"nginx is not installed ({binary or 'not on PATH nor in ' + ', '.join(NGINX_CANDIDATES)})"
    module = module or os.environ.get(ENV_RTMP_MODULE)
    if module:
        if not os.path.exists(module):
            return None, f"nginx RTMP module not found at {module}"
        return NginxInstall(binary, module), None
    info = _nginx_build_info(binary)
    if re.search(r"--add-module=\S*rtmp", info):
        return NginxInstall(binary, None), None
    candidates = list(RTMP_MODULE_CANDIDATES)
    match = re.search(r"--modules-path=(\S+)", info)
    if match:
        candidates.insert(0, os.path.join(match.group(1), "ngx_rtmp_module.so"))
    found = next((c for c in candidates if os.path.isfile(c)), None)
    if found is None:
        return None, f"nginx has no RTMP module (looked for {', '.join(candidates)}; Debian: libnginx-mod-rtmp)"
    return NginxInstall(binary, found), None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listen_inodes(port: int) -> set[str] | None:
    """Socket inodes listening on 127.0.0.1:``port`` (or any address), from /proc/net/tcp; None without /proc."""
    try:
        with open("/proc/net/tcp") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return None
    inodes = set()
    for line in lines:
        parts = line.split()
        if len(parts) < 10 or parts[3] != "0A":  # 0A: LISTEN
            continue
        addr, _, hex_port = parts[1].partition(":")
        if int(hex_port, 16) == port and addr in ("0100007F", "00000000"):
            inodes.add(parts[9])
    return inodes


def _holds_socket(pid: int, inodes: set[str]) -> bool:
    targets = {f"socket:[{i}]" for i in inodes}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                return True
        except OSError:
            continue
    return False


def wait_listening(child: Child, port: int, timeout_s: float = START_TIMEOUT_S,
                   cancel: threading.Event | None = None) -> str | None:
    """Wait until ``child`` itself listens on 127.0.0.1:``port``. None when it does; else why not ("exited",
    "timeout" or "cancelled").

    Readiness is read from /proc (the listening socket's inode among the child's open files), never by connecting:
    FFmpeg's ``-listen`` server takes exactly one connection, and a port another process holds would answer a probe.
    Without /proc, the child being alive 0.5 s after start is taken as ready.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if child.exited():
            return "exited"
        inodes = _listen_inodes(port)
        if inodes is None:
            if time.monotonic() - child.started >= 0.5:
                return None
        elif inodes and _holds_socket(child.pid, inodes):
            return None
        if cancel is not None and cancel.is_set():
            return "cancelled"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(0.02)


# --- receivers -------------------------------------------------------------------------------------------------------

@dataclass
class ReceiverResult:
    """What one stream's receiving end got."""

    frames: int | None
    """Video frames received; None when nothing could count them (``reason`` says why)."""
    reason: str | None = None
    stderr_tail: list[str] = field(default_factory=list)


class Receiver:
    """The receiving end of one stream: started, ready for its pusher (``publish_url``), counting frames."""

    def __init__(self, publish_url: str, child: Child | None = None, not_counted: str | None = None) -> None:
        self.publish_url = publish_url
        self.child = child
        self.not_counted = not_counted
        self._frames = 0
        self._lock = threading.Lock()

    def on_line(self, line: str) -> None:
        if is_frame_line(line):
            with self._lock:
                self._frames += 1

    @property
    def frames(self) -> int:
        with self._lock:
            return self._frames

    def finish(self, frames_sent: int | None = None, grace_s: float = RECEIVER_GRACE_S) -> ReceiverResult:
        """Let the receiver read what is still in flight (until it counted ``frames_sent``, exited, or ``grace_s``
        passed), then stop it and return its count. Call it after the pusher exited; always call it."""
        if self.child is None:
            return ReceiverResult(None, self.not_counted)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and not self.child.exited():
            if frames_sent is not None and self.frames >= frames_sent:
                break
            time.sleep(0.02)
        # A receiver blocked on a quiet RTMP connection ignores a first SIGTERM: its count is already on our side,
        # so it is stopped quickly.
        self.child.stop(grace_s=0.3)
        outcome = self.child.finish()
        tail = [line for line in outcome.stderr_tail if line.strip()]
        return ReceiverResult(self.frames, None, tail)

    def abort(self) -> None:
        """Stop the receiver without waiting (error paths)."""
        if self.child is not None:
            self.child.stop(grace_s=0.3)
            self.child.finish()


def _start_receiver(ffmpeg_path: str, url: str, duration: float | None, listen: bool) -> tuple[Receiver, Child]:
    receiver = Receiver(url)
    child = start_process(receiver_argv(ffmpeg_path, url, duration, listen=listen), on_stdout_line=receiver.on_line)
    receiver.child = child
    return receiver, child


# --- ingests ---------------------------------------------------------------------------------------------------------

class Ingest:
    """Where the pushers publish; hands out one ready :class:`Receiver` per stream."""

    kind = ""
    notes: list[str]

    def receiver(self, key: str, duration: float | None, cancel: threading.Event | None = None) -> Receiver:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __enter__(self) -> "Ingest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _PullingIngest(Ingest):
    """An ingest a puller can play each stream back from."""

    base_url = ""

    def __init__(self, ffmpeg_path: str) -> None:
        self.ffmpeg_path = ffmpeg_path
        self.notes = []

    def receiver(self, key: str, duration: float | None, cancel: threading.Event | None = None) -> Receiver:
        receiver, _ = _start_receiver(self.ffmpeg_path, f"{self.base_url}/{key}", duration, listen=False)
        return receiver


class NginxIngest(_PullingIngest):
    """nginx-rtmp started by the agent on a loopback port (see the module docstring). Use as a context manager."""

    kind = "nginx"

    def __init__(self, ffmpeg_path: str, workdir: Path, install: NginxInstall, port: int | None = None,
                 start_timeout_s: float = START_TIMEOUT_S, cancel: threading.Event | None = None) -> None:
        super().__init__(ffmpeg_path)
        self.install = install
        self.port = port or free_port()
        self.dir = Path(workdir).absolute() / f"nginx-rtmp-{self.port}-{os.getpid()}-{time.monotonic_ns()}"
        self.conf = self.dir / "nginx.conf"
        self.error_log = self.dir / "error.log"
        self.base_url = f"rtmp://127.0.0.1:{self.port}/{APPLICATION}"
        self.child: Child | None = None
        self._start(start_timeout_s, cancel)
        self.notes.append(f"ingest: nginx-rtmp ({install.binary}, module {install.module or 'built in'}) on "
                          f"127.0.0.1:{self.port}, started by the agent")

    def config(self) -> str:
        """The nginx config: everything nginx writes lives in :attr:`dir`."""
        d = self.dir
        load = f"load_module {self.install.module};\n" if self.install.module else ""
        return (
            f"{load}daemon off;\nmaster_process on;\nworker_processes 1;\npid {d / 'nginx.pid'};\n"
            f"error_log {self.error_log} warn;\n"
            "events { worker_connections 1024; }\n"
            "rtmp {\n  server {\n"
            f"    listen 127.0.0.1:{self.port};\n    chunk_size 4096;\n"
            f"    application {APPLICATION} {{\n      live on;\n      record off;\n"
            "      allow publish 127.0.0.1;\n      deny publish all;\n      allow play 127.0.0.1;\n"
            "      deny play all;\n    }\n  }\n}\n")

    def _start(self, timeout_s: float, cancel: threading.Event | None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.config())
        argv = [self.install.binary, "-p", f"{self.dir}/", "-c", str(self.conf), "-e", str(self.error_log)]
        try:
            self.child = start_process(argv, cwd=str(self.dir))
        except OSError as exc:
            raise IngestError(f"nginx failed to start: {exc}") from exc
        why = wait_listening(self.child, self.port, timeout_s, cancel)
        if why is None:
            return
        self.close()
        if why == "cancelled":
            raise IngestError("cancelled while nginx was starting")
        detail = self._error_lines() or "no error logged"
        if why == "timeout":
            raise IngestError(f"nginx did not listen on 127.0.0.1:{self.port} within {timeout_s:g} s: {detail}")
        raise IngestError(f"nginx failed to start on 127.0.0.1:{self.port}: {detail}")

    def _error_lines(self) -> str:
        lines: list[str] = []
        try:
            lines += self.error_log.read_text(errors="replace").splitlines()
        except OSError:
            pass
        if self.child is not None:
            lines += self.child.tail
        seen: list[str] = []
        for line in lines:
            if not re.search(r"\[(emerg|alert|crit|error)\]", line):
                continue
            line = re.sub(r"^.*?\[(emerg|alert|crit|error)\] (\d+#\d+: )?", "", line).strip()
            if line and line not in seen:
                seen.append(line)
        return "; ".join(seen[-3:])

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None

    def close(self) -> None:
        """Stop nginx by its process group (SIGTERM, SIGKILL after a grace period) and reap it."""
        if self.child is not None:
            self.child.stop(grace_s=STOP_GRACE_S)
            self.child.finish()


class ListenIngest(Ingest):
    """No server: each receiver is FFmpeg's own RTMP listener on a free loopback port."""

    kind = "listen"

    def __init__(self, ffmpeg_path: str, start_timeout_s: float = START_TIMEOUT_S, port: int | None = None) -> None:
        self.ffmpeg_path = ffmpeg_path
        self.start_timeout_s = start_timeout_s
        self.port = port
        self.notes = ["ingest: FFmpeg's own RTMP listener (-listen 1), one per stream, on loopback ports"]

    def receiver(self, key: str, duration: float | None, cancel: threading.Event | None = None) -> Receiver:
        port = self.port or free_port()
        url = f"rtmp://127.0.0.1:{port}/{APPLICATION}/{key}"
        receiver, child = _start_receiver(self.ffmpeg_path, url, duration, listen=True)
        why = wait_listening(child, port, self.start_timeout_s, cancel)
        if why is None:
            return receiver
        receiver.abort()
        if why == "cancelled":
            raise IngestError("cancelled while the RTMP listener was starting")
        detail = "; ".join(line for line in child.tail if line.strip())[-300:] or "no error printed"
        if why == "timeout":
            raise IngestError(f"FFmpeg's RTMP listener did not listen on 127.0.0.1:{port} within "
                              f"{self.start_timeout_s:g} s: {detail}")
        raise IngestError(f"FFmpeg's RTMP listener failed to start on 127.0.0.1:{port}: {detail}")


class ExternalIngest(_PullingIngest):
    """An ingest the agent does not run (``rtmp_url``): publish to ``rtmp_url/KEY``, pull back from the same URL."""

    kind = "external"

    def __init__(self, ffmpeg_path: str, url: str) -> None:
        super().__init__(ffmpeg_path)
        self.base_url = url.rstrip("/")
        self.notes.append(f"ingest: external {self.base_url} (not started by the agent); each stream is pulled back "
                          "from it to count the frames received")


@contextlib.contextmanager
def open_ingest(mode: str | None, ffmpeg_path: str, workdir: Path, rtmp_url: str | None = None, *,
                port: int | None = None, nginx: NginxInstall | None = None,
                cancel: threading.Event | None = None) -> Iterator[Ingest]:
    """The ingest a job asked for (``auto``, ``nginx``, ``listen``; ``rtmp_url`` wins over all), stopped on exit.

    ``auto`` uses nginx when it and its RTMP module are installed and FFmpeg's listener otherwise (the note says
    why); an installed nginx that fails to start fails the job, it is not silently replaced. ``port`` (else
    ``$FFWATT_RTMP_PORT``, else a free one) is nginx's. Raises :class:`IngestError` with the reason.
    """
    mode = mode or "auto"
    if mode not in ("auto", "nginx", "listen"):
        raise IngestError(f"unknown ingest {mode!r}: use auto, nginx or listen")
    if rtmp_url:
        if not re.match(r"^rtmps?://\S+$", rtmp_url):
            raise IngestError(f"rtmp_url must look like rtmp://HOST:PORT/APP, got {rtmp_url!r}")
        ingest: Ingest = ExternalIngest(ffmpeg_path, rtmp_url)
    elif mode == "listen":
        ingest = ListenIngest(ffmpeg_path)
    else:
        install, why_not = (nginx, None) if nginx is not None else find_nginx()
        if install is None and mode == "nginx":
            raise IngestError(f"ingest nginx asked for but unavailable: {why_not}")
        if install is None:
            ingest = ListenIngest(ffmpeg_path)
            ingest.notes.append(f"ingest auto: {why_not}; FFmpeg's own RTMP listener used instead")
        else:
            env_port = os.environ.get(ENV_RTMP_PORT)
            try:
                port = port or (int(env_port) if env_port else None)
            except ValueError as exc:
                raise IngestError(f"${ENV_RTMP_PORT} must be a port number, got {env_port!r}") from exc
            ingest = NginxIngest(ffmpeg_path, workdir, install, port=port, cancel=cancel)
    try:
        yield ingest
    finally:
        ingest.close()
