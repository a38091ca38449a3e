"""The phases of a measured job, in one place: idle baseline -> stabilization -> cancel check -> measured run ->
cooldown. Every measuring kind (transcode, ladder, live, multi, density) composes :func:`run_phases` with its own
measured run; the ``baseline`` kind is the idle window alone (:func:`idle_window`).

- idle baseline (``params.idle_baseline`` seconds, at ``params.sample_rate``): a sampler window with no job running,
  whose mean watts the measured run's dynamic energy subtracts. The wait is ``ctx.cancel.wait``: a cancel ends it at
  once and fails the job.
- stabilization and cooldown (``params.stabilization`` / ``params.cooldown`` seconds, default 0): waits outside every
  measured window, before the measured run (after the idle baseline) and at the end of the job, so the next one starts
  from a machine back at rest. A cancel ends them and fails the job.
- the measured run: the kind's own sampler windows (:func:`sampling`, :func:`measured_ffmpeg` for one FFmpeg process).
  Live watts go to ``ctx.live`` while a window is open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from agent.ffmpeg.runner import FFmpegRun, run_ffmpeg
from agent.sampler import DEFAULT_RATE_HZ, Measurement, Sampler
from agent.scenarios.base import JobFailed, RunContext

T = TypeVar("T")

IDLE_CANCELLED = "cancelled during the idle baseline"


def sample_rate(params: dict[str, Any]) -> float:
    """The job's ``sample_rate`` (samples per second), :data:`agent.sampler.DEFAULT_RATE_HZ` when unset."""
    return params.get("sample_rate") or DEFAULT_RATE_HZ


@contextmanager
def sampling(ctx: RunContext, rate_hz: float) -> Iterator[Sampler]:
    """A started sampler over ``ctx.sources`` whose live watts ``ctx.live`` shows; stopped on the way out (a window
    the body already closed with ``sampler.stop()`` keeps that measurement: stop is idempotent)."""
    sampler = Sampler(ctx.sources, rate_hz=rate_hz)
    sampler.start()
    ctx.live.watts = sampler.current_watts
    try:
        yield sampler
    finally:
        sampler.stop()
        ctx.live.watts = None


def idle_window(ctx: RunContext, seconds: float, rate_hz: float) -> tuple[Measurement, bool]:
    """Sample ``ctx.sources`` for ``seconds`` with no job running: (measurement, whether a cancel ended it early)."""
    with sampling(ctx, rate_hz) as sampler:
        cancelled = ctx.cancel.wait(seconds)
        return sampler.stop(), cancelled


def idle_baseline(params: dict[str, Any], ctx: RunContext) -> Measurement | None:
    """The job's idle baseline (``params.idle_baseline`` seconds, at ``params.sample_rate``), or None when not asked.
    A cancel ends it at once and fails the job."""
    if not params.get("idle_baseline"):
        return None
    ctx.live.phase = "idle baseline"
    measurement, cancelled = idle_window(ctx, params["idle_baseline"], sample_rate(params))
    if cancelled:
        raise JobFailed(IDLE_CANCELLED)
    return measurement


def unmeasured_wait(ctx: RunContext, seconds: float | None, phase: str, cancelled: str) -> None:
    """Wait ``seconds`` outside the measured window (stabilization, cooldown, a rest between density levels); a
    cancel ends the wait and fails the job with ``cancelled``."""
    if not seconds or seconds <= 0:
        return
    ctx.live.phase = phase
    if ctx.cancel.wait(seconds):
        raise JobFailed(cancelled)


def run_phases(
    params: dict[str, Any], ctx: RunContext, what: str, measured_run: Callable[[Measurement | None], T]
) -> T:
    """idle baseline -> stabilization -> cancel check ("cancelled before ``what``") -> ``measured_run(baseline)`` ->
    cooldown; returns what the measured run returned."""
    baseline = idle_baseline(params, ctx)
    unmeasured_wait(ctx, params.get("stabilization"), "stabilizing", "cancelled while stabilizing")
    if ctx.cancel.is_set():
        raise JobFailed(f"cancelled before {what}")
    result = measured_run(baseline)
    unmeasured_wait(ctx, params.get("cooldown"), "cooling down", "cancelled while cooling down")
    return result


def measured_ffmpeg(argv: list[str], params: dict[str, Any], ctx: RunContext) -> tuple[FFmpegRun, Measurement]:
    """Run one FFmpeg process inside a sampler window (``params.sample_rate``, ``params.timeout``); the final power
    reading is taken while FFmpeg has exited but is not reaped. Live progress and watts go to ``ctx.live``."""

    def on_progress(progress) -> None:
        ctx.live.progress = {k: v for k, v in dataclasses.asdict(progress).items() if v is not None}

    with sampling(ctx, sample_rate(params)) as sampler:
        run = run_ffmpeg(
            argv,
            params["timeout"],
            on_progress=on_progress,
            on_start=sampler.track,
            on_exited=lambda _pid: sampler.stop(),
            cancel=ctx.cancel,
        )
        return run, sampler.stop()
