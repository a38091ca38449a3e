"""Expanding campaigns into jobs: counts, names, order, params in the wire shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from master.campaign import SpecError, expand, load_campaign, load_campaign_text
from master.campaign.expand import label

ROOT = Path(__file__).parents[3]
GOOD_DIR = ROOT / "tests" / "data" / "campaigns" / "good"
WIRE_PARAM_KEYS = [
    "kind",
    "input",
    "encoder",
    "preset",
    "bitrate",
    "crf",
    "resolution",
    "fps",
    "duration",
    "stabilization",
    "cooldown",
    "quality",
    "idle_baseline",
    "sample_rate",
    "timeout",
]

MATRIX = """
name: m
targets: [a, b]
scenarios:
  - name: x264
    kind: transcode
    input: {source: testsrc2, size: 1280x720, rate: 30}
    encoder: libx264
    duration: 10
    repetitions: 2
    matrix:
      preset: [veryfast, ultrafast]
      bitrate: [2000k, 4000k]
      fps: [30]
  - name: once
    kind: transcode
    input: {source: testsrc2}
    encoder: libx265
    crf: 28
    duration: 2
"""


def test_matrix_order_names_and_counts():
    """Scenario order, then the matrix's product in written order, then repetitions; one-value keys not named."""
    jobs = expand(load_campaign_text(MATRIX, "m.yml"))
    assert [job.name for job in jobs] == [
        "x264-veryfast-2000k#1",
        "x264-veryfast-2000k#2",
        "x264-veryfast-4000k#1",
        "x264-veryfast-4000k#2",
        "x264-ultrafast-2000k#1",
        "x264-ultrafast-2000k#2",
        "x264-ultrafast-4000k#1",
        "x264-ultrafast-4000k#2",
        "once#1",
    ]
    assert [job.repetition for job in jobs[:2]] == [1, 2]
    assert {job.variant for job in jobs[:2]} == {"x264-veryfast-2000k"}
    assert {job.scenario for job in jobs} == {"x264", "once"}


def test_params_take_matrix_values():
    """Each job's params carry its matrix point's values and the scenario's other fields."""
    jobs = {job.name: job for job in expand(load_campaign_text(MATRIX, "m.yml"))}
    params = jobs["x264-ultrafast-4000k#2"].params
    assert (params["preset"], params["bitrate"], params["crf"], params["fps"]) == ("ultrafast", "4000k", None, 30)
    assert params["input"] == {
        "type": "lavfi",
        "source": "testsrc2",
        "content": None,
        "size": "1280x720",
        "rate": 30,
        "render": "prepared",
    }


def test_job_dict_is_the_wire_job():
    """to_dict gives WIRE.md's job fields (plus kind for the queue), params keys in WIRE.md order, JSON-ready."""
    job = expand(load_campaign_text(MATRIX, "m.yml"))[-1].to_dict()
    assert list(job) == ["name", "scenario", "variant", "repetition", "kind", "params", "requirements"]
    assert list(job["params"]) == WIRE_PARAM_KEYS
    assert job["params"] == {
        "kind": "transcode",
        "input": {
            "type": "lavfi",
            "source": "testsrc2",
            "content": None,
            "size": None,
            "rate": None,
            "render": "prepared",
        },
        "encoder": "libx265",
        "preset": None,
        "bitrate": None,
        "crf": 28,
        "resolution": None,
        "fps": None,
        "duration": 2,
        "stabilization": 0,
        "cooldown": 0,
        "quality": True,
        "idle_baseline": 3,
        "sample_rate": 10,
        "timeout": 600,
    }
    assert job["requirements"] == {"encoder": "libx265", "targets": ["a", "b"]}
    assert json.loads(json.dumps(job)) == job


def test_jobs_do_not_share_params():
    """Changing one job's params (or its dict) leaves the other jobs and the campaign alone."""
    campaign = load_campaign_text(MATRIX, "m.yml")
    first, second = expand(campaign)[:2]
    first.params["input"]["size"] = "1x1"
    first.requirements["targets"].append("c")
    assert second.params["input"]["size"] == "1280x720"
    assert second.requirements["targets"] == ["a", "b"]
    assert campaign.scenarios[0]["input"]["size"] == "1280x720"


def test_quick_campaign_plan():
    """quick.yml is 4 jobs: veryfast and ultrafast, 2 repetitions each, 720p, 10 s, 2 s baseline."""
    jobs = expand(load_campaign(ROOT / "campaigns" / "quick.yml"))
    assert [job.name for job in jobs] == ["x264-veryfast#1", "x264-veryfast#2", "x264-ultrafast#1", "x264-ultrafast#2"]
    for job in jobs:
        assert (job.params["encoder"], job.params["resolution"], job.params["duration"]) == ("libx264", "1280x720", 10)
        assert job.params["idle_baseline"] == 2
        assert job.params["input"] == {
            "type": "lavfi",
            "source": None,
            "content": "medium",
            "size": "1280x720",
            "rate": 30,
            "render": "prepared",
        }


def test_h264_campaign_plan():
    """h264.yml is 4 presets x 2 bitrates x 3 repetitions at 1080p, 30 s each."""
    jobs = expand(load_campaign(ROOT / "campaigns" / "h264.yml"))
    assert len(jobs) == 24
    assert len({job.variant for job in jobs}) == 8
    assert {job.params["preset"] for job in jobs} == {"ultrafast", "veryfast", "medium", "slow"}
    assert {job.params["bitrate"] for job in jobs} == {"3000k", "6000k"}
    assert {(job.params["resolution"], job.params["duration"]) for job in jobs} == {("1920x1080", 30)}


