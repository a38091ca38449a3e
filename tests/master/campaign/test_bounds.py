"""Hostile campaign files are refused quickly, at their line: alias bombs, alias loops, deep nesting, huge numbers,
oversized files, and campaigns of more jobs than the cap (counted, never expanded), by the CLI and by the master."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from master.app import create_app
from master.campaign.jobcount import DEFAULT_MAX_JOBS
from master.campaign.spec import SpecError, load_campaign, load_campaign_text
from master.campaign.yamldoc import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NODES
from master.cli.spec_cmds import plan, validate

CAMPAIGN = Path(sys.executable).parent / "campaign"

BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
name: bomb
scenarios: [*g]
"""
"""A "billion laughs" of 400 bytes: 9^7 (4.8 million) strings once its aliases are expanded."""

SCENARIO = """\
name: {name}
scenarios:
  - name: x264
    kind: transcode
    input: {{source: testsrc2, size: 160x90, rate: 10}}
    encoder: libx264
    bitrate: 200k
    duration: 1
{extra}"""

AXIS = "[" + ", ".join(str(n) for n in range(1, 51)) + "]"
HUGE = SCENARIO.format(
    name="huge",
    extra="    matrix:\n"
    + "".join(
        f"      {field}: {AXIS}\n"
        for field in ("fps", "idle_baseline", "sample_rate", "timeout", "stabilization", "cooldown")
    ),
)
"""Six axes of 50 values: 50^6 = 15,625,000,000 jobs, in 1 kB."""

HUGE_PROBLEM = (
    "huge.yml:9:5: scenarios[0].matrix: this scenario comes to 15,625,000,000 jobs (15,625,000,000 "
    f"matrix points x 1 run); a campaign may come to at most {DEFAULT_MAX_JOBS:,} jobs (--max-jobs)"
)

TWELVE = SCENARIO.format(
    name="twelve",
    extra="    repetitions: 2\n    matrix:\n      fps: [10, 15, 30]\n      preset: [ultrafast, veryfast]\n",
)
"""3 x 2 matrix points x 2 repetitions: 12 jobs."""


def _problems(text: str, file: str = "f.yml") -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_campaign_text(text, file)
    return [str(problem) for problem in caught.value.problems]


def test_alias_bomb_is_refused_fast_at_its_line():
    """A billion-laughs file is refused in well under a second, at the line whose value grows past the bound."""
    started = time.perf_counter()
    problems = _problems(BOMB, "bomb.yml")
    assert time.perf_counter() - started < 1.0
    assert problems == [
        f"bomb.yml:5:4: (yaml): the file holds more than {MAX_NODES} values once its aliases are"
        " expanded (aliases of aliases multiply); use fewer values, or fewer aliases"
    ]


def test_long_flat_list_is_refused_before_its_end():
    """A list of more values than the bound is refused at the first value past it, not after reading them all."""
    text = "name: flat\nscenarios: [" + ", ".join(["1"] * (MAX_NODES + 1000)) + "]\n"
    problems = _problems(text)
    assert len(problems) == 1 and problems[0].startswith("f.yml:2:") and f"more than {MAX_NODES} values" in problems[0]


def test_aliases_within_bounds_still_work():
    """Ordinary aliases (a shared input) load as before."""
    text = SCENARIO.format(name="shared", extra="    idle_baseline: &wait 1\n    cooldown: *wait\n")
    assert load_campaign_text(text).scenarios[0]["cooldown"] == 1


def test_alias_loop_is_refused():
    """An alias inside the node it names (a loop) is refused at the alias."""
    assert _problems("name: loop\nscenarios: &s [*s]\n") == [
        "f.yml:2:16: (yaml): alias *s is inside the node it names (a loop)"
    ]


def test_deep_nesting_is_refused_not_a_recursion_error():
    """Thousands of nested lists are refused at the first level too deep, without a RecursionError."""
    text = "name: deep\nscenarios: " + "[" * 5000 + "]" * 5000 + "\n"
    assert _problems(text) == [f"f.yml:2:{12 + MAX_DEPTH - 1}: (yaml): nested more than {MAX_DEPTH} levels deep"]


def test_huge_whole_number_is_refused():
    """A 5,000-digit number (Python will not even read it) is refused at its line."""
    text = SCENARIO.format(name="big", extra="    repetitions: " + "9" * 5000 + "\n")
    assert _problems(text) == ["f.yml:9:18: (yaml): a number of more than 30 characters"]


def test_oversized_text_and_file_are_refused(tmp_path):
    """A document over the size limit is refused as a whole, as text or as a file, without reading all of it."""
    text = SCENARIO.format(name="big", extra="# " + "x" * MAX_DOCUMENT_BYTES + "\n")
    assert _problems(text) == [
        f"f.yml:1:1: (file): too large: {len(text.encode())} bytes; a campaign file may be "
        f"at most {MAX_DOCUMENT_BYTES} bytes"
    ]
    path = tmp_path / "big.yml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_campaign(path)
    assert [p.message for p in caught.value.problems] == [
        f"too large: over {MAX_DOCUMENT_BYTES} bytes; a campaign file may be at most {MAX_DOCUMENT_BYTES} bytes"
    ]


