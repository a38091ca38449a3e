"""``ladder``: an ABR ladder, every rung encoded from one decode in one FFmpeg process."""

from __future__ import annotations

from wire.kinds.base import BITRATE, ENCODER, FPS, INPUT, POSITIVE, PRESET, RESOLUTION, SECONDS, Kind
from wire.metrics import kind_metrics

MAX_RUNGS = 16
"""Most rungs a ladder job may have."""

KIND = Kind(
    name="ladder",
    fields={
        "input": INPUT,
        "encoder": ENCODER,
        "preset": PRESET,
        "fps": FPS,
        "duration": POSITIVE,
        "rungs": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_RUNGS,
            "description": "a list of rungs such as [{resolution: 1280x720, bitrate: 3000k}]",
            "items": {
                "type": "object",
                "properties": {"resolution": RESOLUTION, "bitrate": BITRATE},
                "required": ["resolution", "bitrate"],
                "additionalProperties": False,
            },
        },
        "stabilization": SECONDS,
        "cooldown": SECONDS,
    },
    required=("input", "encoder", "duration", "rungs"),
    metrics=kind_metrics("ladder"),
)
"""An ABR ladder: one input decoded once, ``split`` and scaled to every rung, each rung encoded at its bitrate in the
same FFmpeg process; frames and pixels are counted per rung actually produced."""
