"""Prepared sources: a generated input is rendered once, outside the measured window, and the measured FFmpeg reads
the file, so the generator's CPU is not counted as the encode's energy.

Before the idle baseline, a job's lavfi input (a ``source`` such as testsrc2, or a ``content`` preset) is rendered
into ``<workdir>/sources/<key>.nut`` as raw video (``-c:v rawvideo -pix_fmt yuv420p``, NUT), with the 1 kHz tone as
PCM in the same file for live, multi and density jobs that send audio. ``key`` is the sha256 of a canonical JSON of
everything that makes the frames (graph, size, rate, duration, pixel format, audio, segment length, FFmpeg version):
a changed parameter makes a different file, the same ones reuse it. Files are written to a temporary name and
renamed, then a sidecar ``<key>.json`` records the file's sha256, size and SI/TI (:mod:`agent.ffmpeg.siti`). The
cache keeps at most :func:`cache_bytes` of files: the least recently used go first.

When the whole duration would exceed :func:`budget_bytes`, a shorter segment (whole frames) is rendered and the
measured FFmpeg loops it (``-stream_loop -1`` with ``-t duration``). Pushers (live kinds) always loop their file with
``-re``. ``input.render: inline`` keeps the generator inside the measured process; a ``file`` input is read as is.
Every result then carries a top-level ``source`` object and the ``si`` / ``ti`` metrics (:func:`attach`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.ffmpeg.argv import quiet_argv
from agent.ffmpeg.command import lavfi_graph, parse_size, rate_value
from agent.ffmpeg.live import AUDIO_RATE, TONE
from agent.ffmpeg.siti import measure_siti
from agent.process import run_process
from agent.scenarios.base import JobFailed, RunContext
from wire.content import DEFAULT_BUDGET_BYTES, SITI_MAX_S
from wire.kinds import KINDS


def is_live(kind: str | None) -> bool:
    """Whether ``kind``'s source is read in real time and looped, with the audio tone (wire.kinds ``live``)."""
    return kind in KINDS and KINDS[kind].live


SOURCE_KINDS = frozenset(name for name, kind in KINDS.items() if "input" in kind.fields)
"""Kinds whose input is prepared: every kind with an input (transcode, live, multi, density, ladder)."""

BUDGET_ENV = "FFWATT_SOURCE_BUDGET_BYTES"
"""Environment variable that overrides :data:`DEFAULT_BUDGET_BYTES`."""

DEFAULT_CACHE_BYTES = 4 * DEFAULT_BUDGET_BYTES
"""Most bytes of prepared files kept in the cache; the least recently used are deleted to make room for a new one."""

CACHE_ENV = "FFWATT_SOURCE_CACHE_BYTES"
"""Environment variable that overrides :data:`DEFAULT_CACHE_BYTES`."""

PIX_FMT = "yuv420p"
"""Pixel format of a prepared file."""

FORMAT = "rawvideo"
"""Video codec of a prepared file (in a NUT container)."""

RENDER_TIMEOUT_S = 1800.0
"""Seconds rendering one source (or its SI/TI) may take."""

SITI_INLINE_S = 2.0
"""Seconds of an inline generator that SI/TI is computed on (outside the window)."""

PREPARED_NOTE = "source: prepared raw file ({how}), read by the measured FFmpeg: the generator is not measured"
INLINE_NOTE = "source: inline lavfi: the generator's CPU is in the measurement"
FILE_NOTE = f"source: file input, read as is by the measured FFmpeg (SI/TI over at most its first {SITI_MAX_S:g} s)"


@dataclass
class Source:
    """A job's input as it will be fed: the params the scenario runs with, and the result's ``source`` object."""

    params: dict[str, Any]
    info: dict[str, Any]
    note: str


def budget_bytes() -> int:
    """The size budget of one prepared file: ``FFWATT_SOURCE_BUDGET_BYTES`` when set, else the default."""
    value = os.environ.get(BUDGET_ENV)
    return int(value) if value else DEFAULT_BUDGET_BYTES


def cache_bytes() -> int:
    """The cache's size limit: ``FFWATT_SOURCE_CACHE_BYTES`` when set, else the default."""
    value = os.environ.get(CACHE_ENV)
    return int(value) if value else DEFAULT_CACHE_BYTES


