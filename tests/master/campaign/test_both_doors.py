"""One validator for both doors: a bad value is refused by ``POST /jobs`` and by a campaign file alike, in the
same words, naming the same field; and every pattern in the schemas matches the whole string."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import yaml

from master.api import campaigns, jobs
from master.campaign.schema import campaign_schema
from master.campaign.spec import SpecError, load_campaign_text
from master.presets import PRESETS, scenario_of

BAD_VALUES = [
    ({"bitrate": "2500k\n"}, "bitrate"),
    ({"resolution": "1280x720\n"}, "resolution"),
    ({"encoder": "libsvtav1", "preset": 14}, "preset"),
    ({"preset": "turbo"}, "preset"),
    ({"fps": 0}, "fps"),
    ({"duration": 1e300}, "duration"),
    ({"crf": 70, "bitrate": None}, "crf"),
    ({"sample_rate": 5000}, "sample_rate"),
]
"""(``parameters`` of a 720p-h264 job, the field at fault)."""


def _campaign_problems(overrides: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, message) of the problems of a campaign file whose one scenario is 720p-h264 with ``overrides``."""
    params = {**PRESETS["720p-h264"], **overrides}
    scenario = scenario_of("x264", params)
    text = yaml.safe_dump({"name": "doors", "scenarios": [scenario]}, sort_keys=False)
    with pytest.raises(SpecError) as caught:
        load_campaign_text(text, "doors.yml")
    return [(problem.key, problem.message) for problem in caught.value.problems]


@pytest.mark.parametrize("overrides, field", BAD_VALUES, ids=[field for _, field in BAD_VALUES])
def test_same_bad_value_refused_by_both_doors_in_the_same_words(client, admin, overrides, field):
    """POST /jobs answers 400 naming parameters.<field> with the message the campaign file gets at <field>."""
    ((key, message),) = _campaign_problems(overrides)
    assert key == f"scenarios[0].{field}"
    resp = client.post("/jobs", json={"scenario": "720p-h264", "parameters": overrides}, headers=admin)
    assert resp.status_code == 400
    assert resp.get_json()["problems"] == [f"parameters.{field}: {message}"]
    assert resp.get_json()["error"] == f"parameters.{field}: {message}"


def test_trailing_newline_refused_in_a_campaign_input(client, admin):
    """A size with a trailing newline inside an input is refused by both doors too."""
    ((key, message),) = _campaign_problems({"input": {"type": "lavfi", "source": "testsrc2", "size": "1280x720\n"}})
    assert key == "scenarios[0].input.size"
    body = {
        "scenario": "720p-h264",
        "parameters": {"input": {"type": "lavfi", "source": "testsrc2", "size": "1280x720\n"}},
    }
    assert client.post("/jobs", json=body, headers=admin).get_json()["problems"] == [
        f"parameters.input.size: {message}"
    ]


def test_every_preset_is_a_valid_campaign_scenario(client, admin):
    """Each named scenario passes the campaign checks as it stands (POST /jobs queues it)."""
    for name in PRESETS:
        resp = client.post("/jobs", json={"scenario": name}, headers=admin)
        assert resp.status_code == 201, (name, resp.get_json())


def test_good_overrides_still_queue(client, admin):
    """Valid overrides, a file input included, queue the job with the params as given."""
    body = {
        "scenario": "1080p-h264",
        "parameters": {"bitrate": "2500k", "resolution": "1280x720", "fps": 25, "duration": 2, "preset": "veryfast"},
    }
    resp = client.post("/jobs", json=body, headers=admin)
    assert resp.status_code == 201
    params = client.get(f"/jobs/{resp.get_json()['job_id']}").get_json()["params"]
    assert (params["bitrate"], params["resolution"], params["fps"], params["preset"]) == (
        "2500k",
        "1280x720",
        25,
        "veryfast",
    )


def test_confidence_counts_against_the_masters_max_jobs(app, client, admin):
    """confidence: high (up to 20 runs) is refused by a master capped at 10 jobs, naming confidence."""
    app.config["MAX_JOBS"] = 10
    resp = client.post("/jobs", json={"scenario": "720p-h264", "confidence": "high"}, headers=admin)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == (
        "confidence: this scenario comes to 20 jobs (20 runs); a campaign may come to at most 10 jobs (--max-jobs)"
    )
    assert client.post("/jobs", json={"scenario": "720p-h264", "confidence": "low"}, headers=admin).status_code == 201


def _patterns(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        found = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
        return found + [p for value in schema.values() for p in _patterns(value)]
    if isinstance(schema, list):
        return [p for value in schema for p in _patterns(value)]
    return []


def test_no_pattern_accepts_a_trailing_newline():
    """Every pattern anchored at the end ends in \\Z (Python's $ matches before a final newline)."""
    schemas = [campaign_schema(), jobs.SUBMIT_SCHEMA, campaigns.SUBMIT_SCHEMA]
    patterns = [p for schema in schemas for p in _patterns(schema)]
    assert len(patterns) >= 6
    for pattern in patterns:
        assert not pattern.endswith("$"), pattern
    sizes = [p for p in patterns if "x[1-9]" in p]
    assert sizes and all(re.search(p, "1280x720") and not re.search(p, "1280x720\n") for p in sizes)


def test_deeply_nested_or_huge_parameters_are_400_at_once(client, admin):
    """Parameters nested 900 deep or 20 MB large are refused in a second, not a RecursionError or minutes of CPU."""
    deep: Any = "x"
    for _ in range(900):
        deep = [deep]
    started = time.perf_counter()
    for value, error in (
        (deep, "body: arrays and objects nest deeper than 32"),
        ("1" * 20_000_000, "parameters: too large: 20000294 bytes; a job's fields may come to at most 1048576 bytes"),
    ):
        resp = client.post("/jobs", json={"scenario": "720p-h264", "parameters": {"bitrate": value}}, headers=admin)
        assert (resp.status_code, resp.get_json()["error"]) == (400, error)
    assert time.perf_counter() - started < 5


def test_post_jobs_file_input_is_on_the_node(client, admin):
    """A POST /jobs file input need not exist on the master (the agent checks it); a relative one is refused."""
    body = {"scenario": "720p-h264", "parameters": {"input": {"type": "file", "path": "/clips/on-the-node.mp4"}}}
    assert client.post("/jobs", json=body, headers=admin).status_code == 201
    body["parameters"]["input"]["path"] = "clips/a.mp4"
    assert client.post("/jobs", json=body, headers=admin).status_code == 400
