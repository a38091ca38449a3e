"""Objective quality of a finished encode: PSNR and SSIM with FFmpeg's own filters, VMAF when this FFmpeg has libvmaf.

The encoded output is decoded next to exactly the same source frames the encode read: the same prepared raw file
(:mod:`agent.sources`, looped the same way), the same file input, or for ``render: inline`` the same lavfi source
string (size, rate, duration; ``quality.same_source`` is then false: the generator runs again), the same
``scale``/``fps`` filters, the same ``-t`` (as the ``trim`` FFmpeg itself inserts for an output ``-t``), both
converted to yuv420p, and both renumbered by frame index (``settb=1/1000, setpts=N``: frame n at n ms on both sides).
The index, not the container's timestamps, pairs the frames: a container with a coarse time base (WebM's 1 ms) rounds
33.3 ms frames to 33/67/100 ms, and FFmpeg's frame sync would then pair some frames with their neighbours and drop the
last one. One FFmpeg process then compares ``[distorted][reference]``
frame by frame::

    [0:v]format=yuv420p,settb=1/1000,setpts=N[d];
    [1:v]scale=..,fps=..,format=yuv420p,trim=duration=D,settb=1/1000,setpts=N[r];
    [d]split[d1][d2]; [r]split[r1][r2];
    [d1][r1]psnr=stats_file=psnr.log[q1];             # default framesync: runs to the LONGER stream
    [d2][r2]ssim=shortest=1:stats_file=ssim.log[q2]   # stops at the SHORTER stream
    (+ [d3][r3]libvmaf=shortest=1[q3] when available)

Frame alignment is checked, not assumed: the psnr stats file has one line per frame of the longer stream, the ssim
one per frame of the shorter; only when both equal the encode's frame count are the scores kept. Anything else leaves
every score ``None`` with a reason (a quality failure never fails the job).

PSNR of identical frames is infinite (FFmpeg prints ``inf``). JSON has no infinity, so ``psnr_db`` is capped at
:data:`PSNR_CAP_DB` and ``psnr_identical`` says the frames were bit-identical.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.ffmpeg.argv import quiet_argv
from agent.ffmpeg.command import filter_chain, input_args
from agent.process import run_process

PSNR_CAP_DB = 100.0
"""``psnr_db`` of identical frames (FFmpeg: ``inf``); no real lossy encode reaches it at 8 bits."""

FILTERS_TIMEOUT_S = 20.0
"""Seconds ``ffmpeg -filters`` may take."""

NO_VMAF = "this FFmpeg has no libvmaf"
"""Reason ``vmaf`` is null when the filter is absent."""

_PSNR = re.compile(r"PSNR y:(\S+) u:(\S+) v:(\S+) average:(\S+) min:(\S+) max:(\S+)")
_SSIM = re.compile(r"SSIM Y:(\S+) \(\S+\) U:(\S+) \(\S+\) V:(\S+) \(\S+\) All:(\S+) \((\S+)\)")
_VMAF = re.compile(r"VMAF score: (\S+)")
_FILTER_LINE = re.compile(r"^\s*[A-Z.|]{2,3}\s+(\S+)\s+\S+->\S+")


@dataclass
class Quality:
    """Scores of one encode against its source; a None score has a reason in ``missing``."""

    psnr_db: float | None = None
    psnr_identical: bool | None = None
    ssim: float | None = None
    vmaf: float | None = None
    frames: int | None = None
    missing: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        """The result-metrics fields (docs/WIRE.md)."""
        return {
            "psnr_db": self.psnr_db,
            "psnr_identical": self.psnr_identical,
            "ssim": self.ssim,
            "vmaf": self.vmaf,
            "quality_frames": self.frames,
        }


def _number(text: str) -> float | None:
    """An FFmpeg score: a float, ``inf`` -> math.inf; None for anything else (nan, garbage)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def parse_psnr(lines: Iterable[str]) -> dict[str, float | None] | None:
    """The psnr filter's summary line -> {"y", "u", "v", "average", "min", "max"} (inf kept as math.inf)."""
    found = None
    for line in lines:
        match = _PSNR.search(line)
        if match:
            found = dict(zip(("y", "u", "v", "average", "min", "max"), map(_number, match.groups())))
    return found


def parse_ssim(lines: Iterable[str]) -> dict[str, float | None] | None:
    """The ssim filter's summary line -> {"y", "u", "v", "all", "all_db"}."""
    found = None
    for line in lines:
        match = _SSIM.search(line)
        if match:
            found = dict(zip(("y", "u", "v", "all", "all_db"), map(_number, match.groups())))
    return found


def parse_vmaf(lines: Iterable[str]) -> float | None:
    """The libvmaf filter's pooled score (``VMAF score: 93.1``)."""
    found = None
    for line in lines:
        match = _VMAF.search(line)
        if match:
            found = _number(match.group(1))
    return found


