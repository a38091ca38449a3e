"""What content a run encoded, and warnings about it: the source each result says it read (docs/WIRE.md "Source"),
and the three ways content can mislead a reader of the figures.

- ``low_bitrate``: a run (or one of its streams or rungs) achieved less than :data:`LOW_BITRATE_SHARE` of its target
  bitrate: the content was too easy for that bitrate, so the encoder had little work to do.
- ``different_source``: the quality comparison read another source than the encode (``quality.same_source`` false).
- ``inline_render``: the source was generated inside the measured FFmpeg, so generating it is in the energy figures.

Results from older agents carry none of these fields: they give no source and no warning, never an error.
"""

from __future__ import annotations

import re
from typing import Any

LOW_BITRATE_SHARE = 0.7
"""A run below this share of its target bitrate gets the ``low_bitrate`` warning."""

SOURCE_KEYS = ("render", "content", "graph", "file", "sha256")
"""Fields of a result's ``source`` that describe which content it was, collected per variant."""

SITI_KEYS = ("si_mean", "si_max", "ti_mean", "ti_max")
"""SI/TI fields of a result's ``source``."""

INLINE_MESSAGE = "the source was generated inside the measured process: its CPU is in the figures"
SAME_SOURCE_MESSAGE = (
    "the quality comparison used a different source than the encode: its scores do not describe this encode"
)

_BITRATE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([kKM]?)$")


def target_kbps(bitrate: Any) -> float | None:
    """A bitrate parameter in kb/s: ``"3000k"`` -> 3000, ``"6M"`` -> 6000, ``"800000"`` (bit/s) -> 800, a number
    (kb/s already, as a stream's ``target_bitrate_kbps``) as it is; None for anything else."""
    if isinstance(bitrate, bool):
        return None
    if isinstance(bitrate, int | float):
        return float(bitrate) if bitrate > 0 else None
    match = _BITRATE.match(bitrate.strip()) if isinstance(bitrate, str) else None
    if not match:
        return None
    value = float(match.group(1))
    scale = {"": 0.001, "k": 1.0, "K": 1.0, "M": 1000.0}[match.group(2)]
    return value * scale if value > 0 else None


def result_source(result: dict) -> dict:
    """The result's ``source`` object ({} when it has none: an older agent)."""
    source = result.get("source")
    return source if isinstance(source, dict) else {}


def variant_source(params: dict, results: list[dict]) -> dict:
    """The content of a variant: per field of :data:`SOURCE_KEYS` the distinct values its results report (the
    params' input when no result says), and the SI/TI fields' ranges."""
    sources = [result_source(r) for r in results]
    found: dict[str, Any] = {
        key: list(dict.fromkeys(s.get(key) for s in sources if s.get(key) is not None)) for key in SOURCE_KEYS
    }
    spec = params.get("input") if isinstance(params.get("input"), dict) else {}
    if not found["render"] and spec.get("render"):
        found["render"] = [spec["render"]]
    if not found["content"] and spec.get("content"):
        found["content"] = [spec["content"]]
    for key in SITI_KEYS:
        values = [s[key] for s in sources if isinstance(s.get(key), int | float) and not isinstance(s.get(key), bool)]
        found[key] = [min(values), max(values)] if values else None
    found["siti_reasons"] = list(dict.fromkeys(s["siti_reason"] for s in sources if s.get("siti_reason")))
    return found


def job_warnings(job: dict, result: dict) -> list[dict]:
    """The warnings of one succeeded run: each ``{"kind", "job", "message"}``."""
    name = job.get("name") or job.get("id") or "?"
    found = [{"kind": "low_bitrate", "job": name, "message": message} for message in _low_bitrates(job, result)]
    quality = result.get("quality") if isinstance(result.get("quality"), dict) else {}
    if quality.get("same_source") is False:
        found.append({"kind": "different_source", "job": name, "message": SAME_SOURCE_MESSAGE})
    if _render(job, result) == "inline":
        found.append({"kind": "inline_render", "job": name, "message": INLINE_MESSAGE})
    return found


def _render(job: dict, result: dict) -> str | None:
    """How the run's source was produced: the result's ``source.render``, else what the job asked for."""
    render = result_source(result).get("render")
    if render is None:
        spec = (job.get("params") or {}).get("input")
        render = spec.get("render") if isinstance(spec, dict) else None
    return render


def _low_bitrates(job: dict, result: dict) -> list[str]:
    """One message per part of the run (the run, each stream, each rung) below its target bitrate."""
    params = job.get("params") or {}
    parts: list[tuple[str, Any, Any]] = []
    streams = result.get("streams") if isinstance(result.get("streams"), list) else []
    rungs = result.get("rungs") if isinstance(result.get("rungs"), list) else []
    for index, stream in enumerate(s for s in streams if isinstance(s, dict)):
        target = stream.get("target_bitrate_kbps") or stream.get("bitrate") or params.get("bitrate")
        parts.append((f"stream {stream.get('index', index)}: ", stream.get("bitrate_kbps"), target))
    for index, rung in enumerate(r for r in rungs if isinstance(r, dict)):
        parts.append((f"rung {index + 1} ({rung.get('resolution')}): ", rung.get("bitrate_kbps"), rung.get("bitrate")))
    if not streams and not rungs:
        metrics = result.get("metrics") or {}
        parts.append(("", metrics.get("bitrate_kbps"), metrics.get("target_bitrate_kbps") or params.get("bitrate")))
    messages = []
    for prefix, achieved, target in parts:
        wanted = target_kbps(target)
        if (
            wanted
            and isinstance(achieved, int | float)
            and not isinstance(achieved, bool)
            and achieved < LOW_BITRATE_SHARE * wanted
        ):
            messages.append(f"{prefix}content too easy for the bitrate: achieved {achieved:.0f} of {wanted:g} kb/s")
    return messages
