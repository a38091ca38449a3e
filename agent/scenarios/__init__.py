"""Scenario kinds the agent can run, by name: the built-in runners and those other installed packages register under
the entry point group :data:`ENTRY_POINT_GROUP` (``toy_decode = mypackage.agent_side:ToyDecode``), each a
:class:`~agent.scenarios.base.Scenario` whose ``kind`` is a kind of wire.kinds."""

from __future__ import annotations

from importlib.metadata import entry_points

from agent.scenarios.base import Scenario
from agent.scenarios.baseline import Baseline
from agent.scenarios.density import Density
from agent.scenarios.ladder import Ladder
from agent.scenarios.live import Live, Multi
from agent.scenarios.transcode import Transcode

ENTRY_POINT_GROUP = "ffwatt.scenarios"
"""Entry points of runners from other packages: each names a Scenario subclass."""


def plugin_runners() -> tuple[type[Scenario], ...]:
    """The runners other installed packages register under :data:`ENTRY_POINT_GROUP`, sorted by name."""
    runners = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, Scenario)) or cls.kind != entry.name:
            raise TypeError(
                f"entry point {entry.name} = {entry.value} ({ENTRY_POINT_GROUP}): it must name a Scenario "
                f"subclass whose kind is {entry.name!r}"
            )
        runners.append(cls)
    return tuple(runners)


KINDS: dict[str, type[Scenario]] = {
    cls.kind: cls for cls in (Transcode, Baseline, Live, Multi, Density, Ladder, *plugin_runners())
}
"""Every scenario kind, keyed by the ``kind`` a campaign names."""
