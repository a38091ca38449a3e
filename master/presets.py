"""Named scenarios for ``POST /jobs``: ``{"scenario": "1080p-h264", "parameters": {...}}`` becomes one transcode job.

Each preset is a complete transcode job's params (docs/WIRE.md "Job.params") on a generated 1080p or 720p source;
``parameters`` override its fields. Setting ``crf`` clears the preset's ``bitrate`` (and the other way round), since
a job has exactly one of them. A ``duration`` without a ``timeout`` raises the timeout to at least
:data:`TIMEOUT_PER_SECOND` times the duration (at most a week), so a long encode on a slow node is not killed early.

The job is then checked as a campaign file holding it as its one transcode scenario would be (:func:`check`): one
validator for both doors, its problems worded by field (``parameters.bitrate: ...``). A file input is a file on the
node, so it need not exist on the master (the agent reads it only from its ``--input-dir``s).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from master.campaign.defaults import IDLE_BASELINE_S, SAMPLE_RATE_HZ, TIMEOUT_S
from master.campaign.spec import SpecError, load_campaign_text
from master.campaign.yamldoc import MAX_DEPTH, MAX_DOCUMENT_BYTES
from wire.content import DEFAULT_RENDER
from wire.fields import ENCODING_PARAMS
from wire.kinds import TRANSCODE
from wire.kinds.base import MAX_SECONDS

TIMEOUT_PER_SECOND = 10
"""Seconds of timeout per second of input when ``parameters`` change the duration but not the timeout."""

CONFIDENCE_LEVELS = ("auto", "high", "medium", "low")
"""Accepted ``confidence`` values: the job becomes a one-variant campaign the master repeats until the 95% interval
of its joules per frame is narrow enough (master/campaign/confidence.py)."""


def _source(size: str) -> dict[str, Any]:
    return {"type": "lavfi", "source": "testsrc2", "content": None, "size": size, "rate": 30, "render": DEFAULT_RENDER}


def _preset(encoder: str, preset: str | int, bitrate: str, size: str) -> dict[str, Any]:
    return {
        "kind": "transcode",
        "input": _source(size),
        "encoder": encoder,
        "preset": preset,
        "bitrate": bitrate,
        "crf": None,
        "resolution": size,
        "fps": 30,
        "duration": 60,
        "idle_baseline": IDLE_BASELINE_S,
        "sample_rate": SAMPLE_RATE_HZ,
        "timeout": TIMEOUT_S,
    }


PRESETS: dict[str, dict[str, Any]] = {
    "1080p-h264": _preset("libx264", "medium", "5000k", "1920x1080"),
    "720p-h264": _preset("libx264", "medium", "3000k", "1280x720"),
    "1080p-h265": _preset("libx265", "medium", "3000k", "1920x1080"),
    "1080p-av1": _preset("libsvtav1", 8, "2500k", "1920x1080"),
    "1080p-vp9": _preset("libvpx-vp9", 2, "3500k", "1920x1080"),
    "1080p-h264-nvenc": _preset("h264_nvenc", "p4", "5000k", "1920x1080"),
}
"""Scenario name -> the transcode job's params."""

WIRE_INPUT = {
    "description": 'a generated input {"type": "lavfi", "source": "testsrc2", "size": "1920x1080", "rate": 30}'
    ' (or "content": "medium" instead of "source"; "render": "prepared" or "inline") or a'
    ' file on the node {"type": "file", "path": "/abs/clip.mp4"}',
    "oneOf": [
        {
            "type": "object",
            "required": ["type"],
            "additionalProperties": False,
            "properties": {
                "type": {"const": "lavfi"},
                "source": {"description": "a lavfi source name, or null"},
                "content": {"description": "a content preset (easy, medium, hard), or null"},
                "size": {"description": "WIDTHxHEIGHT, or null"},
                "rate": {"description": "frames per second, or null"},
                "render": {"description": "prepared (default) or inline"},
            },
        },
        {
            "type": "object",
            "required": ["type", "path"],
            "additionalProperties": False,
            "properties": {
                "type": {"const": "file"},
                "path": {"type": "string", "pattern": "^/", "description": "an absolute path on the node"},
            },
        },
    ],
}
"""The shape of an input in ``parameters`` (docs/WIRE.md); its values are checked as a campaign's are."""

FIELDS = (*ENCODING_PARAMS, "idle_baseline", "sample_rate", "timeout")
"""``parameters`` a preset takes besides ``input``; null clears one (bitrate, crf, preset, resolution, fps)."""

PARAMETERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "fields of the preset's transcode params to override (docs/WIRE.md Job.params), each checked as the"
    " same field of a campaign's transcode scenario (wire/kinds/)",
    "properties": {
        "input": WIRE_INPUT,
        **{name: {"description": (TRANSCODE.all_fields[name].get("description", "") + ", or null")} for name in FIELDS},
    },
    "additionalProperties": False,
}
"""JSON Schema of ``POST /jobs``'s ``parameters``: which fields, not their values (see :func:`check`)."""

SOURCE = "<POST /jobs>"
"""How the campaign a preset job is checked as names itself."""


class PresetError(ValueError):
    """A scenario or parameters that make no job; ``problems`` each start with the field at fault."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(self.problems[0])


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def resolve(scenario: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The job params of ``scenario`` with ``parameters`` applied (of the shape PARAMETERS_SCHEMA allows; their
    values are :func:`check`'s business)."""
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
    if _number(overrides.get("duration")) and "timeout" not in overrides:
        longer = max(params["timeout"], TIMEOUT_PER_SECOND * overrides["duration"])
        params["timeout"] = min(longer, MAX_SECONDS)
    params.update(overrides)
    params["input"] = _every_input_key(params.get("input"))
    if (params["bitrate"] is None) == (params["crf"] is None):
        raise PresetError("parameters: exactly one of bitrate and crf must be set")
    return params


def _every_input_key(value: Any) -> Any:
    """A generated input with every key of the job params' shape (docs/WIRE.md), ``render`` prepared unless set;
    anything else as it is (its values are :func:`check`'s business)."""
    if not isinstance(value, dict) or value.get("type") != "lavfi":
        return value
    full = {"type": "lavfi", "source": None, "content": None, "size": None, "rate": None, "render": None} | value
    return full | {"render": full["render"] or DEFAULT_RENDER}


def _campaign_input(value: dict[str, Any]) -> dict[str, Any]:
    """A job params' input in a campaign file's form: ``{file}``, or ``{source, content, size, rate, render}`` as
    set."""
    if value.get("type") == "file":
        return {"file": value["path"]}
    return {key: value[key] for key in ("source", "content", "size", "rate", "render") if value.get(key) is not None}


def scenario_of(name: str, params: dict[str, Any], confidence: str | None = None) -> dict[str, Any]:
    """The job as a campaign's transcode scenario: its params that are set, and its ``confidence``."""
    scenario: dict[str, Any] = {"name": name, "kind": "transcode"}
    for field, value in params.items():
        if field != "kind" and value is not None:
            scenario[field] = _campaign_input(value) if field == "input" else value
    if confidence is not None:
        scenario["confidence"] = confidence
    return scenario


def _field(key: str) -> str:
    """A campaign problem's key as the body's field: ``scenarios[0].bitrate`` -> ``parameters.bitrate``."""
    own = "scenarios[0]."
    if not key.startswith(own):
        return "parameters"
    rest = key[len(own) :].replace("input.file", "input.path")  # the campaign's {file} is the body's {path}
    return rest if rest == "confidence" or rest.startswith("confidence.") else f"parameters.{rest}"


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and mappings nest more than ``limit`` levels in ``value`` (walked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def check(name: str, params: dict[str, Any], confidence: str | None, max_jobs: int) -> None:
    """Check the job as a one-scenario campaign file, through the very loader campaign files go through (the kinds'
    schema, the per-encoder checks, the job cap); raises PresetError naming each field at fault. Parameters nested
    or sized beyond a campaign file's bounds are refused before they are written out as one."""
    scenario = scenario_of(name, params, confidence)
    if _too_deep(scenario):
        raise PresetError(f"parameters: nested more than {MAX_DEPTH} levels deep")
    size = len(json.dumps(scenario))
    if size > MAX_DOCUMENT_BYTES:
        raise PresetError(
            f"parameters: too large: {size} bytes; a job's fields may come to at most {MAX_DOCUMENT_BYTES} bytes"
        )
    text = yaml.safe_dump({"name": name, "scenarios": [scenario]}, sort_keys=False)
    try:
        load_campaign_text(text, SOURCE, max_jobs=max_jobs, check_files=False)  # a file input is on the node
    except SpecError as error:
        raise PresetError([f"{_field(problem.key)}: {problem.message}" for problem in error.problems]) from None


def job_spec(
    scenario: str,
    params: dict[str, Any],
    requirements: dict[str, Any],
    priority: int = 0,
    repetition: int = 1,
    confidence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JobSpec dict :func:`master.queue.submit_job` queues for a preset job (``confidence`` normalised)."""
    spec = {
        "name": f"{scenario}#{repetition}",
        "scenario": scenario,
        "variant": scenario,
        "repetition": repetition,
        "kind": "transcode",
        "params": params,
        "requirements": {"encoder": params["encoder"], **requirements},
        "priority": priority,
    }
    if confidence is not None:
        spec["confidence"] = confidence
    return spec
