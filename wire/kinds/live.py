"""``live``: one live stream pushed over RTMP in real time; :data:`LIVE_FIELDS` are also the fields of every stream of
``multi`` and ``density``."""

from __future__ import annotations

from typing import Any

from wire.kinds.base import BITRATE, ENCODER, FPS, INPUT, POSITIVE, PRESET, RESOLUTION, SECONDS, Kind, PlanModel
from wire.metrics import kind_metrics

GOP_S = 2
"""Live kinds: seconds per GOP (keyframe interval), as streaming platforms ask for."""

LIVE_FIELDS: dict[str, dict[str, Any]] = {
    "input": INPUT,
    "encoder": ENCODER,
    "preset": PRESET,
    "bitrate": BITRATE,
    "resolution": RESOLUTION,
    "fps": FPS,
    "duration": POSITIVE,
    "gop": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "description": "a GOP length in seconds"},
    "audio": {"type": "boolean", "description": "true or false"},
    "ingest": {"enum": ["auto", "nginx", "listen"], "description": "auto, nginx or listen"},
    "rtmp_url": {
        "type": "string",
        "pattern": r"^rtmps?://[^\s]+\Z",
        "description": "an RTMP URL such as 'rtmp://127.0.0.1:1935/live' (an ingest you run)",
    },
    "stabilization": SECONDS,
    "cooldown": SECONDS,
}
"""A live stream: the source in real time (``-re``) encoded CBR-style (``-b:v`` = ``-maxrate``, ``-bufsize`` 2x,
``gop`` seconds per GOP, AAC 128k when ``audio``) and pushed over RTMP as FLV. ``ingest``: ``auto`` starts nginx-rtmp
from a generated config on a loopback port (FFmpeg's own ``-listen 1`` when nginx is not installed), ``nginx`` /
``listen`` insist on one; ``rtmp_url`` pushes to an ingest you run instead (the agent starts nothing)."""

STREAM_COUNT = {"type": "integer", "minimum": 1, "maximum": 256, "description": "a whole number of streams"}
"""A number of concurrent streams (``multi``'s ``count``, ``density``'s ``max_streams``)."""

STREAM_METRICS = kind_metrics("live")
"""Metrics of the live kinds (live, multi), from the metric registry (wire/metrics.py); ``realtime`` is a boolean per
run, its mean the share of real-time runs."""


def plan(params: dict[str, Any], model: PlanModel) -> dict[str, float]:
    """One stream in real time: ``duration`` once, plus the window's setup."""
    return {"streaming": model.window_s(params.get("duration") or 0, 1, 0)}


KIND = Kind(
    name="live",
    fields=LIVE_FIELDS,
    required=("input", "encoder", "bitrate", "duration"),
    metrics=STREAM_METRICS,
    live=True,
    plan=plan,
)
