"""Scenario kinds: the fields each kind of scenario takes, as JSON Schema, and which of them a job needs.

A kind is registered once here; the campaign schema, the checks, the expansion and the job params all read the
registry, so a new kind (live, multi, density, ladder) is one ``register(Kind(...))`` call.

``transcode``: encode one input with one encoder; ``stabilization`` and ``cooldown`` are unmeasured waits (after the
idle baseline, before FFmpeg starts; at the end of the job, after the encode and its quality comparison), ``quality``
asks for the PSNR/SSIM/VMAF comparison. ``baseline``: ``duration`` seconds of idle power, no FFmpeg, no encoder requirement.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wire.content import CONTENT_PRESETS, RENDERS
from wire.encoders import ENCODERS

MAX_SECONDS = 7 * 24 * 3600
"""Longest duration, timeout or wait a field may ask for: a week (a larger number is a mistake, or an attack)."""

# Patterns end in \Z, not $: Python's $ also matches before a final newline ("1280x720\n").
RESOLUTION = {"type": "string", "pattern": r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}\Z",
              "description": "a size WIDTHxHEIGHT such as '1280x720'"}
POSITIVE = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SECONDS,
            "description": "a number of seconds"}
SECONDS = {"type": "number", "minimum": 0, "maximum": MAX_SECONDS,
           "description": "a number of seconds (0 or more)"}
FPS = {"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "description": "frames per second"}
_NOT_WITH_FILE = {"not": {}, "description": "not used with a 'file' input"}

_NOT_WITH_CONTENT = {"not": {}, "description": "set only one of source or content, not both"}

INPUT = {
    "type": "object",
    "description": "an input mapping: {content: medium, size: 1280x720, rate: 30}, {source: testsrc2, size: 1280x720,"
                   " rate: 30} or {file: path/to/clip.mp4}",
    "properties": {
        "source": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*\Z",
                   "description": "a lavfi source name such as 'testsrc2'"},
        "content": {"enum": list(CONTENT_PRESETS), "description": "a content preset: " + ", ".join(CONTENT_PRESETS)},
        "size": RESOLUTION,
        "rate": FPS,
        "render": {"enum": list(RENDERS), "description": "prepared or inline"},
        "file": {"type": "string", "minLength": 1, "description": "a path to a video file"},
    },
    "additionalProperties": False,
    "if": {"required": ["file"]},
    "then": {"properties": {name: _NOT_WITH_FILE for name in ("source", "content", "size", "rate", "render")}},
    "else": {"if": {"required": ["content"]},
             "then": {"properties": {"source": _NOT_WITH_CONTENT}},
             "else": {"required": ["source"]}},
}
"""A scenario's input: a generated source (a content preset, or a lavfi source by name) at a size and rate, or a
file. ``render`` (generated inputs only; wire/content.py): ``prepared`` (default) renders it once outside
the measured window, ``inline`` generates it inside the measured FFmpeg."""

BITRATE = {"type": "string", "pattern": r"^[1-9][0-9]{0,11}(\.[0-9]{1,6})?[kKM]?\Z",
           "description": "a bitrate such as '3000k' or '6M'"}

CONFIDENCE = {
    "description": "auto, high, medium, low, or {target: 0.05, min: 3, max: 10}",
    "oneOf": [
        {"enum": ["auto", "high", "medium", "low"]},
        {"type": "object",
         "properties": {
             "target": {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                        "description": "the 95% CI half-width as a fraction of the mean, such as 0.05"},
             "min": {"type": "integer", "minimum": 2, "maximum": 1000, "description": "a whole number of runs"},
             "max": {"type": "integer", "minimum": 2, "maximum": 1000, "description": "a whole number of runs"},
         },
         "required": ["target"],
         "additionalProperties": False},
    ],
}
"""Repeat a variant until the 95% confidence interval of its joules per frame is narrow enough (instead of a fixed
``repetitions``); see master/campaign/confidence.py for the presets."""

COMMON_FIELDS: dict[str, dict[str, Any]] = {
    "repetitions": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "a whole number of runs"},
    "confidence": CONFIDENCE,
    "idle_baseline": SECONDS,
    "sample_rate": {"type": "number", "minimum": 1, "maximum": 1000, "description": "a number of samples per second"},
    "timeout": POSITIVE,
}
"""Fields every kind takes: how often to run and how to measure."""

MEASUREMENT_PARAMS = ("idle_baseline", "sample_rate", "timeout")
"""Common fields that travel in every job's params (docs/WIRE.md); ``repetitions`` becomes separate jobs instead."""


@dataclass(frozen=True)
class Kind:
    """A kind of scenario: its own fields (JSON Schema each), the ones a job needs, and groups of fields of which
    exactly one must be set (such as bitrate or crf)."""

    name: str
    fields: dict[str, dict[str, Any]]
    required: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    matrix_excluded: tuple[str, ...] = ("repetitions", "confidence")
    requirements: tuple[str, ...] = ("encoder",)
    common: tuple[str, ...] = tuple(COMMON_FIELDS)
    """The common fields this kind takes (all by default; ``baseline`` has no idle baseline of its own)."""

    @property
    def all_fields(self) -> dict[str, dict[str, Any]]:
        """The kind's fields followed by the common ones: every field a scenario of this kind may set."""
        return {**self.fields, **{name: COMMON_FIELDS[name] for name in self.common}}

    @property
    def matrix_fields(self) -> list[str]:
        """Fields a matrix may vary."""
        return [name for name in self.all_fields if name not in self.matrix_excluded]

    @property
    def param_fields(self) -> tuple[str, ...]:
        """The job params' keys after ``kind``, in docs/WIRE.md order."""
        return (*self.fields, *(name for name in MEASUREMENT_PARAMS if name in self.common))