def evict(directory: Path, keep: Path, room: int, limit: int) -> list[Path]:
    """Delete the least recently used prepared files (and their sidecars) other than ``keep`` until the others plus
    ``room`` bytes fit in ``limit``; returns what was deleted. A file open elsewhere stays readable there (POSIX)."""
    others = []
    for path in directory.glob("*.nut"):
        try:
            if path != keep:
                others.append((path.stat().st_mtime, path.stat().st_size, path))
        except OSError:
            continue
    total, deleted = sum(size for _, size, _ in others) + room, []
    for _, size, path in sorted(others):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        path.with_suffix(".json").unlink(missing_ok=True)
        total -= size
        deleted.append(path)
    return deleted


def render_spec(params: dict[str, Any], kind: str, ffmpeg_version: str | None) -> dict[str, Any]:
    """Everything that makes a prepared file's bytes (its cache key hashes this); ValueError for a bad input."""
    spec = params.get("input") or {}
    graph, size, rate = lavfi_graph(spec, params)
    duration = params.get("duration")
    if not isinstance(duration, (int, float)) or isinstance(duration, bool) or duration <= 0:
        raise ValueError(f"a prepared source needs a positive duration, got {duration!r}")
    if rate_value(rate) is None or rate_value(rate) <= 0:
        raise ValueError(f"a prepared source needs a numeric rate, got {rate!r}")
    audio = is_live(kind) and params.get("audio", True) is not False
    return {
        "graph": graph,
        "size": size,
        "rate": str(rate),
        "duration": float(duration),
        "pix_fmt": PIX_FMT,
        "format": FORMAT,
        "audio": TONE if audio else None,
        "content": spec.get("content"),
        "ffmpeg": ffmpeg_version,
    }


def spec_key(spec: dict[str, Any]) -> str:
    """sha256 of the spec's canonical JSON."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def frame_bytes(spec: dict[str, Any]) -> float:
    """Bytes one frame of ``spec`` takes in a prepared file: raw yuv420p video plus its share of 16-bit mono PCM."""
    width, height = parse_size(spec["size"])
    return width * height * 3 // 2 + (AUDIO_RATE * 2 / float(rate_value(spec["rate"])) if spec["audio"] else 0)


def estimated_bytes(spec: dict[str, Any], frames: int) -> int:
    """Bytes of a prepared file of ``frames`` frames (container overhead aside)."""
    return int(frames * frame_bytes(spec))


def plan_frames(spec: dict[str, Any], budget: int) -> tuple[int, int | None]:
    """(frames of the whole duration, frames of the looped segment or None when the whole duration fits)."""
    total = math.ceil(spec["duration"] * float(rate_value(spec["rate"])) - 1e-9)
    if estimated_bytes(spec, total) <= budget:
        return total, None
    return total, max(1, int(budget // frame_bytes(spec)))


def render_argv(ffmpeg_path: str, spec: dict[str, Any], frames: int | None, output: str) -> list[str]:
    """Render ``spec`` (``frames`` frames when a segment, else its duration) to a raw NUT file at ``output``.

    ``-t`` is an input option on each generator, so video and audio end together (an output ``-frames:v`` would cut
    the audio short and every loop of the file would then drop frames); a segment's length is floored to the
    microsecond so that it holds exactly ``frames`` frames."""
    seconds = spec["duration"] if frames is None else math.floor(frames / float(rate_value(spec["rate"])) * 1e6) / 1e6
    limit = ["-t", f"{seconds:.6f}"]
    argv = [*quiet_argv(ffmpeg_path, "error"), *limit, "-f", "lavfi", "-i", spec["graph"]]
    if spec["audio"]:
        argv += [*limit, "-f", "lavfi", "-i", spec["audio"]]
    argv += ["-map", "0:v:0", "-c:v", FORMAT, "-pix_fmt", spec["pix_fmt"]]
    if spec["audio"]:
        argv += ["-map", "1:a:0", "-c:a", "pcm_s16le"]
    return argv + ["-f", "nut", "-y", output]


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically (temporary file + rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """A sidecar's content, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def siti_fields(summary: dict[str, float] | None, reason: str | None) -> dict[str, Any]:
    """The SI/TI part of the ``source`` object."""
    summary = summary or {}
    return {
        "si_mean": summary.get("si_mean"),
        "si_max": summary.get("si_max"),
        "ti_mean": summary.get("ti_mean"),
        "ti_max": summary.get("ti_max"),
        "siti_reason": None if summary else reason,
    }


