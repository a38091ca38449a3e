"""Tests for agent.ffmpeg.runner with the real ffmpeg: live progress, hooks, timeout and cancel."""

from __future__ import annotations

import os
import threading
import time

import pytest

from agent.ffmpeg.command import transcode_argv
from agent.ffmpeg.runner import run_ffmpeg
from agent.ffmpeg.verify import verify_output

pytestmark = pytest.mark.integration


def tiny_job(duration: float = 2, size: str = "160x90", preset: str = "veryfast") -> dict:
    """A small x264 job on a generated input."""
    return {
        "kind": "transcode",
        "input": {"type": "lavfi", "source": "testsrc2", "size": size, "rate": 30},
        "encoder": "libx264",
        "preset": preset,
        "bitrate": "200k",
        "crf": None,
        "resolution": None,
        "fps": None,
        "duration": duration,
    }


def group_alive(pgid: int) -> bool:
    """True while any process of the process group ``pgid`` exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def long_argv(ffmpeg_path: str, tmp_path) -> list[str]:
    """An encode that would run for minutes on this machine."""
    return transcode_argv(ffmpeg_path, tiny_job(duration=600, size="1280x720", preset="slow"), tmp_path / "long.mp4")


def test_x264_transcode_streams_progress_live(any_ffmpeg, tmp_path):
    """A real x264 encode (read at native rate) reports several progress blocks before it exits, and verifies."""
    output = tmp_path / "out.mp4"
    argv = transcode_argv(any_ffmpeg.path, tiny_job(), output)
    argv.insert(1, "-re")  # input at real time: the encode lasts ~2 s, so blocks arrive while it runs
    seen, exited = [], []
    run = run_ffmpeg(
        argv,
        timeout_s=30,
        on_progress=lambda p: seen.append((time.monotonic(), p)),
        on_exited=lambda pid: exited.append(time.monotonic()),
    )
    assert verify_output(output, run) is None, run.outcome.stderr_tail
    assert run.frames == 60 and output.stat().st_size > 0
    assert run.progress_count == len(seen) >= 3
    assert seen[0][0] < exited[0] - 0.5  # the first block arrived well before ffmpeg exited
    assert seen[-1][1].done and seen[-1][1] == run.last_progress


def test_on_start_and_on_exited_see_the_child(system_ffmpeg, tmp_path):
    """on_start gets the child's pid; on_exited runs while that pid is an unreaped zombie."""
    pids, states = [], []

    def on_exited(pid: int) -> None:
        with open(f"/proc/{pid}/stat") as stat:
            states.append(stat.read().rsplit(")", 1)[1].split()[0])

    run = run_ffmpeg(
        transcode_argv(system_ffmpeg.path, tiny_job(duration=0.5), tmp_path / "o.mp4"),
        timeout_s=30,
        on_start=pids.append,
        on_exited=on_exited,
    )
    assert run.outcome.ok and len(pids) == 1
    assert states == ["Z"]
    assert not os.path.exists(f"/proc/{pids[0]}")


def test_timeout_kills_the_process_group(system_ffmpeg, tmp_path):
    """A long encode with a 1 s timeout returns timed_out within the kill grace, and no process of it survives."""
    pids = []
    started = time.monotonic()
    run = run_ffmpeg(long_argv(system_ffmpeg.path, tmp_path), timeout_s=1, on_start=pids.append)
    elapsed = time.monotonic() - started
    assert run.outcome.timed_out and not run.outcome.ok
    assert elapsed < 6
    assert not group_alive(pids[0]) and not os.path.exists(f"/proc/{pids[0]}")
    assert verify_output(tmp_path / "long.mp4", run).startswith("timed out after")


def test_cancel_event_stops_ffmpeg(system_ffmpeg, tmp_path):
    """Setting the cancel event kills the encode and the run reports cancelled."""
    cancel, pids = threading.Event(), []
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    try:
        run = run_ffmpeg(long_argv(system_ffmpeg.path, tmp_path), timeout_s=60, on_start=pids.append, cancel=cancel)
    finally:
        timer.cancel()
    assert run.outcome.cancelled and not run.outcome.timed_out
    assert run.outcome.duration_s < 6
    assert not group_alive(pids[0])
    assert verify_output(tmp_path / "long.mp4", run).startswith("cancelled")


def test_failing_progress_callback_does_not_stall(system_ffmpeg, tmp_path):
    """An on_progress that raises is logged, and the encode still finishes with its progress parsed."""

    def explode(progress):
        raise RuntimeError("observer bug")

    output = tmp_path / "o.mp4"
    run = run_ffmpeg(
        transcode_argv(system_ffmpeg.path, tiny_job(duration=0.5), output), timeout_s=30, on_progress=explode
    )
    assert verify_output(output, run) is None
    assert run.last_progress is not None and run.last_progress.done
