"""The installed ffwatt version: which release of ffwatt measured a result.

Every host of a fleet installs the same ffwatt wheel, so the version an agent runs belongs with every number it
reports (inventory and each result's provenance). Read from the installed distribution's metadata; an agent run from
a source tree without installing has no version: None with a reason, never a guess.
"""

from __future__ import annotations

import functools
from importlib import metadata

DISTRIBUTION = "ffwatt"
"""The distribution name the wheel installs as (pyproject.toml ``[project] name``)."""


@functools.cache
def installed_version(distribution: str = DISTRIBUTION) -> tuple[str | None, str | None]:
    """(version, None) of the installed ``distribution``, or (None, why) when it is not installed; read once."""
    try:
        return metadata.version(distribution), None
    except metadata.PackageNotFoundError:
        return None, (
            f"{distribution} is not installed as a distribution (run from a source tree?): its version is unknown"
        )
