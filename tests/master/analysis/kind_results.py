"""Jobs of the baseline, live, multi, density and ladder kinds with results in the docs/WIRE.md shape, built as dicts.

``add_kind_jobs(run)`` appends them to a run (the quick run of tests/data/reports uses nodes n-dev1 and n-rapl1)."""

from __future__ import annotations

import copy

RAPL_SOURCES = [
    {
        "name": "rapl:package-0",
        "kind": "rapl",
        "measured": True,
        "valid_samples": 20,
        "invalid_samples": 0,
        "reason": None,
    }
]
ESTIMATE_SOURCES = [
    {
        "name": "estimate:cpu",
        "kind": "estimate",
        "measured": False,
        "valid_samples": 20,
        "invalid_samples": 0,
        "reason": None,
    }
]
ESTIMATED_IDLE = (
    "the estimate models only a job's own CPU time and a baseline runs no job: its energy is 0 J by "
    "construction, not a measured idle power"
)
LIVE_PARAMS = {
    "input": {"type": "lavfi", "source": "testsrc2", "size": "640x360", "rate": 30},
    "encoder": "libx264",
    "preset": "veryfast",
    "bitrate": "1500k",
    "resolution": None,
    "fps": None,
    "duration": 4,
    "gop": 2,
    "audio": False,
    "ingest": "auto",
    "rtmp_url": None,
    "stabilization": None,
    "cooldown": None,
    "idle_baseline": 2,
    "sample_rate": 10,
    "timeout": 600,
}
LADDER_RUNGS = [{"resolution": "640x360", "bitrate": "1000k"}, {"resolution": "320x180", "bitrate": "300k"}]
DENSITY_LEVELS = [
    {"streams": 1, "held": True, "mean_watts": 20.0, "min_speed": 1.01, "dropped_frames": 0},
    {"streams": 2, "held": True, "mean_watts": 31.0, "min_speed": 1.0, "dropped_frames": 0},
    {"streams": 4, "held": False, "mean_watts": 52.0, "min_speed": 0.8, "dropped_frames": 12},
    {"streams": 3, "held": True, "mean_watts": 41.5, "min_speed": 0.99, "dropped_frames": 0},
]


def result(metrics: dict, missing: dict | None = None, estimated: bool = False, **top) -> dict:
    """A succeeded result around ``metrics``."""
    return {
        "job_id": "?",
        "attempt": 1,
        "node_id": None,
        "status": "succeeded",
        "error": None,
        "started_at": "2026-11-27T03:40:00.000Z",
        "finished_at": "2026-11-27T03:40:05.000Z",
        "metrics": metrics,
        "missing": missing or {},
        "provenance": {
            "estimated": estimated,
            "sources": ESTIMATE_SOURCES if estimated else RAPL_SOURCES,
            "sample_rate_hz": 10.0,
            "sample_count": 20,
            "notes": [],
        },
        "baseline": None,
        "ffmpeg": None,
        "samples": [{"t": 0.1, "watts": {}, "total_watts": 12.0}],
        **top,
    }


def job(
    job_id: str,
    scenario: str,
    variant: str,
    kind: str,
    repetition: int,
    node: str | None,
    params: dict,
    res: dict | None,
    state: str = "succeeded",
) -> dict:
    """A job of the run, its result's job_id and node filled in."""
    if res is not None:
        res = {**res, "job_id": job_id, "node_id": node}
    return {
        "id": job_id,
        "name": f"{variant}#{repetition}",
        "scenario": scenario,
        "variant": variant,
        "repetition": repetition,
        "kind": kind,
        "state": state,
        "error": None,
        "node_id": node,
        "params": {"kind": kind, **params},
        "result": res,
    }


def baseline_metrics(idle: float | None, duration: float) -> dict:
    return {
        "duration_s": duration,
        "energy_j": {},
        "total_energy_j": None if idle is None else idle * duration,
        "mean_watts": idle,
        "peak_watts": None if idle is None else idle + 1,
        "idle_watts": idle,
        "dynamic_energy_j": None,
        "frames": None,
        "fps": None,
        "joules_per_frame": None,
        "dynamic_joules_per_frame": None,
        "frames_per_joule": None,
        "speed": None,
        "output_bytes": None,
        "bitrate_kbps": None,
        "agent_overhead_pct": 0.1,
        "sampler_overhead_pct": 0.05,
    }


def live_metrics(realtime: bool, watts: float, streams: int = 1) -> dict:
    frames = 120 * streams
    return {
        "duration_s": 4.0,
        "frames": frames,
        "fps": 30.0,
        "speed": 1.0 if realtime else 0.9,
        "output_bytes": 750_000 * streams,
        "bitrate_kbps": 1500.0 * streams,
        "total_energy_j": watts * 4,
        "mean_watts": watts,
        "peak_watts": watts + 2,
        "idle_watts": 10.0,
        "dynamic_energy_j": (watts - 10) * 4,
        "joules_per_frame": watts * 4 / frames,
        "dynamic_joules_per_frame": (watts - 10) * 4 / frames,
        "frames_per_joule": frames / (watts * 4),
        "frames_received": frames - (0 if realtime else 3),
        "dropped_frames": 0 if realtime else 3,
        "duplicated_frames": 0,
        "realtime": realtime,
        "streams": streams,
        "watts_per_stream": watts / streams,
        "dynamic_watts_per_stream": (watts - 10) / streams,
    }


