"""Loading good campaign files: fields, defaults merged in order, inputs normalised."""

from __future__ import annotations

from pathlib import Path

import pytest

from master.campaign import Campaign, SpecError, load_campaign, load_campaign_text
from master.campaign.defaults import FIELD_DEFAULTS

ROOT = Path(__file__).parents[3]
GOOD_DIR = ROOT / "tests" / "data" / "campaigns" / "good"
SHIPPED = sorted((ROOT / "campaigns").glob("*.yml"))


def scenario(campaign: Campaign, name: str) -> dict:
    """The resolved scenario called ``name``."""
    return next(s for s in campaign.scenarios if s["name"] == name)


@pytest.mark.parametrize("path", [*sorted(GOOD_DIR.glob("*.yml")), *SHIPPED], ids=lambda p: p.name)
def test_good_files_load(path):
    """Every good file and every shipped campaign loads, keeping its text and absolute path."""
    campaign = load_campaign(path)
    assert campaign.scenarios
    assert campaign.text == path.read_text()
    assert campaign.path == path.absolute()


def test_shipped_campaigns_are_the_quick_and_realistic_ones():
    """campaigns/ holds quick.yml, h264.yml and the run_tests.py-era ones, each opening with a comment block."""
    assert {path.name for path in SHIPPED} >= {
        "quick.yml",
        "h264.yml",
        "live.yml",
        "density.yml",
        "ladder.yml",
        "codecs.yml",
    }
    for path in SHIPPED:
        assert path.read_text().startswith("# "), path.name


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_campaigns_pass_validate(path):
    """Every shipped campaign passes `campaign validate`, and says how long it takes here in its comment block."""
    from click.testing import CliRunner

    from master.cli.spec_cmds import validate

    result = CliRunner().invoke(validate, [str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: OK (")
    header = path.read_text().split("\nversion:", 1)[0]
    assert "How long here" in header or "2 cores" in header, path.name


def test_minimal_takes_built_in_defaults():
    """Unset fields are None, fields with a built-in default take it, targets default to local."""
    campaign = load_campaign(GOOD_DIR / "minimal.yml")
    assert campaign.targets == ["local"]
    assert campaign.description == ""
    assert campaign.defaults == FIELD_DEFAULTS
    assert campaign.scenarios[0] == {
        "name": "x264",
        "kind": "transcode",
        "input": {
            "type": "lavfi",
            "source": "testsrc2",
            "content": None,
            "size": None,
            "rate": None,
            "render": "prepared",
        },
        "encoder": "libx264",
        "preset": None,
        "bitrate": None,
        "crf": 23,
        "resolution": None,
        "fps": None,
        "duration": 5,
        "stabilization": 0,
        "cooldown": 0,
        "quality": True,
        "repetitions": 1,
        "confidence": None,
        "idle_baseline": 3,
        "sample_rate": 10,
        "timeout": 600,
        "matrix": {},
    }


def test_campaign_defaults_override_built_ins_and_scenarios_override_both():
    """defaults: beats the built-in defaults; a scenario's own field beats defaults:."""
    campaign = load_campaign(GOOD_DIR / "full.yml")
    assert campaign.defaults["sample_rate"] == 20 and campaign.defaults["timeout"] == 300
    inherit, grid = scenario(campaign, "inherit"), scenario(campaign, "grid")
    assert (inherit["duration"], inherit["timeout"], inherit["idle_baseline"]) == (4, 300, 0)
    assert inherit["input"] == {
        "type": "lavfi",
        "source": "smptebars",
        "content": None,
        "size": "640x360",
        "rate": 25,
        "render": "prepared",
    }
    assert grid["timeout"] == 90
    assert scenario(campaign, "file-crf")["repetitions"] == 1


def test_rate_control_is_inherited_as_a_unit():
    """A scenario that sets crf (itself or in its matrix) inherits no bitrate from defaults."""
    campaign = load_campaign(GOOD_DIR / "full.yml")
    assert scenario(campaign, "inherit")["bitrate"] == "2000k"
    assert scenario(campaign, "file-crf")["bitrate"] is None
    assert scenario(campaign, "grid")["bitrate"] is None


def test_file_inputs_resolve_against_the_campaign_directory(monkeypatch, tmp_path):
    """A relative file: path is absolute after loading, whatever the working directory."""
    monkeypatch.chdir(tmp_path)
    campaign = load_campaign(GOOD_DIR / "full.yml")
    expected = {"type": "file", "path": str(GOOD_DIR / "clips" / "tiny.mp4")}
    assert scenario(campaign, "file-crf")["input"] == expected
    assert scenario(campaign, "grid")["matrix"]["input"][0] == expected


def test_text_with_a_path_label_anchors_file_inputs():
    """load_campaign_text resolves file: inputs next to the path it is labelled with."""
    text = (GOOD_DIR / "full.yml").read_text()
    campaign = load_campaign_text(text, str(GOOD_DIR / "full.yml"))
    assert scenario(campaign, "file-crf")["input"]["path"] == str(GOOD_DIR / "clips" / "tiny.mp4")
    with pytest.raises(SpecError, match=r"<submitted>:\d+:\d+: scenarios\[1\]\.input\.file: no such file"):
        load_campaign_text(text.replace("clips/tiny.mp4", "clips/gone.mp4"), "<submitted>")


def test_version_and_targets_are_read():
    """An explicit version 1 and a targets list are accepted as written."""
    campaign = load_campaign(GOOD_DIR / "full.yml")
    assert campaign.name == "full.example_1"
    assert campaign.targets == ["node-a", "gpu"]


def test_all_problems_are_reported_together():
    """Problems in different scenarios and levels arrive in one SpecError."""
    text = (
        "name: many\ndefaults: {sample_rate: 0}\nscenarios:\n"
        "  - {name: a, kind: transcode, input: {source: testsrc2}, encoder: libx264, crf: 23, duration: 0}\n"
        "  - {name: a, kind: transcode, input: {source: testsrc2}, encoder: nope, crf: 23, duration: 1}\n"
    )
    with pytest.raises(SpecError) as raised:
        load_campaign_text(text, "many.yml")
    assert [p.key for p in raised.value.problems] == [
        "defaults.sample_rate",
        "scenarios[0].duration",
        "scenarios[1].name",
        "scenarios[1].encoder",
    ]