def test_names_are_unique_in_every_good_campaign():
    """No two jobs share a name in any good or shipped file."""
    for path in [*GOOD_DIR.glob("*.yml"), *(ROOT / "campaigns").glob("*.yml")]:
        names = [job.name for job in expand(load_campaign(path))]
        assert len(names) == len(set(names)), path.name


def test_input_labels():
    """A file input shows as its stem, a lavfi input as its settings, other values as text made name-safe."""
    assert label({"type": "file", "path": "/clips/my clip.mp4"}) == "my_clip"
    assert (
        label(
            {
                "type": "lavfi",
                "source": "testsrc2",
                "content": None,
                "size": "1280x720",
                "rate": None,
                "render": "prepared",
            }
        )
        == "testsrc2-1280x720"
    )
    assert (
        label({"type": "lavfi", "source": None, "content": "hard", "size": "1280x720", "rate": 30, "render": "inline"})
        == "hard-1280x720-30-inline"
    )
    assert label(29.97) == "29.97"
    assert label("a#b/c") == "a_b_c"


def test_colliding_variant_names_are_a_problem(tmp_path):
    """Two matrix inputs whose files share a stem would give one variant name twice: reported at the scenario."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").write_bytes(b"")
    path = tmp_path / "c.yml"
    path.write_text(
        MATRIX.replace("fps: [30]", "input: [{file: a/clip.mp4}, {file: b/clip.mp4}]").replace(
            "    input: {source: testsrc2, size: 1280x720, rate: 30}\n", "", 1
        )
    )
    with pytest.raises(SpecError) as raised:
        load_campaign(path)
    assert [str(p) for p in raised.value.problems] == [
        f"{path}:5:11: scenarios[0].name: variant name 'x264-veryfast-2000k-clip' also comes from scenarios[0]"
        " (and 3 more); rename or change values"
    ]


def test_a_matrix_value_listed_twice_is_a_problem():
    """A matrix list naming one value twice is reported rather than run twice under one name."""
    with pytest.raises(SpecError, match=r"m.yml:12:15: scenarios\[0\]\.matrix\.preset: lists the same value twice"):
        load_campaign_text(MATRIX.replace("[veryfast, ultrafast]", "[fast, fast]"), "m.yml")


def test_baseline_jobs_have_baseline_params():
    """A baseline scenario expands to jobs whose params are kind, duration, sample_rate and timeout, without an
    encoder requirement; it takes no idle_baseline from defaults (it is the idle measurement)."""
    jobs = expand(load_campaign(GOOD_DIR / "baseline.yml"))
    by_name = {job.name: job for job in jobs}
    assert [job.name for job in jobs] == ["idle#1", "idle#2", "idle-grid-5#1", "idle-grid-10#1", "x264#1"]
    idle = by_name["idle#2"].to_dict()
    assert idle["kind"] == "baseline"
    assert idle["params"] == {"kind": "baseline", "duration": 30, "sample_rate": 5, "timeout": 600}
    assert list(idle["params"]) == ["kind", "duration", "sample_rate", "timeout"]
    assert idle["requirements"] == {"targets": ["local"]}
    assert by_name["idle-grid-10#1"].params["duration"] == 10
    assert json.loads(json.dumps(idle)) == idle


def test_transcode_waits_and_quality_in_params():
    """stabilization, cooldown and quality travel in a transcode job's params; unset they take the defaults."""
    jobs = {job.name: job for job in expand(load_campaign(GOOD_DIR / "baseline.yml"))}
    params = jobs["x264#1"].params
    assert (params["stabilization"], params["cooldown"], params["quality"]) == (5, 2.5, False)
    assert params["idle_baseline"] == 1 and params["duration"] == 2
    once = expand(load_campaign_text(MATRIX, "m.yml"))[-1].params
    assert (once["stabilization"], once["cooldown"], once["quality"]) == (0, 0, True)


def test_waits_and_quality_come_from_defaults_and_matrix():
    """Campaign defaults set them for transcode scenarios; a matrix can vary them."""
    text = MATRIX.replace("scenarios:", "defaults: {stabilization: 4, quality: false}\nscenarios:").replace(
        "      fps: [30]", "      fps: [30]\n      cooldown: [0, 1]"
    )
    jobs = expand(load_campaign_text(text, "m.yml"))
    assert jobs[0].name == "x264-veryfast-2000k-0#1"
    assert {(job.params["stabilization"], job.params["quality"]) for job in jobs} == {(4, False)}
    assert [job.params["cooldown"] for job in jobs[:4]] == [0, 0, 1, 1]


@pytest.mark.parametrize("value", ["maybe", 1, "null"])
def test_quality_must_be_true_or_false(value):
    """quality is a boolean: anything else is a located problem."""
    text = MATRIX.replace("    crf: 28", f"    crf: 28\n    quality: {value}")
    with pytest.raises(SpecError) as raised:
        load_campaign_text(text, "m.yml")
    (problem,) = raised.value.problems
    assert problem.key == "scenarios[1].quality" and problem.line == 20
    assert problem.message.startswith("expected true or false, got")
