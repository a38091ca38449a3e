"""The rough run-time estimate that ``campaign plan`` prints."""

from __future__ import annotations

import pytest

from master.campaign import timing
from master.campaign.expand import JobSpec
from master.campaign.timing import (
    CAMPAIGN_OVERHEAD_S,
    ESTIMATE_FACTOR,
    JOB_OVERHEAD_S,
    STREAM_SETUP_S,
    estimate_seconds,
    estimate_terms,
    format_seconds,
    job_terms,
)
from wire.kinds.density import LEVEL_REST_S, plan_levels


def job(idle: float | None, duration: float | None) -> JobSpec:
    """A job with just the params the estimate reads."""
    return JobSpec("j#1", "j", "j", 1, "transcode", {"idle_baseline": idle, "duration": duration}, {})


def overhead(n_jobs: int) -> float:
    return n_jobs * JOB_OVERHEAD_S + CAMPAIGN_OVERHEAD_S


def test_estimate_sums_baseline_and_scaled_duration():
    """Each job counts idle_baseline + duration x the factor (no encoder named: the conservative factor) + its
    overhead, the campaign its start-up once; missing values count 0; the total is the terms' sum."""
    jobs = [job(2, 10), job(3, 30), job(None, None)]
    terms = estimate_terms(jobs)
    assert terms["idle baselines"] == 5 and terms["encoding"] == ESTIMATE_FACTOR * 40
    assert terms["overhead"] == pytest.approx(overhead(3))
    assert estimate_seconds(iter(jobs)) == pytest.approx(sum(terms.values()))
    assert estimate_seconds([]) == 0


def test_format_seconds():
    """Seconds, minutes and seconds under 10 minutes, then minutes, then hours and minutes."""
    assert [format_seconds(s) for s in (0, 45.4, 60, 168, 2952, 3600, 3900)] == [
        "0 s",
        "45 s",
        "1 min",
        "2 min 48 s",
        "49 min",
        "1 h",
        "1 h 5 min",
    ]


def test_estimate_counts_waits_and_baseline_jobs_once():
    """Stabilization and cooldown add their seconds; a baseline job's duration is its wall time, not scaled."""
    transcode = JobSpec(
        "t#1",
        "t",
        "t",
        1,
        "transcode",
        {"kind": "transcode", "idle_baseline": 3, "duration": 10, "stabilization": 5, "cooldown": 2, "quality": False},
        {},
    )
    baseline = JobSpec("b#1", "b", "b", 1, "baseline", {"kind": "baseline", "duration": 30}, {})
    assert estimate_seconds([transcode]) == pytest.approx(3 + 5 + 2 + ESTIMATE_FACTOR * 10 + overhead(1))
    assert estimate_seconds([baseline]) == pytest.approx(30 + overhead(1))
    assert job_terms(baseline)["idle baselines"] == 30 and job_terms(transcode)["stabilization and cooldown"] == 7


def test_live_kinds_run_in_real_time():
    """Live and multi count their duration once (plus staggered starts and setup), not x the factor; density counts
    the most levels its search can run; a ladder is an encode at the conservative factor."""

    def kind_job(kind: str, **params) -> float:
        return estimate_seconds([JobSpec("k#1", "k", "k", 1, kind, {"kind": kind, **params}, {})]) - overhead(1)

    assert kind_job("live", duration=60, idle_baseline=2) == pytest.approx(2 + 60 + STREAM_SETUP_S)
    assert kind_job("multi", duration=60, bitrates=["1M", "2M", "3M"], stagger=2) == pytest.approx(
        60 + 2 * 2 + STREAM_SETUP_S
    )
    assert kind_job("multi", duration=60, count=4, stagger=1) == pytest.approx(60 + 3 + STREAM_SETUP_S)
    levels = plan_levels(8)
    assert levels == [1, 2, 4, 8, 8, 8]  # up to 8, then at most 2 bisection steps between 4 and 8
    assert plan_levels(1) == [1] and plan_levels(3) == [1, 2, 3] and plan_levels(5) == [1, 2, 4, 5]
    assert kind_job("density", duration=10, max_streams=8, stagger=0) == pytest.approx(
        len(levels) * (10 + STREAM_SETUP_S + LEVEL_REST_S)
    )
    assert kind_job("ladder", duration=10, encoder="libx264", preset="ultrafast") == pytest.approx(ESTIMATE_FACTOR * 10)


