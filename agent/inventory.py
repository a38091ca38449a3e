"""What this host is: CPU, memory, GPUs, OS, FFmpeg and the encoders that really work on it.

The agent sends this when it registers, and every result can point back to it. A value that cannot be read is None
with a reason under ``missing``, never 0. Encoders are judged by a real probe encode (a few frames), because
``ffmpeg -encoders`` lists encoders whose hardware or driver is absent; probe results are cached on disk per FFmpeg
binary (path + version) so an agent restart does not re-encode.

Power sources are described by the caller (``agent.power`` owns them) and copied in as plain data.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import socket
from collections.abc import Iterable
from pathlib import Path

import psutil

from agent.ffmpeg.command import probe_argv
from agent.ffmpeg.locate import FFmpegBinary, capture_stdout
from agent.ffmpeg.runner import run_ffmpeg
from agent.ffmpeg.verify import verify_output
from agent.version import installed_version
from wire.encoders import ENCODERS

log = logging.getLogger(__name__)

KNOWN_ENCODERS = list(ENCODERS)
"""Video encoders ffwatt knows how to drive; each one ``ffmpeg -encoders`` lists is probed."""

PROBE_TIMEOUT_S = 30.0
"""Seconds one probe encode may take before the encoder counts as unusable (that result is not cached)."""

QUERY_TIMEOUT_S = 15.0
"""Seconds ``ffmpeg -encoders`` and ``nvidia-smi -L`` may take."""

PROBE_CACHE_FILE = "encoder-probes.json"
"""File in the cache directory holding probe results, keyed by FFmpeg path and version."""

NOT_BUILT = "not built into this ffmpeg"
"""Probe reason for a known encoder that ``ffmpeg -encoders`` does not list."""

_ENCODER_LINE = re.compile(r"^\s*V[A-Z.]{5}\s+(\S+)\s")
_NVIDIA_SMI_LINE = re.compile(r"^GPU (\d+): (.+?)(?: \(UUID: ([^)]+)\))?$")


# ---- FFmpeg encoders ------------------------------------------------------------------------------------------------


def parse_encoders(text: str) -> list[str]:
    """Video encoder names from ``ffmpeg -encoders`` output (lines after the ``------`` legend)."""
    _, _, table = text.partition("------")
    return [m.group(1) for m in map(_ENCODER_LINE.match, table.splitlines()) if m]


def list_encoders(ffmpeg: FFmpegBinary) -> list[str] | None:
    """Video encoders the binary was built with; None when ``-encoders`` fails."""
    code, text, _ = capture_stdout([ffmpeg.path, "-hide_banner", "-encoders"], QUERY_TIMEOUT_S)
    return parse_encoders(text) if code == 0 else None


def probe_encoder(ffmpeg: FFmpegBinary, encoder: str, timeout_s: float = PROBE_TIMEOUT_S) -> dict:
    """Encode a few frames with ``encoder``: ``{"usable": bool, "reason": str | None}`` (plus ``"timed_out"``)."""
    run = run_ffmpeg(probe_argv(ffmpeg.path, encoder), timeout_s=timeout_s)
    reason = verify_output(None, run)
    return {"usable": reason is None, "reason": reason, "timed_out": run.outcome.timed_out}


def _cache_key(ffmpeg: FFmpegBinary) -> str:
    return f"{ffmpeg.path}|{ffmpeg.version}"


def _load_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def probe_encoders(
    ffmpeg: FFmpegBinary,
    encoders: Iterable[str],
    cache_dir: str | os.PathLike | None,
    timeout_s: float = PROBE_TIMEOUT_S,
    refresh: bool = False,
) -> dict[str, dict]:
    """``{encoder: {"usable": bool, "reason": str | None}}`` for each encoder, probing only what the cache lacks.

    The cache (``cache_dir/encoder-probes.json``) is keyed by FFmpeg path + version; ``refresh`` ignores what it holds
    (e.g. after a GPU driver was installed). A probe that timed out is reported but not cached.
    """
    cache_path = Path(cache_dir) / PROBE_CACHE_FILE if cache_dir is not None else None
    data = _load_cache(cache_path) if cache_path is not None else {}
    known = {} if refresh else dict(data.get(_cache_key(ffmpeg), {}))
    results, changed = {}, False
    for encoder in encoders:
        if encoder not in known:
            probed = probe_encoder(ffmpeg, encoder, timeout_s)
            if not probed.pop("timed_out"):
                known[encoder], changed = probed, True
            results[encoder] = probed
        else:
            results[encoder] = {"usable": bool(known[encoder]["usable"]), "reason": known[encoder].get("reason")}
    if cache_path is not None and changed:
        data[_cache_key(ffmpeg)] = known
        try:
            _save_cache(cache_path, data)
        except OSError as exc:
            log.warning("cannot write the encoder probe cache %s: %s", cache_path, exc)
    return results


def encoder_inventory(ffmpeg: FFmpegBinary, cache_dir, timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, dict]:
    """Every :data:`KNOWN_ENCODERS` entry: probed when the binary lists it, else unusable with :data:`NOT_BUILT`."""
    listed = list_encoders(ffmpeg)
    if listed is None:
        return {e: {"usable": False, "reason": "'ffmpeg -encoders' failed"} for e in KNOWN_ENCODERS}
    present = [e for e in KNOWN_ENCODERS if e in listed]
    probed = probe_encoders(ffmpeg, present, cache_dir, timeout_s)
    return {e: probed.get(e, {"usable": False, "reason": NOT_BUILT}) for e in KNOWN_ENCODERS}


# ---- CPU, memory, GPUs, OS ------------------------------------------------------------------------------------------


def parse_cpuinfo(text: str) -> dict:
    """``{"model", "sockets", "cores", "threads"}`` from /proc/cpuinfo text; None where it does not say."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    records = [dict((k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in b.splitlines())) for b in blocks]
    processors = [r for r in records if "processor" in r]
    models = [r.get("model name") or r.get("Model") or r.get("cpu model") for r in processors]
    model = next((m for m in models if m), None) or next((r.get("Model") for r in records if r.get("Model")), None)
    sockets = {r["physical id"] for r in processors if "physical id" in r}
    cores = {(r["physical id"], r["core id"]) for r in processors if "physical id" in r and "core id" in r}
    return {
        "model": model,
        "sockets": len(sockets) or None,
        "cores": len(cores) or None,
        "threads": len(processors) or None,
    }


