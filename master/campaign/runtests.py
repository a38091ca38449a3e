"""run_tests.py's vocabulary as campaign scenarios: its defaults, its encoder names, and its batch file format.

Conversion only (no CLI): :mod:`master.cli.compat` builds its ``single`` / ``multi`` / ``batch`` commands on it.
Each conversion renders a campaign as YAML text with comments that say where each value came from, and
:func:`validated` loads it with the normal campaign loader, saying any problem about what the user wrote (an option,
or a batch entry and its field).

run_tests.py -> ffwatt: ``single`` -> kind ``live``; ``multi`` -> kind ``multi``; ``--with-baseline`` / a batch
``baseline`` entry -> kind ``baseline``; a batch ``single`` entry with ``outputs`` -> kind ``ladder``. The input is
lavfi ``testsrc`` at the stream's size and rate, as run_tests.py generated it.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from master.campaign.defaults import IDLE_BASELINE_S, TIMEOUT_S
from master.campaign.estimate import ESTIMATE_FACTOR
from master.campaign.spec import SpecError, load_campaign_text
from wire.encoders import ENCODERS

ORIGINAL_ENCODERS = {"h264": "libx264", "h264_nvenc": "h264_nvenc", "h265": "libx265", "hevc_nvenc": "hevc_nvenc"}
"""run_tests.py's ``--encoder`` choices and the FFmpeg encoders they meant; ffwatt's own names are accepted too."""

RESOLUTION, FPS, ENCODER, PRESET = "1280x720", 30, "h264", "veryfast"
"""run_tests.py's stream defaults."""

DURATION_S, BASELINE_S, STABILIZATION_S, COOLDOWN_S = 300, 120, 30, 30
"""run_tests.py's defaults: measured seconds, baseline seconds, waits before and after each stream."""

MULTI_BITRATE = "2500k"
"""run_tests.py ``multi``'s default bitrate."""

STAGGER_S = 2
"""run_tests.py started concurrent streams 2 s apart."""

SOURCE = "testsrc"
"""run_tests.py's input: lavfi testsrc at the stream's size and rate (and a 1 kHz tone: ffwatt's ``audio``)."""

COMMENT_WIDTH = 118
"""Comment lines wrap here, as the shipped campaign files do."""

TIMEOUT_MARGIN_S = 120
"""Seconds added to a job's waits and duration before it needs a ``timeout`` above the built-in one."""

DEFAULTS_HELP = (
    f"Left-out options take run_tests.py's defaults: {RESOLUTION}, {FPS} fps, {ENCODER} ({PRESET}), "
    f"{DURATION_S} s measured after {STABILIZATION_S} s stabilization, {COOLDOWN_S} s cooldown. "
    f"Input: synthetic lavfi {SOURCE}, as run_tests.py used; 2 s GOP and AAC audio as it streamed. "
    f"ffwatt's own choice: each job first measures a {IDLE_BASELINE_S} s idle baseline "
    "(for dynamic energy)."
)


class ConversionError(Exception):
    """What the user wrote cannot become a campaign; ``problems`` are whole lines naming where."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Scenario:
    """A scenario to write: ``sources`` maps a key under it (``bitrate``, ``input.size``, ``rungs[0]``) to what the
    user wrote for it (``--bitrate``, ``outputs[0]``); ``where`` names the batch entry (empty for options)."""

    name: str
    kind: str
    fields: dict[str, Any]
    comments: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    where: str = ""


def slug(text: str, lower: bool = False) -> str:
    """A scenario (or, ``lower``, campaign) name: runs of other characters become '-'."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")
    return slug.lower() if lower else slug


def unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    taken.add(candidate)
    return candidate


def _encoder(name: Any) -> Any:
    """run_tests.py's encoder name as FFmpeg's; anything else as written (the loader checks it)."""
    return ORIGINAL_ENCODERS.get(name, name) if isinstance(name, str) else name


def _number(value: Any) -> Any:
    """A number written as text (run_tests.py called int() on it) as a number, a whole float as an int; anything
    else as written."""
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        value = float(value)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def with_timeout(fields: dict[str, Any], streams: int = 1, factor: float = 1.0) -> dict[str, Any]:
    """``fields`` plus a ``timeout`` when waits + ``factor`` x duration (+ staggered starts) would outlast the built-in
    one; live streams run in real time (factor 1), a ladder encodes as fast as it can (the plan's estimate factor)."""
    parts = [fields.get(name, 0) for name in ("duration", "stabilization", "cooldown")]
    if all(isinstance(part, int | float) and not isinstance(part, bool) for part in parts):
        needed = sum(parts) + (factor - 1) * parts[0] + STAGGER_S * streams + TIMEOUT_MARGIN_S
        if needed > TIMEOUT_S:
            fields["timeout"] = int(math.ceil(needed / 60) * 60)
    return fields


