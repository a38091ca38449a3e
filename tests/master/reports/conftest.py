"""Fixtures of the report tests: the written report of the quick campaign run (``run``, in tests/master/conftest.py)."""

import json
from pathlib import Path

import pytest

from master.reports.writer import write_report
from tests.master.conftest import RUN_FILE


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
