"""Tests of master.analysis.capacity: nodes, kWh, cost and CO2 per month for N streams from density results."""

import copy
import math

import pytest

from master.analysis.capacity import HOURS_PER_MONTH, NoDensityResult, plan_capacity
from master.analysis.pricing import load_pricing
from tests.master.analysis.kind_results import add_kind_jobs

NODE_PRICED = "node_cost_per_hour: 0.5\nregions:\n  default: {electricity_per_kwh: 0.12, gco2_per_kwh: 400}\n"


@pytest.fixture
def density_run(run) -> dict:
    """The quick run plus the kind jobs: one density variant, dense-x264 (max_streams 3, 13.8 W per stream)."""
    return add_kind_jobs(run)


def pricing(tmp_path, text=NODE_PRICED):
    path = tmp_path / "p.yml"
    path.write_text(text)
    return load_pricing(path)


def test_plan_by_hand(density_run, tmp_path):
    """100 streams at 3 per node: 34 nodes; 13.8 W x 100 x 730 h = 1,007.4 kWh; x 0.12 = 120.888; x 400 g =
    402.96 kg; 34 nodes x 0.5/h x 730 h = 12,410."""
    (profile,) = plan_capacity(density_run, 100, pricing(tmp_path))["profiles"]
    assert profile["variant"] == "dense-x264"
    assert (profile["max_streams"], profile["nodes"], profile["streams"]) == (3, 34, 100)
    assert profile["watts_per_stream"] == pytest.approx(13.8)
    assert profile["kwh_per_month"] == pytest.approx(1007.4)
    assert profile["energy_cost_per_month"] == pytest.approx(120.888)
    assert profile["co2_kg_per_month"] == pytest.approx(402.96)
    assert profile["node_cost_per_month"] == pytest.approx(12410.0)
    assert profile["missing"] == {} and profile["estimated"] is False


def test_without_pricing_only_money_and_co2_are_missing(density_run):
    """Nodes and kWh need no pricing; the cost and CO2 are None with the reason."""
    plan = plan_capacity(density_run, 7, None)
    (profile,) = plan["profiles"]
    assert (profile["nodes"], plan["currency"]) == (math.ceil(7 / 3), None)
    assert profile["kwh_per_month"] == pytest.approx(13.8 * 7 * HOURS_PER_MONTH / 1000)
    for name in ("energy_cost_per_month", "co2_kg_per_month", "node_cost_per_month"):
        assert profile[name] is None and "no pricing given" in profile["missing"][name]


def test_default_streams_is_ten_nodes_worth(density_run):
    """Without --streams (the report's block) a profile is planned at its max per node x 10."""
    (profile,) = plan_capacity(density_run, None, None)["profiles"]
    assert (profile["streams"], profile["nodes"]) == (30, 10)


def test_repetitions_that_differ_plan_at_the_smallest_and_estimated_is_noted(density_run):
    """A second density run that held 5 streams, estimated: the plan uses 3 and says so, and says estimated."""
    density = next(j for j in density_run["jobs"] if j["variant"] == "dense-x264")
    second = copy.deepcopy(density)
    second["id"], second["repetition"] = "j-d2", 2
    second["result"]["metrics"].update(max_streams=5, watts_per_stream=10.2)
    second["result"]["provenance"]["estimated"] = True
    density_run["jobs"].append(second)
    (profile,) = plan_capacity(density_run, 10, None)["profiles"]
    assert (profile["max_streams"], profile["max_streams_runs"], profile["nodes"]) == (3, [3, 5], 4)
    assert profile["watts_per_stream"] == pytest.approx(12.0)
    assert profile["estimated"] is True
    assert any("smallest" in n for n in profile["notes"]) and any("estimated" in n for n in profile["notes"])


def test_no_level_held_gives_no_node_count(density_run):
    """max_streams 0: nodes None with 'no level held', never a division by zero."""
    density = next(j for j in density_run["jobs"] if j["variant"] == "dense-x264")
    density["result"]["metrics"].update(max_streams=0, watts_per_stream=None)
    (profile,) = plan_capacity(density_run, 10, None)["profiles"]
    assert profile["nodes"] is None and "no level held" in profile["missing"]["nodes"]
    assert profile["kwh_per_month"] is None


def test_run_without_density_is_an_error(run):
    """The quick run has only transcodes: NoDensityResult, in words."""
    with pytest.raises(NoDensityResult, match="no density result"):
        plan_capacity(run, 10, None)
