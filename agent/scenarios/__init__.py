"""Scenario kinds the agent can run, by name."""

from __future__ import annotations

from agent.scenarios.base import Scenario
from agent.scenarios.baseline import Baseline
from agent.scenarios.density import Density
from agent.scenarios.ladder import Ladder
from agent.scenarios.live import Live, Multi
from agent.scenarios.transcode import Transcode

KINDS: dict[str, type[Scenario]] = {cls.kind: cls for cls in (Transcode, Baseline, Live, Multi, Density, Ladder)}
"""Every scenario kind, keyed by the ``kind`` a campaign names."""
