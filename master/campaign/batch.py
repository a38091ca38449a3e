"""run_tests.py's batch files as campaigns: each entry (``baseline``, ``single``, ``multi``, ``single`` with
``outputs``) becomes a scenario in the vocabulary of :mod:`master.campaign.runtests`, every problem names the entry
and its field, and fields run_tests.py ignored are kept as comments (:func:`convert_batch`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from master.campaign import runtests
from master.campaign.runtests import ConversionError, Scenario
from master.campaign.timing import ESTIMATE_FACTOR

ENTRY_FIELDS = {
    "baseline": ("type", "name", "duration"),
    "single": (
        "type",
        "name",
        "bitrate",
        "resolution",
        "fps",
        "duration",
        "encoder",
        "preset",
        "stabilization",
        "cooldown",
        "outputs",
    ),
    "multi": (
        "type",
        "name",
        "count",
        "bitrate",
        "bitrates",
        "resolution",
        "fps",
        "duration",
        "stabilization",
        "cooldown",
        "encoder",
        "preset",
    ),
}
"""The fields run_tests.py read per entry type (and encoder/preset on multi entries, which it ignored and we use)."""

LADDER_NOTE = (
    "outputs -> kind ladder: run_tests.py pushed this entry live over RTMP (it recorded `outputs` with its "
    "results); ffwatt encodes every rung to files in one FFmpeg process (decode once, split, scale), "
    "not live"
)


@dataclass
class _Batch:
    """A batch file being converted: the problems and the ignored fields found so far, the names given."""

    file: Path
    stabilization: float
    cooldown: float
    errors: list[str] = field(default_factory=list)
    ignored: dict[str, list[str]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def error(self, where: str, key: str, message: str) -> None:
        self.errors.append(f"{self.file}: {where}: {key}: {message}")

    def stream(self, entry: dict[str, Any]) -> dict[str, Any]:
        """An entry's live stream fields, run_tests.py's defaults where it sets none."""

        def get(key: str, default: Any) -> Any:
            return runtests.as_number(entry.get(key, default))

        return runtests.stream_fields(
            entry.get("bitrate"),
            entry.get("resolution", runtests.RESOLUTION),
            get("fps", runtests.FPS),
            get("duration", runtests.DURATION_S),
            entry.get("encoder", runtests.ENCODER),
            entry.get("preset"),
            get("stabilization", self.stabilization),
            get("cooldown", self.cooldown),
        )


def read_batch(file: Path) -> tuple[dict[str, Any], list[Any], str]:
    """(top-level object or {}, the entries, the key they sit under) of a run_tests.py batch file."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConversionError([f"{file}:{error.lineno}:{error.colno}: not JSON: {error.msg}"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConversionError([f"{file}: cannot read: {error}"]) from None
    if isinstance(data, list):
        return {}, data, ""
    if isinstance(data, dict) and isinstance(data.get("scenarios"), list):
        return data, data["scenarios"], "scenarios"
    raise ConversionError([f'{file}: expected a JSON list of entries, or an object with a "scenarios" list'])


def _baseline_entry(batch: _Batch, where: str, entry: dict[str, Any]) -> Scenario | None:
    scenario = runtests.baseline_scenario(
        runtests.as_number(entry.get("duration", runtests.BASELINE_S)), where, "duration"
    )
    scenario.comments = []
    return scenario


def _single_entry(batch: _Batch, where: str, entry: dict[str, Any]) -> Scenario | None:
    if "bitrate" not in entry:
        batch.error(where, "bitrate", 'missing: a single entry needs a bitrate such as "2500k"')
        return None
    fields = batch.stream(entry)
    if entry.get("outputs") is not None:
        return _ladder_entry(batch, where, entry, fields)
    return Scenario("scenario", "live", runtests.with_timeout(fields), sources=dict(runtests.STREAM_SOURCES))


