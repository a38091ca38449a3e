"""Content presets and render modes in a campaign's input and in ``POST /jobs``: valid forms normalise to the job
params' shape, invalid ones are problems at file:line (content with source, render with a file, unknown names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from master.campaign import expand, load_campaign_text
from master.campaign.spec import SpecError
from wire.content import CONTENT_PRESETS

GOOD_CLIP = Path(__file__).resolve().parents[2] / "data" / "campaigns" / "good" / "clips" / "tiny.mp4"

CAMPAIGN = """name: content
defaults: {encoder: libx264, bitrate: 3000k, duration: 2}
scenarios:
  - name: x
    kind: KIND
    input: INPUT
EXTRA"""

EXTRA = {
    "transcode": "",
    "live": "",
    "multi": "",
    "density": "",
    "ladder": "    rungs: [{resolution: 640x360, bitrate: 800k}]\n",
}


def campaign_text(kind: str, text: str) -> str:
    return CAMPAIGN.replace("KIND", kind).replace("INPUT", text).replace("EXTRA", EXTRA[kind])


def params_input(kind: str, text: str) -> dict:
    campaign = load_campaign_text(campaign_text(kind, text), "c.yml")
    return expand(campaign)[0].params["input"]


def problems(kind: str, text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_campaign_text(campaign_text(kind, text), "c.yml")
    return str(caught.value).splitlines()


def test_content_names_are_one_constant():
    """The presets are easy, medium and hard."""
    assert CONTENT_PRESETS == ("easy", "medium", "hard")


@pytest.mark.parametrize("kind", list(EXTRA))
def test_content_preset_is_valid_in_every_kind_with_an_input(kind):
    """``content`` replaces ``source``; render is prepared unless the campaign says inline."""
    assert params_input(kind, "{content: hard, size: 640x360, rate: 30}") == {
        "type": "lavfi",
        "source": None,
        "content": "hard",
        "size": "640x360",
        "rate": 30,
        "render": "prepared",
    }
    assert params_input(kind, "{content: easy, render: inline}")["render"] == "inline"
    assert params_input(kind, "{source: testsrc2, render: inline}")["source"] == "testsrc2"


def test_a_file_input_is_unchanged():
    """A file input keeps its shape: no render, no content."""
    assert params_input("transcode", f"{{file: {GOOD_CLIP}}}") == {"type": "file", "path": str(GOOD_CLIP)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{content: medium, source: testsrc2}",
            "c.yml:6:38: scenarios[0].input.source: set only one of source or content, not both",
        ),
        (
            "{source: testsrc2, content: medium}",
            "c.yml:6:21: scenarios[0].input.source: set only one of source or content, not both",
        ),
        (
            f"{{file: {GOOD_CLIP}, render: inline}}",
            f"c.yml:6:{29 + len(str(GOOD_CLIP))}: scenarios[0].input.render: not used with a 'file' input",
        ),
        (
            "{content: extreme}",
            "c.yml:6:22: scenarios[0].input.content: unknown content 'extreme'; expected one of: easy, medium, hard",
        ),
        (
            "{content: medium, render: later}",
            "c.yml:6:38: scenarios[0].input.render: unknown render 'later'; expected one of: prepared, inline",
        ),
    ],
)
def test_bad_inputs_are_problems_at_file_line(text, expected):
    """Content with source, render with a file, an unknown content or render: one problem at its line and column."""
    assert problems("transcode", text) == [expected]


def test_post_jobs_takes_content_and_render(client, admin):
    """A preset job with a content preset queues with every input key present; content with source is refused
    naming the field, in the campaign's words."""
    body = {
        "scenario": "720p-h264",
        "parameters": {"input": {"type": "lavfi", "content": "hard", "render": "inline", "size": "1280x720"}},
    }
    resp = client.post("/jobs", json=body, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    params = client.get(f"/jobs/{resp.get_json()['job_id']}").get_json()["params"]
    assert params["input"] == {
        "type": "lavfi",
        "source": None,
        "content": "hard",
        "size": "1280x720",
        "rate": None,
        "render": "inline",
    }
    body["parameters"]["input"]["source"] = "testsrc2"
    resp = client.post("/jobs", json=body, headers=admin)
    assert resp.status_code == 400
    assert resp.get_json()["problems"] == ["parameters.input.source: set only one of source or content, not both"]


def test_preset_jobs_render_prepared_by_default(client, admin):
    """A preset's own generated input is rendered before the measured window unless asked otherwise."""
    resp = client.post("/jobs", json={"scenario": "720p-h264"}, headers=admin)
    params = client.get(f"/jobs/{resp.get_json()['job_id']}").get_json()["params"]
    assert params["input"]["render"] == "prepared" and params["input"]["source"] == "testsrc2"
