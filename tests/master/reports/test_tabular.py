"""Tests of master.reports.tabular: results.csv."""

import csv
import io

import pytest

from master.reports.tabular import COLUMNS, csv_text


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
