"""The receiving end of one stream: an FFmpeg that plays it back (or listens for it) and counts its video frames."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from agent.ffmpeg.live import is_frame_line, receiver_argv
from agent.process import Child, start_process

RECEIVER_GRACE_S = 2.0
"""How long a receiver may keep reading after its pusher ended before it is stopped."""


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


def start_receiver(ffmpeg_path: str, url: str, duration: float | None, listen: bool) -> tuple[Receiver, Child]:
    receiver = Receiver(url)
    child = start_process(receiver_argv(ffmpeg_path, url, duration, listen=listen), on_stdout_line=receiver.on_line)
    receiver.child = child
    return receiver, child
