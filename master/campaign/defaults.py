"""Built-in defaults of a campaign: what a field is when neither the scenario nor the campaign's ``defaults`` sets it.

A campaign's ``defaults:`` mapping overrides these; a scenario's own fields (and its matrix) override both.
"""

from __future__ import annotations

from typing import Any

from wire.kinds.density import MAX_STREAMS, MIN_SPEED
from wire.kinds.live import GOP_S

SPEC_VERSION = 1
"""The campaign format this code reads; ``version:`` may be left out and means this."""

TARGETS: tuple[str, ...] = ("local",)
"""Hosts or labels the jobs may run on when ``targets:`` is left out: the machine running ``campaign run``."""

REPETITIONS = 1
"""Runs of each variant; the analysis needs at least 2 for a standard deviation, 3 for a useful interval."""

IDLE_BASELINE_S = 3
"""Seconds of idle power measured before each job, subtracted to get dynamic energy."""

SAMPLE_RATE_HZ = 10
"""Power samples per second: fast enough that no RAPL counter can wrap twice between two samples."""

TIMEOUT_S = 600
"""Seconds before the agent kills the job's FFmpeg process group and reports it failed."""

STABILIZATION_S = 0
"""Transcode: seconds waited after the idle baseline, before FFmpeg starts; not measured (the original's
``--stabilization``)."""

COOLDOWN_S = 0
"""Transcode: seconds waited at the end of the job, after the encode and its quality comparison, so the next job starts
from a machine back at rest; not measured (the original's ``--cooldown``)."""

QUALITY = True
"""Transcode: compare the output with its source (PSNR, SSIM, VMAF when available) after the measured window."""

AUDIO = True
"""Live kinds: send an AAC 128k audio track (a 1 kHz tone with a synthetic source)."""

INGEST = "auto"
"""Live kinds: the RTMP ingest the agent starts (nginx-rtmp, else FFmpeg's own listener)."""

STAGGER_S = 1
"""Multi and density: seconds between the starts of two streams."""

FIELD_DEFAULTS: dict[str, Any] = {
    "repetitions": REPETITIONS,
    "idle_baseline": IDLE_BASELINE_S,
    "sample_rate": SAMPLE_RATE_HZ,
    "timeout": TIMEOUT_S,
    "stabilization": STABILIZATION_S,
    "cooldown": COOLDOWN_S,
    "quality": QUALITY,
    "gop": GOP_S,
    "audio": AUDIO,
    "ingest": INGEST,
    "stagger": STAGGER_S,
    "max_streams": MAX_STREAMS,
    "min_speed": MIN_SPEED,
}
"""Scenario fields with a built-in default; every other field is null (unset) unless the campaign sets it."""