@pytest.mark.parametrize("command", ["validate", "plan", "run"])
def test_huge_matrix_is_refused_instantly_by_the_cli(command, tmp_path):
    """campaign validate, plan and run refuse a 15-billion-job matrix at its line in seconds, exit 2."""
    (tmp_path / "huge.yml").write_text(HUGE)
    proc = subprocess.run(
        [str(CAMPAIGN), command, "huge.yml", *(["--state-dir", "state"] if command == "run" else [])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert (proc.returncode, proc.stderr, proc.stdout) == (2, HUGE_PROBLEM + "\n", "")


def _post_within(client, seconds: float, **kwargs):
    """The response to a POST /campaigns, or None when it takes longer than ``seconds``."""
    answer = []
    thread = threading.Thread(target=lambda: answer.append(client.post("/campaigns", **kwargs)), daemon=True)
    thread.start()
    thread.join(seconds)
    return answer[0] if answer else None


def test_huge_matrix_is_refused_instantly_by_the_master(tmp_path):
    """POST /campaigns answers a 15-billion-job matrix with a 400 listing the problem, in seconds."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "ffwatt.db"), "INSECURE": True})
    resp = _post_within(app.test_client(), 10, json={"spec_text": HUGE, "spec_path": "huge.yml"})
    assert resp is not None, "POST /campaigns did not answer within 10 s"
    assert resp.status_code == 400 and resp.get_json()["problems"] == [HUGE_PROBLEM]


@pytest.mark.parametrize("max_jobs, ok", [(10, False), (12, True)])
def test_max_jobs_on_the_cli(tmp_path, max_jobs, ok):
    """--max-jobs caps validate and plan both ways: 12 jobs are refused under 10 and accepted under 12."""
    (tmp_path / "twelve.yml").write_text(TWELVE)
    for command in (validate, plan):
        result = CliRunner().invoke(command, [str(tmp_path / "twelve.yml"), "--max-jobs", str(max_jobs)])
        if ok:
            assert result.exit_code == 0, result.output
        else:
            assert result.exit_code == 2 and result.stderr == (
                f"{tmp_path / 'twelve.yml'}:10:5: scenarios[0].matrix: this scenario comes to 12 jobs (6 matrix "
                "points x 2 runs); a campaign may come to at most 10 jobs (--max-jobs)\n"
            )
    if ok:
        assert "OK (1 scenario, 12 jobs)" in CliRunner().invoke(validate, [str(tmp_path / "twelve.yml")]).stdout


@pytest.mark.parametrize("max_jobs, status", [(10, 400), (12, 201)])
def test_max_jobs_on_the_master(tmp_path, max_jobs, status):
    """The master's MAX_JOBS caps POST /campaigns both ways."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "ffwatt.db"), "INSECURE": True, "MAX_JOBS": max_jobs})
    resp = app.test_client().post("/campaigns", json={"spec_text": TWELVE})
    assert resp.status_code == status
    if status == 400:
        assert resp.get_json()["problems"] == [
            "<submitted>:10:5: scenarios[0].matrix: this scenario comes to 12 jobs (6 matrix points x 2 runs); "
            "a campaign may come to at most 10 jobs (--max-jobs)"
        ]


def test_jobs_of_all_scenarios_are_summed_and_confidence_counts_at_its_max():
    """Two scenarios under the cap each but over it together are refused at scenarios; confidence counts its max."""
    text = SCENARIO.format(name="two", extra="    confidence: {target: 0.05, max: 8}\n") + (
        "  - {name: idle, kind: baseline, duration: 1, repetitions: 5}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_campaign_text(text, "two.yml", max_jobs=12)
    assert [str(p) for p in caught.value.problems] == [
        "two.yml:2:1: scenarios: the scenarios come to 13 jobs together; a campaign may come to at most 12 jobs"
        " (--max-jobs)"
    ]
    assert len(load_campaign_text(text, "two.yml", max_jobs=13).scenarios) == 2


def test_master_max_jobs_flag_is_documented():
    """python -m master takes --max-jobs, defaulting to the campaign cap."""
    from master.__main__ import main

    help_text = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    assert "--max-jobs" in help_text and f"default: {DEFAULT_MAX_JOBS}" in help_text


def test_file_inputs_that_cannot_be_looked_at_are_problems():
    """A file name too long for the OS, or under a user with no home, is a problem at its line, not a crash."""
    for name, message in (
        ("/" + "a" * 5000, "cannot look at it (OSError: File name too long): /aaa"),
        ("~nosuchuser-ffwatt/x.mp4", "no such file: "),
    ):
        text = SCENARIO.format(name="files", extra="").replace(
            "{source: testsrc2, size: 160x90, rate: 10}", f"{{file: '{name}'}}"
        )
        problems = _problems(text)
        assert len(problems) == 1 and problems[0].startswith(f"f.yml:5:19: scenarios[0].input.file: {message}")
