"""The rough run-time estimate that ``campaign plan`` prints."""
from __future__ import annotations

from master.campaign.estimate import ESTIMATE_FACTOR, estimate_seconds, format_seconds
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
