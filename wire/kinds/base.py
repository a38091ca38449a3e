"""What every scenario kind is made of: :class:`Kind` (its fields as JSON Schema, which of them a job needs) and the
field schemas several kinds share. Each kind is one module of :mod:`wire.kinds`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from wire.content import CONTENT_PRESETS, RENDERS
from wire.encoders import ENCODERS

MAX_SECONDS = 7 * 24 * 3600
"""Longest duration, timeout or wait a field may ask for: a week (a larger number is a mistake, or an attack)."""

# Patterns end in \Z, not $: Python's $ also matches before a final newline ("1280x720\n").
RESOLUTION = {
    "type": "string",
    "pattern": r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}\Z",
    "description": "a size WIDTHxHEIGHT such as '1280x720'",
}
POSITIVE = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SECONDS, "description": "a number of seconds"}
SECONDS = {"type": "number", "minimum": 0, "maximum": MAX_SECONDS, "description": "a number of seconds (0 or more)"}
FPS = {"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "description": "frames per second"}
_NOT_WITH_FILE = {"not": {}, "description": "not used with a 'file' input"}

_NOT_WITH_CONTENT = {"not": {}, "description": "set only one of source or content, not both"}

INPUT = {
    "type": "object",
    "description": "an input mapping: {content: medium, size: 1280x720, rate: 30}, {source: testsrc2, size: 1280x720,"
    " rate: 30} or {file: path/to/clip.mp4}",
    "properties": {
        "source": {
            "type": "string",
            "pattern": r"^[a-z][a-z0-9_]*\Z",
            "description": "a lavfi source name such as 'testsrc2'",
        },
        "content": {"enum": list(CONTENT_PRESETS), "description": "a content preset: " + ", ".join(CONTENT_PRESETS)},
        "size": RESOLUTION,
        "rate": FPS,
        "render": {"enum": list(RENDERS), "description": "prepared or inline"},
        "file": {"type": "string", "minLength": 1, "description": "a path to a video file"},
    },
    "additionalProperties": False,
    "if": {"required": ["file"]},
    "then": {"properties": {name: _NOT_WITH_FILE for name in ("source", "content", "size", "rate", "render")}},
    "else": {
        "if": {"required": ["content"]},
        "then": {"properties": {"source": _NOT_WITH_CONTENT}},
        "else": {"required": ["source"]},
    },
}
"""A scenario's input: a generated source (a content preset, or a lavfi source by name) at a size and rate, or a
file. ``render`` (generated inputs only; wire/content.py): ``prepared`` (default) renders it once outside
the measured window, ``inline`` generates it inside the measured FFmpeg."""

ENCODER = {"enum": list(ENCODERS), "description": "an encoder name such as 'libx264'"}
"""Any encoder of :data:`wire.encoders.ENCODERS`."""

PRESET = {"type": ["string", "integer"], "minLength": 1, "description": "a preset name or number"}
"""An encoder's preset, a name or a number (:mod:`wire.encoders` says which each encoder takes)."""

BITRATE = {
    "type": "string",
    "pattern": r"^[1-9][0-9]{0,11}(\.[0-9]{1,6})?[kKM]?\Z",
    "description": "a bitrate such as '3000k' or '6M'",
}

CONFIDENCE = {
    "description": "auto, high, medium, low, or {target: 0.05, min: 3, max: 10}",
    "oneOf": [
        {"enum": ["auto", "high", "medium", "low"]},
        {
            "type": "object",
            "properties": {
                "target": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": 1,
                    "description": "the 95% CI half-width as a fraction of the mean, such as 0.05",
                },
                "min": {"type": "integer", "minimum": 2, "maximum": 1000, "description": "a whole number of runs"},
                "max": {"type": "integer", "minimum": 2, "maximum": 1000, "description": "a whole number of runs"},
            },
            "required": ["target"],
            "additionalProperties": False,
        },
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


class PlanModel(Protocol):
    """What ``campaign plan`` knows about how long work takes (master/campaign/timing.py, measured on this
    project's development machine); a kind's :attr:`Kind.plan` composes its job's seconds from it."""

    def encode_s(self, params: dict[str, Any]) -> float:
        """Wall seconds to encode ``params.duration`` seconds of input with no figure for the encoder (the
        conservative factor)."""
        ...

    def transcode_s(self, params: dict[str, Any]) -> float:
        """Wall seconds of a transcode's encode, from the figures measured per encoder, preset and pixel rate."""
        ...

    def quality_s(self, params: dict[str, Any]) -> float:
        """Wall seconds of the quality comparison after an encode of ``params.duration`` seconds."""
        ...

    def window_s(self, duration: float, streams: int, stagger: float) -> float:
        """Wall seconds of one live window of ``streams`` real-time streams started ``stagger`` seconds apart."""
        ...


def encode_plan(params: dict[str, Any], model: PlanModel) -> dict[str, float]:
    """The default plan of a kind: an encode of ``duration`` seconds at the conservative factor."""
    return {"encoding": model.encode_s(params)}


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
    metrics: tuple[str, ...] = ()
    """Result metrics only this kind produces, beside the encoding ones every measuring kind reports: summarized per
    variant, and "missing" only in this kind's results. The built-in kinds take them from the metric registry
    (:func:`wire.metrics.kind_metrics`); a kind of another package lists its own."""
    live: bool = False
    """Whether the kind's pushers read their source in real time and loop it: its prepared file then carries the
    audio tone too (a different file from a transcode's of the same frames)."""
    plan: Callable[[dict[str, Any], PlanModel], dict[str, float]] = encode_plan
    """A job's seconds by ``campaign plan`` term ("encoding", "quality", "streaming", "idle baselines") from its params;
    the job's own idle baseline, waits and overhead are added by the plan itself."""

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
