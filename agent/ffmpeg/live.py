"""Build the FFmpeg argv lists of live streaming jobs (docs/WIRE.md "Live, multi and density jobs"). Building only.

Pusher: the source in real time (``-re``), encoded the way a streamer does, as FLV over RTMP:

- a lavfi input is the synthetic video plus, when ``audio`` is true, a 1 kHz tone (``sine=frequency=1000``); a file
  input is looped (``-stream_loop -1``) and its first audio track is sent when it has one;
- CBR-style rate control: ``-b:v`` = ``-maxrate`` = bitrate, ``-bufsize`` twice the bitrate;
- a fixed GOP of ``gop`` seconds: ``-g`` = ``-keyint_min`` = gop x fps frames (x264 also ``-sc_threshold 0``, so a
  scene cut never inserts an extra keyframe); when the frame rate is unknown (a file input and no ``fps``),
  ``-force_key_frames`` every ``gop`` seconds instead;
- AAC 128 kbit/s, 48 kHz audio; ``-t duration`` ends the push.

The encoder, preset and pixel-format mapping is :mod:`agent.ffmpeg.command`'s, so a live job names encoders and
presets exactly like a transcode.

Receiver: reads one stream back and writes one ``framecrc`` line per video packet to stdout (``-map 0:v -c copy``:
nothing is decoded, so it costs little CPU). Counting those lines gives the frames received exactly, even when the
receiver has to be killed (FFmpeg writes no final ``-progress`` block when it is killed). It reads either from an
ingest (``-analyzeduration``/``-probesize`` small so it starts at once, ``-t`` so it stops) or as FFmpeg's own RTMP
listener (``-listen 1``), which is then the ingest too.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from agent.ffmpeg.command import (
    DEFAULT_RATE,
    PROGRESS_ARGS,
    encoder_family,
    filter_chain,
    lavfi_graph,
    pixel_format_args,
    prepared_input,
    preset_args,
    rate_value,
)
from wire.kinds.live import GOP_S

AUDIO_BITRATE = "128k"
"""Audio bitrate of a live stream (AAC)."""

AUDIO_RATE = 48000
"""Audio sample rate of a live stream (Hz); FLV carries 44.1 and 48 kHz AAC."""

TONE = f"sine=frequency=1000:sample_rate={AUDIO_RATE}"
"""The lavfi audio source sent with a synthetic video: a 1 kHz tone."""

RECEIVER_ANALYZE_US = 1_000_000
"""-analyzeduration of a receiver (microseconds): enough to see the FLV header and the first packets."""

RECEIVER_PROBESIZE = 65536
"""-probesize of a receiver (bytes)."""

_BITRATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmM]?)\s*$")


def bitrate_bps(bitrate: Any) -> int:
    """``"3000k"`` -> 3000000, ``"2.5M"`` -> 2500000, ``3000000`` -> 3000000; ValueError otherwise."""
    if isinstance(bitrate, bool):
        raise ValueError(f"bitrate must look like 3000k or 6M, got {bitrate!r}")
    if isinstance(bitrate, (int, float)):
        value = float(bitrate)
    else:
        match = _BITRATE.match(str(bitrate))
        if match is None:
            raise ValueError(f"bitrate must look like 3000k or 6M, got {bitrate!r}")
        value = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    if value <= 0 or not math.isfinite(value):
        raise ValueError(f"bitrate must be positive, got {bitrate!r}")
    return int(round(value))


def stream_rate(params: dict) -> Fraction | None:
    """The output frame rate: ``fps``, else a lavfi input's rate (default 30); None for a file without ``fps``."""
    if params.get("fps"):
        return rate_value(params["fps"])
    spec = params.get("input") or {}
    if spec.get("type") == "lavfi":
        return rate_value(spec.get("rate") or DEFAULT_RATE)
    if spec.get("type") == "prepared":
        return rate_value(spec.get("rate"))
    return None


def gop_frames(params: dict) -> int | None:
    """Frames per GOP (gop seconds x fps, at least 1); None when the frame rate is unknown."""
    rate = stream_rate(params)
    if rate is None:
        return None
    return max(1, round(float(params.get("gop") or GOP_S) * float(rate)))