def stream_fields(
    bitrate: Any, resolution: Any, fps: Any, duration: Any, encoder: Any, preset: Any, stabilization: Any, cooldown: Any
) -> dict[str, Any]:
    """A live stream's fields as run_tests.py ran it: testsrc at the stream's size and rate, pushed in real time."""
    fps, duration, stabilization, cooldown = (_number(value) for value in (fps, duration, stabilization, cooldown))
    encoder = _encoder(encoder)
    fields = {
        "input": {"source": SOURCE, "size": resolution, "rate": fps},
        "encoder": encoder,
        "preset": _preset(encoder) if preset is None else preset,
        "bitrate": bitrate,
        "resolution": resolution,
        "fps": fps,
        "duration": duration,
        "stabilization": stabilization,
        "cooldown": cooldown,
    }
    return {key: value for key, value in fields.items() if value is not None}


def _preset(encoder: Any) -> str | None:
    """The preset for an encoder nobody chose one for: run_tests.py's veryfast where the encoder takes it, else none
    (the encoder's own default: run_tests.py passed veryfast to NVENC too, which NVENC rejects)."""
    known = ENCODERS.get(encoder) if isinstance(encoder, str) else None
    return PRESET if known is None or known.preset_problem(PRESET) is None else None


STREAM_SOURCES = {"input.size": "resolution", "input.rate": "fps", "input": "resolution"}
"""Keys of a generated scenario that come from a differently named field."""


# ---------------------------------------------------------------------------------------------------- YAML text


