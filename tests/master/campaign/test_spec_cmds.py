"""``campaign validate`` and ``campaign plan``, run through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from master.campaign import expand, load_campaign
from master.campaign.timing import estimate_seconds, format_seconds
from master.cli.spec_cmds import plan, validate

ROOT = Path(__file__).parents[3]
QUICK = ROOT / "campaigns" / "quick.yml"
BAD_DIR = ROOT / "tests" / "data" / "campaigns" / "bad"


def test_validate_ok():
    """A valid file prints one summary line on stdout and exits 0."""
    result = CliRunner().invoke(validate, [str(QUICK)])
    assert result.exit_code == 0
    assert result.stdout == f"{QUICK}: OK (1 scenario, 4 jobs)\n"
    assert result.stderr == ""


def test_validate_counts_plural():
    """Counts read as words: several scenarios, several jobs."""
    result = CliRunner().invoke(validate, [str(ROOT / "tests" / "data" / "campaigns" / "good" / "full.yml")])
    assert result.exit_code == 0
    assert result.stdout.endswith(": OK (3 scenarios, 11 jobs)\n")


def test_validate_problems_go_to_stderr_with_exit_2(monkeypatch):
    """An invalid file prints every problem, one per line, on stderr and exits 2."""
    monkeypatch.chdir(BAD_DIR)
    result = CliRunner().invoke(validate, ["rate_control.yml"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "rate_control.yml:11:5: scenarios[0].crf: set only one of bitrate or crf, not both",
        "rate_control.yml:14:5: scenarios[1].crf: set only one of bitrate or crf, not both",
        "rate_control.yml:17:5: scenarios[2]: set bitrate or crf: neither is set here, in the matrix or in defaults",
    ]


def test_validate_missing_file():
    """A missing file is a problem line and exit 2, not a traceback."""
    result = CliRunner().invoke(validate, ["no/such/campaign.yml"])
    assert result.exit_code == 2
    assert result.stderr == "no/such/campaign.yml:1:1: (file): no such file\n"


def test_plan_lists_jobs_in_order_with_total():
    """plan prints a header, one row per job in run order with its settings, and the total with an estimate."""
    result = CliRunner().invoke(plan, [str(QUICK)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "job" in line.split())
    assert header.split() == [
        "#",
        "job",
        "kind",
        "encoder",
        "preset",
        "rate",
        "control",
        "resolution",
        "fps",
        "duration",
    ]
    basis = lines.index("estimate basis (measured on 2 cores; a faster machine runs shorter):")
    rows = [line.split() for line in lines[lines.index(header) + 1 : basis]]
    assert [row[:2] for row in rows] == [
        ["1", "x264-veryfast#1"],
        ["2", "x264-veryfast#2"],
        ["3", "x264-ultrafast#1"],
        ["4", "x264-ultrafast#2"],
    ]
    assert rows[0][2:] == ["transcode", "libx264", "veryfast", "bitrate", "3000k", "1280x720", "30", "10", "s"]
    terms = lines[basis + 1 : -1]
    assert [line.split(":")[0] for line in terms] == [
        "  idle baselines",
        "  encoding",
        "  quality (PSNR/SSIM after each encode)",
        "  source preparation",
        "  overhead",
    ]
    assert terms[0] == "  idle baselines: 4 x 2 s = 8 s"
    assert terms[1].startswith("  encoding: 4 encodes of 40 s of input (libx264 veryfast ")
    assert ", ultrafast " in terms[1] and terms[1].count("=") == 1
    assert terms[3].startswith("  source preparation: 1 source rendered once, then SI/TI and checksum = ")
    assert terms[4].startswith("  overhead: 4 x ") and "s per job + " in terms[4] and "start-up and report" in terms[4]
    jobs = expand(load_campaign(QUICK))
    assert lines[-1] == (
        f"4 jobs (2 variants of 1 scenario); estimated time about {format_seconds(estimate_seconds(jobs))}"
    )
    shown = [float(line.rsplit("= ", 1)[1].removesuffix(" s")) for line in terms]
    assert sum(shown) == pytest.approx(estimate_seconds(jobs), abs=len(terms) * 0.5)  # the terms add up


def test_plan_shows_unset_values_in_words():
    """crf rate control, the encoder's default preset and the input's own size and rate are spelled out."""
    result = CliRunner().invoke(plan, [str(ROOT / "tests" / "data" / "campaigns" / "good" / "minimal.yml")])
    row = next(line.split() for line in result.stdout.splitlines() if line.split()[:1] == ["1"])
    assert row == [
        "1",
        "x264#1",
        "transcode",
        "libx264",
        "default",
        "crf",
        "23",
        "as",
        "input",
        "as",
        "input",
        "5",
        "s",
    ]


def test_plan_invalid_file_exits_2(monkeypatch):
    """plan refuses an invalid file the way validate does."""
    monkeypatch.chdir(BAD_DIR)
    result = CliRunner().invoke(plan, ["empty.yml"])
    assert result.exit_code == 2
    assert result.stderr == "empty.yml:1:1: (file): empty file: expected a mapping with name and scenarios\n"