def render(ctx: RunContext, spec: dict[str, Any], segment: int | None, path: Path) -> dict[str, Any]:
    """Render ``spec`` to ``path`` (temporary name + rename) and return its sidecar: sha256, bytes, SI/TI, time."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.nut")
    started = time.monotonic()
    try:
        outcome = run_process(
            render_argv(ctx.ffmpeg.path, spec, segment, str(tmp)), timeout_s=RENDER_TIMEOUT_S, cancel=ctx.cancel
        )
        if not outcome.ok:
            why = (
                "cancelled"
                if outcome.cancelled
                else "timed out"
                if outcome.timed_out
                else f"exit {outcome.returncode}: {(outcome.stderr_tail or ['no output'])[-1].strip()}"
            )
            raise JobFailed(f"preparing source failed ({why}): {spec['graph']}")
        render_s = time.monotonic() - started
        summary, reason = measure_siti(ctx.ffmpeg.path, ["-i", str(tmp)], SITI_MAX_S, RENDER_TIMEOUT_S, ctx.cancel)
        meta = {
            "spec": spec,
            "sha256": file_sha256(tmp),
            "bytes": tmp.stat().st_size,
            "format": FORMAT,
            "segment_frames": segment,
            "render_s": round(render_s, 4),
            **siti_fields(summary, reason),
        }
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    write_json(path.with_suffix(".json"), meta)
    return meta


def cached(path: Path) -> dict[str, Any] | None:
    """The sidecar of a complete prepared file at ``path``, or None."""
    meta = read_json(path.with_suffix(".json"))
    try:
        return meta if meta is not None and path.stat().st_size == meta.get("bytes") else None
    except OSError:
        return None


def prepared(ctx: RunContext, params: dict[str, Any], kind: str) -> Source:
    """Render (or reuse) the job's generated input and rewrite its params to read the file."""
    spec = render_spec(params, kind, ctx.ffmpeg.version)
    total, segment = plan_frames(spec, budget_bytes())
    spec["segment_frames"] = segment
    directory = Path(ctx.workdir) / "sources"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{spec_key(spec)}.nut"
    meta, render_s = cached(path), 0.0
    was_cached = meta is not None
    if was_cached:
        os.utime(path)  # most recently used: evicted last
    else:
        ctx.live.phase = "preparing source"
        evict(directory, path, estimated_bytes(spec, segment or total), cache_bytes())
        meta = render(ctx, spec, segment, path)
        render_s = meta["render_s"]
    loop = segment is not None or is_live(kind)
    rate = float(rate_value(spec["rate"]))
    segment_s = round((segment or total) / rate, 6)
    info = {
        "render": "prepared",
        "content": spec["content"],
        "graph": spec["graph"],
        "file": str(path),
        "sha256": meta["sha256"],
        "bytes": meta["bytes"],
        "format": FORMAT,
        "loop": loop,
        "segment_s": segment_s,
        "render_s": render_s,
        "cached": was_cached,
        **{k: meta.get(k) for k in ("si_mean", "si_max", "ti_mean", "ti_max")},
        "siti_reason": meta.get("siti_reason"),
    }
    how = "from the cache" if info["cached"] else f"rendered in {render_s:g} s before the idle baseline"
    if segment_s > SITI_MAX_S:
        how += f", SI/TI over its first {SITI_MAX_S:g} s"
    if segment is not None:
        how += f", a {segment_s:g} s segment looped to {spec['duration']:g} s (size budget {budget_bytes()} bytes)"
    new_input = {
        "type": "prepared",
        "path": str(path),
        "size": spec["size"],
        "rate": spec["rate"],
        "loop": segment is not None,
        "audio": spec["audio"] is not None,
    }
    return Source({**params, "input": new_input}, info, PREPARED_NOTE.format(how=how))


