"""POST /results validates a result before anything is stored; readers of stored results survive extreme values and
rows stored before validation existed. Real Flask test client with tokens, real SQLite."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest

from master import queue
from master.analysis.summarize import summarize_run
from master.api.result_schema import MAX_SAMPLES, RESULT_SCHEMA, VALIDATOR, clean_stored
from master.api.results import RESULT_SCHEMA as VIEW_SCHEMA
from master.rundata import load_run
from tests.master.conftest import job_spec

CONFIDENCE = {"preset": None, "target": 0.05, "min": 2, "max": 4}

TABLES = ("results", "jobs", "job_events", "campaigns")


def confidence_jobs(variant: str = "v") -> list[dict]:
    """Two runs of one variant repeated by ``confidence`` (min 2, max 4)."""
    return [
        dict(job_spec(f"{variant}#{rep}", encoder="libx264", duration=1), repetition=rep, confidence=CONFIDENCE)
        for rep in (1, 2)
    ]


def snapshot(conn) -> dict:
    """Every row of the tables a result can change."""
    return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in TABLES}


def claim(client, n, wait: float = 0) -> dict:
    resp = client.get(f"/jobs/next?node_id={n.id}&wait={wait}", headers=n.headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["job"]


def post(client, n, job, metrics: dict | None = None, **extra):
    body = {
        "job_id": job["id"],
        "attempt": job["attempt"],
        "node_id": n.id,
        "status": "succeeded",
        "error": None,
        "metrics": {"frames": 10, "joules_per_frame": 0.5, **(metrics or {})},
        **extra,
    }
    return client.post("/results", json=body, headers=n.headers)


def job_state(conn, job_id: str) -> str:
    return conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]


def test_view_validates_with_the_schema_module():
    """results.RESULT_SCHEMA is the module's schema, and it is a valid JSON Schema 2020-12."""
    assert VIEW_SCHEMA is RESULT_SCHEMA
    jsonschema.Draft202012Validator.check_schema(RESULT_SCHEMA)


def test_saved_real_results_keep_the_schema(run):
    """Every result of the saved quick run (succeeded and failed) is valid."""
    results = [j["result"] for j in run["jobs"] if j.get("result")]
    assert results
    for result in results:
        VALIDATOR.validate(result)


def test_baseline_other_load_is_a_percentage(run):
    """A baseline's other_load_pct is optional, 0 to 100; 101 or a string is refused."""
    result = next(j["result"] for j in run["jobs"] if (j.get("result") or {}).get("baseline"))
    for good in (0, 37.5, 100, None):
        VALIDATOR.validate({**result, "baseline": {**result["baseline"], "other_load_pct": good}})
    for bad in (101, -1, "busy"):
        with pytest.raises(jsonschema.ValidationError):
            VALIDATOR.validate({**result, "baseline": {**result["baseline"], "other_load_pct": bad}})


def test_abc_joules_per_frame_is_400_and_the_queue_keeps_working(client, conn, node, make_campaign):
    """The attack: "abc" J/frame in a confidence campaign is refused naming the field, nothing is stored, and the
    other job's expired lease is still requeued and claimed; the variant then decides on its real numbers."""
    make_campaign(jobs=confidence_jobs(), max_attempts=2)
    a, b, c = node("a"), node("b"), node("c")
    first = claim(client, a)
    second = queue.claim_next_job(conn, b.id, lease_s=-1)  # b holds the other run, its lease already expired
    before = snapshot(conn)
    resp = post(client, a, first, {"joules_per_frame": "abc"})
    assert resp.status_code == 400
    assert resp.get_json()["error"].startswith("metrics.joules_per_frame:")
    assert snapshot(conn) == before
    again = claim(client, c, wait=1)  # a long poll looks for expired leases
    assert (again["id"], again["attempt"]) == (second["id"], 2)
    assert post(client, c, again, {"joules_per_frame": 0.51}).status_code == 200
    assert post(client, a, first, {"joules_per_frame": 0.9}).status_code == 200
    assert job_state(conn, first["id"]) == "succeeded" and job_state(conn, second["id"]) == "succeeded"
    assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 3  # noisy: the variant asked for a third run


