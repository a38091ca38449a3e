"""Loading a campaign file: read, parse, validate (every problem at once, each at its line), resolve defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from master.campaign.checks import semantic_problems
from master.campaign.defaults import FIELD_DEFAULTS, TARGETS
from master.campaign.errors import FILE_KEY, Problem, SpecError
from master.campaign.expand import JobSpec, expand
from master.campaign.jobcount import DEFAULT_MAX_JOBS
from master.campaign.messages import schema_problems
from master.campaign.resolve import resolve_scenario
from master.campaign.schema import validator
from master.campaign.yamldoc import MAX_DOCUMENT_BYTES, Document, parse
from wire.kinds import KINDS

__all__ = [
    "DEFAULT_MAX_JOBS",
    "Campaign",
    "JobSpec",
    "Problem",
    "SpecError",
    "expand",
    "load_campaign",
    "load_campaign_text",
]


@dataclass
class Campaign:
    """A valid campaign. ``defaults`` are the effective ones (built-in, then the file's); each scenario is a dict with
    every field of its kind present (None when unset), defaults merged, inputs normalised, and its ``matrix``."""

    name: str
    description: str
    targets: list[str]
    defaults: dict[str, Any]
    scenarios: list[dict[str, Any]]
    path: Path | None = None
    text: str = field(default="", repr=False)


def load_campaign(path: str | Path, max_jobs: int = DEFAULT_MAX_JOBS) -> Campaign:
    """The campaign in the file at ``path``, of at most ``max_jobs`` jobs; raises SpecError listing every problem
    found."""
    file = str(path)
    try:
        with open(path, "rb") as handle:  # no more than one byte past the limit, however large the file
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
        if len(data) > MAX_DOCUMENT_BYTES:
            raise SpecError(
                [
                    Problem(
                        file,
                        1,
                        1,
                        FILE_KEY,
                        f"too large: over {MAX_DOCUMENT_BYTES} bytes; a campaign"
                        f" file may be at most {MAX_DOCUMENT_BYTES} bytes",
                    )
                ]
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(file, 1, 1, FILE_KEY, "no such file")]) from None
    except IsADirectoryError:
        raise SpecError([Problem(file, 1, 1, FILE_KEY, "is a directory, not a campaign file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError([Problem(file, 1, 1, FILE_KEY, f"cannot read: {error}")]) from None
    return load_campaign_text(text, file, Path(path).absolute(), max_jobs)


def load_campaign_text(
    text: str,
    file: str = "<campaign>",
    path: Path | None = None,
    max_jobs: int = DEFAULT_MAX_JOBS,
    check_files: bool = True,
) -> Campaign:
    """The campaign in ``text``, of at most ``max_jobs`` jobs (master/campaign/jobcount.py); raises SpecError
    listing every problem found. Without ``check_files``, ``file:`` inputs need not exist here (they are on the
    node that runs them, which checks them).

    ``file`` names it in problems. ``path`` is where it was read from: relative ``file:`` inputs start at its
    directory. Without ``path``, a ``file`` that is a path (not ``<...>``) is taken as one, else the working directory
    anchors them."""
    if path is None and not file.startswith("<"):
        path = Path(file).absolute()
    document = parse(text, file)
    base_dir = path.parent if path else Path.cwd()
    errors = list(validator().iter_errors(document.data))
    problems = [
        *schema_problems(document, errors),
        *semantic_problems(document, base_dir, [tuple(error.absolute_path) for error in errors], max_jobs, check_files),
    ]
    if problems:
        raise SpecError(problems)
    return _campaign(document, base_dir, path, text)


def _campaign(document: Document, base_dir: Path, path: Path | None, text: str) -> Campaign:
    """A Campaign from a document that passed every check."""
    data = document.data
    defaults = data.get("defaults") or {}
    scenarios = [
        _repeat_by_own_setting(*resolve_scenario(raw, defaults, index, KINDS[raw["kind"]], base_dir))
        for index, raw in enumerate(data["scenarios"])
    ]
    return Campaign(
        name=data["name"],
        description=data.get("description", ""),
        targets=list(data.get("targets", TARGETS)),
        defaults={**FIELD_DEFAULTS, **defaults},
        scenarios=scenarios,
        path=path,
        text=text,
    )


def _repeat_by_own_setting(scenario: dict[str, Any], origins: dict[str, Any]) -> dict[str, Any]:
    """A scenario that sets ``repetitions`` itself repeats that often: a ``confidence`` it takes from ``defaults``
    is dropped (the scenario's own setting wins; see master/campaign/confidence.py)."""
    own = ("scenarios",)
    if (
        scenario.get("confidence") is not None
        and (origins.get("repetitions") or ())[:1] == own
        and (origins.get("confidence") or ())[:1] != own
    ):
        scenario["confidence"] = None
    return scenario