def cpu_info(cpuinfo_path: str = "/proc/cpuinfo") -> dict:
    """CPU model and topology: /proc/cpuinfo first, psutil where it is silent."""
    try:
        info = parse_cpuinfo(Path(cpuinfo_path).read_text(errors="replace"))
    except OSError:
        info = {"model": None, "sockets": None, "cores": None, "threads": None}
    info["model"] = info["model"] or platform.processor() or None
    info["cores"] = info["cores"] or psutil.cpu_count(logical=False)
    info["threads"] = info["threads"] or psutil.cpu_count(logical=True)
    return info


def parse_nvidia_smi(text: str) -> list[dict]:
    """``nvidia-smi -L`` lines ("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)") -> [{"index", "name", "uuid"}]."""
    gpus = []
    for line in text.splitlines():
        match = _NVIDIA_SMI_LINE.match(line.strip())
        if match:
            gpus.append({"index": int(match.group(1)), "name": match.group(2), "uuid": match.group(3)})
    return gpus


def _nvml_gpus() -> tuple[list[dict], str | None]:
    try:
        import pynvml
    except ImportError:
        return [], "pynvml is not installed"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError subclasses per cause; any of them means "no GPU here"
        return [], f"NVML: {exc}"
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = _text(pynvml.nvmlDeviceGetName(handle))
            gpus.append({"index": index, "name": name, "uuid": _nvml_uuid(pynvml, handle)})
        return gpus, None
    except Exception as exc:  # noqa: BLE001
        return [], f"NVML: {exc}"
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - nothing left to release
            pass


def _nvml_uuid(pynvml, handle) -> str | None:
    try:
        return _text(pynvml.nvmlDeviceGetUUID(handle))
    except Exception:  # noqa: BLE001 - an unreadable UUID leaves the GPU listed, without it
        return None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def gpu_info(path_env: str | None = None) -> tuple[list[dict], str | None]:
    """NVIDIA GPUs via ``nvidia-smi -L`` when it is on PATH, else via NVML; ([], why) when there are none."""
    smi = shutil.which("nvidia-smi", path=path_env if path_env is not None else os.environ.get("PATH", ""))
    if smi is not None:
        code, text, tail = capture_stdout([smi, "-L"], QUERY_TIMEOUT_S)
        if code == 0:
            return parse_nvidia_smi(text), None
        smi_note = f"nvidia-smi -L failed ({tail[-1] if tail else f'exit {code}'})"
    else:
        smi_note = "no nvidia-smi on PATH"
    gpus, nvml_note = _nvml_gpus()
    return gpus, None if gpus else f"{smi_note}; {nvml_note}"