def parse_filters(lines: Iterable[str]) -> set[str]:
    """Filter names from ``ffmpeg -filters``."""
    return {m.group(1) for m in map(_FILTER_LINE.match, lines) if m}


@functools.lru_cache(maxsize=16)
def listed_filters(ffmpeg_path: str) -> frozenset[str]:
    """The filters this FFmpeg binary lists (``ffmpeg -filters``, probed once per binary); empty when it cannot run."""
    lines: list[str] = []
    try:
        outcome = run_process(
            [ffmpeg_path, "-hide_banner", "-filters"], timeout_s=FILTERS_TIMEOUT_S, on_stdout_line=lines.append
        )
    except OSError:
        return frozenset()
    return frozenset(parse_filters(lines)) if outcome.ok else frozenset()


def has_libvmaf(ffmpeg_path: str) -> bool:
    """True when this FFmpeg binary lists the ``libvmaf`` filter."""
    return "libvmaf" in listed_filters(ffmpeg_path)


has_libvmaf.cache_clear = listed_filters.cache_clear  # type: ignore[attr-defined]


FRAME_INDEX_PTS = "settb=1/1000,setpts=N"
"""Filters that give frame n the timestamp n ms, on both sides of the comparison: frames pair by index."""


def _capped(value: float | None) -> float | None:
    if value is None:
        return None
    return PSNR_CAP_DB if value > PSNR_CAP_DB else round(value, 4)


def reference_chain(params: dict) -> tuple[list[str], str]:
    """The reference input's flags and filter chain: the encode's source, scale/fps filters and ``-t``."""
    inputs, in_size, in_rate = input_args(params)
    chain = filter_chain("", params, in_size, in_rate) + ["format=yuv420p"]
    if params.get("duration") is not None:
        chain.append(f"trim=duration={params['duration']}")
    chain += [FRAME_INDEX_PTS]
    return inputs, ",".join(chain)


def quality_argv(ffmpeg_path: str, params: dict, output_path: str, vmaf: bool) -> list[str]:
    """The comparison command (see the module docstring); writes psnr.log and ssim.log into its working directory."""
    inputs, ref_chain = reference_chain(params)
    names = ["psnr", "ssim"] + (["vmaf"] if vmaf else [])
    n = len(names)
    graph = [
        f"[0:v]format=yuv420p,{FRAME_INDEX_PTS}[d]",
        f"[1:v]{ref_chain}[r]",
        f"[d]split={n}" + "".join(f"[d{i}]" for i in range(n)),
        f"[r]split={n}" + "".join(f"[r{i}]" for i in range(n)),
        "[d0][r0]psnr=stats_file=psnr.log[q0]",
        "[d1][r1]ssim=shortest=1:stats_file=ssim.log[q1]",
    ]
    if vmaf:
        graph.append("[d2][r2]libvmaf=shortest=1[q2]")
    argv = [
        *quiet_argv(ffmpeg_path, "info"),
        "-i",
        os.path.abspath(output_path),
        *inputs,
        "-filter_complex",
        ";".join(graph),
    ]
    for i in range(n):
        argv += ["-map", f"[q{i}]", "-f", "null", "-"]
    return argv


def _count_lines(path: str) -> int | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


def _absolute_file_input(params: dict) -> dict:
    spec = params.get("input") or {}
    if spec.get("type") == "file" and spec.get("path"):
        return {**params, "input": {**spec, "path": os.path.abspath(str(spec["path"]))}}
    return params


def _failed(reason: str, vmaf_reason: str | None = None, detail: dict | None = None) -> Quality:
    missing = {k: reason for k in ("psnr_db", "psnr_identical", "ssim", "quality_frames")}
    missing["vmaf"] = vmaf_reason or reason
    return Quality(missing=missing, detail=detail or {})


