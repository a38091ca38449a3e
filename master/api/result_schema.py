"""The JSON Schema of a result (``POST /results``, docs/WIRE.md "Result"): every field typed and bounded.

What the agent sends, kind by kind (agent/scenarios/*.py, agent/energy.py, agent/ffmpeg/quality.py), with margin:

- numbers are finite (the body parser already refuses NaN and Infinity) and within ±1.8e308; energies, durations,
frames, bytes, rates
  and watts are >= 0; ``dynamic_*`` metrics and ``marginal_watts_per_stream`` may be negative (dynamic energy is
  total - idle x duration, not clamped; the marginal watts are a least-squares slope);
- counts are integers from 0 to :data:`MAX_INT` (SQLite's largest integer, so no reader overflows converting one);
- strings, arrays and objects have a maximum length: :data:`NAME_LEN` for names and keys, :data:`TEXT_LEN` for one
  reason, note, argv entry or FFmpeg stderr line, :data:`ERROR_LEN` for ``error``;
- a metric the schema does not know is accepted when its name is snake_case (at most 64 characters) and its value a
  finite number, a boolean or null (a newer agent's new metric); any other unknown field is refused.

The view validates with :data:`RESULT_SCHEMA` (and ``GET /openapi.json`` shows it). Results stored before this
schema existed may break it: :func:`clean_stored` turns such a body into one that keeps it, so readers of stored
results never see more than the schema guarantees.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

import fastjsonschema
import jsonschema

from master.api.bodies import fast_validator
from wire.content import CONTENT_PRESETS
from wire.metrics import FLOAT_MAX, MAX_INT, WIRE_METRICS
from wire.states import RESULT_STATUSES

NAME_LEN = 256
"""Longest id, name, key, version or resolution string."""

TEXT_LEN = 16_384
"""Longest reason, provenance note, argv entry or FFmpeg stderr line (16 KiB; FFmpeg's lines are under 1 KiB)."""

ERROR_LEN = 65_536
"""Longest ``error``: a failed ladder or multi job joins one reason per rung or stream."""

MAX_SAMPLES = 500_000
"""Most power samples. The agent sends window seconds x sample rate of them: 6,000 for the default 600 s timeout at
the default 10 Hz, 36,000 for an hour. The 32 MiB body limit (MAX_CONTENT_LENGTH) holds about 450,000 samples of one
source (about 70 bytes each), so a larger count could never arrive whole anyway."""

MAX_STREAMS = 1024
"""Most entries of ``streams``: multi and density allow 256 streams."""

MAX_RUNGS = 64
"""Most entries of ``rungs``: a ladder has at most 16."""

MAX_LEVELS = 256
"""Most density levels: a search of 256 streams measures fewer than 20."""

MAX_SOURCES = 256
"""Most power sources in ``provenance.sources`` and ``metrics.energy_j``."""

MAX_LINES = 4096
"""Most entries of ``provenance.notes``, ``ffmpeg.argv`` and ``stderr_tail`` (the agent keeps 50 stderr lines)."""

MAX_METRICS = 512
"""Most keys in ``metrics`` (the agent sends about 50)."""

MAX_MISSING = 16_384
"""Most keys in ``missing``: up to 8 per stream (``streams.<i>.<field>``) plus the metrics."""

METRIC_NAME = r"^[a-z][a-z0-9_]{0,63}(?!\n)$"
"""The name an unknown metric must have (the lookahead: Python's ``$`` also matches before a final newline)."""


def _num(low: float = 0, high: float = FLOAT_MAX, null: bool = True) -> dict[str, Any]:
    return {"type": ["number", "null"] if null else "number", "minimum": low, "maximum": high}


def _int(low: int = 0, high: int = MAX_INT, null: bool = True) -> dict[str, Any]:
    return {"type": ["integer", "null"] if null else "integer", "minimum": low, "maximum": high}


def _text(limit: int = TEXT_LEN, null: bool = True) -> dict[str, Any]:
    return {"type": ["string", "null"] if null else "string", "maxLength": limit}


def _array(items: dict[str, Any], limit: int, null: bool = False) -> dict[str, Any]:
    """An array of at most ``limit`` ``items``; the items of a longer one are not checked (``if``/``then``), so a
    giant array costs one length check, not one check per item."""
    return {
        "type": ["array", "null"] if null else "array",
        "maxItems": limit,
        "if": {"maxItems": limit},
        "then": {"items": items},
    }


def _lines(limit: int = MAX_LINES, null: bool = False) -> dict[str, Any]:
    return _array(_text(null=False), limit, null)


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), null: bool = False) -> dict[str, Any]:
    schema = {"type": ["object", "null"] if null else "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _map(values: dict[str, Any], limit: int) -> dict[str, Any]:
    """An object with free keys (non-empty, at most NAME_LEN characters) and ``values``."""
    return {
        "type": "object",
        "maxProperties": limit,
        "propertyNames": {"minLength": 1, "maxLength": NAME_LEN},
        "additionalProperties": values,
    }


BOOL = {"type": ["boolean", "null"]}
ANY_NUMBER = _num(low=-FLOAT_MAX)
COUNT = _int()
SECONDS = _num()
WATTS = _num()
ENERGY = _num()

METRICS: dict[str, dict[str, Any]] = {m.name: m.documented_schema for m in WIRE_METRICS}
"""Every metric the agent sends, with its type and range: the metric registry's (wire/metrics.py)."""

METRICS_SCHEMA = {
    "type": ["object", "null"],
    "maxProperties": MAX_METRICS,
    "properties": METRICS,
    "propertyNames": {"pattern": METRIC_NAME},
    "additionalProperties": {"type": ["number", "boolean", "null"], "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX},
}
"""``metrics``: the known ones as :data:`METRICS` says, any other snake_case name a number, a boolean or null."""

SOURCE = _object(
    {
        "name": _text(NAME_LEN, null=False),
        "kind": _text(NAME_LEN, null=False),
        "measured": {"type": "boolean"},
        "valid_samples": _int(null=False),
        "invalid_samples": _int(null=False),
        "reason": _text(),
        "encoder_util_pct": _num(0, 100),
    },
    required=("name",),
)

PROVENANCE = _object(
    {
        "estimated": {"type": "boolean"},
        "sources": _array(SOURCE, MAX_SOURCES),
        "sample_rate_hz": _num(),
        "sample_count": COUNT,
        "ffwatt_version": _text(NAME_LEN),
        "notes": _lines(),
    },
    null=True,
)

BASELINE = _object(
    {"duration_s": SECONDS, "idle_watts": WATTS, "sample_count": COUNT, "other_load_pct": _num(high=100)}, null=True
)
"""A result's idle baseline; ``other_load_pct``: the share of the machine's CPU that other processes used meanwhile."""

FFMPEG = _object(
    {"argv": _lines(null=True), "version": _text(NAME_LEN), "path": _text(), "stderr_tail": _lines()}, null=True
)

SAMPLE = _object({"t": _num(null=False), "watts": _map(WATTS, MAX_SOURCES), "total_watts": WATTS}, required=("t",))

QUALITY = _object(
    {
        "argv": _lines(),
        "duration_s": SECONDS,
        "returncode": _int(-(2**31), 2**31),
        "vmaf_model": _text(NAME_LEN),
        "compared_frames_longest": COUNT,
        "compared_frames_shortest": COUNT,
        "encoded_frames": COUNT,
        "psnr": _object({k: _num(0, 100) for k in ("y", "u", "v", "average", "min", "max")}),
        "ssim": _object({**{k: _num(-1, 1) for k in ("y", "u", "v", "all")}, "all_db": ANY_NUMBER}),
        "stderr_tail": _lines(),
        "same_source": {"type": "boolean"},
    },
    null=True,
)

SOURCE_RENDERS = ("prepared", "inline", "file")
"""How a job's source was produced: rendered once into the agent's cache before the measured window (``prepared``),
generated by the measured FFmpeg itself (``inline``), or read from a file (``file``)."""

SHA256 = {"type": ["string", "null"], "pattern": r"^[0-9a-fA-F]{64}(?!\n)$"}

INPUT_SOURCE = _object(
    {
        "render": {"enum": list(SOURCE_RENDERS)},
        "content": {"enum": [*CONTENT_PRESETS, None]},
        "graph": _text(),
        "file": _text(),
        "sha256": SHA256,
        "bytes": COUNT,
        "format": _text(NAME_LEN),
        "loop": {"type": "boolean"},
        "segment_s": SECONDS,
        "render_s": SECONDS,
        "cached": {"type": "boolean"},
        "si_mean": _num(),
        "si_max": _num(),
        "ti_mean": _num(),
        "ti_max": _num(),
        "siti_reason": _text(),
    },
    null=True,
)
"""``source``: what content the job encoded and how it was produced (docs/WIRE.md "Source")."""

STREAM = _object(
    {
        "index": _int(null=False),
        "bitrate": {"type": ["string", "number", "null"], "maxLength": NAME_LEN, "minimum": 0},
        "target_bitrate_kbps": _num(),
        "frames": COUNT,
        "frames_received": COUNT,
        "dropped_frames": COUNT,
        "duplicated_frames": COUNT,
        "speed": _num(),
        "fps": _num(),
        "bitrate_kbps": _num(),
        "output_bytes": COUNT,
        "error": _text(),
    }
)

RUNG = _object(
    {
        "resolution": _text(NAME_LEN),
        "bitrate": {"type": ["string", "number", "null"], "maxLength": NAME_LEN, "minimum": 0},
        "frames": COUNT,
        "pixels": COUNT,
        "output_bytes": COUNT,
        "bitrate_kbps": _num(),
        "error": _text(),
    }
)

LEVEL = _object(
    {
        "streams": _int(null=False),
        "held": {"type": "boolean"},
        "reason": _text(),
        "min_speed": _num(),
        "dropped_frames": COUNT,
        "mean_watts": WATTS,
        "total_energy_j": ENERGY,
        "duration_s": SECONDS,
        "frames": COUNT,
    }
)

DENSITY = _object(
    {
        "min_speed": _num(),
        "max_streams": COUNT,
        "levels": _array(LEVEL, MAX_LEVELS),
        "curve": _array(LEVEL, MAX_LEVELS),
    },
    null=True,
)

TIMESTAMP = {"type": ["string", "null"], "maxLength": 64}

RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["job_id", "attempt", "node_id", "status"],
    "properties": {
        "job_id": {"type": "string", "minLength": 1, "maxLength": NAME_LEN},
        "attempt": {"type": "integer", "minimum": 1, "maximum": 2**31},
        "node_id": {"type": "string", "minLength": 1, "maxLength": NAME_LEN},
        "status": {"enum": list(RESULT_STATUSES)},
        "error": _text(ERROR_LEN),
        "started_at": TIMESTAMP,
        "finished_at": TIMESTAMP,
        "metrics": METRICS_SCHEMA,
        "missing": {**_map(_text(null=False), MAX_MISSING), "type": ["object", "null"]},
        "provenance": PROVENANCE,
        "baseline": BASELINE,
        "ffmpeg": FFMPEG,
        "samples": _array(SAMPLE, MAX_SAMPLES, null=True),
        "quality": QUALITY,
        "streams": _array(STREAM, MAX_STREAMS),
        "rungs": _array(RUNG, MAX_RUNGS),
        "density": DENSITY,
        "source": INPUT_SOURCE,
    },
    "additionalProperties": False,
}
"""A result as ``POST /results`` accepts it (docs/WIRE.md "Result")."""

VALIDATOR = jsonschema.Draft202012Validator(RESULT_SCHEMA)

STORED_VALIDATOR = jsonschema.Draft202012Validator(
    {
        **RESULT_SCHEMA,
        "properties": {**RESULT_SCHEMA["properties"], "samples": {"type": ["array", "null"], "maxItems": MAX_SAMPLES}},
    }
)
"""What :func:`clean_stored` checks: the schema less the samples' items (tens of thousands of them take seconds to
check, on every report); the one reader of samples, the power chart, skips a sample that is not as WIRE.md says."""

IDENTITY = ("job_id", "attempt", "node_id", "status")
"""The fields a stored result's row also holds in its own columns."""


def load_stored(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``results`` row's body as a result that keeps the schema (:func:`clean_stored`); a body that is not JSON
    counts as empty, NaN or Infinity in it as null."""
    try:
        body = json.loads(row["body"], parse_constant=lambda _: None) if row["body"] is not None else {}
    except (TypeError, ValueError, RecursionError):
        body = {}
    return clean_stored(body, row)


def stored_is_valid(body: Any) -> bool:
    """:data:`STORED_VALIDATOR`'s verdict, asked first of the schema compiled by fastjsonschema, as
    :func:`master.api.bodies.check` does: a body it accepts is valid (a report or the campaign page reads every
    result of a campaign: 10,000 bodies take seconds through jsonschema alone)."""
    fast = fast_validator(STORED_VALIDATOR.schema)
    if fast is not None:
        try:
            fast(body)
            return True
        except fastjsonschema.JsonSchemaException:
            pass
    return STORED_VALIDATOR.is_valid(body)


def invalid_reason(error: jsonschema.ValidationError) -> str:
    """Why a stored value was set aside, in one short line."""
    return f"stored value is not valid: {error.message[:200]}"


def clean_stored(body: Any, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored result body that keeps :data:`RESULT_SCHEMA` (samples aside, see :data:`STORED_VALIDATOR`): a valid
    one as it is; else a metric that breaks the schema becomes null with the reason under ``missing``, and any other
    field that breaks it is left out. ``row`` holds the result's ``job_id``, ``attempt``, ``node_id`` and ``status``
    columns. The stored body itself is not changed."""
    if stored_is_valid(body):
        return body
    cleaned = copy.deepcopy(body) if isinstance(body, dict) else {}
    cleaned.update({key: row[key] for key in IDENTITY if key in row.keys()})
    for key in [k for k in cleaned if k not in RESULT_SCHEMA["properties"]]:
        del cleaned[key]
    for _ in range(3):  # setting one field aside can reveal another error (a bad name under a bad value)
        errors = sorted(STORED_VALIDATOR.iter_errors(cleaned), key=_missing_first)
        if not errors:
            return cleaned
        for error in errors:
            _set_aside(cleaned, list(error.absolute_path), error)
    return {k: cleaned[k] for k in IDENTITY if k in cleaned}


def _missing_first(error: jsonschema.ValidationError) -> int:
    return 0 if list(error.absolute_path)[:1] == ["missing"] else 1


def _set_aside(body: dict[str, Any], path: list, error: jsonschema.ValidationError) -> None:
    """Undo one schema error in place: a bad metric -> null with a reason; a bad ``missing`` entry or other field ->
    left out."""
    if not path:
        return
    top = path[0]
    parent = body.get(top)
    if len(path) == 1 and isinstance(parent, dict) and isinstance(error.instance, str) and error.instance in parent:
        del parent[error.instance]  # a key name that breaks propertyNames
        return
    if top == "metrics" and len(path) >= 2 and isinstance(parent, dict):
        if not re.match(METRIC_NAME, str(path[1])):
            parent.pop(path[1], None)
            return
        parent[path[1]] = None
        if body.get("missing") is None:
            body["missing"] = {}
        missing = body["missing"]
        if isinstance(missing, dict):
            missing[str(path[1])[:NAME_LEN]] = invalid_reason(error)
    elif top == "missing" and len(path) >= 2 and isinstance(body.get("missing"), dict):
        body["missing"].pop(path[1], None)
    else:
        body.pop(top, None)
