"""Efficiency figures the master derives per run from what a result already carries (wire/metrics.py DERIVED).

- ``pixels_per_joule`` = frames x width x height / total energy; a ladder's pixels are its ``pixels`` metric (the sum
  over its rungs), another kind's size is its ``resolution`` parameter, else its generated input's ``size``.
- ``mbps_per_watt`` = bitrate_kbps / 1000 / mean watts.
- ``joules_per_stream_hour`` = watts per stream x 3600, for the stream kinds (live, multi, density).

Each is None with a reason when an input is missing (or the energy is 0); one computed from an estimated energy is
estimated too, as its inputs are (the variant's provenance says so, and the report badges it ``est.``).
"""

from __future__ import annotations

import re

from wire.metrics import DERIVED

RESOLUTION = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")

SECONDS_PER_HOUR = 3600


def derived_metrics(kind: str | None, params: dict, result: dict) -> tuple[dict[str, float | None], dict[str, str]]:
    """``(values, missing)``: the derived metrics that apply to ``kind`` (those of DERIVED whose ``kinds`` include it
    or are None) for one succeeded result, and why each None one is None."""
    metrics = result.get("metrics") if isinstance(result.get("metrics"), dict) else {}
    missing_in = result.get("missing") if isinstance(result.get("missing"), dict) else {}
    compute = {
        "pixels_per_joule": lambda: _pixels_per_joule(kind, params, metrics, missing_in),
        "mbps_per_watt": lambda: _mbps_per_watt(metrics, missing_in),
        "joules_per_stream_hour": lambda: _per_stream_hour(metrics, missing_in),
    }
    values: dict[str, float | None] = {}
    missing: dict[str, str] = {}
    for metric in DERIVED:
        if metric.kinds is not None and kind not in metric.kinds:
            continue
        values[metric.name], reason = compute[metric.name]()
        if values[metric.name] is None:
            missing[metric.name] = reason
    return values, missing


def _number(metrics: dict, missing: dict, name: str) -> tuple[float | None, str | None]:
    value = metrics.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"{name} not measured: {missing.get(name) or 'not reported by the agent'}"
    return float(value), None


def _ratio(top: float | None, bottom: float | None, why: str | None, name: str) -> tuple[float | None, str | None]:
    if why:
        return None, why
    if not bottom:
        return None, f"{name} is 0"
    return top / bottom, None


def _pixels_per_joule(kind, params: dict, metrics: dict, missing: dict) -> tuple[float | None, str | None]:
    total, why = _number(metrics, missing, "total_energy_j")
    if why:
        return None, why
    if kind == "ladder":
        pixels, why = _number(metrics, missing, "pixels")
    else:
        frames, why = _number(metrics, missing, "frames")
        size = frame_size(params)
        if why is None and size is None:
            why = "frame size unknown: no resolution parameter and no generated input size"
        pixels = frames * size[0] * size[1] if why is None else None
    return _ratio(pixels, total, why, "total_energy_j")


def frame_size(params: dict) -> tuple[int, int] | None:
    """Width and height of the encoded frames: the job's ``resolution``, else its generated input's ``size``."""
    source = params.get("input") if isinstance(params.get("input"), dict) else {}
    for text in (params.get("resolution"), source.get("size")):
        match = RESOLUTION.match(text) if isinstance(text, str) else None
        if match:
            return int(match[1]), int(match[2])
    return None


def _mbps_per_watt(metrics: dict, missing: dict) -> tuple[float | None, str | None]:
    kbps, why = _number(metrics, missing, "bitrate_kbps")
    watts, why_w = _number(metrics, missing, "mean_watts")
    value, why = _ratio(kbps / 1000 if kbps is not None else None, watts, why or why_w, "mean_watts")
    return value, why


def _per_stream_hour(metrics: dict, missing: dict) -> tuple[float | None, str | None]:
    watts, why = _number(metrics, missing, "watts_per_stream")
    return (watts * SECONDS_PER_HOUR, None) if why is None else (None, why)
