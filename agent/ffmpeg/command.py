"""Build FFmpeg argv lists from a job's params (docs/WIRE.md). Building only: nothing here runs a process.

Presets. A campaign may name an x264-style preset (ultrafast ... placebo) for any encoder; each family maps it to its
own knob, and also takes its native form:

============  =====================================================================================================
x264, x265    ``-preset NAME`` (ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo)
libsvtav1     ``-preset N`` (-1..13, higher is faster); names map to 13 12 11 10 8 6 4 2 1 0 (ultrafast ... placebo)
libaom-av1    ``-cpu-used N`` (0..8); names map to 8 7 6 5 4 3 2 1 0 0
libvpx-vp9    ``-deadline D -cpu-used N``; names map to realtime 8/7/6/5, good 4/3/2/1/0, best 0; native forms:
              an integer (good, that cpu-used), ``"realtime"``/``"good"``/``"best"``, or ``"good:3"``
NVENC         ``-preset p1..p7`` (p1 fastest); names map to p1 p2 p3 p3 p4 p4 p5 p6 p7 p7; ``1``..``7`` also accepted
QSV           ``-preset veryfast..veryslow``; ultrafast and superfast map to veryfast, placebo to veryslow
VAAPI         no preset: the preset is not applied (the argv in the result shows it)
============  =====================================================================================================

Rate control: exactly one of ``bitrate`` (``-b:v``) and ``crf``. CRF means ``-crf`` for x264/x265/svtav1, ``-crf`` with
``-b:v 0`` (constant quality) for libaom and libvpx-vp9, ``-cq`` with ``-b:v 0`` for NVENC, ``-global_quality`` for QSV
and ``-rc_mode CQP -qp`` for VAAPI.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from wire.content import CONTENT_PRESETS, DEFAULT_RATE, DEFAULT_SIZE, content_graph
from wire.encoders import ENCODERS, QSV_PRESETS, X264_PRESETS

LAVFI_SOURCES = {
    "testsrc": True,
    "testsrc2": True,
    "smptebars": True,
    "smptehdbars": True,
    "pal75bars": True,
    "pal100bars": True,
    "rgbtestsrc": True,
    "yuvtestsrc": True,
    "color": True,
    "gradients": True,
    "mandelbrot": False,
    "life": False,
    "cellauto": False,
    "sierpinski": False,
}
"""lavfi video sources that take ``size`` and ``rate``; True when they also take ``duration`` (else only -t ends
them)."""

VAAPI_DEVICE = "/dev/dri/renderD128"
"""DRM render node VAAPI encoders upload frames to."""

PROBE_FRAMES = 5
"""Frames a probe encode feeds an encoder."""

PROBE_SIZE_SOFTWARE = "64x64"
"""Probe frame size for software encoders (64x64 is SVT-AV1's minimum)."""

PROBE_SIZE_HARDWARE = "256x144"
"""Probe frame size for hardware encoders (NVENC refuses frames narrower than 145 pixels on some GPUs)."""

_SVTAV1 = dict(zip(X264_PRESETS, (13, 12, 11, 10, 8, 6, 4, 2, 1, 0)))
_AOM = dict(zip(X264_PRESETS, (8, 7, 6, 5, 4, 3, 2, 1, 0, 0)))
_VP9 = dict(
    zip(
        X264_PRESETS,
        (
            ("realtime", 8),
            ("realtime", 7),
            ("realtime", 6),
            ("realtime", 5),
            ("good", 4),
            ("good", 3),
            ("good", 2),
            ("good", 1),
            ("good", 0),
            ("best", 0),
        ),
    )
)
_NVENC = dict(zip(X264_PRESETS, ("p1", "p2", "p3", "p3", "p4", "p4", "p5", "p6", "p7", "p7")))
_SIZE = re.compile(r"^(\d+)x(\d+)$")


def encoder_family(encoder: str) -> str:
    """ "x264", "x265", "svtav1", "aom", "vp9", "nvenc", "qsv", "vaapi" or "other"."""
    fixed = {"libx264": "x264", "libx265": "x265", "libsvtav1": "svtav1", "libaom-av1": "aom", "libvpx-vp9": "vp9"}
    if encoder in fixed:
        return fixed[encoder]
    for suffix in ("nvenc", "qsv", "vaapi"):
        if encoder.endswith("_" + suffix):
            return suffix
    return "other"


def is_hardware(encoder: str) -> bool:
    """True for encoders that need a device (NVENC, QSV, VAAPI, AMF, V4L2, Vulkan...)."""
    return encoder_family(encoder) in ("nvenc", "qsv", "vaapi") or encoder.endswith(("_amf", "_v4l2m2m", "_vulkan"))


def output_suffix(encoder: str) -> str:
    """Container suffix for the encoder's codec: ".mp4" for H.264/HEVC/AV1, ".webm" for VP9/VP8, else ".mkv"."""
    if encoder in ("libx264", "libx265", "libsvtav1", "libaom-av1", "librav1e", "libopenh264"):
        return ".mp4"
    if encoder.startswith(("h264_", "hevc_", "av1_")):
        return ".mp4"
    if encoder in ("libvpx-vp9", "libvpx") or encoder.startswith(("vp9_", "vp8_")):
        return ".webm"
    return ".mkv"


def parse_size(size: str) -> tuple[int, int]:
    """ "1280x720" -> (1280, 720); ValueError otherwise."""
    match = _SIZE.match(str(size).strip())
    if match is None:
        raise ValueError(f"size must look like 1280x720, got {size!r}")
    return int(match.group(1)), int(match.group(2))


def rate_value(rate: Any) -> Fraction | None:
    """A frame rate as a number: 30, "29.97", "30000/1001" -> Fraction; FFmpeg names ("ntsc") -> None."""
    try:
        return Fraction(str(rate).strip())
    except (ValueError, ZeroDivisionError):
        return None


def _named(preset: Any, table: dict, family: str):
    if isinstance(preset, str) and preset in table:
        return table[preset]
    raise ValueError(f"unknown {family} preset {preset!r}; use one of {', '.join(X264_PRESETS)} or a native value")


def _int_preset(preset: Any, table: dict, family: str, low: int, high: int) -> int:
    if isinstance(preset, str) and preset in table:
        return table[preset]
    try:
        value = int(preset)
    except (TypeError, ValueError):
        return _named(preset, table, family)
    if not low <= value <= high:
        raise ValueError(f"{family} preset {value} is outside {low}..{high}")
    return value


def _vp9_preset(preset: Any) -> list[str]:
    if isinstance(preset, str) and preset in _VP9:
        deadline, cpu = _VP9[preset]
    elif isinstance(preset, str) and preset.split(":")[0] in ("realtime", "good", "best"):
        deadline, _, cpu_text = preset.partition(":")
        cpu = int(cpu_text) if cpu_text else None
    else:
        deadline, cpu = "good", _int_preset(preset, _VP9, "libvpx-vp9", *ENCODERS["libvpx-vp9"].preset_range)
    return ["-deadline", deadline] + ([] if cpu is None else ["-cpu-used", str(cpu)])


def _nvenc_preset(preset: Any) -> str:
    text = str(preset).strip().lower()
    if re.fullmatch(r"p?[1-7]", text):
        return "p" + text.lstrip("p")
    return _named(preset, _NVENC, "NVENC")


def _qsv_preset(preset: Any) -> str:
    if preset in QSV_PRESETS:
        return preset
    if preset in ("ultrafast", "superfast"):
        return "veryfast"
    if preset == "placebo":
        return "veryslow"
    raise ValueError(f"unknown QSV preset {preset!r}; use one of {', '.join(QSV_PRESETS)}")


def preset_args(encoder: str, preset: Any) -> list[str]:
    """The flags that set ``preset`` on ``encoder`` (see the module docstring); [] when preset is None."""
    if preset is None or preset == "":
        return []
    family = encoder_family(encoder)
    if family in ("x264", "x265"):
        return ["-preset", _named(preset, {p: p for p in X264_PRESETS}, family)]
    if family == "svtav1":
        return ["-preset", str(_int_preset(preset, _SVTAV1, "libsvtav1", -1, 13))]
    if family == "aom":
        return ["-cpu-used", str(_int_preset(preset, _AOM, "libaom-av1", *ENCODERS["libaom-av1"].preset_range))]
    if family == "vp9":
        return _vp9_preset(preset)
    if family == "nvenc":
        return ["-preset", _nvenc_preset(preset)]
    if family == "qsv":
        return ["-preset", _qsv_preset(preset)]
    if family == "vaapi":
        return []
    return ["-preset", str(preset)]


def rate_args(encoder: str, bitrate: Any, crf: Any) -> list[str]:
    """Rate-control flags; exactly one of ``bitrate`` ("3000k", 3000000) and ``crf`` (a number) must be set."""
    if (bitrate is None) == (crf is None):
        raise ValueError("exactly one of bitrate and crf must be set")
    family = encoder_family(encoder)
    if bitrate is not None:
        return ["-b:v", str(bitrate)]
    quality = f"{float(crf):g}"
    if family in ("aom", "vp9"):
        return ["-crf", quality, "-b:v", "0"]
    if family == "nvenc":
        return ["-cq", quality, "-b:v", "0"]
    if family == "qsv":
        return ["-global_quality", quality]
    if family == "vaapi":
        return ["-rc_mode", "CQP", "-qp", quality]
    return ["-crf", quality]


def lavfi_source(spec: dict, params: dict) -> tuple[str, str, Any]:
    """(source, size, rate) of a generated input: the input's own size and rate, else the job's output ones, else the
    defaults; an unknown source or a bad size is a ValueError. A ``content`` preset's source is its name."""
    if spec.get("content") is not None:
        if spec.get("source") is not None:
            raise ValueError("input.content and input.source are mutually exclusive")
        source = spec["content"]
        if source not in CONTENT_PRESETS:
            raise ValueError(f"unknown content preset {source!r}; use one of {', '.join(CONTENT_PRESETS)}")
    else:
        source = spec.get("source") or "testsrc2"
        if source not in LAVFI_SOURCES:
            raise ValueError(f"unknown lavfi source {source!r}; use one of {', '.join(sorted(LAVFI_SOURCES))}")
    size = spec.get("size") or params.get("resolution") or DEFAULT_SIZE
    rate = spec.get("rate") or params.get("fps") or DEFAULT_RATE
    parse_size(size)
    return source, size, rate


def lavfi_graph(spec: dict, params: dict) -> tuple[str, str, Any]:
    """(graph, size, rate) of a generated input, without a duration: ``testsrc2=size=..:rate=..`` or a content
    preset's graph (:data:`wire.content.CONTENT_GRAPHS`)."""
    source, size, rate = lavfi_source(spec, params)
    if spec.get("content") is not None:
        return content_graph(source, size, rate), size, rate
    return f"{source}=size={size}:rate={rate}", size, rate


def _lavfi_input(spec: dict, params: dict) -> tuple[list[str], str, Fraction | None]:
    graph, size, rate = lavfi_graph(spec, params)
    duration = params.get("duration")
    if duration is None:
        raise ValueError("a lavfi input needs params.duration, or it never ends")
    if spec.get("content") is None and LAVFI_SOURCES[lavfi_source(spec, params)[0]]:
        graph += f":duration={duration:g}" if isinstance(duration, float) else f":duration={duration}"
    return ["-f", "lavfi", "-i", graph], size, rate_value(rate)


def prepared_input(spec: dict) -> list[str]:
    """Input flags of a prepared source (:mod:`agent.sources`): the raw file, looped when it is a shorter segment."""
    if not spec.get("path"):
        raise ValueError("a prepared input needs input.path")
    return (["-stream_loop", "-1"] if spec.get("loop") else []) + ["-i", str(spec["path"])]


def input_args(params: dict) -> tuple[list[str], str | None, Fraction | None]:
    """Input flags, plus the input's size and rate when known (generated or prepared input) so no-op filters are
    skipped. ``type: prepared`` is the agent's own rewrite of a generated input (:mod:`agent.sources`)."""
    spec = params.get("input") or {}
    kind = spec.get("type")
    if kind == "lavfi":
        return _lavfi_input(spec, params)
    if kind == "prepared":
        return prepared_input(spec), spec.get("size"), rate_value(spec.get("rate"))
    if kind == "file":
        if not spec.get("path"):
            raise ValueError("a file input needs input.path")
        return ["-i", str(spec["path"])], None, None
    raise ValueError(f"input.type must be 'lavfi' or 'file', got {kind!r}")


def filter_chain(encoder: str, params: dict, in_size: str | None, in_rate: Fraction | None) -> list[str]:
    """``-vf`` filters: scale and fps when the job asks for a size or rate the input does not already have."""
    filters = []
    resolution, fps = params.get("resolution"), params.get("fps")
    if resolution and resolution != in_size:
        width, height = parse_size(resolution)
        filters.append(f"scale={width}:{height}")
    if fps and (in_rate is None or rate_value(fps) != in_rate):
        filters.append(f"fps={fps}")
    if encoder_family(encoder) == "vaapi":
        filters += ["format=nv12", "hwupload"]
    return filters


def pixel_format_args(encoder: str) -> list[str]:
    """Pin 4:2:0 for the known families, so an RGB source (testsrc) does not silently become a 4:4:4 encode.

    VAAPI gets nv12 from its filter chain; other encoders keep FFmpeg's own choice."""
    family = encoder_family(encoder)
    if family == "qsv":
        return ["-pix_fmt", "nv12"]
    if family in ("x264", "x265", "svtav1", "aom", "vp9", "nvenc"):
        return ["-pix_fmt", "yuv420p"]
    return []


def _device_args(encoder: str) -> list[str]:
    return ["-vaapi_device", VAAPI_DEVICE] if encoder_family(encoder) == "vaapi" else []


PROGRESS_ARGS = ["-progress", "pipe:1", "-nostats"]
"""Machine-readable progress on stdout, and no human stats line on stderr."""


def transcode_argv(ffmpeg_path: str, params: dict, output_path: str) -> list[str]:
    """The full argv of a transcode job (``params`` as in docs/WIRE.md) writing ``output_path``."""
    encoder = params.get("encoder")
    if not encoder:
        raise ValueError("params.encoder is required")
    inputs, in_size, in_rate = input_args(params)
    argv = [str(ffmpeg_path), "-hide_banner", "-nostdin", "-loglevel", "warning", *_device_args(encoder), *inputs]
    if params.get("duration") is not None:
        argv += ["-t", str(params["duration"])]
    argv += ["-map", "0:v:0", "-an"]
    filters = filter_chain(encoder, params, in_size, in_rate)
    if filters:
        argv += ["-vf", ",".join(filters)]
    argv += ["-c:v", encoder, *pixel_format_args(encoder), *preset_args(encoder, params.get("preset"))]
    argv += rate_args(encoder, params.get("bitrate"), params.get("crf"))
    return argv + [*PROGRESS_ARGS, "-y", str(output_path)]


def probe_argv(ffmpeg_path: str, encoder: str, frames: int = PROBE_FRAMES) -> list[str]:
    """A tiny encode that tells whether ``encoder`` really works here: a few generated frames to the null muxer."""
    size = PROBE_SIZE_HARDWARE if is_hardware(encoder) else PROBE_SIZE_SOFTWARE
    argv = [str(ffmpeg_path), "-hide_banner", "-nostdin", "-loglevel", "warning", *_device_args(encoder)]
    argv += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={DEFAULT_RATE}", "-frames:v", str(frames), "-an"]
    filters = filter_chain(encoder, {}, size, None)
    if filters:
        argv += ["-vf", ",".join(filters)]
    argv += ["-c:v", encoder, *pixel_format_args(encoder)]
    return argv + [*PROGRESS_ARGS, "-f", "null", "-"]
