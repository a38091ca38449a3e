"""run_tests.py's vocabulary as campaign scenarios: its defaults, its encoder names, and its batch file format.

Conversion only (no CLI): :mod:`master.cli.compat` builds its ``single`` / ``multi`` / ``batch`` commands on it;
batch files are read by :mod:`master.campaign.batch`.
Each conversion renders a campaign as YAML text with comments that say where each value came from, and
:func:`validated` loads it with the normal campaign loader, saying any problem about what the user wrote (an option,
or a batch entry and its field).

run_tests.py -> ffwatt: ``single`` -> kind ``live``; ``multi`` -> kind ``multi``; ``--with-baseline`` / a batch
``baseline`` entry -> kind ``baseline``; a batch ``single`` entry with ``outputs`` -> kind ``ladder``. The input is
lavfi ``testsrc`` at the stream's size and rate, as run_tests.py generated it.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

from master.campaign.defaults import IDLE_BASELINE_S, TIMEOUT_S
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


def as_number(value: Any) -> Any:
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
    fps, duration, stabilization, cooldown = (as_number(value) for value in (fps, duration, stabilization, cooldown))
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
        with_timeout({"duration": as_number(duration)}, 0),
        ["idle power, no FFmpeg: the baseline run_tests.py measured first"],
        {"duration": source, "timeout": source},
        where,
    )
