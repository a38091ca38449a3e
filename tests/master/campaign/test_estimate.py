"""The rough run-time estimate that ``campaign plan`` prints."""
from __future__ import annotations

from master.campaign.estimate import (ESTIMATE_FACTOR, LEVEL_REST_S, STREAM_SETUP_S, density_levels, estimate_seconds,
                                      format_seconds)
from master.campaign.expand import JobSpec


def job(idle: float | None, duration: float | None) -> JobSpec:
    """A job with just the params the estimate reads."""
    return JobSpec("j#1", "j", "j", 1, "transcode", {"idle_baseline": idle, "duration": duration}, {})


def test_estimate_sums_baseline_and_scaled_duration():
    """Each job counts idle_baseline + duration x the factor; missing values count 0."""
    jobs = [job(2, 10), job(3, 30), job(None, None)]
    assert estimate_seconds(jobs) == 2 + 3 + ESTIMATE_FACTOR * 40
    assert estimate_seconds(iter(jobs), factor=1.0) == 45


def test_format_seconds():
    """Seconds, minutes and seconds under 10 minutes, then minutes, then hours and minutes."""
    assert [format_seconds(s) for s in (0, 45.4, 60, 168, 2952, 3600, 3900)] == [
        "0 s", "45 s", "1 min", "2 min 48 s", "49 min", "1 h", "1 h 5 min"]


def test_estimate_counts_waits_and_baseline_jobs_once():
    """Stabilization and cooldown add their seconds; a baseline job's duration is its wall time, not scaled."""
    transcode = JobSpec("t#1", "t", "t", 1, "transcode",
                        {"kind": "transcode", "idle_baseline": 3, "duration": 10, "stabilization": 5, "cooldown": 2},
                        {})
    baseline = JobSpec("b#1", "b", "b", 1, "baseline", {"kind": "baseline", "duration": 30}, {})
    assert estimate_seconds([transcode]) == 3 + 5 + 2 + ESTIMATE_FACTOR * 10
    assert estimate_seconds([baseline]) == 30


def test_live_kinds_run_in_real_time():
    """Live and multi count their duration once (plus staggered starts and setup), not x the factor; density counts
    the most levels its search can run; a ladder is an encode."""
    def kind_job(kind: str, **params) -> JobSpec:
        return JobSpec("k#1", "k", "k", 1, kind, {"kind": kind, **params}, {})
    assert estimate_seconds([kind_job("live", duration=60, idle_baseline=2)]) == 2 + 60 + STREAM_SETUP_S
    assert estimate_seconds([kind_job("multi", duration=60, bitrates=["1M", "2M", "3M"], stagger=2)]) == \
        60 + 2 * 2 + STREAM_SETUP_S
    assert estimate_seconds([kind_job("multi", duration=60, count=4, stagger=1)]) == 60 + 3 + STREAM_SETUP_S
    levels = density_levels(8)
    assert levels == [1, 2, 4, 8, 8, 8]  # up to 8, then at most 2 bisection steps between 4 and 8
    assert density_levels(1) == [1] and density_levels(3) == [1, 2, 3] and density_levels(5) == [1, 2, 4, 5]
    assert estimate_seconds([kind_job("density", duration=10, max_streams=8, stagger=0)]) == \
        len(levels) * (10 + STREAM_SETUP_S + LEVEL_REST_S)
    assert estimate_seconds([kind_job("ladder", duration=10)]) == ESTIMATE_FACTOR * 10


def test_preparation_counts_each_distinct_source_once():
    """2 presets x 2 repetitions of one source prepare it once; inline and file inputs prepare nothing; another
    size, rate, duration or content is another source; a long 1080p input renders only the segment that fits."""
    from pathlib import Path

    from master.campaign import expand, load_campaign
    from master.campaign.estimate import RENDER_BUDGET_BYTES, RENDER_FACTOR, prepare_seconds

    quick = expand(load_campaign(Path(__file__).resolve().parents[3] / "campaigns" / "quick.yml"))
    assert len(quick) == 4 and len({job.variant for job in quick}) == 2
    assert prepare_seconds(quick) == (1, RENDER_FACTOR * 10)
    assert estimate_seconds(quick) == sum(estimate_seconds([j]) - RENDER_FACTOR * 10 for j in quick) + \
        RENDER_FACTOR * 10

    def lavfi(render="prepared", **changes) -> JobSpec:
        spec = {"type": "lavfi", "source": None, "content": "medium", "size": "1280x720", "rate": 30, "render": render}
        params = {"kind": "transcode", "input": {**spec, **changes}, "duration": 10}
        return JobSpec("t#1", "t", "t", 1, "transcode", params, {})
    assert prepare_seconds([lavfi(render="inline")]) == (0, 0)
    assert prepare_seconds([JobSpec("f#1", "f", "f", 1, "transcode",
                                    {"input": {"type": "file", "path": "/c.mp4"}, "duration": 10}, {})]) == (0, 0)
    assert prepare_seconds([lavfi(), lavfi(size="640x360"), lavfi(rate=60), lavfi(content="hard")])[0] == 4
    long = JobSpec("l#1", "l", "l", 1, "transcode", {"input": lavfi().params["input"] | {"size": "1920x1080"},
                                                     "duration": 3600}, {})
    assert prepare_seconds([long])[1] == RENDER_FACTOR * RENDER_BUDGET_BYTES / (1920 * 1080 * 1.5) / 30
