"""Tests of ``campaign compare`` and ``campaign history`` on results.json files, report folders and the embedded
database."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from master.analysis.stats import welch
from master.cli import main
from master.reports.writer import write_report
from tests.master.analysis.compare_runs import FAST, X264, run, variant

JPF_A = [1.00, 1.02, 0.98, 1.01]
JPF_B = [0.88, 0.90, 0.87, 0.89]


def folders(tmp_path, estimated_a=False):
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A}, estimated_a), variant("vf", FAST, {"fps": [1, 2]}))
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B}), ffmpeg="8.0")
    write_report(a, tmp_path / "a")
    write_report(b, tmp_path / "b")
    return tmp_path / "a", tmp_path / "b"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_text_output_starts_with_the_verdict_and_shows_welch_figures(tmp_path):
    a, b = folders(tmp_path)
    out = invoke("compare", a, b)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("m: 11.7% fewer J/frame in B, significant, better (p = ")
    expected = welch(JPF_A, JPF_B)
    assert f"{expected.rel_diff * 100:+.1f}%" in out.output
    assert f"[{expected.ci_low:.4g}, {expected.ci_high:.4g}]" in out.output
    assert re.search(r"FFmpeg\s+│\s+7\.1\s+│\s+8\.0\s+│\s+DIFFERS", out.output)
    assert "only in A: vf" in out.output


def test_results_json_paths_and_json_output(tmp_path):
    a, b = folders(tmp_path)
    out = invoke("compare", a / "results.json", b / "results.json", "--json", "--alpha", "0.01")
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["alpha"] == 0.01
    row = result["matched"][0]["metrics"][0]
    assert row["metric"] == "joules_per_frame"
    assert row["difference"]["diff"] == welch(JPF_A, JPF_B).diff


def test_html_page_is_written_and_self_contained(tmp_path):
    a, b = folders(tmp_path)
    out = invoke("compare", a, b, "--html", tmp_path / "cmp")
    assert out.exit_code == 0, out.output
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert "Content-Security-Policy" in page
    assert not re.search(r"(src|href)=\"https?:", page)
    assert f"{welch(JPF_A, JPF_B).rel_diff * 100:+.1f}%" in page
    assert f"comparison: {tmp_path / 'cmp' / 'compare.html'}" in out.output


def test_estimated_against_measured_is_refused_then_allowed(tmp_path):
    a, b = folders(tmp_path, estimated_a=True)
    out = invoke("compare", a, b)
    assert out.exit_code == 1
    assert "refusing to compare estimated energy with measured energy for m" in out.output
    allowed = invoke("compare", a, b, "--allow-estimated")
    assert allowed.exit_code == 0
    assert "estimated in A, measured in B" in allowed.output


def test_a_run_that_is_neither_file_nor_campaign_is_a_clear_error(tmp_path):
    a, _ = folders(tmp_path)
    out = invoke("compare", a, "nope", "--state-dir", tmp_path / "state")
    assert out.exit_code == 1
    assert "no database at" in out.output
    (tmp_path / "empty").mkdir()
    out = invoke("compare", a, tmp_path / "empty")
    assert "a folder without results.json" in out.output


def test_every_verdict_and_bracketed_names_print(tmp_path):
    """No significant change, cannot tell and a variant named with brackets print as text, not markup."""
    a = run("A", variant("[m]", X264, {"joules_per_frame": [1.0, 1.1, 0.9], "fps": [30, None, None]}))
    b = run("B", variant("[m]", X264, {"joules_per_frame": [1.0, 1.12, 0.91], "fps": [31, None, None]}))
    write_report(a, tmp_path / "a")
    write_report(b, tmp_path / "b")
    out = invoke("compare", tmp_path / "a", tmp_path / "b")
    assert out.exit_code == 0, out.output
    assert "[m]: 1.0% more J/frame in B, no significant change (p = " in out.output
    assert "cannot tell: needs 2 or more runs on each side, got 1 and 1" in out.output
