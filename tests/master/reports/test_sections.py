"""Tests of master.reports.sections: preflight warnings, energy by source, per-job power rows, the ranking."""

from master.analysis.summarize import summarize_run
from master.reports.cells import Footnotes
from master.reports.sections import energy_split, power_job_rows, preflight_rows, ranking_rows


def test_preflight_warns_about_estimate_governor_turbo_and_smt(run):
    """dev1 is estimated; facts that make power vary become warnings, an unreadable fact is 'unknown' with why."""
    run["nodes"][0]["inventory"].update(cpu_governor="powersave", turbo=True, smt=None)
    run["nodes"][0]["inventory"]["missing"]["smt"] = "/sys/devices/system/cpu/smt/control not readable"
    rows = preflight_rows(run, summarize_run(run))
    dev1 = [r["text"] for r in rows if r["host"] == "dev1"]
    assert dev1[0].startswith("energy is ESTIMATED")
    assert "'powersave', not 'performance'" in dev1[1] and "turbo boost is on" in dev1[2]
    assert dev1[3] == "smt unknown: /sys/devices/system/cpu/smt/control not readable"


def test_preflight_is_quiet_on_a_tuned_measured_host(run):
    """performance governor, turbo and SMT off, measured energy: no warning for that host."""
    run["nodes"][1].setdefault("inventory", {}).update(cpu_governor="performance", turbo=False, smt=False)
    rows = preflight_rows(run, summarize_run(run))
    assert not [r for r in rows if r["host"] == run["nodes"][1].get("hostname")]


def test_energy_split_per_source_with_shares(run):
    """x265-fast is measured through RAPL package and DRAM; shares add up; a source a variant lacks is missing."""
    split = energy_split(run)
    assert [h["name"] for h in split["headings"]] == ["estimate:cpu-time", "rapl:dram-0", "rapl:package-0"]
    assert split["headings"][0]["estimated"] and not split["headings"][2]["estimated"]
    x265 = next(r for r in split["rows"] if r["variant"] == "x265-fast")
    assert x265["cells"][0]["missing"] and [c["share"] for c in x265["cells"][1:]] == ["10%", "90%"]


def test_power_job_rows_and_ranking(run):
    """One power row per successful job with samples; the ranking puts the failed variant last, unranked."""
    notes = Footnotes()
    assert len(power_job_rows(run, notes)) == 6
    ranked = ranking_rows([v for v in summarize_run(run)["variants"]], notes)
    assert [r["variant"] for r in ranked["rows"]] == ["x264-veryfast", "x265-fast", "x264-medium", "nvenc-p4"]
    assert ranked["rows"][-1]["rank"] == "—"
