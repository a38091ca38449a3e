"""Scenario kinds: one module per kind (its fields as JSON Schema, which of them a job needs, its defaults, the
metrics only it produces), found through one registry, :data:`KINDS`.

The campaign schema, the checks, the expansion and the job params on the master, and the agent's runners
(agent/scenarios/), all key on these names. A kind is a module with a ``KIND`` (:class:`Kind`) named after it: the
built-in ones are listed in :data:`BUILT_IN`; any other package adds one through the entry point group
:data:`ENTRY_POINT_GROUP` (``toy_decode = mypackage.toy_decode``) with its agent runner in
``agent.scenarios.ENTRY_POINT_GROUP``. tests/wire/test_kinds.py fails while either side lacks a kind.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType

from wire.kinds import baseline, density, ladder, live, multi, transcode
from wire.kinds.base import COMMON_FIELDS, MEASUREMENT_PARAMS, Kind

ENTRY_POINT_GROUP = "ffwatt.kinds"
"""Entry points of kinds from other packages: each names a module with a ``KIND``."""

BUILT_IN = (transcode, baseline, live, multi, density, ladder)
"""The built-in kind modules, in the order the campaign schema lists them."""


def plugin_modules() -> tuple[ModuleType, ...]:
    """The kind modules other installed packages register under :data:`ENTRY_POINT_GROUP`, sorted by name."""
    modules = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        module = entry.load()
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, Kind) or kind.name != entry.name:
            raise TypeError(
                f"entry point {entry.name} = {entry.value} ({ENTRY_POINT_GROUP}): its module needs a "
                f"KIND = Kind(name={entry.name!r}, ...)"
            )
        modules.append(module)
    return tuple(modules)


MODULES = BUILT_IN + plugin_modules()
"""Every kind module: the built-in ones, then those of other packages."""


def _registry(modules: tuple[ModuleType, ...]) -> dict[str, Kind]:
    kinds: dict[str, Kind] = {}
    for module in modules:
        if module.KIND.name in kinds:
            raise ValueError(f"two kinds named {module.KIND.name!r}: {module.__name__} and an earlier one")
        kinds[module.KIND.name] = module.KIND
    return kinds


KINDS: dict[str, Kind] = _registry(MODULES)
"""Registered kinds by name; a scenario of any other kind is an error."""

TRANSCODE, BASELINE, LIVE, MULTI, DENSITY, LADDER = (module.KIND for module in BUILT_IN)

__all__ = [
    "BASELINE",
    "BUILT_IN",
    "COMMON_FIELDS",
    "DENSITY",
    "ENTRY_POINT_GROUP",
    "KINDS",
    "LADDER",
    "LIVE",
    "MEASUREMENT_PARAMS",
    "MODULES",
    "MULTI",
    "TRANSCODE",
    "Kind",
]
