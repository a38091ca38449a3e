"""The ``live`` and ``multi`` scenarios end to end: real FFmpeg pushers, real nginx-rtmp (or FFmpeg's listener) on
loopback ports, the estimate or a simulated RAPL tree as power; plus the pusher's argv and the estimate tracking
several pushers."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time

import pytest

from agent.ffmpeg.live import bitrate_bps, gop_frames, live_argv, receiver_argv
from agent.jobrun import execute_job
from agent.power.estimate import EstimateSource
from agent.process import start_process
from agent.rtmp import ENV_RTMP_MODULE, ENV_RTMP_PORT, find_nginx, free_port, wait_listening
from agent.scenarios import KINDS
from agent.scenarios.base import JobFailed, RunContext
from agent.scenarios.live import Live, Multi
from agent.sources import prepare_source
from tests.agent.power.powercap_sim import running_rapl

NGINX, NO_NGINX = find_nginx()
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason=f"nginx-rtmp unavailable: {NO_NGINX} (Debian: apt-get install nginx libnginx-mod-rtmp)"
)
SPIN = "import time\ne = time.process_time() + {s}\nwhile time.process_time() < e: pass\n"


@pytest.fixture
def rapl_sources():
    """RAPL over a simulated tree at a constant 50 W, advancing in real time."""
    with running_rapl({"package-0": 40.0, "package-1": 6.0, "dram-0": 2.0, "dram-1": 2.0}) as sources:
        yield sources


def _ctx(tmp_path, ffmpeg, sources=None) -> RunContext:
    return RunContext(
        ffmpeg=ffmpeg,
        sources=[EstimateSource(tdp_watts=20)] if sources is None else sources,
        power_notes=[],
        workdir=tmp_path,
        encoder_check=lambda e: {"usable": True, "reason": None},
    )


def live_job(kind: str = "live", **extra) -> dict:
    params = {
        "kind": kind,
        "input": {"type": "lavfi", "source": "testsrc2", "size": "320x180", "rate": 30},
        "encoder": "libx264",
        "preset": "ultrafast",
        "bitrate": "250k",
        "resolution": None,
        "fps": None,
        "duration": 2,
        "gop": 2,
        "audio": True,
        "ingest": "auto",
        "rtmp_url": None,
        "stabilization": 0,
        "cooldown": 0,
        "idle_baseline": 0,
        "sample_rate": 10,
        "timeout": 30,
    }
    if kind == "multi":
        params.update(count=None, bitrates=None, stagger=0.3)
    params.update(extra)
    return {"id": f"j-{kind}", "attempt": 1, "name": f"{kind}#1", "kind": kind, "params": params}


def _run(ctx, job) -> tuple[dict, float]:
    t0 = time.monotonic()
    result = execute_job(job, ctx, "n-1")
    json.dumps(result, allow_nan=False)
    return result, time.monotonic() - t0


def _no_children_left():
    """Every FFmpeg and nginx the job started is gone (none of them is left for init)."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        assert not (ppid == me and ("ffmpeg" in cmd or "nginx" in cmd)), cmd


# --- argv ------------------------------------------------------------------------------------------------------------


def test_registered():
    assert KINDS["live"] is Live and KINDS["multi"] is Multi and KINDS["density"].kind == "density"


@pytest.mark.parametrize("text, bps", [("3000k", 3_000_000), ("2.5M", 2_500_000), ("800K", 800_000), (64000, 64000)])
def test_bitrate_bps(text, bps):
    assert bitrate_bps(text) == bps


@pytest.mark.parametrize("bad", ["fast", "0k", "", None, True])
def test_bad_bitrate(bad):
    with pytest.raises(ValueError):
        bitrate_bps(bad)


