"""``multi``: several concurrent live streams."""

from __future__ import annotations

from wire.kinds.base import BITRATE, SECONDS, Kind
from wire.kinds.live import LIVE_FIELDS, STREAM_METRICS

KIND = Kind(
    name="multi",
    fields={
        **LIVE_FIELDS,
        "count": {"type": "integer", "minimum": 1, "maximum": 256, "description": "a whole number of streams"},
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
    metrics=STREAM_METRICS,
    live=True,
)
"""``count`` concurrent live streams at ``bitrate``, or one stream per entry of ``bitrates``; stream i starts
``stagger`` seconds after stream i-1. Per-stream and total metrics."""
