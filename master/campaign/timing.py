"""How long a campaign's jobs take to run, term by term, preparing their sources included (``campaign plan``).

The figures below were measured on this project's development machine (2 shared cores, FFmpeg 5.1, the ``medium``
content preset) with ``campaign run campaigns/quick.yml`` on the embedded default; a faster machine runs shorter.
Encoders and presets with no measured figure count :data:`ESTIMATE_FACTOR`, which holds for the slowest shipped preset.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from master.campaign.expand import JobSpec
from wire.content import DEFAULT_BUDGET_BYTES, DEFAULT_RATE, DEFAULT_SIZE, SITI_MAX_S
from wire.kinds import KINDS
from wire.kinds.base import encode_plan

ESTIMATE_FACTOR = 4.0
"""Wall seconds per second of input for an encode the model has no figure for (another encoder, a ladder, x264's
slower presets). Measured on 2 cores (testsrc2 input, FFmpeg 5.1): x264 ``slow`` at 1080p takes 3.6 s per second of
input, so this holds for the slowest shipped preset and runs long for everything else. Also the ladder timeouts'
factor (master/campaign/runtests.py)."""

X264_FACTORS_1080P30 = {
    "ultrafast": 0.3,
    "superfast": 1.0,
    "veryfast": 1.0,
    "faster": 1.6,
    "fast": 1.6,
    "medium": 1.6,
    "slow": 3.6,
}
"""libx264: wall seconds per second of 1920x1080 at 30 fps, by preset (``None``: x264's default, medium). Measured
on 2 cores with the ``medium`` content: ultrafast 0.10-0.14 and veryfast 0.38-0.55 at 720p30 (x 2.25 for 1080p);
medium 1.4 and slow 3.6 on testsrc2 at 1080p, medium raised for the noisier content. superfast, faster and fast were
not measured: they count as the next slower measured preset. Other sizes and rates scale by pixels per second."""

REFERENCE_PIXEL_RATE = 1920 * 1080 * 30
"""Pixels per second that :data:`X264_FACTORS_1080P30` is given for."""

QUALITY_FACTOR = 0.12
"""PSNR/SSIM after a transcode (outside the measured window; ``quality: false`` skips it): wall seconds per second
of 720p30 content, scaled by pixels per second. Measured 0.92-1.27 s for 10 s of 720p30 (no libvmaf: VMAF, where
FFmpeg has it, takes longer)."""

STREAM_SETUP_S = 5.0
"""Live kinds: seconds per streaming window beyond its duration (ingest start, receivers' start and drain)."""

JOB_OVERHEAD_S = 0.5
"""Per job: claim, result, report to the master, and starting FFmpeg for each of its runs (encode, quality pass),
which the factors above leave out: it is most of a small encode's time. Measured: consecutive jobs of quick.yml start
within 0.1 s of the previous one's end; a 3 s 640x360 ultrafast encode and its quality pass took 0.19 s and 0.17 s
where the factors give 0.1 s and 0.1 s."""

CAMPAIGN_OVERHEAD_S = 5.0
"""Per campaign: starting the embedded master and agent (the agent's inventory probes) and writing the report.
Measured 4.3 s of quick.yml's 42.8 s outside the campaign's first-claim-to-last-result time, and 4.7 to 7.1 s for a
1 s baseline campaign with the 2 cores busy with other work."""

RENDER_FACTOR = 0.1
"""Preparing a generated source (``input.render: prepared``), step one: rendering it to a raw file in the agent's
cache, wall seconds per second of 720p30 content, scaled by pixels per second. Measured 0.71 s for 10 s of the
``medium`` content at 720p30."""

SITI_FACTOR = 1.2
"""Step two: the SI/TI pass over the rendered file (FFmpeg's single-threaded ``siti`` filter, over at most
:data:`SITI_MAX_S` seconds), wall seconds per second of 720p30 content, scaled by pixels per second. Measured 11 to
14 s for 10 s of 720p30: this is most of a prepared source's cost."""

CHECKSUM_S_PER_GB = 5.0
"""Step three: the sha256 of the rendered file: seconds per 10^9 bytes (measured 2.0 s for 415 MB)."""

REFERENCE_720P30 = 1280 * 720 * 30
"""Pixels per second that the rendering, SI/TI and quality factors are given for."""

TERMS = (
    "idle baselines",
    "stabilization and cooldown",
    "encoding",
    "streaming",
    "quality",
    "source preparation",
    "overhead",
)
"""The estimate's terms, in the order ``campaign plan`` prints them."""


def _pixels(size: Any) -> int | None:
    try:
        width, height = (int(n) for n in str(size).split("x"))
        return width * height
    except (TypeError, ValueError):
        return None


def pixel_rate(params: dict[str, Any]) -> float | None:
    """Pixels per second a job encodes: its output resolution (else its input's size) times its fps (else the
    input's rate); None when neither size is known."""
    spec = params.get("input") if isinstance(params.get("input"), dict) else {}
    pixels = _pixels(params.get("resolution")) or _pixels(spec.get("size"))
    rate = params.get("fps") or spec.get("rate")
    try:
        return pixels * float(rate) if pixels and rate else None
    except (TypeError, ValueError):
        return None


def encode_factor(params: dict[str, Any]) -> float:
    """Wall seconds per second of input for a transcode: libx264 by preset scaled by pixels per second, else
    :data:`ESTIMATE_FACTOR`."""
    if params.get("encoder") != "libx264":
        return ESTIMATE_FACTOR
    factor = X264_FACTORS_1080P30.get(params.get("preset") or "medium")
    rate = pixel_rate(params)
    if factor is None or rate is None:
        return ESTIMATE_FACTOR
    return factor * rate / REFERENCE_PIXEL_RATE


def _window(duration: float, streams: int, stagger: float) -> float:
    """One live window: real time (``-re``), so the duration once, plus the staggered starts and the setup."""
    return duration + stagger * max(streams - 1, 0) + STREAM_SETUP_S


class _Model:
    """The figures above as the :class:`wire.kinds.base.PlanModel` every kind's ``plan`` reads."""

    @staticmethod
    def encode_s(params: dict[str, Any]) -> float:
        return ESTIMATE_FACTOR * (params.get("duration") or 0)

    @staticmethod
    def transcode_s(params: dict[str, Any]) -> float:
        return encode_factor(params) * (params.get("duration") or 0)

    @staticmethod
    def quality_s(params: dict[str, Any]) -> float:
        scale = (pixel_rate(params) or REFERENCE_720P30) / REFERENCE_720P30
        return QUALITY_FACTOR * (params.get("duration") or 0) * scale

    @staticmethod
    def window_s(duration: float, streams: int, stagger: float) -> float:
        return _window(duration, streams, stagger)


MODEL = _Model()
"""What the kinds' plans read."""


def job_terms(job: JobSpec) -> dict[str, float]:
    """One job's seconds by term (see :data:`TERMS`; preparing sources and the campaign's overhead are counted per
    campaign, in :func:`estimate_terms`): its idle baseline, waits and overhead, plus its kind's ``plan``
    (wire/kinds/: a ``baseline`` is idle wall time, ``live``/``multi``/``density`` stream in real time, a
    ``transcode`` is encoded at :func:`encode_factor` then compared for quality, anything else is encoded at
    :data:`ESTIMATE_FACTOR`). Missing values count 0."""
    params = job.params
    terms = dict.fromkeys(TERMS, 0.0)
    terms["idle baselines"] = float(params.get("idle_baseline") or 0)
    terms["stabilization and cooldown"] = float(sum(params.get(name) or 0 for name in ("stabilization", "cooldown")))
    terms["overhead"] = JOB_OVERHEAD_S
    kind = KINDS.get(params.get("kind", job.kind))
    for term, seconds in (kind.plan if kind else encode_plan)(params, MODEL).items():
        terms[term] += seconds
    return terms


def job_encode_factor(job: JobSpec) -> float:
    """Wall seconds per second of input of an encode job (its plan's encoding over its duration):
    :func:`encode_factor` for a transcode, :data:`ESTIMATE_FACTOR` for other encodes."""
    duration = job.params.get("duration") or 0
    return job_terms(job)["encoding"] / duration if duration else ESTIMATE_FACTOR


def job_seconds(job: JobSpec) -> float:
    """One job's seconds: the sum of :func:`job_terms`."""
    return sum(job_terms(job).values())


def prepared_source(job: JobSpec) -> tuple | None:
    """What makes a job's prepared source file (the agent renders each distinct one once and keeps it in its cache):
    content or lavfi source, size, rate, seconds, and whether it carries the live kinds' audio; None when the job
    prepares nothing (a file input, ``render: inline``, a baseline)."""
    params = job.params
    spec: Any = params.get("input")
    if not isinstance(spec, dict) or spec.get("type") != "lavfi" or spec.get("render", "prepared") != "prepared":
        return None
    kind = params.get("kind", job.kind)
    audio = kind in KINDS and KINDS[kind].live and params.get("audio") is not False
    return (
        spec.get("content"),
        spec.get("source"),
        spec.get("size") or params.get("resolution") or DEFAULT_SIZE,
        spec.get("rate") or params.get("fps") or DEFAULT_RATE,
        params.get("duration") or 0,
        audio,
    )


def prepare_seconds(jobs: Iterable[JobSpec]) -> tuple[int, float]:
    """(distinct prepared sources, seconds to prepare them): each source once, however many jobs read it: rendering
    (:data:`RENDER_FACTOR`), the SI/TI pass (:data:`SITI_FACTOR`) and the file's checksum (:data:`CHECKSUM_S_PER_GB`).
    It assumes one agent with an empty cache: every agent renders its own copy, and a warm cache renders none."""
    sources = {key for key in (prepared_source(job) for job in jobs) if key is not None}
    return len(sources), sum(source_seconds(key) for key in sources)


def source_seconds(key: tuple) -> float:
    """Preparing one source (a :func:`prepared_source` key): render, SI/TI over its first :data:`SITI_MAX_S`
    seconds, checksum, each scaled by its pixels per second."""
    _, _, size, rate, _, _ = key
    seconds = _rendered_seconds(key)
    pixels = _pixels(size)
    try:
        scale = pixels * float(rate) / REFERENCE_720P30 if pixels else 1.0
        file_bytes = pixels * 1.5 * float(rate) * seconds if pixels else 0.0
    except (TypeError, ValueError):
        scale, file_bytes = 1.0, 0.0
    return (
        RENDER_FACTOR * seconds + SITI_FACTOR * min(seconds, SITI_MAX_S)
    ) * scale + CHECKSUM_S_PER_GB * file_bytes / 1e9


def _rendered_seconds(key: tuple) -> float:
    """The seconds of content a prepared source holds: its duration, or the segment that fits in the budget."""
    _, _, size, rate, duration, _ = key
    try:
        width, height = (int(n) for n in str(size).split("x"))
        frame_bytes = width * height * 3 / 2
        return min(float(duration), DEFAULT_BUDGET_BYTES / frame_bytes / float(rate))
    except (TypeError, ValueError, ZeroDivisionError):
        return float(duration)


def estimate_terms(jobs: Iterable[JobSpec]) -> dict[str, float]:
    """The campaign's seconds by term (:data:`TERMS`): the jobs' :func:`job_terms` summed, preparing their distinct
    sources once (:func:`prepare_seconds`), and :data:`CAMPAIGN_OVERHEAD_S` once in the overhead."""
    jobs = list(jobs)
    terms = dict.fromkeys(TERMS, 0.0)
    for job in jobs:
        for name, seconds in job_terms(job).items():
            terms[name] += seconds
    terms["source preparation"] = prepare_seconds(jobs)[1]
    terms["overhead"] += CAMPAIGN_OVERHEAD_S if jobs else 0.0
    return terms


def estimate_seconds(jobs: Iterable[JobSpec]) -> float:
    """The campaign's estimated wall time: the sum of :func:`estimate_terms`."""
    return sum(estimate_terms(jobs).values())


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