def test_live_argv_is_a_streamers_encode():
    argv = live_argv(
        "ffmpeg",
        live_job(bitrate="2500k", fps=25, gop=2, resolution="640x360")["params"],
        "rtmp://127.0.0.1:1935/live/k",
    )
    text = " ".join(argv)
    assert argv.count("-re") == 2 and "sine=frequency=1000" in text
    assert "-b:v 2500000 -maxrate 2500000 -bufsize 5000000" in text
    assert "-g 50 -keyint_min 50 -sc_threshold 0" in text
    assert "-c:a aac -b:a 128k" in text and "-t 2" in text
    assert "scale=640:360" in text and "fps=25" in text
    assert argv[-1] == "rtmp://127.0.0.1:1935/live/k" and "-f flv -flvflags no_duration_filesize" in text
    assert "-progress pipe:1" in text


def test_live_argv_without_audio_and_with_a_looped_file():
    params = live_job(audio=False, input={"type": "file", "path": "/clips/a.mp4"}, encoder="libx265")["params"]
    argv = live_argv("ffmpeg", params, "rtmp://h/live/k")
    text = " ".join(argv)
    assert "-re -stream_loop -1 -i /clips/a.mp4" in text
    assert "aac" not in text and "sine" not in text and "-map 0:a" not in text
    assert "-force_key_frames expr:gte(t,n_forced*2)" in text  # the file's frame rate is unknown
    assert "-sc_threshold" not in text
    assert gop_frames(params) is None and gop_frames({**params, "fps": 30}) == 60
    audio = live_argv("ffmpeg", {**params, "audio": True}, "rtmp://h/live/k")
    assert "-map 0:a:0?" in " ".join(audio)


def test_receiver_argv_is_cheap_and_bounded():
    pull = receiver_argv("ffmpeg", "rtmp://127.0.0.1:1/live/k", 3)
    assert "-analyzeduration" in pull and "-probesize" in pull and "-listen" not in pull
    assert " ".join(pull).endswith("-map 0:v -c copy -t 3 -f framecrc pipe:1")
    assert "-listen 1 -i rtmp://127.0.0.1:1/live/k" in " ".join(
        receiver_argv("ffmpeg", "rtmp://127.0.0.1:1/live/k", 3, listen=True)
    )


# --- the estimate tracks several pushers ---------------------------------------------------------------------------


def test_estimate_tracks_several_process_trees():
    """track_also adds a root: the CPU of every tracked tree is counted once, the existing track() API unchanged."""
    source = EstimateSource(tdp_watts=10.0, logical_cpus=1)
    source.start()
    children = [start_process([sys.executable, "-c", SPIN.format(s=0.4)]) for _ in range(2)]
    source.track(children[0].pid)
    source.track_also(children[1].pid)
    assert source.tracked_pids() == sorted(c.pid for c in children)
    for child in children:
        assert child.wait_exited(30) is None
    final = source.read()  # both are unreaped zombies: their whole CPU time is readable
    for child in children:
        assert child.finish().returncode == 0
    assert 0.8 <= final.extra["cpu_s"] <= 0.8 + 1.6
    source.track(None)
    assert source.tracked_pids() == []
    source.track_also(children[0].pid)  # gone by now: tracked from nothing, with a note, never an error
    assert source.read().extra["cpu_s"] == 0.0


# --- jobs ------------------------------------------------------------------------------------------------------------


@needs_nginx
def test_live_stream_through_nginx(ffmpeg, tmp_path):
    result, wall = _run(_ctx(tmp_path, ffmpeg), live_job())
    assert result["status"] == "succeeded", result["error"]
    m, missing = result["metrics"], result["missing"]
    assert m["frames"] == 60 and m["frames_received"] >= 58
    assert m["dropped_frames"] == 0 and m["duplicated_frames"] == 0
    assert 0.9 <= m["speed"] <= 1.1 and m["realtime"] is (m["speed"] >= 0.98)
    assert m["target_bitrate_kbps"] == 250 and 150 < m["bitrate_kbps"] < 1500
    assert m["streams"] == 1 and m["total_energy_j"] > 0 and m["joules_per_frame"] > 0
    assert m["watts_per_stream"] == m["mean_watts"]
    assert all(key in missing for key, value in m.items() if value is None)
    assert m["psnr_db"] is None and "not compared" in missing["psnr_db"]
    assert result["streams"][0]["frames"] == 60 and result["streams"][0]["error"] is None
    notes = " ".join(result["provenance"]["notes"])
    assert "nginx-rtmp" in notes and "run on the measured machine" in notes and "pushers' CPU" in notes
    assert result["ffmpeg"]["argv"][-1].startswith("rtmp://127.0.0.1:") and result["ffmpeg"]["version"]
    assert wall < 15
    _no_children_left()


