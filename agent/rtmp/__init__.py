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
import threading
from collections.abc import Iterator
from pathlib import Path

from agent.rtmp.ingest import APPLICATION, ExternalIngest, Ingest, IngestError, ListenIngest, PullingIngest
from agent.rtmp.listening import START_TIMEOUT_S, free_port, wait_listening
from agent.rtmp.nginx import ENV_NGINX, ENV_RTMP_MODULE, NginxIngest, NginxInstall, find_nginx
from agent.rtmp.receiver import RECEIVER_GRACE_S, Receiver, ReceiverResult, start_receiver

__all__ = [
    "APPLICATION",
    "ENV_NGINX",
    "ENV_RTMP_MODULE",
    "ENV_RTMP_PORT",
    "RECEIVER_GRACE_S",
    "START_TIMEOUT_S",
    "ExternalIngest",
    "Ingest",
    "IngestError",
    "ListenIngest",
    "NginxIngest",
    "NginxInstall",
    "PullingIngest",
    "Receiver",
    "ReceiverResult",
    "find_nginx",
    "free_port",
    "open_ingest",
    "start_receiver",
    "wait_listening",
]

ENV_RTMP_PORT = "FFWATT_RTMP_PORT"
"""A fixed loopback port for the agent's nginx instead of a free one."""


@contextlib.contextmanager
def open_ingest(
    mode: str | None,
    ffmpeg_path: str,
    workdir: Path,
    rtmp_url: str | None = None,
    *,
    port: int | None = None,
    nginx: NginxInstall | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[Ingest]:
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
