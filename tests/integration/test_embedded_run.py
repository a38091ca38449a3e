"""`campaign run` on the embedded default: real master over HTTP, real agent, real FFmpeg, real report."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.integration.conftest import DATA, campaign_cmd, report_dir_of

pytestmark = pytest.mark.integration


def test_tiny_campaign_end_to_end(run_campaign):
    """Two encodes succeed with frames and energy; the unusable encoder fails with its reason; report files exist."""
    proc = run_campaign("run", str(DATA / "tiny.yml"))
    assert proc.returncode == 0, proc.stderr
    out = report_dir_of(proc.stdout)
    html = (out / "index.html").read_text()
    run = json.loads((out / "results.json").read_text())
    rows = list(csv.DictReader((out / "results.csv").open()))
    jobs = {j["name"]: j for j in run["jobs"]}
    ok = [j for j in run["jobs"] if j["state"] == "succeeded"]
    assert len(ok) == 2 and len(rows) == 3
    for job in ok:
        metrics = job["result"]["metrics"]
        assert metrics["frames"] == 50
        assert metrics["total_energy_j"] > 0 and metrics["joules_per_frame"] > 0
        assert job["result"]["provenance"]["sample_count"] > 0
    nvenc = jobs["nvenc#1"]
    assert nvenc["state"] == "failed" and nvenc["error"].startswith("encoder unavailable: h264_nvenc")
    assert "encoder unavailable" in html and "tiny" in html


def test_estimated_label_without_rapl(run_campaign):
    """With no powercap tree the energy is labelled estimated in the results."""
    proc = run_campaign("run", str(DATA / "tiny.yml"), env={"FFWATT_POWERCAP_ROOT": "/nonexistent-powercap"})
    assert proc.returncode == 0, proc.stderr
    run = json.loads((report_dir_of(proc.stdout) / "results.json").read_text())
    prov = [j["result"]["provenance"] for j in run["jobs"] if j["state"] == "succeeded"]
    assert prov and all(p["estimated"] for p in prov)
    assert all(s["kind"] == "estimate" for p in prov for s in p["sources"])


def test_report_command_regenerates_from_database(run_campaign, tmp_path):
    """`campaign report` rebuilds the report of the last campaign from the state dir's database."""
    assert run_campaign("run", str(DATA / "tiny.yml")).returncode == 0
    again = run_campaign("report")
    assert again.returncode == 0, again.stderr
    run = json.loads((report_dir_of(again.stdout) / "results.json").read_text())
    assert run["campaign"]["name"] == "tiny" and len(run["jobs"]) == 3


def test_invalid_campaign_exits_2_and_queues_nothing(run_campaign, tmp_path):
    """A bad campaign file gives file:line errors, exit 2, and no database."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\nscenarios:\n  - name: a\n    kind: transcode\n    encoder: libx999\n"
        "    bitrate: 1000k\n    duration: -1\n    input: {source: testsrc2, size: 64x64, rate: 10}\n"
    )
    proc = run_campaign("run", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:5:" in proc.stderr and f"{bad}:7:" in proc.stderr
    assert not (tmp_path / "state" / "ffwatt.db").exists()


def test_missing_campaign_file(run_campaign):
    """A campaign file that does not exist is a clear error, not a traceback."""
    proc = run_campaign("run", "nope.yml")
    assert proc.returncode == 2 and "nope.yml" in proc.stderr and "Traceback" not in proc.stderr


def test_unwritable_state_dir(run_campaign, tmp_path):
    """A state dir that cannot be created is a clear error."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = subprocess.run(
        campaign_cmd("run", str(DATA / "tiny.yml"), "--state-dir", str(blocker / "state")),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 1 and "not writable" in proc.stderr and "Traceback" not in proc.stderr