def _ladder_entry(batch: _Batch, where: str, entry: dict[str, Any], stream: dict[str, Any]) -> Scenario | None:
    """A single entry with ``outputs``: its rungs at their own bitrate, else the entry's."""
    outputs = entry["outputs"]
    if not isinstance(outputs, list) or not outputs:
        batch.error(
            where, "outputs", 'expected a non-empty list such as [{"resolution": "1280x720", "bitrate": "2500k"}]'
        )
        return None
    rungs, sources, comments, inherited = [], {**runtests.STREAM_SOURCES, "rungs": "outputs"}, [LADDER_NOTE], False
    for index, output in enumerate(outputs):
        at = f"outputs[{index}]"
        if not isinstance(output, dict) or "resolution" not in output:
            batch.error(where, at, 'expected an object with a resolution such as {"resolution": "1280x720"}')
            continue
        own = "bitrate" in output
        inherited |= not own
        rungs.append({"resolution": output["resolution"], "bitrate": output["bitrate"] if own else stream["bitrate"]})
        sources |= {f"rungs[{index}]": at, f"rungs[{index}].bitrate": f"{at}.bitrate" if own else "bitrate"}
        if "fps" in output and runtests.as_number(output["fps"]) != stream["fps"]:
            batch.error(
                where,
                f"{at}.fps",
                f"{output['fps']!r} differs from the entry's fps {stream['fps']!r}: "
                "ffwatt encodes a ladder at one frame rate; use one entry per rate",
            )
        for key in output.keys() - {"resolution", "bitrate", "fps"}:
            comments.append(f"{at}.{key}: {json.dumps(output[key])} (not used: run_tests.py ignored it too)")
            batch.ignored.setdefault(f"outputs[].{key}", []).append(where)
    if len(rungs) != len(outputs):
        return None
    comments.append(
        f"rungs without a bitrate take the entry's bitrate {stream['bitrate']}"
        if inherited
        else f"the entry's bitrate {stream['bitrate']} is not used: every rung has its own"
    )
    fields = {key: stream[key] for key in ("input", "encoder", "preset", "fps", "duration") if key in stream}
    fields |= {"rungs": rungs, "stabilization": stream["stabilization"], "cooldown": stream["cooldown"]}
    return Scenario("ladder", "ladder", runtests.with_timeout(fields, factor=ESTIMATE_FACTOR), comments, sources)


def _multi_entry(batch: _Batch, where: str, entry: dict[str, Any]) -> Scenario | None:
    if "count" not in entry:
        batch.error(where, "count", "missing: a multi entry needs count, the number of streams")
        return None
    count, fields, comments = runtests.as_number(entry["count"]), batch.stream(entry), []
    used = [key for key in ("encoder", "preset") if key in entry]
    if used:
        comments.append(f"{' and '.join(used)}: used here; run_tests.py ignored them on multi entries (h264 veryfast)")
    fields.pop("bitrate", None)
    if "bitrates" in entry:
        listed, name = entry["bitrates"], "Mixed Streams"
        if not isinstance(listed, list):
            batch.error(where, "bitrates", 'expected a list of bitrates such as ["1000k", "2500k"]')
        elif count != len(listed):
            batch.error(where, "bitrates", f"lists {len(listed)} bitrates but count is {count!r}")
        fields["bitrates"] = listed
        if "bitrate" in entry:
            comments.append(f"bitrate {entry['bitrate']} is not used: bitrates sets each stream's (as in run_tests.py)")
    else:
        fields["bitrate"] = bitrate = entry.get("bitrate", runtests.MULTI_BITRATE)
        fields["count"], name = count, f"{count} Streams @ {bitrate}"
    fields["stagger"] = runtests.STAGGER_S
    streams = count if isinstance(count, int) else 1
    return Scenario(name, "multi", runtests.with_timeout(fields, streams), comments, dict(runtests.STREAM_SOURCES))


ENTRY_BUILDERS = {"baseline": _baseline_entry, "single": _single_entry, "multi": _multi_entry}


