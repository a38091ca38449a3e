"""GET /campaigns/<a>/compare/<b>, /ui/compare/<a>/<b> and GET /results on the real app with a real SQLite file:
campaigns are submitted, claimed and answered through the HTTP API as an agent would."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from master.analysis.stats import welch
from master.cli import main as campaign_cli
from tests.master.test_web_results import TWO_PRESETS, claim, post, register, submit

JPF = {
    "A": {"veryfast": [1.00, 1.02, 0.98], "ultrafast": [0.60, 0.61, 0.59]},
    "B": {"veryfast": [0.80, 0.82, 0.79], "ultrafast": [0.60, 0.62, 0.60]},
}


def answer(client, node, campaign_id: str, side: str, estimated: dict | None = None) -> None:
    """Claim and answer every job of the campaign with JPF[side][preset][repetition - 1]."""
    for _ in range(6):
        job = claim(client, node)
        assert job["campaign_id"] == campaign_id
        preset = job["params"]["preset"]
        jpf = JPF[side][preset][job["repetition"] - 1]
        post(
            client,
            node,
            job,
            jpf=jpf,
            watts=40.0 + jpf,
            fps=100.0 / jpf,
            estimated=(estimated or {}).get(preset, False),
        )


@pytest.fixture
def two_runs(client, admin):
    node = register(client)
    first = submit(client, admin, TWO_PRESETS)
    answer(client, node, first, "A")
    second = submit(client, admin, TWO_PRESETS)
    answer(client, node, second, "B")
    return first, second, node[0]


def test_compare_answers_welch_per_variant(client, two_runs):
    first, second, _ = two_runs
    resp = client.get(f"/campaigns/{first}/compare/{second}")
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    assert [m["label"] for m in result["matched"]] == ["x264-veryfast", "x264-ultrafast"]
    assert result["unmatched_a"] == [] and result["unmatched_b"] == []
    veryfast = {r["metric"]: r for r in result["matched"][0]["metrics"]}
    expected = welch(JPF["A"]["veryfast"], JPF["B"]["veryfast"])
    assert veryfast["joules_per_frame"]["difference"]["p_value"] == pytest.approx(expected.p_value)
    assert veryfast["joules_per_frame"]["verdict"] == "better"
    assert veryfast["fps"]["verdict"] == "better"
    ultrafast = {r["metric"]: r for r in result["matched"][1]["metrics"]}
    assert ultrafast["joules_per_frame"]["verdict"] == "no significant change"


def test_compare_alpha_and_bad_arguments(client, two_runs):
    first, second, _ = two_runs
    assert client.get(f"/campaigns/{first}/compare/{second}?alpha=0.01").get_json()["alpha"] == 0.01
    bad = client.get(f"/campaigns/{first}/compare/{second}?alpha=2")
    assert bad.status_code == 400 and bad.get_json()["error"].startswith("alpha:")
    missing = client.get(f"/campaigns/{first}/compare/nope")
    assert missing.status_code == 404 and "nope" in missing.get_json()["error"]


def test_estimated_against_measured_is_refused_then_labelled(client, admin):
    node = register(client)
    first = submit(client, admin, TWO_PRESETS)
    answer(client, node, first, "A")
    second = submit(client, admin, TWO_PRESETS)
    answer(client, node, second, "B", estimated={"veryfast": True})
    refused = client.get(f"/campaigns/{first}/compare/{second}")
    assert refused.status_code == 400
    assert (
        "allow_estimated: refusing to compare estimated energy with measured energy for x264-veryfast"
        in (refused.get_json()["error"])
    )
    allowed = client.get(f"/campaigns/{first}/compare/{second}?allow_estimated=1").get_json()
    rows = allowed["matched"][0]["metrics"]
    assert all("measured in A, estimated in B" in r["note"] for r in rows)
    assert allowed["matched"][1]["note"] is None
    page = client.get(f"/ui/compare/{first}/{second}")
    assert page.status_code == 400


def test_web_page_shows_the_same_figures(client, two_runs):
    first, second, _ = two_runs
    resp = client.get(f"/ui/compare/{first}/{second}")
    assert resp.status_code == 200
    assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
    html = resp.get_data(as_text=True)
    expected = welch(JPF["A"]["veryfast"], JPF["B"]["veryfast"])
    assert f"{expected.rel_diff * 100:+.1f}%" in html
    assert "x264-veryfast: 19.7% fewer J/frame in B, significant, better" in html
    assert client.get(f"/ui/compare/{first}/nope").status_code == 404


def test_results_filters_and_pages(client, two_runs):
    first, second, node_id = two_runs
    everything = client.get("/results").get_json()
    assert everything["total"] == 12 and everything["next"] is None
    veryfast = client.get("/results?encoder=libx264&preset=veryfast&kind=transcode").get_json()
    assert veryfast["total"] == 6
    assert {r["preset"] for r in veryfast["results"]} == {"veryfast"}
    assert sorted(r["metrics"]["joules_per_frame"] for r in veryfast["results"]) == sorted(
        JPF["A"]["veryfast"] + JPF["B"]["veryfast"]
    )
    assert client.get(f"/results?node={node_id}").get_json()["total"] == 12
    assert client.get("/results?node=other").get_json()["total"] == 0
    page = client.get("/results?limit=5&preset=veryfast").get_json()
    assert len(page["results"]) == 5 and page["next"] == "/results?preset=veryfast&limit=5&offset=5"
    assert len(client.get(page["next"]).get_json()["results"]) == 1


def test_results_since_until(client, two_runs):
    today = datetime.now(UTC).date()
    assert client.get(f"/results?since={today.isoformat()}").get_json()["total"] == 12
    assert client.get(f"/results?until={today.isoformat()}").get_json()["total"] == 0
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert client.get(f"/results?since={tomorrow}").get_json()["total"] == 0
    assert client.get(f"/results?since={today.isoformat()}&until={tomorrow}").get_json()["total"] == 12
    now = datetime.fromtimestamp(time.time() + 5, UTC).isoformat()
    assert client.get("/results", query_string={"until": now}).get_json()["total"] == 12
    assert client.get("/results", query_string={"since": now}).get_json()["total"] == 0


@pytest.mark.parametrize(
    "query, name",
    [("since=yesterday", "since"), ("until=2026-13-01", "until"), ("kind=nope", "kind"), ("limit=0", "limit")],
)
def test_results_bad_parameter_is_400_naming_it(client, query, name):
    resp = client.get(f"/results?{query}")
    assert resp.status_code == 400
    assert resp.get_json()["error"].startswith(f"{name}:")


def test_history_lists_runs_with_their_best_figure(app, client, two_runs, tmp_path):
    """``campaign history --json`` over the same database: the lowest mean J/frame per run, measured."""
    first, second, _ = two_runs
    out = CliRunner().invoke(campaign_cli, ["history", "--json", "--state-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    runs = {r["id"]: r for r in json.loads(out.output)["runs"]}
    assert runs[first]["best"]["variant"] == "x264-ultrafast"
    assert runs[first]["best"]["mean"] == pytest.approx(sum(JPF["A"]["ultrafast"]) / 3)
    assert runs[second]["best"]["estimated"] is False
    assert runs[first]["jobs"] == {"succeeded": 6}