def test_no_ffmpeg_anywhere(run_campaign, tmp_path):
    """Without any FFmpeg the run stops with a message saying how to get one."""
    env = {"PATH": str(tmp_path / "empty-bin"), "FFWATT_FFMPEG": "", "IMAGEIO_FFMPEG_EXE": str(tmp_path / "none")}
    (tmp_path / "empty-bin").mkdir()
    proc = run_campaign("run", str(DATA / "tiny.yml"), env=env)
    assert proc.returncode == 1 and "ffmpeg" in proc.stderr.lower() and "Traceback" not in proc.stderr


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # exited, or a zombie, between listing and reading
        return ""


def _ffmpeg_descendants(proc: psutil.Process) -> list[psutil.Process]:
    return [p for p in proc.children(recursive=True) if "ffmpeg" in _cmdline(p)]


def test_ctrl_c_kills_ffmpeg_and_keeps_finished_results(tmp_path):
    """SIGINT during a long encode: FFmpeg dies, the finished job is kept, a report is written, exit 130."""
    proc = subprocess.Popen(
        campaign_cmd(
            "run", str(DATA / "slow.yml"), "--state-dir", str(tmp_path / "s"), "--reports-dir", str(tmp_path / "r")
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ps = psutil.Process(proc.pid)
    deadline, ffmpeg = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        ffmpeg = [p for p in _ffmpeg_descendants(ps) if "1280x720" in _cmdline(p)]
        if ffmpeg:
            break
        time.sleep(0.2)
    assert ffmpeg, "the long encode never started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in ffmpeg)
    run = json.loads((report_dir_of(stdout) / "results.json").read_text())
    states = [j["state"] for j in run["jobs"]]
    assert states[0] == "succeeded" and run["campaign"]["state"] == "interrupted"
    assert "queued" not in states and "running" not in states


def test_measured_rapl_through_embedded_run(run_campaign):
    """On a simulated powercap tree at constant power the whole chain reports measured RAPL energy = W x time."""
    from tests.agent.power.powercap_sim import running_sim

    watts = {"package-0": 30.0, "package-1": 20.0, "dram-0": 4.0, "dram-1": 6.0}
    with running_sim(watts, range_uj=50_000_000) as sim:
        proc = run_campaign("run", str(DATA / "tiny.yml"), env={"FFWATT_POWERCAP_ROOT": str(sim.root)})
    assert proc.returncode == 0, proc.stderr
    run = json.loads((report_dir_of(proc.stdout) / "results.json").read_text())
    ok = [j["result"] for j in run["jobs"] if j["state"] == "succeeded"]
    assert len(ok) == 2
    for result in ok:
        m, prov = result["metrics"], result["provenance"]
        assert prov["estimated"] is False
        assert set(m["energy_j"]) == {"rapl:package-0", "rapl:package-1", "rapl:dram-0", "rapl:dram-1"}
        assert m["mean_watts"] == pytest.approx(60.0, rel=0.05)
        assert m["idle_watts"] == pytest.approx(60.0, rel=0.05)
        assert abs(m["dynamic_energy_j"]) < 0.1 * m["total_energy_j"]
        assert m["joules_per_frame"] == pytest.approx(m["total_energy_j"] / 50, rel=1e-4)


def test_second_run_on_the_same_state_dir_refuses(run_campaign, tmp_path):
    """While one embedded run holds the state dir (its agent's lock), a second `campaign run` on it exits 1 saying so,
    writes no report and leaves the first one's lock alone; the lock is free again once its holder is gone."""
    from agent.statedir import LOCK_NAME, lock_state_dir

    agent_dir = tmp_path / "state" / "agent"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from agent.statedir import"
            " lock_state_dir; h = lock_state_dir(Path(sys.argv[1])); print('locked', flush=True); time.sleep(120)",
            str(agent_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = run_campaign("run", str(DATA / "tiny.yml"))
        assert proc.returncode == 1, proc.stderr
        assert f"another campaign run is using state dir {tmp_path / 'state'}" in proc.stderr, proc.stderr
        assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
        assert (agent_dir / LOCK_NAME).read_text().strip() == str(holder.pid)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    lock_state_dir(agent_dir).close()  # free again once its holder is gone
