"""``density``: the most concurrent live streams of one profile this machine carries in real time.

One ingest for the whole search (:mod:`agent.rtmp`), one idle baseline and stabilization wait, then the levels of
:func:`wire.kinds.density.search` (1, 2, 4, ... up to ``max_streams``, then a bisection), each one
:func:`agent.scenarios.streams.push_streams` window of ``streams`` x the same profile (``stagger`` seconds between
starts, ``duration`` seconds each) with its own power measurement. A level holds when every stream ran without error,
at a speed of at least ``min_speed`` and without dropped frames. Between two levels the agent rests
:data:`LEVEL_REST_S` seconds (not measured) so one level's heat and queues do not leak into the next.

A stream that fails outright (its pusher exits with an error, its receiver sees nothing) at level 1 fails the job:
nothing can be measured. At a higher level it only makes that level fail (with the reason in the level). When even one
stream is not real time the job still succeeds with ``max_streams`` 0: that is the finding.

The result is the maximum level's window (its metrics, ``streams``, samples and provenance; level 1's when none held),
plus ``max_streams``, ``watts_per_stream`` (mean watts at the maximum / max_streams), ``marginal_watts_per_stream``
(least-squares slope of mean watts over the levels that held), ``levels_tried`` and a top-level ``density`` with every
level in the order tried and the same levels sorted by streams (``curve``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.rtmp import Ingest
from agent.sampler import Measurement
from agent.scenarios.base import JobFailed, RunContext, Scenario
from agent.scenarios.live import check_live_params, streaming_phases, window_ffmpeg_info, window_result
from agent.scenarios.phases import unmeasured_wait
from agent.scenarios.streams import push_streams
from wire.kinds.density import LEVEL_REST_S, least_squares_slope, search
from wire.kinds.density import MAX_STREAMS as DEFAULT_MAX_STREAMS
from wire.kinds.density import MIN_SPEED as DEFAULT_MIN_SPEED


@dataclass
class Level:
    """One measured level of the search."""

    streams: int
    held: bool
    reason: str | None
    entry: dict[str, Any]
    result: dict[str, Any]


def level_verdict(result: dict[str, Any], min_speed: float) -> tuple[bool, str | None]:
    """Whether every stream of a level stayed real time, and why not."""
    for s in result["streams"]:
        if s["error"]:
            return False, f"stream {s['index']}: {s['error']}"
        if s["speed"] is None:
            return False, f"stream {s['index']}: speed unknown"
        if s["speed"] < min_speed:
            return False, f"stream {s['index']}: speed {s['speed']:g} < {min_speed:g}"
        if s["dropped_frames"] is None:
            return False, f"stream {s['index']}: dropped frames unknown"
        if s["dropped_frames"] > 0:
            return False, f"stream {s['index']}: {s['dropped_frames']} dropped frame(s)"
    return True, None


class Density(Scenario):
    kind = "density"

    def prepare(self, job: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        params = job["params"]
        max_streams = DEFAULT_MAX_STREAMS if params.get("max_streams") is None else params["max_streams"]
        if not isinstance(max_streams, int) or isinstance(max_streams, bool) or max_streams < 1:
            raise JobFailed(f"max_streams must be a whole number of at least 1, got {max_streams!r}")
        min_speed = DEFAULT_MIN_SPEED if params.get("min_speed") is None else params["min_speed"]
        if not isinstance(min_speed, (int, float)) or min_speed <= 0:
            raise JobFailed(f"min_speed must be a positive number, got {min_speed!r}")
        stagger = float(params.get("stagger") or 0)
        check_live_params(params, ctx, [params.get("bitrate")], 0.0)
        span = float(params["duration"]) + stagger * (max_streams - 1)
        timeout = params.get("timeout")
        if timeout is not None and span > timeout:
            raise JobFailed(
                f"a level of {max_streams} streams needs {span:g} s (duration + stagger between starts), "
                f"longer than the timeout {timeout:g} s"
            )
        return {"max_streams": max_streams, "min_speed": float(min_speed), "stagger": stagger}

    def run(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> dict[str, Any]:
        return streaming_phases(
            job["params"], ctx, lambda ingest, baseline: self._search(job, ctx, state, ingest, baseline)
        )

    def _search(
        self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any], ingest: Ingest, baseline: Measurement | None
    ) -> dict[str, Any]:
        """Every level of the search, each its own measured window, and the result at the maximum that held."""
        params = job["params"]
        levels: list[Level] = []

        def measure(streams: int) -> Level:
            if levels:
                unmeasured_wait(ctx, LEVEL_REST_S, "resting between levels", "cancelled between levels")
            ctx.live.progress = {"level": streams}
            window = push_streams(
                ctx,
                ingest,
                params,
                [params["bitrate"]] * streams,
                f"{job['id']}-{job['attempt']}-n{streams}",
                state["stagger"],
            )
            result = window_result(window, baseline, ingest)
            result["ffmpeg"] = window_ffmpeg_info(ctx, window)
            held, reason = level_verdict(result, state["min_speed"])
            broken = next((s for s in result["streams"] if s["error"]), None)
            if streams == 1 and broken is not None:
                raise JobFailed(broken["error"], {"ffmpeg": result["ffmpeg"], "streams": result["streams"]})
            level = Level(streams, held, reason, _level_entry(streams, held, reason, result), result)
            levels.append(level)
            return level

        found = search(state["max_streams"], measure, held=lambda level: level.held)
        return self._result(found.maximum, levels, state)

    @staticmethod
    def _result(maximum: int, levels: list[Level], state: dict[str, Any]) -> dict[str, Any]:
        at = next(level for level in levels if level.streams == (maximum or 1))
        result = dict(at.result)
        metrics, missing = dict(result["metrics"]), dict(result["missing"])
        metrics["max_streams"] = maximum
        metrics["levels_tried"] = len(levels)
        if maximum == 0:
            reason = f"no level held: even 1 stream was not real time ({at.reason})"
            for key in ("watts_per_stream", "dynamic_watts_per_stream"):
                metrics[key], missing[key] = None, reason
        held = [
            (float(lv.streams), lv.entry["mean_watts"])
            for lv in levels
            if lv.held and lv.entry["mean_watts"] is not None
        ]
        slope = least_squares_slope(held)
        metrics["marginal_watts_per_stream"] = round(slope, 6) if slope is not None else None
        if slope is None:
            missing["marginal_watts_per_stream"] = f"needs mean watts at 2 or more levels that held, got {len(held)}"
        entries = [lv.entry for lv in levels]
        result["metrics"], result["missing"] = metrics, missing
        result["provenance"] = {
            **result["provenance"],
            "notes": [
                *result["provenance"]["notes"],
                f"density: metrics, streams and samples are the {maximum or 1}-stream level's window; "
                f"each level is its own window, {LEVEL_REST_S:g} s unmeasured rest between levels, "
                "one ingest for the whole search",
            ],
        }
        result["density"] = {
            "min_speed": state["min_speed"],
            "max_streams": maximum,
            "levels": entries,
            "curve": sorted(entries, key=lambda e: e["streams"]),
        }
        return result


def _level_entry(streams: int, held: bool, reason: str | None, result: dict[str, Any]) -> dict[str, Any]:
    m = result["metrics"]
    speeds = [s["speed"] for s in result["streams"]]
    return {
        "streams": streams,
        "held": held,
        "reason": reason,
        "min_speed": None if any(v is None for v in speeds) else min(speeds),
        "dropped_frames": m.get("dropped_frames"),
        "mean_watts": m.get("mean_watts"),
        "total_energy_j": m.get("total_energy_j"),
        "duration_s": m.get("duration_s"),
        "frames": m.get("frames"),
    }
