"""The measure command end to end: a real busy child, a simulated powercap tree, JSON and table output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.power.powercap_sim import running_sim

REPO = Path(__file__).resolve().parents[2]
MEASURE = "from agent.measure_cmd import measure; measure()"
BUSY = "import time\ne = time.process_time() + {s}\nwhile time.process_time() < e: pass\nprint('busy done')"
WATTS = {"package-0": 60.0, "package-1": 20.0, "dram-0": 5.0, "dram-1": 5.0}


def _measure(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "FFWATT_POWERCAP_ROOT"}
    full.update(PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run(
        [sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, env=full, timeout=60, cwd=REPO
    )


@pytest.fixture
def sim():
    """A simulated two-socket tree at constant power (90 W in all), advancing in real time with wraps."""
    with running_sim(WATTS) as sim:
        yield sim


def test_json_on_simulated_tree(sim):
    """--json: RAPL energy per source at the simulated power, provenance measured, samples, exit code 0."""
    wraps = sim.wraps("package-0")
    out = _measure(["--json", "--powercap-root", str(sim.root), "--", sys.executable, "-c", BUSY.format(s=1.0)])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    m, prov = doc["metrics"], doc["provenance"]
    assert set(m["energy_j"]) == {"rapl:package-0", "rapl:package-1", "rapl:dram-0", "rapl:dram-1"}
    assert m["total_energy_j"] == pytest.approx(sum(m["energy_j"].values()), rel=1e-6)
    assert m["mean_watts"] == pytest.approx(90.0, rel=0.05)
    assert m["energy_j"]["rapl:package-0"] == pytest.approx(60.0 * doc["duration_s"], rel=0.05)
    assert doc["duration_s"] >= 1.0 and sim.wraps("package-0") > wraps
    assert prov["estimated"] is False and prov["sample_rate_hz"] == 10.0
    assert prov["sample_count"] == len(doc["samples"]) >= 10
    assert all(s["invalid_samples"] == 0 for s in prov["sources"])
    assert any("psys" in n for n in prov["notes"]) and "busy done" in out.stderr
    assert doc["missing"]["joules_per_frame"] == "frame count unknown"


def test_exit_code_and_table(sim):
    """The table goes to stderr, the command's stdout passes through, and its exit code is ours."""
    code = "print('hello from job'); raise SystemExit(3)"
    out = _measure(["--", sys.executable, "-c", code], env={"FFWATT_POWERCAP_ROOT": str(sim.root)})
    assert out.returncode == 3
    assert out.stdout.strip() == "hello from job"
    for text in ("rapl:package-0", "rapl:dram-1", "total", "sampler overhead", "measured"):
        assert text in out.stderr


def test_estimate_without_sensors(tmp_path):
    """No powercap tree and no GPU: the energy is the estimate, labelled as such, CPU s x TDP / CPUs."""
    out = _measure(
        [
            "--json",
            "--powercap-root",
            str(tmp_path / "none"),
            "--tdp-watts",
            "20",
            "--",
            sys.executable,
            "-c",
            BUSY.format(s=1.0),
        ]
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    per_cpu = 20.0 / os.cpu_count()
    assert doc["provenance"]["estimated"] is True
    assert list(doc["metrics"]["energy_j"]) == ["estimate:cpu"]
    assert 1.0 * per_cpu <= doc["metrics"]["total_energy_j"] <= 1.8 * per_cpu
    assert doc["metrics"]["dynamic_energy_j"] == doc["metrics"]["total_energy_j"]
    assert doc["metrics"]["idle_watts"] is None and "estimate" in doc["missing"]["idle_watts"]
    assert any("ESTIMATED" in n for n in doc["provenance"]["notes"])


def test_idle_baseline_option(sim):
    """--idle measures a baseline first: idle watts at the simulated power, dynamic energy close to 0."""
    out = _measure(
        [
            "--json",
            "--idle",
            "0.5",
            "--powercap-root",
            str(sim.root),
            "--",
            sys.executable,
            "-c",
            "import time; time.sleep(0.5)",
        ]
    )
    doc = json.loads(out.stdout)
    assert doc["baseline"]["idle_watts"] == pytest.approx(90.0, rel=0.05)
    assert abs(doc["metrics"]["dynamic_energy_j"]) < 0.1 * doc["metrics"]["total_energy_j"]


def test_command_not_found(tmp_path):
    """A command that does not exist is an error naming it, not a measurement."""
    out = _measure(["--powercap-root", str(tmp_path), "--", "/nonexistent/ffmpeg-xyz"])
    assert out.returncode != 0 and "command not found: /nonexistent/ffmpeg-xyz" in out.stderr