@pytest.mark.parametrize(
    ("metrics", "extra", "field"),
    [
        ({"frames": -1}, {}, "metrics.frames"),
        ({"frames": 1.5}, {}, "metrics.frames"),
        ({"output_bytes": 2**64}, {}, "metrics.output_bytes"),
        ({"total_energy_j": -0.1}, {}, "metrics.total_energy_j"),
        ({"ssim": 1.5}, {}, "metrics.ssim"),
        ({"realtime": "yes"}, {}, "metrics.realtime"),
        ({"energy_j": {"rapl:package-0": "12"}}, {}, "metrics.energy_j.rapl:package-0"),
        ({"new_metric": "text"}, {}, "metrics.new_metric"),
        ({"new_metric": 10**400}, {}, "metrics.new_metric"),
        ({}, {"error": "x" * 10_000_000}, "error"),
        ({}, {"missing": {"frames": "y" * 10_000_000}}, "missing.frames"),
        ({}, {"provenance": {"notes": ["n"] * 100_000}}, "provenance.notes"),
        ({}, {"streams": [{"index": 0}] * 5000}, "streams"),
        ({}, {"samples": [{"t": 0}] * (MAX_SAMPLES + 1)}, "samples"),
        ({}, {"samples": [{"t": -1}]}, "samples.0.t"),
        ({}, {"ffmpeg": {"argv": [1, 2]}}, "ffmpeg.argv.0"),
        ({}, {"provenance": {"sources": [{"name": "x", "valid_samples": -3}]}}, "provenance.sources.0.valid_samples"),
        ({}, {"rungs": [{"frames": "50"}]}, "rungs.0.frames"),
        ({}, {"density": {"levels": [{"streams": 1, "held": "no"}]}}, "density.levels.0.held"),
        ({}, {"unknown_field": 1}, "unknown_field"),
    ],
)
def test_out_of_range_result_is_400_naming_the_field(client, conn, node, make_campaign, metrics, extra, field):
    """Negative frames, fractional counts, huge strings and arrays, wrong types: 400 naming the field, DB unchanged,
    the job still held by its node."""
    assert_refused(client, conn, node, make_campaign, metrics, extra, field)


def assert_refused(client, conn, node, make_campaign, metrics: dict, extra: dict, field: str) -> None:
    """A result of ``metrics`` plus ``extra`` fields, for a claimed job, is a 400 naming ``field``; nothing changes."""
    make_campaign(1)
    a = node("a")
    job = claim(client, a)
    before = snapshot(conn)
    resp = post(client, a, job, metrics, **extra)
    assert resp.status_code == 400
    assert resp.get_json()["error"].startswith(f"{field}:"), resp.get_json()["error"][:200]
    assert snapshot(conn) == before and job_state(conn, job["id"]) == "running"


def test_unknown_numeric_metric_and_negative_dynamic_energy_are_accepted(client, conn, node, make_campaign):
    """A newer agent's numeric metric, and a dynamic energy below idle (negative), are valid."""
    make_campaign(1)
    a = node("a")
    job = claim(client, a)
    resp = post(client, a, job, {"dynamic_energy_j": -3.5, "dynamic_joules_per_frame": -0.35, "new_metric": 1.0})
    assert resp.status_code == 200


