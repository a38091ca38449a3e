"""Tests for agent.ffmpeg.verify on saved real stderr, constructed outcomes, and real failing runs."""

from __future__ import annotations

import pytest

from agent.ffmpeg.command import transcode_argv
from agent.ffmpeg.progress import ProgressParser
from agent.ffmpeg.runner import FFmpegRun, run_ffmpeg
from agent.ffmpeg.verify import classify_failure, clean_line, last_meaningful_line, verify_output
from agent.process import ProcessOutcome

from .conftest import gpu_present, read_data

NVENC_ARGV = ["ffmpeg", "-f", "lavfi", "-i", "testsrc2", "-c:v", "h264_nvenc", "out.mp4"]


def finished(returncode, stderr, progress_lines=(), argv=NVENC_ARGV, **flags) -> FFmpegRun:
    """An FFmpegRun as the runner would return it for this exit code, stderr and stdout."""
    parser = ProgressParser()
    parser.feed_all(progress_lines)
    outcome = ProcessOutcome(argv=list(argv), returncode=returncode, duration_s=1.0, stderr_tail=list(stderr), **flags)
    return FFmpegRun(outcome=outcome, last_progress=parser.last, progress_count=parser.count)


@pytest.mark.parametrize("version", ["5.1", "9.0"])
def test_nvenc_without_gpu_is_encoder_unavailable(version):
    """Saved NVENC-without-GPU stderr of both FFmpeg versions names libcuda as the reason."""
    stderr = read_data(f"stderr_nvenc_nogpu_ffmpeg{version}.txt")
    assert classify_failure(stderr, "h264_nvenc") == "encoder unavailable: h264_nvenc (Cannot load libcuda.so.1)"


@pytest.mark.parametrize("version", ["5.1", "9.0"])
def test_unknown_encoder(version):
    """An encoder the build lacks is unavailable with FFmpeg's own words."""
    stderr = read_data(f"stderr_unknown_encoder_ffmpeg{version}.txt")
    assert classify_failure(stderr, "foo_enc") == "encoder unavailable: foo_enc (Unknown encoder 'foo_enc')"


def test_no_capable_devices_and_generic_init_error():
    """A device message wins over the generic init line; the generic line alone uses the encoder's own complaint."""
    devices = ["[hevc_nvenc @ 0x5581] No capable devices found", "Error initializing output stream 0:0 -- x"]
    assert classify_failure(devices, "hevc_nvenc") == "encoder unavailable: hevc_nvenc (No capable devices found)"
    preset = ["[libx264 @ 0x55aa] Error setting preset/tune turbo/(null).", "Error initializing output stream 0:0"]
    assert (
        classify_failure(preset, "libx264") == "encoder unavailable: libx264 (Error setting preset/tune turbo/(null).)"
    )


def test_other_failures_are_not_classified():
    """A non-encoder failure is not 'encoder unavailable'; its last meaningful line skips FFmpeg's closing noise."""
    stderr = ["/clips/missing.mp4: No such file or directory", "Conversion failed!", ""]
    assert classify_failure(stderr, "libx264") is None
    assert last_meaningful_line(stderr) == "/clips/missing.mp4: No such file or directory"
    assert last_meaningful_line(["frame=    0 fps=0.0 q=0.0 size=0kB", "Conversion failed!"]) is None
    assert (
        clean_line("[vost#0:0/h264_nvenc @ 0x5592511f6280] [enc:h264_nvenc @ 0x1a] Could not open") == "Could not open"
    )


def test_exit_zero_without_frames_is_caught():
    """An NVENC run that exited 0 but encoded nothing is still 'encoder unavailable'."""
    run = finished(0, read_data("stderr_nvenc_nogpu_ffmpeg9.0.txt"), read_data("progress_nvenc_nogpu_ffmpeg9.0.txt"))
    assert run.frames == 0
    assert verify_output("/nonexistent/out.mp4", run).startswith("encoder unavailable: h264_nvenc (")


def test_exit_zero_without_progress_or_reason():
    """Exit 0 with no progress block and a silent stderr says so."""
    run = finished(0, [], argv=["ffmpeg", "-c:v", "libx264", "o.mp4"])
    assert verify_output(None, run) == "no progress reported although ffmpeg exited 0"


def test_output_checks(tmp_path):
    """A run with frames still fails verification when its output is missing or empty, and passes when not."""
    progress = read_data("progress_x264_ffmpeg5.1.txt")
    run = finished(0, [], progress, argv=["ffmpeg", "-c:v", "libx264", "o.mp4"])
    output = tmp_path / "o.mp4"
    assert verify_output(output, run) == f"output missing: {output}"
    output.write_bytes(b"")
    assert verify_output(output, run) == f"output is empty (0 bytes): {output}"
    output.write_bytes(b"\0" * 10)
    assert verify_output(output, run) is None
    assert verify_output(None, run) is None


def test_signals_timeouts_and_codes():
    """Killed, timed-out, cancelled and nonzero runs each get their own one-line reason."""
    assert verify_output(None, finished(-9, [])) == "ffmpeg was killed by SIGKILL"
    assert verify_output(None, finished(-15, [], timed_out=True)).startswith("timed out after 1.0 s")
    assert verify_output(None, finished(-15, [], cancelled=True)).startswith("cancelled")
    failed = finished(1, ["[libx264 @ 0x1] something odd", "Conversion failed!"], argv=["ffmpeg", "-c:v", "libx264"])
    assert verify_output(None, failed) == "ffmpeg exited with code 1: something odd"


@pytest.mark.integration
@pytest.mark.skipif(gpu_present(), reason="NVENC really works on a GPU host")
def test_real_nvenc_without_gpu(any_ffmpeg, tmp_path):
    """A real h264_nvenc job on this GPU-less host fails verification as 'encoder unavailable'."""
    params = {
        "input": {"type": "lavfi", "source": "testsrc2", "size": "256x144", "rate": 30},
        "encoder": "h264_nvenc",
        "preset": "p1",
        "bitrate": "500k",
        "crf": None,
        "duration": 1,
    }
    output = tmp_path / "out.mp4"
    run = run_ffmpeg(transcode_argv(any_ffmpeg.path, params, output), timeout_s=30)
    reason = verify_output(output, run)
    assert reason is not None and reason.startswith("encoder unavailable: h264_nvenc (")


@pytest.mark.integration
def test_real_missing_input_file(system_ffmpeg, tmp_path):
    """A job whose input file does not exist fails with ffmpeg's own message and exit code."""
    params = {
        "input": {"type": "file", "path": str(tmp_path / "nope.mp4")},
        "encoder": "libx264",
        "preset": "veryfast",
        "bitrate": "500k",
        "crf": None,
        "duration": 1,
    }
    run = run_ffmpeg(transcode_argv(system_ffmpeg.path, params, tmp_path / "out.mp4"), timeout_s=30)
    assert verify_output(tmp_path / "out.mp4", run) == (
        f"ffmpeg exited with code 1: {tmp_path / 'nope.mp4'}: No such file or directory"
    )
