"""Fixtures of the analysis tests: a realistic campaign run read from tests/data/reports."""

import json
from pathlib import Path

import pytest

RUN_FILE = Path(__file__).resolve().parents[2] / "data" / "reports" / "run_quick.json"


@pytest.fixture
def run() -> dict:
    """A fresh copy of the quick campaign run: 2 estimated x264 variants, a measured x265 one, a failed NVENC job."""
    return json.loads(RUN_FILE.read_text())
