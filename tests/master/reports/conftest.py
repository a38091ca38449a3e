"""Fixtures of the report tests: a realistic campaign run from tests/data/reports and its written report."""

import json
from pathlib import Path

import pytest

from master.reports.writer import write_report

RUN_FILE = Path(__file__).resolve().parents[2] / "data" / "reports" / "run_quick.json"


@pytest.fixture
def run() -> dict:
    """A fresh copy of the quick campaign run: 2 estimated x264 variants, a measured x265 one, a failed NVENC job."""
    return json.loads(RUN_FILE.read_text())


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    """The report of the quick run, written once per test module."""
    out = tmp_path_factory.mktemp("report")
    write_report(json.loads(RUN_FILE.read_text()), out)
    return out


@pytest.fixture(scope="module")
def page(report_dir) -> str:
    """The text of the quick run's index.html."""
    return (report_dir / "index.html").read_text(encoding="utf-8")
