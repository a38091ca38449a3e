"""The contract every scenario kind follows, and the context the agent hands it.

Like a PerfKit benchmark module: ``prepare`` builds what the run needs, ``run`` measures and returns the result
fields (docs/WIRE.md "Result"), ``cleanup`` removes what prepare and run left behind. A scenario never crashes the
agent: it raises :class:`JobFailed` with a one-line reason, or lets an exception escape that the agent turns into a
failed result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class JobFailed(Exception):
    """The job cannot produce a valid measurement; the message is the one-line reason shown to users."""

    def __init__(self, reason: str, extra: dict[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.extra = extra or {}


@dataclass
class LiveStatus:
    """What the heartbeat and progress display read while a job runs."""

    job_id: str | None = None
    job_name: str | None = None
    phase: str = "idle"
    progress: dict[str, Any] = field(default_factory=dict)
    watts: Callable[[], float | None] | None = None

    def current_watts(self) -> float | None:
        return self.watts() if self.watts is not None else None

    def snapshot(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "job_name": self.job_name, "phase": self.phase, **self.progress}


@dataclass
class RunContext:
    """Everything a scenario may use on this host."""

    ffmpeg: Any  # agent.ffmpeg.locate.FFmpegBinary
    sources: list  # agent.power.base.PowerSource
    power_notes: list[str]
    workdir: Path
    encoder_check: Callable[[str], dict]  # encoder -> {"usable": bool, "reason": str | None}
    cancel: threading.Event = field(default_factory=threading.Event)
    live: LiveStatus = field(default_factory=LiveStatus)
    input_dirs: tuple[Path, ...] = ()
    """Directories a job's file input may be in (``--input-dir``), besides ``workdir``; see :func:`require_input`."""


def require_encoder(ctx: RunContext, encoder: str) -> None:
    """Fail the job with "encoder unavailable: <encoder> (<reason>)" unless this host's probe found it usable."""
    check = ctx.encoder_check(encoder)
    if not check.get("usable"):
        raise JobFailed(f"encoder unavailable: {encoder} ({check.get('reason') or 'probe failed'})")


def require_input(ctx: RunContext, params: dict[str, Any]) -> None:
    """Fail the job unless its file input (if any) is inside ``ctx.input_dirs`` or ``ctx.workdir``, compared once
    symlinks and ``..`` are resolved: a master may not make this agent read any file it likes."""
    spec = params.get("input")
    if not isinstance(spec, dict) or spec.get("type") != "file" or not spec.get("path"):
        return
    path = str(spec["path"])
    try:
        resolved = Path(path).resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL, a symlink loop
        raise JobFailed(f"input {path!r} cannot be resolved: {exc}") from None
    allowed = [Path(d).resolve() for d in (*ctx.input_dirs, ctx.workdir)]
    if not any(resolved.is_relative_to(d) for d in allowed):
        via = f" (resolves to {resolved})" if str(resolved) != path else ""
        raise JobFailed(
            f"input {path}{via} is outside the allowed input directories: "
            f"{', '.join(str(d) for d in allowed)}; start the agent with --input-dir DIR to allow one"
        )


def ffmpeg_info(ctx: RunContext, argv: list[str] | None, stderr_tail: list[str]) -> dict[str, Any]:
    """The result's ``ffmpeg`` field: the command line, this host's FFmpeg and the end of its stderr."""
    return {"argv": argv, "version": ctx.ffmpeg.version, "path": ctx.ffmpeg.path, "stderr_tail": stderr_tail}


class Scenario:
    """Base class: one subclass per kind, registered in :mod:`agent.scenarios`."""

    kind: str = ""

    def prepare(self, job: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {}

    def run(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def cleanup(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> None:
        return None
