"""``confidence:``: presets, normalisation, the repeat-or-stop decision, and how a campaign file expands with it."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from master.analysis.stats import summary
from master.campaign import SpecError, expand, load_campaign_text
from master.campaign.confidence import (
    DONE,
    MORE,
    PRESETS,
    WAIT,
    assess,
    decide,
    describe,
    normalise,
    samples,
    to_report,
)
from master.campaign.timing import estimate_seconds, format_seconds
from master.cli.spec_cmds import plan, validate

AUTO = normalise("auto")
STABLE = [0.100, 0.101, 0.099, 0.100, 0.1005]
"""Joules per frame that agree to about ±1%."""
NOISY = [0.10, 0.16, 0.07, 0.13, 0.09, 0.15, 0.06, 0.12, 0.11, 0.08, 0.14, 0.05]
"""Joules per frame spread by about ±40%: no 5% interval within 10 runs."""


def run_variant(values, spec, fail_at=()):
    """Drive the decision as the master does, one run at a time: the runs (value or 'failed') it took."""
    feed = iter(values)
    ran = [("failed" if i in fail_at else next(feed)) for i in range(spec["min"])]
    while True:
        ok = [v for v in ran if v != "failed"]
        decision = decide(ok, 0, len(ran), spec)
        assert decision in (MORE, DONE)
        if decision == DONE:
            return ran
        ran.append("failed" if len(ran) in fail_at else next(feed))


def test_presets_and_auto():
    """auto is medium (±5%, 3-10 runs); high is tighter with more runs, low looser with fewer."""
    assert AUTO == {"preset": "auto", "target": 0.05, "min": 3, "max": 10}
    assert normalise("medium") == {**AUTO, "preset": "medium"}
    high, low = normalise("high"), normalise("low")
    assert high["target"] < AUTO["target"] < low["target"]
    assert high["min"] >= AUTO["min"] >= low["min"] >= 2 and high["max"] > AUTO["max"] > low["max"]
    assert all(p["min"] <= p["max"] for p in PRESETS.values())


def test_normalise_mapping_with_defaults():
    """A mapping takes min 3 and max 10 when not given; None stays None; min above max is refused."""
    assert normalise({"target": 0.03}) == {"preset": None, "target": 0.03, "min": 3, "max": 10}
    assert normalise({"target": 0.03, "min": 2, "max": 20}) == {"preset": None, "target": 0.03, "min": 2, "max": 20}
    assert normalise(None) is None
    with pytest.raises(ValueError, match="min 12 is more than max 10"):
        normalise({"target": 0.03, "min": 12})
    with pytest.raises(ValueError):
        normalise("very")


def test_describe():
    assert describe(AUTO) == "3-10 runs (auto ±5%)"
    assert describe(normalise({"target": 0.03, "min": 3, "max": 20})) == "3-20 runs (±3%)"


def test_stable_data_stops_at_min():
    """Runs that agree reach ±5% with the 3 runs auto starts with: no run is added."""
    assert decide(STABLE[:3], 0, 3, AUTO) == DONE
    assert run_variant(STABLE, AUTO) == STABLE[:3]
    found = assess(STABLE[:3], AUTO)
    assert found.reached and found.runs == 3 and found.half_width_pct < 5


def test_noisy_data_runs_to_max_and_says_not_reached():
    """Runs spread by ±40% never reach ±5%: the variant runs to max (10) and is not reached."""
    ran = run_variant(NOISY, AUTO)
    assert len(ran) == AUTO["max"]
    report = to_report(ran, AUTO)
    assert report["reached"] is False and report["runs"] == 10 and report["half_width_pct"] > 5


def test_wait_while_runs_are_outstanding():
    """Nothing is decided while a run of the variant is queued or running, whatever the samples say."""
    assert decide(STABLE[:3], 1, 4, AUTO) == WAIT
    assert decide([], 3, 3, AUTO) == WAIT


def test_fewer_samples_than_min_asks_for_more():
    """A tight interval from 2 samples is not enough when min is 3: one more run."""
    assert decide([0.1, 0.1], 0, 2, AUTO) == MORE
    assert not assess([0.1, 0.1], AUTO).reached


def test_failed_runs_count_toward_max():
    """A failed run adds a job but no sample; at max jobs the variant is done even with too few samples."""
    spec = normalise({"target": 0.05, "min": 3, "max": 5})
    ran = run_variant(STABLE, spec, fail_at={1})
    assert ran == [STABLE[0], "failed", STABLE[1], STABLE[2]]
    assert decide([0.1, 0.2], 0, 5, spec) == DONE
    assert not assess([0.1, 0.2], spec).reached


def test_no_sample_after_min_jobs_stops():
    """A variant whose first min jobs all failed is not repeated up to max: it is done, not reached."""
    assert decide([], 0, 3, AUTO) == DONE
    assert decide([None, None], 0, 3, AUTO) == DONE
    assert to_report([], AUTO) == {
        "target": 0.05,
        "min": 3,
        "max": 10,
        "runs": 0,
        "half_width_pct": None,
        "reached": False,
    }


def test_missing_and_zero_values_are_not_samples():
    """None, NaN, infinity and values <= 0 never count as samples (so never toward min or the interval)."""
    assert samples([0.1, None, 0.0, -1.0, math.nan, math.inf, 0.2]) == [0.1, 0.2]
    with_gaps = [0.100, None, 0.101, 0.0, 0.099]
    assert assess(with_gaps, AUTO).runs == 3
    assert assess(with_gaps, AUTO) == assess([0.100, 0.101, 0.099], AUTO)
    assert decide([0.1, None, 0.0, 0.1], 0, 4, AUTO) == MORE


def test_half_width_is_the_stats_student_t_interval():
    """The half-width is master.analysis.stats' Student-t 95% interval, as a percentage of the mean."""
    values = [0.10, 0.12, 0.11, 0.13]
    assert assess(values, AUTO).half_width_pct == pytest.approx(summary(values).rel_ci95 * 100)