def _inputs(params: dict) -> tuple[list[str], list[str], str | None, Fraction | None]:
    """(input flags, map flags, input size, input rate) of a real-time source."""
    spec = params.get("input") or {}
    kind = spec.get("type")
    audio = params.get("audio", True) is not False
    if kind == "lavfi":
        graph, size, rate = lavfi_graph(spec, params)
        inputs = ["-re", "-f", "lavfi", "-i", graph]
        maps = ["-map", "0:v:0"]
        if audio:
            inputs += ["-re", "-f", "lavfi", "-i", TONE]
            maps += ["-map", "1:a:0"]
        return inputs, maps, size, rate_value(rate)
    if kind == "prepared":  # agent.sources: the video and the tone rendered into one raw file, looped as long as -t
        inputs = ["-re", *prepared_input({**spec, "loop": True})]
        maps = ["-map", "0:v:0"] + (["-map", "0:a:0"] if audio and spec.get("audio") else [])
        return inputs, maps, spec.get("size"), rate_value(spec.get("rate"))
    if kind == "file":
        if not spec.get("path"):
            raise ValueError("a file input needs input.path")
        inputs = ["-re", "-stream_loop", "-1", "-i", str(spec["path"])]
        return inputs, ["-map", "0:v:0"] + (["-map", "0:a:0?"] if audio else []), None, None
    raise ValueError(f"input.type must be 'lavfi' or 'file', got {kind!r}")


def gop_args(encoder: str, params: dict) -> list[str]:
    """Keyframe flags for a fixed GOP of ``params.gop`` seconds (see the module docstring)."""
    frames = gop_frames(params)
    if frames is None:
        return ["-force_key_frames", f"expr:gte(t,n_forced*{float(params.get('gop') or GOP_S):g})"]
    args = ["-g", str(frames), "-keyint_min", str(frames)]
    if encoder_family(encoder) == "x264":
        args += ["-sc_threshold", "0"]
    return args


def live_argv(ffmpeg_path: str, params: dict, url: str, bitrate: Any = None) -> list[str]:
    """The pusher's argv: ``params`` (a live job's, docs/WIRE.md) streamed to ``url`` at ``bitrate`` (default
    ``params.bitrate``)."""
    encoder = params.get("encoder")
    if not encoder:
        raise ValueError("params.encoder is required")
    bitrate = params.get("bitrate") if bitrate is None else bitrate
    if bitrate is None:
        raise ValueError("a live stream needs a bitrate")
    bps = bitrate_bps(bitrate)
    duration = params.get("duration")
    if not isinstance(duration, (int, float)) or isinstance(duration, bool) or duration <= 0:
        raise ValueError(f"a live stream needs a positive duration, got {duration!r}")
    inputs, maps, in_size, in_rate = _inputs(params)
    argv = [str(ffmpeg_path), "-hide_banner", "-nostdin", "-loglevel", "warning", *inputs, "-t", f"{duration:g}"]
    argv += maps
    filters = filter_chain(encoder, params, in_size, in_rate)
    if filters:
        argv += ["-vf", ",".join(filters)]
    argv += ["-c:v", encoder, *pixel_format_args(encoder), *preset_args(encoder, params.get("preset"))]
    argv += ["-b:v", str(bps), "-maxrate", str(bps), "-bufsize", str(2 * bps), *gop_args(encoder, params)]
    if params.get("audio", True) is not False:
        argv += ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE)]
    # no_duration_filesize: the RTMP output cannot seek back to patch the FLV header (FFmpeg would warn at the end).
    return argv + ["-f", "flv", "-flvflags", "no_duration_filesize", *PROGRESS_ARGS, url]


def receiver_argv(ffmpeg_path: str, url: str, duration: float | None, listen: bool = False) -> list[str]:
    """A receiver of one stream at ``url``: pulls it from an ingest, or with ``listen`` is FFmpeg's own RTMP server
    for it; writes one framecrc line per video packet to stdout. ``duration`` bounds what it reads (``-t``)."""
    argv = [
        str(ffmpeg_path),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "warning",
        "-analyzeduration",
        str(RECEIVER_ANALYZE_US),
        "-probesize",
        str(RECEIVER_PROBESIZE),
    ]
    if listen:
        argv += ["-listen", "1"]
    argv += ["-i", url, "-map", "0:v", "-c", "copy"]
    if duration is not None:
        argv += ["-t", f"{duration:g}"]
    return argv + ["-f", "framecrc", "pipe:1"]


def is_frame_line(line: str) -> bool:
    """Whether a receiver's stdout line is one received video packet (framecrc lines start with the stream index)."""
    return line[:1].isdigit()