def ladder_result(frames: int, joules: float) -> dict:
    rungs = [
        {
            "resolution": "640x360",
            "bitrate": "1000k",
            "frames": frames,
            "pixels": frames * 640 * 360,
            "output_bytes": 500_000,
            "bitrate_kbps": 1000.0,
            "error": None,
        },
        {
            "resolution": "320x180",
            "bitrate": "300k",
            "frames": frames,
            "pixels": frames * 320 * 180,
            "output_bytes": 150_000,
            "bitrate_kbps": 300.0,
            "error": None,
        },
    ]
    pixels = sum(r["pixels"] for r in rungs)
    metrics = {
        "duration_s": 2.0,
        "rungs": 2,
        "source_frames": frames,
        "frames": 2 * frames,
        "pixels": pixels,
        "fps": frames / 2.0,
        "speed": 2.5,
        "output_bytes": 650_000,
        "bitrate_kbps": 1300.0,
        "total_energy_j": joules,
        "mean_watts": joules / 2,
        "peak_watts": joules / 2 + 3,
        "idle_watts": 10.0,
        "dynamic_energy_j": joules - 20,
        "joules_per_frame": joules / (2 * frames),
        "dynamic_joules_per_frame": (joules - 20) / (2 * frames),
        "frames_per_joule": 2 * frames / joules,
        "joules_per_megapixel": joules / (pixels / 1e6),
    }
    return result(metrics, rungs=rungs, quality=None)


def kind_jobs() -> list[dict]:
    """Baselines on two hosts, a live, a multi (one run not real time), a density and a ladder variant."""
    density = result(
        {
            "duration_s": 20.0,
            "max_streams": 3,
            "watts_per_stream": 13.8,
            "marginal_watts_per_stream": 10.5,
            "joules_per_frame": None,
            "frames": None,
        },
        {"joules_per_frame": "density: see watts_per_stream", "frames": "density: per level"},
        density={
            "levels": copy.deepcopy(DENSITY_LEVELS),
            "curve": [{"streams": 1, "mean_watts": 20.0}, {"streams": 2, "mean_watts": 31.0}],
        },
    )
    base_params = {"duration": 30, "sample_rate": 10, "timeout": 600}
    return [
        job("j-b1", "idle", "idle", "baseline", 1, "n-rapl1", base_params, result(baseline_metrics(11.8, 30.1))),
        job("j-b2", "idle", "idle", "baseline", 2, "n-rapl1", base_params, result(baseline_metrics(12.2, 30.0))),
        job(
            "j-b3",
            "idle",
            "idle",
            "baseline",
            1,
            "n-dev1",
            base_params,
            result(
                baseline_metrics(None, 30.0), {k: ESTIMATED_IDLE for k in ("idle_watts", "mean_watts")}, estimated=True
            ),
        ),
        job("j-l1", "live", "live-1500k", "live", 1, "n-rapl1", LIVE_PARAMS, result(live_metrics(True, 25.0))),
        job(
            "j-m1",
            "multi",
            "multi-2",
            "multi",
            1,
            "n-rapl1",
            {**LIVE_PARAMS, "count": 2, "bitrates": None, "stagger": 0},
            result(live_metrics(True, 40.0, 2)),
        ),
        job(
            "j-m2",
            "multi",
            "multi-2",
            "multi",
            2,
            "n-rapl1",
            {**LIVE_PARAMS, "count": 2, "bitrates": None, "stagger": 0},
            result(live_metrics(False, 44.0, 2)),
        ),
        job(
            "j-d1",
            "dense",
            "dense-x264",
            "density",
            1,
            "n-rapl1",
            {**LIVE_PARAMS, "max_streams": 4, "min_speed": 0.98, "stagger": 0},
            density,
        ),
        job(
            "j-a1",
            "abr",
            "abr-x264",
            "ladder",
            1,
            "n-rapl1",
            {
                "input": LIVE_PARAMS["input"],
                "encoder": "libx264",
                "preset": "ultrafast",
                "fps": None,
                "duration": 2,
                "rungs": LADDER_RUNGS,
                "stabilization": None,
                "cooldown": None,
                "idle_baseline": 2,
                "sample_rate": 10,
                "timeout": 600,
            },
            ladder_result(60, 40.0),
        ),
        job(
            "j-a2",
            "abr",
            "abr-x264",
            "ladder",
            2,
            "n-rapl1",
            {
                "input": LIVE_PARAMS["input"],
                "encoder": "libx264",
                "preset": "ultrafast",
                "fps": None,
                "duration": 2,
                "rungs": LADDER_RUNGS,
                "stabilization": None,
                "cooldown": None,
                "idle_baseline": 2,
                "sample_rate": 10,
                "timeout": 600,
            },
            ladder_result(60, 44.0),
        ),
    ]


def add_kind_jobs(run: dict) -> dict:
    """``run`` with the jobs of :func:`kind_jobs` appended."""
    run["jobs"] = list(run.get("jobs") or []) + kind_jobs()
    return run
