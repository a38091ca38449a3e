"""POST /results accepts the source's provenance (``source``), SI/TI metrics and ``quality.same_source``, and refuses
a bad one naming the field. Real Flask test client, real SQLite."""

from __future__ import annotations

import pytest

from master.api.result_schema import VALIDATOR
from tests.master.api.test_result_schema import assert_refused, claim, post

SHA = "a" * 64

SOURCE = {
    "render": "prepared",
    "content": "medium",
    "graph": "testsrc2=size=1280x720:rate=30,noise=alls=20:allf=t",
    "file": None,
    "sha256": SHA,
    "bytes": 1_234_567,
    "format": "nut",
    "loop": True,
    "segment_s": 10.0,
    "render_s": 2.5,
    "cached": False,
    "si_mean": 61.2,
    "si_max": 70.1,
    "ti_mean": 12.3,
    "ti_max": 20.0,
    "siti_reason": None,
}


def test_a_result_with_source_si_ti_and_same_source_is_accepted(client, node, make_campaign):
    """The full ``source`` object, ``si``/``ti`` metrics and ``quality.same_source`` are stored."""
    make_campaign(1)
    a = node("a")
    job = claim(client, a)
    resp = post(client, a, job, {"si": 61.2, "ti": 12.3}, source=SOURCE, quality={"same_source": True})
    assert resp.status_code == 200, resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "source",
    [
        None,
        {
            "render": "file",
            "content": None,
            "file": "/clips/a.mp4",
            "sha256": SHA.upper(),
            "loop": False,
            "cached": True,
            "si_mean": None,
            "si_max": None,
            "ti_mean": None,
            "ti_max": None,
            "siti_reason": "siti filter unavailable",
        },
        {"render": "inline", "content": "hard", "graph": "x", "render_s": None, "segment_s": None, "bytes": None},
    ],
)
def test_other_valid_sources(source):
    """A null source, a file one (SI/TI null with a reason) and an inline one are valid."""
    VALIDATOR.validate(
        {
            "job_id": "j",
            "attempt": 1,
            "node_id": "n",
            "status": "succeeded",
            "source": source,
            "metrics": {"si": None, "ti": 0},
        }
    )


@pytest.mark.parametrize(
    ("metrics", "extra", "field"),
    [
        ({}, {"source": {**SOURCE, "sha256": "xyz"}}, "source.sha256"),
        ({}, {"source": {**SOURCE, "sha256": SHA + "\n"}}, "source.sha256"),
        ({}, {"source": {**SOURCE, "render_s": -1}}, "source.render_s"),
        ({}, {"source": {**SOURCE, "render": "streamed"}}, "source.render"),
        ({}, {"source": {**SOURCE, "content": "extreme"}}, "source.content"),
        ({}, {"source": {**SOURCE, "bytes": 1.5}}, "source.bytes"),
        ({}, {"source": {**SOURCE, "loop": "yes"}}, "source.loop"),
        ({}, {"source": {**SOURCE, "graph": "g" * 20_000}}, "source.graph"),
        ({}, {"source": {**SOURCE, "colour": "red"}}, "source.colour"),
        ({}, {"quality": {"same_source": "no"}}, "quality.same_source"),
        ({"si": -1}, {}, "metrics.si"),
        ({"ti": "high"}, {}, "metrics.ti"),
    ],
)
def test_bad_source_fields_are_400_naming_the_field(client, conn, node, make_campaign, metrics, extra, field):
    """A bad sha256, a negative render time, an unknown render or content: 400 naming the field, nothing stored."""
    assert_refused(client, conn, node, make_campaign, metrics, extra, field)
