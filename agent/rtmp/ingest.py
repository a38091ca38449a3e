"""What an ingest is (:class:`Ingest`: hands out one ready :class:`~agent.rtmp.receiver.Receiver` per stream), and
the two that start no server: FFmpeg's own listener (``listen``) and an ingest someone else runs (``external``)."""

from __future__ import annotations

import threading

from agent.rtmp.listening import START_TIMEOUT_S, free_port, wait_listening
from agent.rtmp.receiver import Receiver, start_receiver

APPLICATION = "live"
"""The RTMP application the agent's ingest serves."""


class IngestError(Exception):
    """An ingest could not be started or used; the message is the one-line reason."""


class Ingest:
    """Where the pushers publish; hands out one ready :class:`Receiver` per stream."""

    kind = ""
    notes: list[str]

    def receiver(self, key: str, duration: float | None, cancel: threading.Event | None = None) -> Receiver:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PullingIngest(Ingest):
    """An ingest a puller can play each stream back from."""

    base_url = ""

    def __init__(self, ffmpeg_path: str) -> None:
        self.ffmpeg_path = ffmpeg_path
        self.notes = []

    def receiver(self, key: str, duration: float | None, cancel: threading.Event | None = None) -> Receiver:
        receiver, _ = start_receiver(self.ffmpeg_path, f"{self.base_url}/{key}", duration, listen=False)
        return receiver


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
        receiver, child = start_receiver(self.ffmpeg_path, url, duration, listen=True)
        why = wait_listening(child, port, self.start_timeout_s, cancel)
        if why is None:
            return receiver
        receiver.abort()
        if why == "cancelled":
            raise IngestError("cancelled while the RTMP listener was starting")
        detail = "; ".join(line for line in child.tail if line.strip())[-300:] or "no error printed"
        if why == "timeout":
            raise IngestError(
                f"FFmpeg's RTMP listener did not listen on 127.0.0.1:{port} within {self.start_timeout_s:g} s: {detail}"
            )
        raise IngestError(f"FFmpeg's RTMP listener failed to start on 127.0.0.1:{port}: {detail}")


class ExternalIngest(PullingIngest):
    """An ingest the agent does not run (``rtmp_url``): publish to ``rtmp_url/KEY``, pull back from the same URL."""

    kind = "external"

    def __init__(self, ffmpeg_path: str, url: str) -> None:
        super().__init__(ffmpeg_path)
        self.base_url = url.rstrip("/")
        self.notes.append(
            f"ingest: external {self.base_url} (not started by the agent); each stream is pulled back "
            "from it to count the frames received"
        )
