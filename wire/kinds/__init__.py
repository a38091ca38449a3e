"""Scenario kinds: one module per kind (its fields as JSON Schema, which of them a job needs, its defaults), found
through one registry, :data:`KINDS`.

The campaign schema, the checks, the expansion and the job params on the master, and the agent's runners
(agent/scenarios/), all key on these names; a new kind is one module here with a ``KIND``, listed in :data:`MODULES`,
and a runner of the same ``kind`` on the agent (tests/wire/test_kinds.py fails while either side lacks it).
"""

from __future__ import annotations

from wire.kinds import baseline, density, ladder, live, multi, transcode
from wire.kinds.base import COMMON_FIELDS, MEASUREMENT_PARAMS, Kind

MODULES = (transcode, baseline, live, multi, density, ladder)
"""The kind modules, in the order the campaign schema lists them."""

KINDS: dict[str, Kind] = {module.KIND.name: module.KIND for module in MODULES}
"""Registered kinds by name; a scenario of any other kind is an error."""

TRANSCODE, BASELINE, LIVE, MULTI, DENSITY, LADDER = (module.KIND for module in MODULES)

__all__ = [
    "BASELINE",
    "COMMON_FIELDS",
    "DENSITY",
    "KINDS",
    "LADDER",
    "LIVE",
    "MEASUREMENT_PARAMS",
    "MODULES",
    "MULTI",
    "TRANSCODE",
    "Kind",
]
