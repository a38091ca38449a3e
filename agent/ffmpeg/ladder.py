"""Build the argv of an ABR ladder job (docs/WIRE.md "Ladder job"), count what each rung produced, and name the rung
an FFmpeg failure belongs to. Building and parsing here; :func:`count_frames` is the only function that runs FFmpeg.

One FFmpeg process: the input is decoded once (``-t duration`` as an input option, so decoding stops there), ``split``
into one branch per rung plus a *tap*, each branch scaled to its rung's resolution (and ``fps`` when set, with
:func:`agent.ffmpeg.command.filter_chain`, so VAAPI branches also get their upload) and encoded with the job's
encoder/preset at the rung's bitrate into its own file. The tap goes to FFmpeg's null muxer as output #0: FFmpeg's
``-progress`` reports the first video output's frame count and time, so with the tap first the progress ``frame`` is
the number of input frames that went through the ladder (``source_frames``), not one rung's. The tap passes frame
references only (``wrapped_avframe``); it adds no encode. Rung ``n`` (1-based) is therefore output file #n, which is
how FFmpeg's error lines (``output stream #2:0``, ``vost#2:0``) are mapped back to a rung.

Frames per rung are never assumed: after the encode each output is read back (``-map 0:v:0 -c copy -f null`` with
``-progress``), which counts the video packets in the file, i.e. the frames the rung actually produced.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.ffmpeg.command import (
    PROGRESS_ARGS,
    VAAPI_DEVICE,
    encoder_family,
    filter_chain,
    input_args,
    parse_size,
    pixel_format_args,
    preset_args,
    rate_args,
)
from agent.ffmpeg.runner import run_ffmpeg
from agent.ffmpeg.verify import DEVICE_PATTERNS, clean_line, last_meaningful_line
from wire.kinds.ladder import MAX_RUNGS

COUNT_TIMEOUT_S = 120.0
"""Seconds a read-back of one rung's output may take when the job gives no timeout."""

_RUNG_STREAM = re.compile(r"(?:output stream #?|vost#|out#|output file #)(\d+)(?::\d+)?", re.IGNORECASE)
_STREAM_SIZE = re.compile(r"Stream #0:\d+.*?: Video: .*?, (\d{1,5})x(\d{1,5})(?:[ ,\[]|$)")


def rung_label(index: int, rung: dict[str, Any]) -> str:
    """``"rung 2 (640x360 at 1000k)"`` for the 0-based ``index``."""
    return f"rung {index + 1} ({rung.get('resolution')} at {rung.get('bitrate')})"


def check_rungs(rungs: Any) -> list[dict[str, Any]]:
    """The job's rungs, validated: a list of 1..16 ``{"resolution": "WxH", "bitrate": "3000k"}``; ValueError naming
    the rung otherwise."""
    if not isinstance(rungs, list) or not 1 <= len(rungs) <= MAX_RUNGS:
        raise ValueError(f"params.rungs must be a list of 1 to {MAX_RUNGS} rungs, got {rungs!r}")
    for i, rung in enumerate(rungs):
        if not isinstance(rung, dict):
            raise ValueError(f"rung {i + 1} must be a mapping with resolution and bitrate, got {rung!r}")
        try:
            parse_size(rung.get("resolution"))
        except ValueError as exc:
            raise ValueError(f"{rung_label(i, rung)}: {exc}") from None
        if rung.get("bitrate") in (None, ""):
            raise ValueError(f"{rung_label(i, rung)}: a bitrate is required")
    return rungs


def filter_graph(encoder: str, params: dict, in_size: str | None, in_rate) -> str:
    """``-filter_complex``: ``[0:v:0]split=N+1``, a scale (+fps) chain per rung labelled ``[rN]``, the tap ``[tap]``."""
    rungs = params["rungs"]
    count = len(rungs)
    parts = [f"[0:v:0]split={count + 1}" + "".join(f"[s{i}]" for i in range(count)) + "[tap]"]
    for i, rung in enumerate(rungs):
        chain = filter_chain(encoder, {"resolution": rung["resolution"], "fps": params.get("fps")}, in_size, in_rate)
        parts.append(f"[s{i}]{','.join(chain) or 'null'}[r{i}]")
    return ";".join(parts)