def test_x264_encodes_scale_by_preset_and_pixels_per_second():
    """A libx264 transcode takes its preset's factor at 1080p30, scaled by pixels per second (output resolution
    and fps, else the input's); slower presets take longer; no preset is medium; an encoder or preset without a
    figure takes the conservative factor. The quality pass scales the same way and is left out with quality: false."""

    def terms(**params) -> dict[str, float]:
        base = {"kind": "transcode", "encoder": "libx264", "resolution": "1920x1080", "fps": 30, "duration": 10}
        return job_terms(JobSpec("x#1", "x", "x", 1, "transcode", {**base, **params}, {}))

    full = terms(preset="veryfast")
    assert full["encoding"] == pytest.approx(timing.X264_FACTORS_1080P30["veryfast"] * 10)
    assert terms(preset="veryfast", resolution="1280x720")["encoding"] == pytest.approx(full["encoding"] * 4 / 9)
    assert terms(preset="veryfast", fps=60)["encoding"] == pytest.approx(full["encoding"] * 2)
    assert terms(preset="veryfast", resolution=None, fps=None, input={"size": "1280x720", "rate": 30})[
        "encoding"
    ] == pytest.approx(full["encoding"] * 4 / 9)
    presets = ["ultrafast", "veryfast", "medium", "slow"]
    seconds = [terms(preset=p)["encoding"] for p in presets]
    assert seconds == sorted(seconds) and len(set(seconds)) == 4
    assert terms(preset=None)["encoding"] == terms(preset="medium")["encoding"]
    assert terms(preset="placebo")["encoding"] == terms(encoder="libx265")["encoding"] == ESTIMATE_FACTOR * 10
    assert terms(preset="veryfast", resolution="1280x720")["quality"] == pytest.approx(timing.QUALITY_FACTOR * 10)
    assert full["quality"] == pytest.approx(timing.QUALITY_FACTOR * 10 * 9 / 4)
    assert terms(preset="veryfast", quality=False)["quality"] == 0


def test_preparation_counts_each_distinct_source_once():
    """2 presets x 2 repetitions of one source prepare it once; inline and file inputs prepare nothing; another
    size, rate, duration or content is another source; a long 1080p input renders only the segment that fits."""
    from pathlib import Path

    from master.campaign import expand, load_campaign
    from master.campaign.timing import prepare_seconds, source_seconds
    from wire.content import DEFAULT_BUDGET_BYTES

    quick = expand(load_campaign(Path(__file__).resolve().parents[3] / "campaigns" / "quick.yml"))
    assert len(quick) == 4 and len({job.variant for job in quick}) == 2
    count, once = prepare_seconds(quick)
    assert count == 1 and once == pytest.approx(source_seconds(timing.prepared_source(quick[0])))
    assert estimate_terms(quick)["source preparation"] == once
    assert estimate_seconds(quick) == pytest.approx(
        sum(estimate_seconds([j]) - once - CAMPAIGN_OVERHEAD_S for j in quick) + once + CAMPAIGN_OVERHEAD_S
    )

    def lavfi(render="prepared", **changes) -> JobSpec:
        spec = {"type": "lavfi", "source": None, "content": "medium", "size": "1280x720", "rate": 30, "render": render}
        params = {"kind": "transcode", "input": {**spec, **changes}, "duration": 10}
        return JobSpec("t#1", "t", "t", 1, "transcode", params, {})

    assert prepare_seconds([lavfi(render="inline")]) == (0, 0)
    assert prepare_seconds(
        [JobSpec("f#1", "f", "f", 1, "transcode", {"input": {"type": "file", "path": "/c.mp4"}, "duration": 10}, {})]
    ) == (0, 0)
    assert prepare_seconds([lavfi(), lavfi(size="640x360"), lavfi(rate=60), lavfi(content="hard")])[0] == 4
    # 10 s of 720p30: render, SI/TI over all of it, checksum of its raw frames
    frames_bytes = 1280 * 720 * 1.5 * 30 * 10
    assert prepare_seconds([lavfi()])[1] == pytest.approx(
        (timing.RENDER_FACTOR + timing.SITI_FACTOR) * 10 + timing.CHECKSUM_S_PER_GB * frames_bytes / 1e9
    )
    long = JobSpec(
        "l#1",
        "l",
        "l",
        1,
        "transcode",
        {"input": lavfi().params["input"] | {"size": "1920x1080"}, "duration": 3600},
        {},
    )
    segment = DEFAULT_BUDGET_BYTES / (1920 * 1080 * 1.5) / 30  # the part that fits in the budget, about 23 s
    assert prepare_seconds([long])[1] == pytest.approx(
        (timing.RENDER_FACTOR * segment + timing.SITI_FACTOR * timing.SITI_MAX_S) * 9 / 4
        + timing.CHECKSUM_S_PER_GB * DEFAULT_BUDGET_BYTES / 1e9
    )
