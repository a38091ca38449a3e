"""A rough, deliberately long estimate of how long a campaign's jobs take to run."""
from __future__ import annotations

from collections.abc import Iterable

from master.campaign.expand import JobSpec

ESTIMATE_FACTOR = 4.0
"""Wall seconds per second of input assumed per job. Measured on 2 cores (testsrc2 input, FFmpeg 5.1): x264 ``slow``
at 1080p takes 3.6 s per second of input, ``medium`` 1.4, ``veryfast`` 0.9 and at 720p 0.45; hardware encoders are
faster still. So the estimate holds for the slowest shipped preset and runs long for everything else."""


def job_seconds(job: JobSpec, factor: float = ESTIMATE_FACTOR) -> float:
    """One job: idle baseline + stabilization + cooldown + duration x ``factor``; a ``baseline`` job's duration is
    wall time already (it runs no encoder), so it counts once. Missing values count 0."""
    params = job.params
    waits = sum(params.get(name) or 0 for name in ("idle_baseline", "stabilization", "cooldown"))
    duration = params.get("duration") or 0
    return waits + (duration if params.get("kind", job.kind) == "baseline" else factor * duration)


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