def os_name(os_release: str = "/etc/os-release") -> str:
    """PRETTY_NAME from os-release, else platform's description."""
    try:
        for line in Path(os_release).read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


# ---- the whole inventory --------------------------------------------------------------------------------------------


def _ffmpeg_part(ffmpeg: FFmpegBinary | None, cache_dir, probe: bool, missing: dict) -> tuple[dict | None, dict]:
    if ffmpeg is None:
        missing["ffmpeg"] = "no usable FFmpeg found"
        return None, {e: {"usable": False, "reason": "no ffmpeg"} for e in KNOWN_ENCODERS}
    if not probe:
        missing["encoders"] = "encoder probes were not run"
        return ffmpeg.as_dict(), {}
    return ffmpeg.as_dict(), encoder_inventory(ffmpeg, cache_dir)


CPU_SYSFS = "/sys/devices/system/cpu"
"""Where the kernel shows the CPU frequency governor, intel_pstate's turbo switch and SMT control."""


def _read_sys(path: Path) -> tuple[str | None, str | None]:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip(), None
    except OSError as exc:
        return None, f"{path} not readable ({exc.strerror or exc.__class__.__name__})"


def cpu_power_facts(root: str | os.PathLike = CPU_SYSFS) -> tuple[dict, dict[str, str]]:
    """``({"cpu_governor", "turbo", "smt"}, missing)``: facts that make power vary (a governor other than
    ``performance``, turbo on, SMT on); each is None with a reason when the host does not show it (containers, VMs)."""
    root = Path(root)
    facts, missing = {}, {}
    governor, why = _read_sys(root / "cpu0" / "cpufreq" / "scaling_governor")
    facts["cpu_governor"] = governor or None
    if why:
        missing["cpu_governor"] = why
    no_turbo, why = _read_sys(root / "intel_pstate" / "no_turbo")
    facts["turbo"] = {"0": True, "1": False}.get(no_turbo or "")
    if facts["turbo"] is None:
        missing["turbo"] = why or f"intel_pstate/no_turbo reads {no_turbo!r}, not 0 or 1"
    smt, why = _read_sys(root / "smt" / "control")
    facts["smt"] = {"on": True, "off": False, "forceoff": False, "notsupported": False}.get(smt or "")
    if facts["smt"] is None:
        missing["smt"] = why or f"smt/control reads {smt!r}"
    return facts, missing


def collect_inventory(
    ffmpeg: FFmpegBinary | None,
    power_sources: list[dict] | None = None,
    power_notes: list[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    probe: bool = True,
) -> dict:
    """This host as plain JSON-able data (see the module docstring); ``cache_dir`` holds the encoder probe cache."""
    missing: dict[str, str] = {}
    cpu = cpu_info()
    for key in ("model", "sockets", "cores", "threads"):
        if cpu[key] is None:
            missing[f"cpu_{key}"] = "not in /proc/cpuinfo and not known to psutil"
    gpus, gpu_note = gpu_info()
    ffmpeg_data, encoders = _ffmpeg_part(ffmpeg, cache_dir, probe, missing)
    version, version_reason = installed_version()
    if version_reason:
        missing["ffwatt"] = version_reason
    power_facts, facts_missing = cpu_power_facts()
    missing.update(facts_missing)
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu["model"],
        "cpu_sockets": cpu["sockets"],
        "cpu_cores": cpu["cores"],
        "cpu_threads": cpu["threads"],
        "memory_bytes": psutil.virtual_memory().total,
        "gpus": gpus,
        "kernel": platform.release(),
        "os": os_name(),
        "python": platform.python_version(),
        "ffwatt": version,
        "ffmpeg": ffmpeg_data,
        "encoders": encoders,
        "power_sources": list(power_sources or []),
        "power_notes": list(power_notes or []),
        **power_facts,
        "notes": [gpu_note] if gpu_note else [],
        "missing": missing,
    }