def ladder_argv(ffmpeg_path: str, params: dict, outputs: Sequence[str]) -> list[str]:
    """The full argv of a ladder job writing rung i to ``outputs[i]`` (``params`` as in docs/WIRE.md)."""
    encoder = params.get("encoder")
    if not encoder:
        raise ValueError("params.encoder is required")
    rungs = check_rungs(params.get("rungs"))
    if len(outputs) != len(rungs):
        raise ValueError(f"{len(rungs)} rungs but {len(outputs)} output paths")
    inputs, in_size, in_rate = input_args(params)
    argv = [str(ffmpeg_path), "-hide_banner", "-nostdin", "-loglevel", "warning"]
    if encoder_family(encoder) == "vaapi":
        argv += ["-vaapi_device", VAAPI_DEVICE]
    if params.get("duration") is not None:  # input option: the input is read (and decoded) for duration seconds
        argv += inputs[:-2] + ["-t", str(params["duration"])] + inputs[-2:]
    else:
        argv += inputs
    argv += ["-filter_complex", filter_graph(encoder, params, in_size, in_rate), *PROGRESS_ARGS, "-y"]
    argv += ["-map", "[tap]", "-f", "null", "-"]
    codec = ["-c:v", encoder, *pixel_format_args(encoder), *preset_args(encoder, params.get("preset"))]
    for i, (rung, output) in enumerate(zip(rungs, outputs)):
        argv += ["-map", f"[r{i}]", "-an", *codec, *rate_args(encoder, rung["bitrate"], None), str(output)]
    return argv


def count_argv(ffmpeg_path: str, path: str) -> list[str]:
    """Read ``path``'s first video stream back without decoding: progress counts its frames (packets)."""
    return [
        str(ffmpeg_path),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "info",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        *PROGRESS_ARGS,
        "-f",
        "null",
        "-",
    ]


@dataclass
class RungCount:
    """What one rung's output file holds: video frames, the coded size, its duration; ``error`` when unreadable."""

    frames: int | None = None
    width: int | None = None
    height: int | None = None
    out_time_s: float | None = None
    error: str | None = None


def parse_video_size(stderr_lines: Sequence[str]) -> tuple[int, int] | None:
    """(width, height) from FFmpeg's ``Stream #0:0...: Video: h264 ..., 640x360, ...`` input description."""
    for line in stderr_lines:
        match = _STREAM_SIZE.search(line)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def count_frames(
    ffmpeg_path: str, path: str, timeout_s: float | None = None, cancel: threading.Event | None = None
) -> RungCount:
    """Count the video frames in ``path`` by reading the file (stream copy to the null muxer)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return RungCount(error=f"output missing: {os.fspath(path)}")
    if size == 0:
        return RungCount(error=f"output is empty (0 bytes): {os.fspath(path)}")
    run = run_ffmpeg(count_argv(ffmpeg_path, path), timeout_s or COUNT_TIMEOUT_S, cancel=cancel)
    outcome = run.outcome
    if outcome.timed_out or outcome.cancelled or outcome.returncode != 0:
        why = (
            "timed out"
            if outcome.timed_out
            else "cancelled"
            if outcome.cancelled
            else f"exit code {outcome.returncode}"
        )
        line = last_meaningful_line(outcome.stderr_tail) or "no error message"
        return RungCount(error=f"output unreadable ({why}): {line}")
    dims = parse_video_size(outcome.stderr_tail)
    progress = run.last_progress
    frames = progress.frame if progress else None
    out_time = progress.out_time_s if progress else None
    result = RungCount(
        frames=frames, width=dims[0] if dims else None, height=dims[1] if dims else None, out_time_s=out_time
    )
    if frames is None:
        result.error = "reading the output back reported no frame count"
    elif frames == 0:
        result.error = "output has no video frames"
    return result


def failed_rung(stderr_tail: Sequence[str], rung_count: int) -> tuple[int, str] | None:
    """(0-based rung index, the encoder's own complaint) when FFmpeg's stderr blames one rung's output, else None.

    Rung n is output #n (output #0 is the tap). The complaint is the last ``[encoder @ 0x...]`` line before the first
    line naming the output (FFmpeg 5.1: ``Error initializing output stream 2:0 -- ...``; 7+: ``[vost#2:0/libx264 @
    ...] ... Error while opening encoder``), else that line itself."""
    lines = list(stderr_tail)
    for pos, line in enumerate(lines):
        match = _RUNG_STREAM.search(line)
        if not match:
            continue
        index = int(match.group(1)) - 1
        if not 0 <= index < rung_count:
            continue
        detail = None
        for earlier in reversed(lines[:pos]):
            text = clean_line(earlier)
            if text and "@ 0x" in earlier and not _RUNG_STREAM.search(earlier):
                detail = text
                break
        return index, detail or clean_line(line)
    return None


def device_failure(stderr_tail: Sequence[str]) -> str | None:
    """The first stderr line saying the encoder's device or driver is not there (verify.DEVICE_PATTERNS)."""
    for line in stderr_tail:
        if any(p in line.lower() for p in DEVICE_PATTERNS):
            return clean_line(line)
    return None