def test_decisions_are_deterministic():
    """The same samples give the same decision and assessment, in any order of calls."""
    for values in (STABLE[:3], NOISY[:5], [0.1, None, 0.2]):
        first = [decide(values, 0, len(values), AUTO), assess(values, AUTO)]
        assert all([decide(values, 0, len(values), AUTO), assess(values, AUTO)] == first for _ in range(5))
    assert assess(list(reversed(NOISY[:5])), AUTO).half_width_pct == pytest.approx(
        assess(NOISY[:5], AUTO).half_width_pct
    )


CAMPAIGN = """\
name: c
defaults:
  repetitions: 2
scenarios:
  - name: auto
    kind: transcode
    input: {source: testsrc2}
    encoder: libx264
    bitrate: 1000k
    duration: 1
    confidence: auto
    matrix:
      preset: [ultrafast, veryfast]
  - name: custom
    kind: transcode
    input: {source: testsrc2}
    encoder: libx264
    bitrate: 1000k
    duration: 1
    confidence: {target: 0.03, min: 2, max: 20}
  - name: fixed
    kind: transcode
    input: {source: testsrc2}
    encoder: libx264
    bitrate: 1000k
    duration: 1
"""


def test_expansion_queues_min_runs_with_the_normalised_spec():
    """A confidence variant starts with min jobs carrying the normalised spec; others keep repetitions and no key."""
    jobs = expand(load_campaign_text(CAMPAIGN, "c.yml"))
    assert [j.name for j in jobs] == [
        "auto-ultrafast#1",
        "auto-ultrafast#2",
        "auto-ultrafast#3",
        "auto-veryfast#1",
        "auto-veryfast#2",
        "auto-veryfast#3",
        "custom#1",
        "custom#2",
        "fixed#1",
        "fixed#2",
    ]
    by_name = {j.name: j for j in jobs}
    assert by_name["auto-veryfast#2"].confidence == AUTO
    assert by_name["custom#1"].to_dict()["confidence"] == {"preset": None, "target": 0.03, "min": 2, "max": 20}
    assert by_name["fixed#1"].confidence is None and "confidence" not in by_name["fixed#1"].to_dict()
    assert "confidence" not in by_name["custom#1"].params


