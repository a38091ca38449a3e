"""``multi``: several concurrent live streams."""

from __future__ import annotations

from typing import Any

from wire.kinds.base import BITRATE, SECONDS, Kind, PlanModel
from wire.kinds.live import LIVE_FIELDS, STREAM_COUNT
from wire.metrics import kind_metrics


def plan(params: dict[str, Any], model: PlanModel) -> dict[str, float]:
    """Every stream in real time at once: ``duration`` once, plus the staggered starts and the window's setup."""
    streams = len(params.get("bitrates") or []) or params.get("count") or 1
    return {"streaming": model.window_s(params.get("duration") or 0, streams, params.get("stagger") or 0)}


KIND = Kind(
    name="multi",
    fields={
        **LIVE_FIELDS,
        "count": STREAM_COUNT,
        "bitrates": {
            "type": "array",
            "items": BITRATE,
            "minItems": 1,
            "maxItems": 256,
            "description": "a list of bitrates, one stream each, such as [1000k, 2500k]",
        },
        "stagger": SECONDS,
    },
    required=("input", "encoder", "duration"),
    one_of=(("bitrate", "bitrates"),),
    metrics=kind_metrics("multi"),
    live=True,
    plan=plan,
)
"""``count`` concurrent live streams at ``bitrate``, or one stream per entry of ``bitrates``; stream i starts
``stagger`` seconds after stream i-1. Per-stream and total metrics."""
