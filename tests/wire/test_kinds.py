"""The kind registry: every kind a campaign may name has a runner on the agent, and every runner a kind."""

from __future__ import annotations

from agent.scenarios import KINDS as RUNNERS
from wire.kinds import KINDS, MODULES


def test_kinds_exist_on_both_sides():
    """The master's kinds (wire.kinds) and the agent's runners (agent.scenarios) name the same kinds."""
    assert set(KINDS) - set(RUNNERS) == set(), "kinds without an agent runner"
    assert set(RUNNERS) - set(KINDS) == set(), "agent runners without a kind in wire/kinds/"


def test_one_module_per_kind():
    """Each kind module holds exactly one kind, named after the module."""
    assert [module.__name__.rsplit(".", 1)[1] for module in MODULES] == list(KINDS)
    assert len(set(KINDS)) == len(MODULES)
