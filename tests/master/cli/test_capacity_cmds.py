"""``campaign plan-capacity`` and ``--pricing`` on ``campaign run``, through click's CliRunner."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from master.cli import main
from master.reports.writer import write_report
from tests.master.analysis.kind_results import add_kind_jobs

ROOT = Path(__file__).resolve().parents[3]
PRICING = ROOT / "pricing.yml"


@pytest.fixture
def density_report(run, tmp_path) -> Path:
    """A report folder of a run with a density variant (dense-x264: 3 streams per node, 13.8 W per stream)."""
    write_report(add_kind_jobs(run), tmp_path / "report")
    return tmp_path / "report"


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_plan_capacity_text(density_report):
    """100 streams: 34 nodes, 1,007 kWh, 120.9 USD and 403 kg a month at the default region of pricing.yml."""
    result = invoke("plan-capacity", density_report / "results.json", "--streams", "100", "--pricing", PRICING)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"capacity for 100 streams, a month of 730 h; prices: {PRICING} (USD)"
    assert "  nodes needed           34" in lines
    assert "  kWh per month          1,007 kWh" in lines
    assert "  energy cost per month  120.9 USD" in lines
    assert "  CO2 per month          403 kg" in lines
    assert any(line.startswith("  node cost per month    — (no node_cost_per_hour") for line in lines)


def test_plan_capacity_json_of_a_report_folder(density_report):
    """--json prints the plan; the report folder stands for its results.json; without pricing no money."""
    result = invoke("plan-capacity", density_report, "--streams", "7", "--json")
    assert result.exit_code == 0, result.output
    (profile,) = json.loads(result.output)["profiles"]
    assert (profile["nodes"], profile["max_streams"], profile["energy_cost_per_month"]) == (3, 3, None)


def test_plan_capacity_without_density_result(run, tmp_path):
    """A run without density: exit 1 and why."""
    write_report(run, tmp_path / "r")
    result = invoke("plan-capacity", tmp_path / "r" / "results.json", "--streams", "5")
    assert result.exit_code == 1
    assert "no density result" in result.output


def test_run_refuses_a_bad_pricing_file_before_running(tmp_path):
    """campaign run with a pricing: file holding a negative price: exit 2 naming file:line, nothing run."""
    (tmp_path / "prices.yml").write_text("regions:\n  default: {electricity_per_kwh: -1, gco2_per_kwh: 5}\n")
    text = (
        (ROOT / "campaigns" / "quick.yml")
        .read_text()
        .replace("targets: [local]", "targets: [local]\npricing: prices.yml")
    )
    (tmp_path / "c.yml").write_text(text)
    result = invoke("run", tmp_path / "c.yml", "--state-dir", tmp_path / "state", "--reports-dir", tmp_path / "rep")
    assert result.exit_code == 2
    assert f"{tmp_path / 'prices.yml'}:2:" in result.output and "expected a number of 0 or more" in result.output
    assert not (tmp_path / "rep").exists()
    result = invoke("run", tmp_path / "c.yml", "--pricing", tmp_path / "none.json", "--state-dir", tmp_path / "s")
    assert result.exit_code == 2 and "no such pricing file" in result.output
