"""Every scenario kind from one campaign file, through the embedded default and through a master with an agent.

Real FFmpeg, a real nginx-rtmp ingest the agent starts itself (or FFmpeg's own listener where nginx is absent), real
HTTP between campaign, master and agent; only the power figures are estimated (no RAPL here). Small and short:
each kind's own tests cover its details, these check that a campaign reaches each kind and its results come back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.procs import Cluster, start_agent, start_master
from tests.integration.test_remote_cli import campaign

pytestmark = pytest.mark.integration

EVERY_KIND = """\
name: every-kind
defaults: {idle_baseline: 0, sample_rate: 10, timeout: 90}
scenarios:
  - name: idle
    kind: baseline
    duration: 1
  - name: stream
    kind: live
    input: {source: testsrc2, size: 320x180, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrate: 300k
    duration: 3
  - name: two
    kind: multi
    input: {source: testsrc2, size: 320x180, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrates: [200k, 400k]
    stagger: 0.5
    duration: 3
  - name: dense
    kind: density
    input: {source: testsrc2, size: 320x180, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrate: 200k
    max_streams: 2
    stagger: 0.2
    duration: 2
  - name: abr
    kind: ladder
    input: {source: testsrc2, size: 640x360, rate: 25}
    encoder: libx264
    preset: ultrafast
    duration: 2
    rungs:
      - {resolution: 640x360, bitrate: 600k}
      - {resolution: 320x180, bitrate: 200k}
"""


def _results(stdout: str, cwd: Path) -> dict:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("report: "))
    index = cwd / line.split("report: ", 1)[1]
    return json.loads((index.parent / "results.json").read_text())


def _check_every_kind(run: dict) -> None:
    jobs = {j["name"]: j for j in run["jobs"]}
    assert set(jobs) == {"idle#1", "stream#1", "two#1", "dense#1", "abr#1"}
    failed = {name: j.get("error") for name, j in jobs.items() if j["state"] != "succeeded"}
    assert not failed, failed
    live = jobs["stream#1"]["result"]["metrics"]
    assert live["frames"] > 0 and live["frames_received"] > 0 and live["total_energy_j"] > 0
    multi = jobs["two#1"]["result"]
    assert multi["metrics"]["streams"] == 2 and len(multi["streams"]) == 2
    assert all(s["frames_received"] > 0 for s in multi["streams"])
    density = jobs["dense#1"]["result"]
    assert 0 <= density["metrics"]["max_streams"] <= 2 and density["density"]["levels"]
    ladder = jobs["abr#1"]["result"]
    assert [r["frames"] for r in ladder["rungs"]] == [50, 50]
    assert ladder["metrics"]["frames"] == 100 and ladder["metrics"]["pixels"] == 50 * (640 * 360 + 320 * 180)
    idle = jobs["idle#1"]["result"]["metrics"]
    assert idle["frames"] is None and idle["duration_s"] >= 1
    for name in ("stream#1", "two#1", "dense#1", "abr#1"):  # each measured FFmpeg read a prepared raw file
        result = jobs[name]["result"]
        source, argv = result["source"], result["ffmpeg"]["argv"]
        assert source["render"] == "prepared" and source["format"] == "rawvideo" and len(source["sha256"]) == 64
        assert "lavfi" not in argv and argv[argv.index("-i") + 1] == source["file"], (name, argv)
        assert result["metrics"]["si"] == source["si_mean"] > 0 and result["metrics"]["ti"] == source["ti_mean"] > 0
    streams = [jobs[n]["result"]["source"] for n in ("stream#1", "two#1")]
    assert streams[0]["file"] == streams[1]["file"]  # live and multi share a profile: rendered once, then reused
    assert sorted(s["cached"] for s in streams) == [False, True]


def test_every_kind_embedded(tmp_path):
    """`campaign run` with no master: the embedded agent runs all five kinds."""
    spec = tmp_path / "every.yml"
    spec.write_text(EVERY_KIND)
    proc = campaign(tmp_path, "run", str(spec), "--state-dir", "state", "--reports-dir", "reports", timeout=240)
    assert proc.returncode == 0, proc.stderr
    _check_every_kind(_results(proc.stdout, tmp_path))


def test_every_kind_through_a_master(tmp_path):
    """The same campaign submitted to ``python -m master`` and run by a separate ``python -m agent``."""
    cluster = Cluster()
    try:
        master = cluster.add(start_master(tmp_path, lease=60))
        cluster.add(start_agent(master, tmp_path, "kinds-agent"))
        spec = tmp_path / "every.yml"
        spec.write_text(EVERY_KIND)
        proc = campaign(
            tmp_path,
            "run",
            str(spec),
            "--master",
            master.url,
            "--token",
            master.admin_token,
            "--reports-dir",
            "reports",
            timeout=240,
        )
        assert proc.returncode == 0, proc.stderr
        _check_every_kind(_results(proc.stdout, tmp_path))
    finally:
        cluster.close()