def test_live_stream_through_ffmpegs_listener(ffmpeg, tmp_path):
    result, _ = _run(_ctx(tmp_path, ffmpeg), live_job(ingest="listen", audio=False))
    assert result["status"] == "succeeded", result["error"]
    m = result["metrics"]
    assert m["frames"] == 60 and m["frames_received"] == 60
    assert any("-listen 1" in note for note in result["provenance"]["notes"])
    assert "aac" not in result["ffmpeg"]["argv"]
    _no_children_left()


@needs_nginx
def test_multi_two_streams_on_simulated_rapl(ffmpeg, tmp_path, rapl_sources):
    """Two streams at their own bitrates, staggered, under one window: per-stream results and totals; with a
    measured (simulated) source the idle baseline gives dynamic watts per stream."""
    job = live_job("multi", bitrate=None, bitrates=["200k", "300k"], stagger=0.5, idle_baseline=0.5)
    result, _ = _run(_ctx(tmp_path, ffmpeg, rapl_sources), job)
    assert result["status"] == "succeeded", result["error"]
    m, streams = result["metrics"], result["streams"]
    assert [s["index"] for s in streams] == [0, 1] and [s["bitrate"] for s in streams] == ["200k", "300k"]
    assert [s["target_bitrate_kbps"] for s in streams] == [200, 300] and m["target_bitrate_kbps"] == 500
    for s in streams:
        assert s["frames"] == 60 and s["frames_received"] >= 58 and s["error"] is None
        assert set(s) >= {
            "index",
            "bitrate",
            "target_bitrate_kbps",
            "frames",
            "frames_received",
            "dropped_frames",
            "duplicated_frames",
            "speed",
            "bitrate_kbps",
            "error",
        }
    assert m["streams"] == 2 and m["frames"] == 120
    assert m["frames_received"] == sum(s["frames_received"] for s in streams)
    assert m["speed"] == min(s["speed"] for s in streams)
    assert m["bitrate_kbps"] == pytest.approx(sum(s["bitrate_kbps"] for s in streams), abs=0.01)
    assert m["duration_s"] >= 2.4  # the second stream starts 0.5 s after the first
    assert m["mean_watts"] == pytest.approx(50.0, rel=0.05) and m["idle_watts"] == pytest.approx(50.0, rel=0.05)
    assert m["watts_per_stream"] == pytest.approx(m["mean_watts"] / 2)
    assert m["dynamic_watts_per_stream"] == pytest.approx((m["mean_watts"] - m["idle_watts"]) / 2, abs=1e-5)
    assert result["baseline"]["sample_count"] > 0 and result["provenance"]["estimated"] is False
    _no_children_left()


def test_multi_count_streams_share_the_estimate(ffmpeg, tmp_path):
    """count streams with the listener fallback: every pusher's CPU is attributed (more than one stream's worth)."""
    result, _ = _run(_ctx(tmp_path, ffmpeg), live_job("multi", count=2, stagger=0, ingest="listen"))
    assert result["status"] == "succeeded", result["error"]
    m = result["metrics"]
    assert m["streams"] == 2 and m["frames"] == 120 and m["frames_received"] == 120
    # per-stream watts are rounded to 6 decimals: within half a millionth of mean_watts / 2
    assert m["dynamic_watts_per_stream"] == m["watts_per_stream"] == pytest.approx(m["mean_watts"] / 2, abs=1e-6)


# --- failures --------------------------------------------------------------------------------------------------------


@needs_nginx
def test_busy_rtmp_port_fails_the_job(ffmpeg, tmp_path, monkeypatch):
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        monkeypatch.setenv(ENV_RTMP_PORT, str(squatter.getsockname()[1]))
        result, wall = _run(_ctx(tmp_path, ffmpeg), live_job(ingest="nginx"))
    assert result["status"] == "failed"
    assert result["error"].startswith("RTMP ingest: nginx failed to start on 127.0.0.1:")
    assert "Address already in use" in result["error"] and wall < 15
    _no_children_left()