def _entry(batch: _Batch, index: int, entry: Any, prefix: str) -> Scenario | None:
    """One batch entry as a scenario; None (and errors on ``batch``) when it cannot be one."""
    where = f"{prefix}[{index}]"
    if not isinstance(entry, dict):
        batch.error(where, "(entry)", f'expected an object such as {{"type": "single", ...}}, got {json.dumps(entry)}')
        return None
    name = entry.get("name")
    where += f" {json.dumps(name)}" if isinstance(name, str) and name else ""
    kind = entry.get("type", "single")
    if kind not in ENTRY_BUILDERS:
        batch.error(where, "type", f"unknown type {json.dumps(kind)}; expected baseline, single or multi")
        return None
    scenario = ENTRY_BUILDERS[kind](batch, where, entry)
    if scenario is None:
        return None
    label = name if isinstance(name, str) and runtests.slug(name) else scenario.name
    scenario.name, scenario.where = runtests.unique(runtests.slug(label), batch.names), where
    scenario.comments.insert(0, f"{where}: {kind}")
    for key, value in entry.items():
        if key == "description":
            scenario.comments.insert(1, f"description: {value}")
        elif key not in ENTRY_FIELDS[kind]:
            scenario.comments.append(f"{key}: {json.dumps(value)} (not used: run_tests.py ignored it too)")
            batch.ignored.setdefault(key, []).append(where)
    return scenario


def _ignored_warnings(batch: _Batch) -> list[str]:
    warnings = []
    for key, wheres in batch.ignored.items():
        shown = ", ".join(wheres[:3]) + (f" and {len(wheres) - 3} more" if len(wheres) > 3 else "")
        warnings.append(
            f"{batch.file}: {key} ({shown}): not used (run_tests.py ignored it too); kept as a comment in the campaign"
        )
    return warnings


def convert_batch(
    file: Path, stabilization: float, cooldown: float, command_line: str
) -> tuple[str, list[Scenario], list[str]]:
    """(campaign YAML, its scenarios, warnings) for a run_tests.py batch file; raises ConversionError."""
    meta, entries, prefix = read_batch(file)
    if not entries:
        raise ConversionError([f"{file}: no entries: nothing to run"])
    batch = _Batch(file, stabilization, cooldown)
    scenarios = [scenario for index, entry in enumerate(entries) if (scenario := _entry(batch, index, entry, prefix))]
    title = meta.get("name") if isinstance(meta.get("name"), str) else file.stem
    description = meta.get("description") if isinstance(meta.get("description"), str) else ""
    header = [
        f"Converted by: {command_line}",
        "A run_tests.py batch file as an ffwatt campaign: baseline -> kind baseline, single -> live (one live "
        "RTMP stream), multi -> multi (concurrent streams, 2 s apart), single with outputs -> ladder.",
        f"Entry fields left out take run_tests.py's defaults: {runtests.RESOLUTION}, {runtests.FPS} fps, "
        f"{runtests.ENCODER} ({runtests.PRESET}), {runtests.DURATION_S} s (baseline {runtests.BASELINE_S} s), "
        f"multi {runtests.MULTI_BITRATE}; stabilization {stabilization:g} s and cooldown {cooldown:g} s. "
        f"Input: synthetic lavfi {runtests.SOURCE}, as run_tests.py used.",
        f"{json.dumps(title)}: {description}" if description else json.dumps(title),
    ]
    warnings = _ignored_warnings(batch)
    for key in meta.keys() - {"name", "description", "scenarios"}:
        header.append(f"{key}: {json.dumps(meta[key])} (not used: run_tests.py ignored it too)")
        warnings.append(f"{file}: {key}: not used (run_tests.py ignored it too); kept as a comment in the campaign")
    header.append("Save it as a campaign file, edit it, `campaign run` it; `campaign validate FILE` checks your edits.")
    text = runtests.render(
        header, runtests.slug(title, lower=True) or "batch", description or f"converted from {file.name}", scenarios
    )
    if batch.errors:
        problems = list(batch.errors)
        if scenarios:
            try:
                runtests.validated(text, "<batch>", scenarios, f"{file}: ")
            except ConversionError as error:
                problems += error.problems
        raise ConversionError(sorted(problems, key=_entry_index))
    return text, scenarios, warnings


def _entry_index(problem: str) -> int:
    """The entry a problem line is about, for listing problems in file order."""
    found = re.search(r": (?:scenarios)?\[(\d+)\]", problem)
    return int(found.group(1)) if found else -1
