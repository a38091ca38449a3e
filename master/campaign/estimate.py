"""A rough, deliberately long estimate of how long a campaign's jobs take to run, preparing their sources included."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from master.campaign.expand import JobSpec

ESTIMATE_FACTOR = 4.0
"""Wall seconds per second of input assumed per job. Measured on 2 cores (testsrc2 input, FFmpeg 5.1): x264 ``slow``
at 1080p takes 3.6 s per second of input, ``medium`` 1.4, ``veryfast`` 0.9 and at 720p 0.45; hardware encoders are
faster still. So the estimate holds for the slowest shipped preset and runs long for everything else."""


STREAM_SETUP_S = 5.0
"""Live kinds: seconds per streaming window beyond its duration (ingest start, receivers' start and drain)."""

LEVEL_REST_S = 2.0
"""Density: the agent's unmeasured rest between two levels (agent/scenarios/density.py ``LEVEL_REST_S``)."""


RENDER_FACTOR = 0.5
"""Wall seconds per second of content to prepare a generated source (``input.render: prepared``): render it once to a
raw file in the agent's cache, then read it back once for SI/TI. A rough model, long on purpose like
:data:`ESTIMATE_FACTOR`: generating testsrc2 (with noise for ``medium``) and writing raw frames runs at several times
real time at 720p on 2 cores, the SI/TI pass at about real time or better at 1080p; twice real time covers both."""

RENDER_BUDGET_BYTES = 2 * 1024 ** 3
"""Largest prepared file (agent/sources.py ``DEFAULT_BUDGET_BYTES``): a longer input is rendered as a segment of
this many bytes of raw yuv420p frames, which the encode loops, so rendering never takes longer than that segment."""

DEFAULT_SIZE, DEFAULT_RATE = "1280x720", 30
"""What the agent renders when neither the input nor the job says (agent/ffmpeg/command.py)."""

LIVE_KINDS = ("live", "multi", "density")
"""Kinds whose prepared file also carries the audio tone (a different file from a transcode's of the same frames)."""


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


def prepared_source(job: JobSpec) -> tuple | None:
    """What makes a job's prepared source file (the agent renders each distinct one once and keeps it in its cache):
    content or lavfi source, size, rate, seconds, and whether it carries the live kinds' audio; None when the job
    prepares nothing (a file input, ``render: inline``, a baseline)."""
    params = job.params
    spec: Any = params.get("input")
    if not isinstance(spec, dict) or spec.get("type") != "lavfi" or spec.get("render", "prepared") != "prepared":
        return None
    kind = params.get("kind", job.kind)
    audio = kind in LIVE_KINDS and params.get("audio") is not False
    return (spec.get("content"), spec.get("source"), spec.get("size") or params.get("resolution") or DEFAULT_SIZE,
            spec.get("rate") or params.get("fps") or DEFAULT_RATE, params.get("duration") or 0, audio)


def prepare_seconds(jobs: Iterable[JobSpec], factor: float = RENDER_FACTOR) -> tuple[int, float]:
    """(distinct prepared sources, seconds to prepare them): each source once, however many jobs read it, at
    ``factor`` wall seconds per second of content (at most the seconds that fit in :data:`RENDER_BUDGET_BYTES`).
    It assumes one agent with an empty cache: every agent renders its own copy, and a warm cache renders none."""
    sources = {key for key in (prepared_source(job) for job in jobs) if key is not None}
    return len(sources), sum(factor * _rendered_seconds(key) for key in sources)


def _rendered_seconds(key: tuple) -> float:
    """The seconds of content a prepared source holds: its duration, or the segment that fits in the budget."""
    _, _, size, rate, duration, _ = key
    try:
        width, height = (int(n) for n in str(size).split("x"))
        frame_bytes = width * height * 3 / 2
        return min(float(duration), RENDER_BUDGET_BYTES / frame_bytes / float(rate))
    except (TypeError, ValueError, ZeroDivisionError):
        return float(duration)


def estimate_seconds(jobs: Iterable[JobSpec], factor: float = ESTIMATE_FACTOR) -> float:
    """Sum of :func:`job_seconds` over the jobs, plus preparing their distinct sources once
    (:func:`prepare_seconds`)."""
    jobs = list(jobs)
    return sum(job_seconds(job, factor) for job in jobs) + prepare_seconds(jobs)[1]


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
