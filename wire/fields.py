"""Names of result metrics and job parameters that modules on both sides list: one list each, so they stay alike."""

from __future__ import annotations

QUALITY_METRICS = (
    "psnr_db",
    "psnr_identical",
    "ssim",
    "vmaf",
    "quality_frames",
    "ssim_frames_per_joule",
    "vmaf_frames_per_joule",
)
"""A result's quality metrics (docs/WIRE.md "Quality"), in the order results.csv lists them."""

ENCODING_PARAMS = ("encoder", "preset", "bitrate", "crf", "resolution", "fps", "duration")
"""The encoding parameters of a transcode job (docs/WIRE.md Job.params; wire/kinds/transcode.py), in that order."""