def _flow(value: Any) -> str:
    """A value as one line of YAML (flow style, quoted where needed)."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


def _comment(text: str, indent: str = "") -> list[str]:
    """``text`` as comment lines of at most COMMENT_WIDTH characters (one ``#`` line when empty)."""
    lines = textwrap.wrap(" ".join(str(text).split()), COMMENT_WIDTH - len(indent) - 2, break_on_hyphens=False)
    return [f"{indent}# {line}" for line in lines] or [f"{indent}#"]


def render(header: list[str], name: str, description: str, scenarios: list[Scenario]) -> str:
    """The campaign as YAML text: the header as comments, then one block per scenario with its own comments."""
    lines = [line for text in header for line in _comment(text)]
    lines += ["version: 1", f"name: {_flow(name)}", f"description: {_flow(description)}", "", "scenarios:"]
    for scenario in scenarios:
        lines += [line for text in scenario.comments for line in _comment(text, "  ")]
        lines += [f"  - name: {_flow(scenario.name)}", f"    kind: {scenario.kind}"]
        for key, value in scenario.fields.items():
            if key == "rungs" and isinstance(value, list):
                lines += ["    rungs:", *(f"      - {_flow(rung)}" for rung in value)]
            else:
                lines.append(f"    {key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------- validation


def _source_of(scenario: Scenario, rest: str) -> str:
    """What the user wrote for the key ``rest`` under a scenario: its longest mapped prefix, else the key."""
    probe = rest
    while probe:
        if probe in scenario.sources:
            return scenario.sources[probe] + rest[len(probe) :]
        probe = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", probe) if re.search(r"[.\[]", probe) else ""
    return rest or "(entry)"


def _explain(problem, scenarios: list[Scenario], prefix: str) -> str:
    """A loader problem about the generated text, said about what the user wrote."""
    match = re.fullmatch(r"scenarios\[(\d+)\]\.?(.*)", problem.key)
    if not match:
        return f"{prefix}generated campaign: {problem.key}: {problem.message}"
    scenario = scenarios[int(match.group(1))]
    where = f"{scenario.where}: " if scenario.where else ""
    return f"{prefix}{where}{_source_of(scenario, match.group(2))}: {problem.message}"


def validated(text: str, label: str, scenarios: list[Scenario], prefix: str):
    """The campaign in ``text``; raises ConversionError with the loader's problems said about the user's input."""
    try:
        return load_campaign_text(text, label)
    except SpecError as error:
        problems = [_explain(problem, scenarios, prefix) for problem in error.problems]
        raise ConversionError(list(dict.fromkeys(problems))) from None


def baseline_scenario(duration: float, where: str = "", source: str = "--baseline-duration") -> Scenario:
    return Scenario(
        "baseline",
        "baseline",
        with_timeout({"duration": _number(duration)}, 0),
        ["idle power, no FFmpeg: the baseline run_tests.py measured first"],
        {"duration": source, "timeout": source},
        where,
    )


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
            return _number(entry.get(key, default))

        return stream_fields(
            entry.get("bitrate"),
            entry.get("resolution", RESOLUTION),
            get("fps", FPS),
            get("duration", DURATION_S),
            entry.get("encoder", ENCODER),
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
    scenario = baseline_scenario(_number(entry.get("duration", BASELINE_S)), where, "duration")
    scenario.comments = []
    return scenario


def _single_entry(batch: _Batch, where: str, entry: dict[str, Any]) -> Scenario | None:
    if "bitrate" not in entry:
        batch.error(where, "bitrate", 'missing: a single entry needs a bitrate such as "2500k"')
        return None
    fields = batch.stream(entry)
    if entry.get("outputs") is not None:
        return _ladder_entry(batch, where, entry, fields)
    return Scenario("scenario", "live", with_timeout(fields), sources=dict(STREAM_SOURCES))


def _ladder_entry(batch: _Batch, where: str, entry: dict[str, Any], stream: dict[str, Any]) -> Scenario | None:
    """A single entry with ``outputs``: its rungs at their own bitrate, else the entry's."""
    outputs = entry["outputs"]
    if not isinstance(outputs, list) or not outputs:
        batch.error(
            where, "outputs", 'expected a non-empty list such as [{"resolution": "1280x720", "bitrate": "2500k"}]'
        )
        return None
    rungs, sources, comments, inherited = [], {**STREAM_SOURCES, "rungs": "outputs"}, [LADDER_NOTE], False
    for index, output in enumerate(outputs):
        at = f"outputs[{index}]"
        if not isinstance(output, dict) or "resolution" not in output:
            batch.error(where, at, 'expected an object with a resolution such as {"resolution": "1280x720"}')
            continue
        own = "bitrate" in output
        inherited |= not own
        rungs.append({"resolution": output["resolution"], "bitrate": output["bitrate"] if own else stream["bitrate"]})
        sources |= {f"rungs[{index}]": at, f"rungs[{index}].bitrate": f"{at}.bitrate" if own else "bitrate"}
        if "fps" in output and _number(output["fps"]) != stream["fps"]:
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
    return Scenario("ladder", "ladder", with_timeout(fields, factor=ESTIMATE_FACTOR), comments, sources)


def _multi_entry(batch: _Batch, where: str, entry: dict[str, Any]) -> Scenario | None:
    if "count" not in entry:
        batch.error(where, "count", "missing: a multi entry needs count, the number of streams")
        return None
    count, fields, comments = _number(entry["count"]), batch.stream(entry), []
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
        fields["bitrate"] = bitrate = entry.get("bitrate", MULTI_BITRATE)
        fields["count"], name = count, f"{count} Streams @ {bitrate}"
    fields["stagger"] = STAGGER_S
    streams = count if isinstance(count, int) else 1
    return Scenario(name, "multi", with_timeout(fields, streams), comments, dict(STREAM_SOURCES))


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
    label = name if isinstance(name, str) and slug(name) else scenario.name
    scenario.name, scenario.where = unique(slug(label), batch.names), where
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
        f"Entry fields left out take run_tests.py's defaults: {RESOLUTION}, {FPS} fps, {ENCODER} ({PRESET}), "
        f"{DURATION_S} s (baseline {BASELINE_S} s), multi {MULTI_BITRATE}; stabilization {stabilization:g} s "
        f"and cooldown {cooldown:g} s. Input: synthetic lavfi {SOURCE}, as run_tests.py used.",
        f"{json.dumps(title)}: {description}" if description else json.dumps(title),
    ]
    warnings = _ignored_warnings(batch)
    for key in meta.keys() - {"name", "description", "scenarios"}:
        header.append(f"{key}: {json.dumps(meta[key])} (not used: run_tests.py ignored it too)")
        warnings.append(f"{file}: {key}: not used (run_tests.py ignored it too); kept as a comment in the campaign")
    header.append("Save it as a campaign file, edit it, `campaign run` it; `campaign validate FILE` checks your edits.")
    text = render(header, slug(title, lower=True) or "batch", description or f"converted from {file.name}", scenarios)
    if batch.errors:
        problems = list(batch.errors)
        if scenarios:
            try:
                validated(text, "<batch>", scenarios, f"{file}: ")
            except ConversionError as error:
                problems += error.problems
        raise ConversionError(sorted(problems, key=_entry_index))
    return text, scenarios, warnings


def _entry_index(problem: str) -> int:
    """The entry a problem line is about, for listing problems in file order."""
    found = re.search(r": (?:scenarios)?\[(\d+)\]", problem)
    return int(found.group(1)) if found else -1