@needs_nginx
def test_nginx_that_cannot_load_its_module_fails_the_job(ffmpeg, tmp_path, monkeypatch):
    broken = tmp_path / "broken_rtmp.so"
    broken.write_text("not a module\n")
    monkeypatch.setenv(ENV_RTMP_MODULE, str(broken))
    result, _ = _run(_ctx(tmp_path, ffmpeg), live_job())
    assert result["status"] == "failed" and "nginx failed to start" in result["error"]
    assert "dlopen()" in result["error"]


def test_pushing_where_nothing_listens_fails_the_job(ffmpeg, tmp_path):
    result, wall = _run(_ctx(tmp_path, ffmpeg), live_job(rtmp_url=f"rtmp://127.0.0.1:{free_port()}/live"))
    assert result["status"] == "failed"
    assert result["error"].startswith("pusher failed (exit 1):") and "Connection refused" in result["error"]
    assert result["streams"][0]["error"] == result["error"] and result["ffmpeg"]["stderr_tail"]
    assert wall < 10
    _no_children_left()


@needs_nginx
def test_receiver_that_sees_nothing_fails_the_job(ffmpeg, tmp_path):
    """An external ingest that takes the stream but lets nobody play it back: the pusher succeeds, the receiver
    counts nothing, and the job fails with that reason (bounded by the receiver's grace period)."""
    port = free_port()
    conf = tmp_path / "deny-play.conf"
    conf.write_text(
        (f"load_module {NGINX.module};\n" if NGINX.module else "")
        + f"daemon off;\nmaster_process off;\npid {tmp_path}/np.pid;\nerror_log {tmp_path}/ne.log warn;\n"
        "events { worker_connections 64; }\n"
        f"rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; deny play all; }} }} }}\n"
    )
    nginx = start_process([NGINX.binary, "-p", f"{tmp_path}/", "-c", str(conf), "-e", f"{tmp_path}/ne.log"])
    try:
        assert wait_listening(nginx, port, 10) is None, nginx.tail
        result, wall = _run(_ctx(tmp_path, ffmpeg), live_job(rtmp_url=f"rtmp://127.0.0.1:{port}/live"))
    finally:
        nginx.stop(grace_s=2)
        nginx.finish()
    assert result["status"] == "failed"
    assert result["error"].startswith("receiver saw no frames from rtmp://127.0.0.1:")
    stream = result["streams"][0]
    assert stream["frames"] == 60 and stream["frames_received"] == 0
    assert wall < 15
    _no_children_left()


def test_timeout_kills_the_pushers(ffmpeg, tmp_path):
    """params.timeout bounds the window: a stream longer than it is killed and the job fails saying so."""
    job = live_job(ingest="listen", duration=2, timeout=0.8)  # prepare would refuse it: go through run directly
    ctx = _ctx(tmp_path, ffmpeg)
    scenario = Live()
    t0 = time.monotonic()
    with pytest.raises(JobFailed, match="timed out after 0.8 s"):
        scenario.run(job, ctx, {})
    assert time.monotonic() - t0 < 8
    _no_children_left()


def test_window_longer_than_the_timeout_is_refused(ffmpeg, tmp_path):
    result, _ = _run(_ctx(tmp_path, ffmpeg), live_job("multi", count=3, stagger=5, duration=10, timeout=15))
    assert result["status"] == "failed" and "longer than the timeout" in result["error"]


def test_cancel_stops_the_streams(ffmpeg, tmp_path):
    ctx = _ctx(tmp_path, ffmpeg)
    job = live_job(ingest="listen", duration=20)
    prepare_source(job, ctx)  # the prepared source is cached: the cancel comes while streaming, not while rendering
    threading.Timer(0.8, ctx.cancel.set).start()
    result, wall = _run(ctx, job)
    assert result["status"] == "failed" and result["error"] == "cancelled: cancelled while streaming"
    assert wall < 8
    _no_children_left()