def test_huge_values_twice_give_a_decision_and_every_report(client, conn, node, make_campaign):
    """1e308 J/frame twice (and ±1.7e308 dynamic J/frame): the confidence decision is taken, the summaries, the
    HTML report, results.json and results.csv are all produced."""
    cid = make_campaign(jobs=confidence_jobs())
    a, b = node("a"), node("b")
    huge = {"joules_per_frame": 1e308, "total_energy_j": 1e308, "mean_watts": 1.7e308, "frames": 2**63 - 1}
    for n, sign in ((a, 1), (b, -1)):
        job = claim(client, n)
        assert post(client, n, job, {**huge, "dynamic_joules_per_frame": sign * 1.7e308}).status_code == 200
    assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 2  # equal values: the target is reached
    stats = summarize_run(load_run(conn, cid))["variants"][0]["stats"]
    assert stats["joules_per_frame"]["mean"] == 1e308 and stats["dynamic_joules_per_frame"]["stdev"] is None
    assert client.get(f"/campaigns/{cid}/report").status_code == 200
    report = client.get(f"/campaigns/{cid}/report.json")
    assert report.status_code == 200 and json.loads(report.get_data(as_text=True))["summary"]["variants"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/campaigns/{cid}/report.csv").get_data(as_text=True))))
    assert [r["joules_per_frame"] for r in rows] == ["1e+308", "1e+308"]
    assert client.get(f"/campaigns/{cid}/results").status_code == 200


def _store_junk(conn, job: dict, node_id: str, body: str) -> None:
    """A result row as a master without validation stored it, and its job finished."""
    with conn:
        conn.execute(
            "INSERT INTO results (job_id, attempt, node_id, status, body, received_at)"
            " VALUES (?, ?, ?, 'succeeded', ?, 0)",
            (job["id"], job["attempt"], node_id, body),
        )
        conn.execute("UPDATE jobs SET state = 'succeeded', finished_at = 1 WHERE id = ?", (job["id"],))


@pytest.mark.parametrize(
    "body",
    [
        '{"metrics": {"joules_per_frame": "abc", "frames": -5, "Odd Name": {}}, "missing": {"frames": 3},'
        ' "provenance": {"sources": "rapl"}, "samples": [1, {"t": "x"}], "streams": 7}',
        "not JSON at all",
        '"a string"',
    ],
)
def test_old_junk_rows_do_not_crash_readers(client, conn, node, make_campaign, body):
    """A junk row stored before validation: lease expiry still answers GET /jobs/next, and the reports, the results
    and the job page all render, the junk value shown as missing."""
    cid = make_campaign(jobs=confidence_jobs(), max_attempts=1)
    a, b, c = node("a"), node("b"), node("c")
    first = claim(client, a)
    second = queue.claim_next_job(conn, b.id, lease_s=-1)
    _store_junk(conn, first, a.id, body)
    resp = client.get(f"/jobs/next?node_id={c.id}&wait=0.5", headers=c.headers)
    assert resp.status_code == 200 and job_state(conn, second["id"]) == "failed"
    for path in ("report", "report.json", "report.csv", "results"):
        assert client.get(f"/campaigns/{cid}/{path}").status_code == 200, path
    page = client.get(f"/ui/jobs/{first['id']}")
    assert page.status_code == 200
    assert ("stored value is not valid" in page.get_data(as_text=True)) == ("abc" in body)
    result = next(j["result"] for j in load_run(conn, cid)["jobs"] if j["id"] == first["id"])
    assert VALIDATOR.is_valid({**result, "samples": []}) and result["status"] == "succeeded"


def test_clean_stored_keeps_good_fields_and_says_why_a_metric_is_gone():
    """A junk metric becomes null with a reason; valid metrics and fields stay."""
    row = {"job_id": "j", "attempt": 1, "node_id": "n", "status": "succeeded"}
    body = {**row, "metrics": {"joules_per_frame": "abc", "frames": 10}, "missing": {}, "error": None}
    cleaned = clean_stored(body, row)
    assert cleaned["metrics"] == {"joules_per_frame": None, "frames": 10}
    assert cleaned["missing"]["joules_per_frame"].startswith("stored value is not valid")
    assert body["metrics"]["joules_per_frame"] == "abc"  # the stored body itself is not changed


def test_provenance_ffwatt_version_is_a_string_or_null(client, node, make_campaign):
    """``provenance.ffwatt_version`` is accepted as a string or null; a number is refused naming the field."""
    VALIDATOR.validate(
        {
            "job_id": "j",
            "attempt": 1,
            "node_id": "n",
            "status": "succeeded",
            "provenance": {"ffwatt_version": None, "notes": ["ffwatt_version: not installed"]},
        }
    )
    make_campaign(1)
    a = node("a")
    job = claim(client, a)
    assert post(client, a, job, provenance={"estimated": False, "ffwatt_version": "0.1.0"}).status_code == 200


def test_provenance_ffwatt_version_refuses_a_number(client, conn, node, make_campaign):
    """A version that is not a string (1.0) is a 400 naming ``provenance.ffwatt_version``."""
    assert_refused(
        client, conn, node, make_campaign, {}, {"provenance": {"ffwatt_version": 1.0}}, "provenance.ffwatt_version"
    )