def measure_quality(
    ffmpeg_path: str,
    params: dict,
    output_path: str,
    expected_frames: int | None,
    workdir: str | os.PathLike,
    timeout_s: float | None = None,
    cancel: threading.Event | None = None,
    vmaf: bool | None = None,
) -> Quality:
    """Compare ``output_path`` with the source ``params`` describe; never raises for a failed comparison.

    ``expected_frames`` is the encode's frame count; ``vmaf=None`` probes the binary for libvmaf.
    """
    want_vmaf = has_libvmaf(str(ffmpeg_path)) if vmaf is None else vmaf
    vmaf_reason = None if want_vmaf else NO_VMAF
    if expected_frames is None:
        return _failed("the encode's frame count is unknown, so frame alignment cannot be checked", vmaf_reason)
    try:
        params = _absolute_file_input(params)
        quality_argv(ffmpeg_path, params, output_path, False)
    except ValueError as exc:
        return _failed(f"no reference for the comparison: {exc}", vmaf_reason)
    with tempfile.TemporaryDirectory(prefix="quality-", dir=workdir) as stats_dir:
        result = _compare(ffmpeg_path, params, output_path, expected_frames, stats_dir, timeout_s, cancel, want_vmaf)
        if want_vmaf and result.detail.get("returncode") not in (0, None):
            # libvmaf failed (no built-in model, ...): keep PSNR/SSIM, say why VMAF is missing.
            tail = result.detail.get("stderr_tail") or ["no output"]
            retry = _compare(ffmpeg_path, params, output_path, expected_frames, stats_dir, timeout_s, cancel, False)
            if retry.detail.get("returncode") == 0:
                retry.missing["vmaf"] = f"libvmaf failed: {tail[-1]}"
            else:
                retry.missing["vmaf"] = result.missing["vmaf"]
            return retry
    return result


def _compare(ffmpeg_path, params, output_path, expected, stats_dir, timeout_s, cancel, vmaf: bool) -> Quality:
    for name in ("psnr.log", "ssim.log"):
        try:
            os.unlink(os.path.join(stats_dir, name))
        except FileNotFoundError:
            pass
    argv = quality_argv(ffmpeg_path, params, output_path, vmaf)
    outcome = run_process(argv, timeout_s=timeout_s, cancel=cancel, cwd=stats_dir)
    detail = {
        "argv": argv,
        "duration_s": round(outcome.duration_s, 4),
        "returncode": outcome.returncode,
        "vmaf_model": "libvmaf default model" if vmaf else None,
    }
    no_vmaf = None if vmaf else NO_VMAF
    if outcome.cancelled:
        return _failed("quality comparison cancelled", no_vmaf, detail)
    if outcome.timed_out:
        return _failed(f"quality comparison timed out after {timeout_s:g} s", no_vmaf, detail)
    if not outcome.ok:
        detail["stderr_tail"] = outcome.stderr_tail[-5:]
        last = outcome.stderr_tail[-1] if outcome.stderr_tail else f"exit status {outcome.returncode}"
        return _failed(f"quality comparison failed: {last}", no_vmaf, detail)
    longest = _count_lines(os.path.join(stats_dir, "psnr.log"))
    shortest = _count_lines(os.path.join(stats_dir, "ssim.log"))
    detail.update(compared_frames_longest=longest, compared_frames_shortest=shortest, encoded_frames=expected)
    if longest != expected or shortest != expected:
        return _failed(
            f"frame counts differ: the encode has {expected} frames, but output and reference give "
            f"{shortest} and {longest} frames; scores of misaligned frames are not reported",
            no_vmaf,
            detail,
        )
    psnr, ssim = parse_psnr(outcome.stderr_tail), parse_ssim(outcome.stderr_tail)
    quality = Quality(frames=expected, detail=detail)
    if psnr is None or psnr["average"] is None:
        quality.missing.update(
            psnr_db="FFmpeg printed no PSNR summary", psnr_identical="FFmpeg printed no PSNR summary"
        )
    else:
        quality.psnr_identical = math.isinf(psnr["average"])
        quality.psnr_db = _capped(psnr["average"])
        detail["psnr"] = {k: _capped(v) for k, v in psnr.items()}
    if ssim is None or ssim["all"] is None:
        quality.missing["ssim"] = "FFmpeg printed no SSIM summary"
    else:
        quality.ssim = round(ssim["all"], 6)
        detail["ssim"] = {k: (None if v is None or math.isinf(v) else round(v, 6)) for k, v in ssim.items()}
    if vmaf:
        score = parse_vmaf(outcome.stderr_tail)
        if score is None or math.isinf(score):
            quality.missing["vmaf"] = "libvmaf printed no score"
        else:
            quality.vmaf = round(score, 4)
    else:
        quality.missing["vmaf"] = NO_VMAF
    return quality


def per_joule(quality: Quality, frames_per_joule: float | None, fpj_reason: str | None) -> tuple[dict, dict]:
    """Quality-weighted frames per joule: ``score x frames / total_energy_j`` for SSIM and VMAF (docs/WIRE.md)."""
    metrics, missing = {}, {}
    for score_name, key in (("ssim", "ssim_frames_per_joule"), ("vmaf", "vmaf_frames_per_joule")):
        score = getattr(quality, score_name)
        if score is None:
            metrics[key] = None
            missing[key] = f"no {score_name.upper()}: {quality.missing.get(score_name, 'not measured')}"
        elif frames_per_joule is None:
            metrics[key] = None
            missing[key] = f"no frames_per_joule: {fpj_reason or 'not measured'}"
        else:
            metrics[key] = round(score * frames_per_joule, 6)
    return metrics, missing