def test_scenario_setting_wins_over_defaults():
    """defaults' confidence with a scenario's own repetitions: the repetitions; the other way round: confidence."""
    text = CAMPAIGN.replace("repetitions: 2", "confidence: low").replace(
        "  - name: fixed\n", "  - name: fixed\n    repetitions: 4\n"
    )
    jobs = expand(
        load_campaign_text(
            text + "  - name: inherits\n    kind: transcode\n    input: {source: testsrc2}\n"
            "    encoder: libx264\n    bitrate: 1000k\n    duration: 1\n",
            "c.yml",
        )
    )
    names = [j.name for j in jobs if j.scenario == "fixed"]
    assert names == ["fixed#1", "fixed#2", "fixed#3", "fixed#4"]
    assert all(j.confidence is None for j in jobs if j.scenario == "fixed")
    inherits = [j for j in jobs if j.scenario == "inherits"]
    assert len(inherits) == 2 and inherits[0].confidence == normalise("low")


def test_both_in_one_scenario_is_an_error():
    text = CAMPAIGN.replace("    confidence: auto\n", "    confidence: auto\n    repetitions: 3\n")
    with pytest.raises(SpecError) as raised:
        load_campaign_text(text, "c.yml")
    assert [str(p) for p in raised.value.problems] == [
        "c.yml:11:5: scenarios[0].confidence: set only one of repetitions (line 12) or confidence, not both"
    ]


def test_plan_and_validate_show_the_range(tmp_path):
    """plan lists the first runs, one line per confidence variant, and the range of jobs and time."""
    path = tmp_path / "c.yml"
    path.write_text(CAMPAIGN)
    result = CliRunner().invoke(plan, [str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "auto-ultrafast: 3-10 runs (auto ±5%)" in lines and "custom: 2-20 runs (±3%)" in lines
    total = " ".join(result.output.split())
    first = expand(load_campaign_text(CAMPAIGN))
    assert len(first) == 10
    lower = format_seconds(estimate_seconds(first))
    assert f"10-42 jobs (4 variants of 3 scenarios); estimated time about {lower} to " in total
    upper = total.rsplit(f"{lower} to ", 1)[1]
    assert upper.endswith(("s", "min")) and upper != lower  # the most runs take longer than the first
    checked = CliRunner().invoke(validate, [str(path)])
    assert checked.output.strip() == f"{path}: OK (3 scenarios, 10-42 jobs)"


def _job(rep, value, spec, state="succeeded"):
    result = {"status": state, "metrics": {"joules_per_frame": value}} if state in ("succeeded", "failed") else None
    return {
        "name": f"v#{rep}",
        "scenario": "v",
        "variant": "v",
        "repetition": rep,
        "state": state,
        "params": {"kind": "transcode"},
        "confidence": spec,
        "result": result,
    }


def test_summary_says_whether_the_target_was_reached():
    """summarize_run gives a confidence variant its target, limits, samples used, half-width and reached."""
    from master.analysis.summarize import summarize_run

    spec = normalise({"target": 0.05, "min": 2, "max": 4})
    jobs = [_job(1, 0.1, spec), _job(2, None, spec, "failed"), _job(3, 0.1004, spec), _job(4, 0.0998, spec)]
    fixed = [dict(_job(1, 0.1, None), variant="f", name="f#1")]
    variants = {v["variant"]: v for v in summarize_run({"jobs": jobs + fixed})["variants"]}
    found = variants["v"]["confidence"]
    assert {k: found[k] for k in ("target", "min", "max", "runs", "reached")} == {
        "target": 0.05,
        "min": 2,
        "max": 4,
        "runs": 3,
        "reached": True,
    }
    assert found["half_width_pct"] == pytest.approx(summary([0.1, 0.1004, 0.0998]).rel_ci95 * 100)
    assert "confidence" not in variants["f"]
    noisy = summarize_run({"jobs": [_job(1, 0.1, spec), _job(2, 0.2, spec)]})["variants"][0]["confidence"]
    assert noisy["reached"] is False and noisy["half_width_pct"] > 5


def test_junk_and_booleans_are_no_samples():
    """A stored "abc" or true J/frame is not a sample: the decision is taken on the numbers alone."""
    spec = {"target": 0.05, "min": 2, "max": 4}
    assert samples(["abc", True, None, 0.5, {"x": 1}]) == [0.5]
    assert decide(["abc", 0.5], 0, 2, spec) == MORE