KINDS: dict[str, Kind] = {}
"""Registered kinds by name; a scenario of any other kind is an error."""


def register(kind: Kind) -> Kind:
    """Add a kind to the registry (replacing one of the same name) and return it."""
    KINDS[kind.name] = kind
    return kind


TRANSCODE = register(Kind(
    name="transcode",
    fields={
        "input": INPUT,
        "encoder": {"enum": list(ENCODERS), "description": "an encoder name such as 'libx264'"},
        "preset": {"type": ["string", "integer"], "minLength": 1, "description": "a preset name or number"},
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
))

BASELINE = register(Kind(
    name="baseline",
    fields={"duration": POSITIVE},
    required=("duration",),
    requirements=(),
    common=("repetitions", "sample_rate", "timeout"),
))
"""An idle measurement as its own scenario: ``duration`` seconds of power with no job running."""


LIVE_FIELDS: dict[str, dict[str, Any]] = {
    "input": INPUT,
    "encoder": TRANSCODE.fields["encoder"],
    "preset": TRANSCODE.fields["preset"],
    "bitrate": BITRATE,
    "resolution": RESOLUTION,
    "fps": TRANSCODE.fields["fps"],
    "duration": POSITIVE,
    "gop": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "description": "a GOP length in seconds"},
    "audio": {"type": "boolean", "description": "true or false"},
    "ingest": {"enum": ["auto", "nginx", "listen"], "description": "auto, nginx or listen"},
    "rtmp_url": {"type": "string", "pattern": r"^rtmps?://[^\s]+\Z",
                 "description": "an RTMP URL such as 'rtmp://127.0.0.1:1935/live' (an ingest you run)"},
    "stabilization": SECONDS,
    "cooldown": SECONDS,
}
"""A live stream: the source in real time (``-re``) encoded CBR-style (``-b:v`` = ``-maxrate``, ``-bufsize`` 2x,
``gop`` seconds per GOP, AAC 128k when ``audio``) and pushed over RTMP as FLV. ``ingest``: ``auto`` starts nginx-rtmp
from a generated config on a loopback port (FFmpeg's own ``-listen 1`` when nginx is not installed), ``nginx`` /
``listen`` insist on one; ``rtmp_url`` pushes to an ingest you run instead (the agent starts nothing)."""

LIVE = register(Kind(
    name="live",
    fields=LIVE_FIELDS,
    required=("input", "encoder", "bitrate", "duration"),
))

MULTI = register(Kind(
    name="multi",
    fields={
        **LIVE_FIELDS,
        "count": {"type": "integer", "minimum": 1, "maximum": 256, "description": "a whole number of streams"},
        "bitrates": {"type": "array", "items": BITRATE, "minItems": 1, "maxItems": 256,
                     "description": "a list of bitrates, one stream each, such as [1000k, 2500k]"},
        "stagger": SECONDS,
    },
    required=("input", "encoder", "duration"),
    one_of=(("bitrate", "bitrates"),),
))
"""``count`` concurrent live streams at ``bitrate``, or one stream per entry of ``bitrates``; stream i starts
``stagger`` seconds after stream i-1. Per-stream and total metrics."""

DENSITY = register(Kind(
    name="density",
    fields={
        **LIVE_FIELDS,
        "max_streams": {"type": "integer", "minimum": 1, "maximum": 256, "description": "a whole number of streams"},
        "min_speed": {"type": "number", "exclusiveMinimum": 0, "maximum": 2,
                      "description": "a speed such as 0.98 (1.0 = real time)"},
        "stagger": SECONDS,
    },
    required=("input", "encoder", "bitrate", "duration"),
))
"""The most concurrent live streams of one profile that all stay real time (every stream's speed >= ``min_speed``, no
dropped frames): levels 1, 2, 4, ... up to ``max_streams``, then a bisection between the last level that held and the
first that did not; ``duration`` seconds measured per level."""

LADDER = register(Kind(
    name="ladder",
    fields={
        "input": INPUT,
        "encoder": TRANSCODE.fields["encoder"],
        "preset": TRANSCODE.fields["preset"],
        "fps": TRANSCODE.fields["fps"],
        "duration": POSITIVE,
        "rungs": {"type": "array", "minItems": 1, "maxItems": 16,
                  "description": "a list of rungs such as [{resolution: 1280x720, bitrate: 3000k}]",
                  "items": {"type": "object", "properties": {"resolution": RESOLUTION, "bitrate": BITRATE},
                            "required": ["resolution", "bitrate"], "additionalProperties": False}},
        "stabilization": SECONDS,
        "cooldown": SECONDS,
    },
    required=("input", "encoder", "duration", "rungs"),
))
"""An ABR ladder: one input decoded once, ``split`` and scaled to every rung, each rung encoded at its bitrate in the
same FFmpeg process; frames and pixels are counted per rung actually produced."""
