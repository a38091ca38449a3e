"""A rough, deliberately long estimate of how long a campaign's jobs take to run."""
from __future__ import annotations

from collections.abc import Iterable

from master.campaign.expand import JobSpec

ESTIMATE_FACTOR = 4.0
"""Wall seconds per second of input assumed per job. Measured on 2 cores (testsrc2 input, FFmpeg 5.1): x264 ``slow``
at 1080p takes 3.6 s per second of input, ``medium`` 1.4, ``veryfast`` 0.9 and at 720p 0.45; hardware encoders are
faster still. So the estimate holds for the slowest shipped preset and runs long for everything else."""


STREAM_SETUP_S = 5.0
"""Live kinds: seconds per streaming window beyond its duration (ingest start, receivers' start and drain)."""

LEVEL_REST_S = 2.0
"""Density: the agent's unmeasured rest between two levels (agent/scenarios/density.py ``LEVEL_REST_S``)."""


def _window(duration: float, streams: int, stagger: float) -> float:
    """One live window: real time (``-re``), so the duration once, plus the staggered starts and the setup."""
    return duration + stagger * max(streams - 1, 0) + STREAM_SETUP_S


def density_levels(max_streams: int) -> list[int]:
    """The stream counts a density search may run at most: 1, 2, 4, ... up to ``max_streams``, then a bisection
    (counted at ``max_streams`` streams each, the longest it could be)."""
    up = [1]
    while up[-1] < max_streams:
        up.append(min(up[-1] * 2, max_streams))
    gap = max(max_streams - up[-2], 1) if len(up) > 1 else 1
    return up + [max_streams] * max(gap - 1, 0).bit_length()


def job_seconds(job: JobSpec, factor: float = ESTIMATE_FACTOR) -> float:
    """One job: idle baseline + stabilization + cooldown + its work. A ``baseline`` job's duration is wall time (it
    runs no encoder); ``live`` and ``multi`` stream in real time (duration once, plus staggered starts); ``density``
    counts the most levels its search can run; encodes (``transcode``, ``ladder``) take duration x ``factor``.
    Missing values count 0."""
    params = job.params
    waits = sum(params.get(name) or 0 for name in ("idle_baseline", "stabilization", "cooldown"))
    duration = params.get("duration") or 0
    kind = params.get("kind", job.kind)
    stagger = params.get("stagger") or 0
    if kind == "baseline":
        return waits + duration
    if kind == "live":
        return waits + _window(duration, 1, 0)
    if kind == "multi":
        streams = len(params.get("bitrates") or []) or params.get("count") or 1
        return waits + _window(duration, streams, stagger)
    if kind == "density":
        levels = density_levels(params.get("max_streams") or 1)
        return waits + sum(_window(duration, n, stagger) + LEVEL_REST_S for n in levels)
    return waits + factor * duration


def estimate_seconds(jobs: Iterable[JobSpec], factor: float = ESTIMATE_FACTOR) -> float:
    """Sum of :func:`job_seconds` over the jobs."""
    return sum(job_seconds(job, factor) for job in jobs)


def format_seconds(seconds: float) -> str:
    """``45 s``, ``2 min 48 s``, ``49 min``, ``1 h 5 min``: seconds only under 10 minutes."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
