"""Named scenarios for ``POST /jobs``: ``{"scenario": "1080p-h264", "parameters": {...}}`` becomes one transcode job.

Each preset is a complete transcode job's params (docs/WIRE.md "Job.params") on a generated 1080p or 720p source;
``parameters`` override its fields. Setting ``crf`` clears the preset's ``bitrate`` (and the other way round), since
a job has exactly one of them. A ``duration`` without a ``timeout`` raises the timeout to at least
:data:`TIMEOUT_PER_SECOND` times the duration, so a long encode on a slow node is not killed early.
"""
from __future__ import annotations

import copy
from typing import Any

from master.campaign.defaults import IDLE_BASELINE_S, SAMPLE_RATE_HZ, TIMEOUT_S
from master.campaign.kinds import COMMON_FIELDS, TRANSCODE

TIMEOUT_PER_SECOND = 10
"""Seconds of timeout per second of input when ``parameters`` change the duration but not the timeout."""

CONFIDENCE_LEVELS = ("auto", "high", "medium", "low")
"""Accepted ``confidence`` values: the job becomes a one-variant campaign the master repeats until the 95% interval
of its joules per frame is narrow enough (master/campaign/confidence.py)."""


def _source(size: str) -> dict[str, Any]:
    return {"type": "lavfi", "source": "testsrc2", "size": size, "rate": 30}


def _preset(encoder: str, preset: str | int, bitrate: str, size: str) -> dict[str, Any]:
    return {"kind": "transcode", "input": _source(size), "encoder": encoder, "preset": preset, "bitrate": bitrate,
            "crf": None, "resolution": size, "fps": 30, "duration": 60, "idle_baseline": IDLE_BASELINE_S,
            "sample_rate": SAMPLE_RATE_HZ, "timeout": TIMEOUT_S}


PRESETS: dict[str, dict[str, Any]] = {
    "1080p-h264": _preset("libx264", "medium", "5000k", "1920x1080"),
    "720p-h264": _preset("libx264", "medium", "3000k", "1280x720"),
    "1080p-h265": _preset("libx265", "medium", "3000k", "1920x1080"),
    "1080p-av1": _preset("libsvtav1", 8, "2500k", "1920x1080"),
    "1080p-vp9": _preset("libvpx-vp9", "good:2", "3500k", "1920x1080"),
    "1080p-h264-nvenc": _preset("h264_nvenc", "p4", "5000k", "1920x1080"),
}
"""Scenario name -> the transcode job's params."""

_NULLABLE = ("bitrate", "crf", "resolution", "fps", "preset")

WIRE_INPUT = {
    "description": 'a generated input {"type": "lavfi", "source": "testsrc2", "size": "1920x1080", "rate": 30} or a'
                   ' file on the node {"type": "file", "path": "/abs/clip.mp4"}',
    "oneOf": [
        {"type": "object", "required": ["type", "source"], "additionalProperties": False,
         "properties": {"type": {"const": "lavfi"}, "source": TRANSCODE.fields["input"]["properties"]["source"],
                        "size": {"anyOf": [TRANSCODE.fields["resolution"], {"type": "null"}]},
                        "rate": {"type": ["number", "null"], "exclusiveMinimum": 0}}},
        {"type": "object", "required": ["type", "path"], "additionalProperties": False,
         "properties": {"type": {"const": "file"}, "path": {"type": "string", "pattern": "^/"}}},
    ],
}


def _field_schema(name: str) -> dict[str, Any]:
    schema = TRANSCODE.fields.get(name) or COMMON_FIELDS[name]
    return {"anyOf": [schema, {"type": "null"}]} if name in _NULLABLE else schema


PARAMETERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "fields of the preset's transcode params to override (docs/WIRE.md Job.params)",
    "properties": {
        "input": WIRE_INPUT,
        **{name: _field_schema(name) for name in ("encoder", "preset", "bitrate", "crf", "resolution", "fps",
                                                  "duration", "idle_baseline", "sample_rate", "timeout")},
    },
    "additionalProperties": False,
}
"""JSON Schema of ``POST /jobs``'s ``parameters`` (the campaign kinds' field schemas, reused)."""


class PresetError(ValueError):
    """A scenario or parameters that make no job; the message starts with the field at fault."""


def resolve(scenario: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The job params of ``scenario`` with ``parameters`` applied (already valid against PARAMETERS_SCHEMA)."""
    if scenario not in PRESETS:
        raise PresetError(f"scenario: unknown scenario {scenario!r}; known: {', '.join(PRESETS)}")
    overrides = dict(parameters or {})
    if overrides.get("bitrate") is not None and overrides.get("crf") is not None:
        raise PresetError("parameters: set bitrate or crf, not both")
    params = copy.deepcopy(PRESETS[scenario])
    if overrides.get("crf") is not None:
        params["bitrate"] = None
    if overrides.get("bitrate") is not None:
        params["crf"] = None
    if "duration" in overrides and "timeout" not in overrides:
        params["timeout"] = max(params["timeout"], TIMEOUT_PER_SECOND * overrides["duration"])
    params.update(overrides)
    if (params["bitrate"] is None) == (params["crf"] is None):
        raise PresetError("parameters: exactly one of bitrate and crf must be set")
    return params


def job_spec(scenario: str, params: dict[str, Any], requirements: dict[str, Any], priority: int = 0,
             repetition: int = 1, confidence: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JobSpec dict :func:`master.queue.submit_job` queues for a preset job (``confidence`` normalised)."""
    spec = {"name": f"{scenario}#{repetition}", "scenario": scenario, "variant": scenario, "repetition": repetition,
            "kind": "transcode", "params": params, "requirements": {"encoder": params["encoder"], **requirements},
            "priority": priority}
    if confidence is not None:
        spec["confidence"] = confidence
    return spec