def inline(ctx: RunContext, params: dict[str, Any]) -> Source:
    """A generated input kept inside the measured process (``render: inline``); SI/TI over its first seconds."""
    spec = params.get("input") or {}
    graph, _, _ = lavfi_graph(spec, params)
    seconds = min(float(params.get("duration") or SITI_INLINE_S), SITI_INLINE_S)
    ctx.live.phase = "preparing source"
    summary, reason = measure_siti(ctx.ffmpeg.path, ["-f", "lavfi", "-i", graph], seconds, RENDER_TIMEOUT_S, ctx.cancel)
    info = {
        "render": "inline",
        "content": spec.get("content"),
        "graph": graph,
        "file": None,
        "sha256": None,
        "bytes": None,
        "format": None,
        "loop": False,
        "segment_s": None,
        "render_s": None,
        "cached": False,
        **siti_fields(summary, reason),
    }
    note = INLINE_NOTE + (f" (SI/TI over its first {seconds:g} s, computed outside the window)" if summary else "")
    return Source(params, info, note)


def from_file(ctx: RunContext, params: dict[str, Any], kind: str) -> Source:
    """A file input, read as is; its sha256 and SI/TI are cached by path, size, mtime and duration."""
    path = Path(str(params["input"]["path"])).resolve()
    stat = path.stat()
    duration = params.get("duration")
    key = spec_key({"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "duration": duration})
    sidecar = Path(ctx.workdir) / "sources" / f"file-{key}.json"
    meta = read_json(sidecar)
    if meta is None:
        ctx.live.phase = "preparing source"
        seconds = min(float(duration), SITI_MAX_S) if duration else SITI_MAX_S
        summary, reason = measure_siti(ctx.ffmpeg.path, ["-i", str(path)], seconds, RENDER_TIMEOUT_S, ctx.cancel)
        meta = {"sha256": file_sha256(path), **siti_fields(summary, reason)}
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        write_json(sidecar, meta)
    info = {
        "render": "file",
        "content": None,
        "graph": None,
        "file": str(path),
        "sha256": meta["sha256"],
        "bytes": stat.st_size,
        "format": None,
        "loop": is_live(kind),
        "segment_s": None,
        "render_s": None,
        "cached": False,
        **{k: meta.get(k) for k in ("si_mean", "si_max", "ti_mean", "ti_max", "siti_reason")},
    }
    return Source(params, info, FILE_NOTE)


def prepare_source(job: dict[str, Any], ctx: RunContext) -> Source | None:
    """How the job's input will be fed (see the module docstring); None for kinds without an input, or an input the
    scenario will refuse anyway (its own error then explains it, and nothing is rendered for it)."""
    params = job["params"]
    kind = job.get("kind") or params.get("kind")
    spec = params.get("input")
    if kind not in SOURCE_KINDS or not isinstance(spec, dict):
        return None
    if params.get("encoder") and not ctx.encoder_check(params["encoder"]).get("usable"):
        return None
    if spec.get("type") == "file":
        try:
            return from_file(ctx, params, kind)
        except OSError:  # a missing or unreadable file: the scenario fails with FFmpeg's own reason
            return None
    if spec.get("type") != "lavfi" or not _usable(spec, params):
        return None
    if spec.get("render") == "inline":
        return inline(ctx, params)
    try:
        return prepared(ctx, params, kind)
    except ValueError as exc:  # e.g. a rate FFmpeg names ("ntsc"): generated in the measured process, and said so
        source = inline(ctx, params)
        source.note += f"; not prepared: {exc}"
        return source


def _usable(spec: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether the scenario would accept this generated input (a known source or preset, a size, a duration)."""
    try:
        lavfi_graph(spec, params)
    except ValueError:
        return False
    duration = params.get("duration")
    return isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration > 0


def attach(result: dict[str, Any], source: Source) -> None:
    """Add the ``source`` object, the ``si``/``ti`` metrics, the provenance note and ``quality.same_source``."""
    result["source"] = source.info
    metrics, missing = result.get("metrics"), result.get("missing")
    if isinstance(metrics, dict) and isinstance(missing, dict):
        for name in ("si", "ti"):
            metrics[name] = source.info[f"{name}_mean"]
            if metrics[name] is None:
                missing[name] = source.info["siti_reason"] or "SI/TI not computed"
    provenance = result.get("provenance")
    if isinstance(provenance, dict):
        provenance["notes"] = [*provenance.get("notes", []), source.note]
    if isinstance(result.get("quality"), dict):
        result["quality"]["same_source"] = source.info["render"] in ("prepared", "file")
