"""``transcode``: encode one input with one encoder; ``stabilization`` and ``cooldown`` are unmeasured waits (after the
idle baseline, before FFmpeg starts; at the end of the job, after the encode and its quality comparison), ``quality``
asks for the PSNR/SSIM/VMAF comparison."""

from __future__ import annotations

from typing import Any

from wire.kinds.base import BITRATE, ENCODER, FPS, INPUT, POSITIVE, PRESET, RESOLUTION, SECONDS, Kind, PlanModel


def plan(params: dict[str, Any], model: PlanModel) -> dict[str, float]:
    """The encode at the measured figures, then its quality pass unless ``quality: false``."""
    quality = model.quality_s(params) if params.get("quality", True) else 0.0
    return {"encoding": model.transcode_s(params), "quality": quality}


KIND = Kind(
    name="transcode",
    fields={
        "input": INPUT,
        "encoder": ENCODER,
        "preset": PRESET,
        "bitrate": BITRATE,
        "crf": {"type": "number", "minimum": 0, "maximum": 63, "description": "a quality level such as 23"},
        "resolution": RESOLUTION,
        "fps": FPS,
        "duration": POSITIVE,
        "stabilization": SECONDS,
        "cooldown": SECONDS,
        "quality": {"type": "boolean", "description": "true or false"},
    },
    required=("input", "encoder", "duration"),
    one_of=(("bitrate", "crf"),),
    plan=plan,
)
