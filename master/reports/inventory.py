"""The host inventory table of a node, tolerant of missing or differently shaped inventory keys.

An agent reports its hardware as a dict: `agent.inventory.collect_inventory` writes flat keys (cpu_model, cpu_cores,
cpu_threads, memory_bytes, gpus, kernel, os, ffmpeg, ffwatt, encoders, power_sources, power_notes, notes, missing);
a nested form (cpu: {model, cores, threads}, ram_bytes) is read too. A row without a value shows "—" with the reason
as a tooltip: the inventory's own `missing` reason where it gives one.
"""

from __future__ import annotations

from typing import Any

DASH = "—"
NOT_REPORTED = "not in this host's inventory"


def pick(data: dict, *paths: str) -> Any:
    """The first value present (not None) at one of the dotted paths, e.g. "cpu.model", else None."""
    for path in paths:
        value: Any = data
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def row(label: str, value: Any, reason: str = NOT_REPORTED) -> dict:
    """A labelled inventory row; a missing (None or empty) value keeps its reason."""
    if value is None or value == "" or value == []:
        return {"label": label, "text": DASH, "missing": True, "title": reason}
    return {"label": label, "text": str(value), "missing": False, "title": None}


def node_view(node: dict) -> dict:
    """Hostname, id and the inventory rows of one node."""
    inv = node.get("inventory") or {}
    missing = inv.get("missing") if isinstance(inv.get("missing"), dict) else {}

    def why(*keys: str, default: str = NOT_REPORTED) -> str:
        return next((str(missing[k]) for k in keys if missing.get(k)), default)

    return {
        "hostname": node.get("hostname") or inv.get("hostname") or node.get("id") or "?",
        "id": node.get("id"),
        "rows": [
            row("CPU", _cpu_model(inv), why("cpu_model")),
            row("Cores / threads", _cores_threads(inv), why("cpu_cores", "cpu_threads")),
            row("RAM", _ram(inv), why("memory_bytes", "ram_bytes")),
            row("GPUs", _gpus(inv), why("gpus", default="no GPU reported" if "gpus" in inv else NOT_REPORTED)),
            row("Kernel", pick(inv, "kernel", "os.kernel"), why("kernel")),
            row("OS", _os(inv), why("os")),
            row("FFmpeg", _ffmpeg(inv), why("ffmpeg")),
            row("ffwatt", inv.get("ffwatt"), why("ffwatt")),
            row("Usable encoders", _encoders(inv, usable=True), why("encoders", default="none usable")),
            row("Unusable encoders", _encoders(inv, usable=False), why("encoders", default="none reported")),
            row("Power sources", _power_sources(inv), why("power_sources")),
            row("Power notes", _join(inv.get("power_notes")), "none"),
            row("Notes", _join(inv.get("notes")), "none"),
        ],
    }


def _join(items) -> str:
    return "; ".join(str(i) for i in items or [])


def _cpu_model(inv: dict) -> str | None:
    cpu = inv.get("cpu")
    return cpu if isinstance(cpu, str) else pick(inv, "cpu_model", "cpu.model", "cpu.model_name")


def _cores_threads(inv: dict) -> str | None:
    cores = pick(inv, "cpu_cores", "cpu.cores", "cores")
    threads = pick(inv, "cpu_threads", "cpu.threads", "threads")
    sockets = pick(inv, "cpu_sockets", "cpu.sockets", "sockets")
    if cores is None and threads is None:
        return None
    text = f"{cores if cores is not None else DASH} / {threads if threads is not None else DASH}"
    return f"{text} ({sockets} socket{'s' if sockets != 1 else ''})" if sockets is not None else text


def _ram(inv: dict) -> str | None:
    ram = pick(inv, "memory_bytes", "ram_bytes", "memory.total_bytes", "ram.total_bytes")
    if not isinstance(ram, (int, float)) or isinstance(ram, bool):
        return None
    return f"{ram / 2**30:.1f} GiB"


def _gpus(inv: dict) -> str | None:
    names = []
    for gpu in inv.get("gpus") or []:
        if isinstance(gpu, dict):
            name = gpu.get("name") or gpu.get("model") or "GPU"
            memory = gpu.get("memory_bytes")
            names.append(f"{name} ({memory / 2**30:.0f} GiB)" if isinstance(memory, (int, float)) else name)
        else:
            names.append(str(gpu))
    return ", ".join(names) or None


def _os(inv: dict) -> str | None:
    value = inv.get("os")
    return value if isinstance(value, str) else pick(inv, "os.pretty_name", "os.name")


def _ffmpeg(inv: dict) -> str | None:
    ff = inv.get("ffmpeg")
    if isinstance(ff, str):
        return ff
    if not isinstance(ff, dict) or not any(ff.get(k) for k in ("version", "source", "path")):
        return None
    parts = [ff.get("version") or "version unknown"]
    details = ", ".join(str(ff[k]) for k in ("source", "path") if ff.get(k))
    return f"{parts[0]} ({details})" if details else parts[0]


def _encoders(inv: dict, usable: bool) -> str | None:
    encoders = inv.get("encoders")
    if isinstance(encoders, list):
        return ", ".join(str(e) for e in encoders) if usable else None
    if not isinstance(encoders, dict):
        return None
    chosen = []
    for name, info in encoders.items():
        info = info if isinstance(info, dict) else {"usable": bool(info)}
        if bool(info.get("usable")) == usable:
            chosen.append(name if usable or not info.get("reason") else f"{name} ({info['reason']})")
    return ", ".join(chosen) or None


def _power_sources(inv: dict) -> str | None:
    """Source names, marked when unavailable or a model (measured: false), with their reasons."""
    texts = []
    for source in inv.get("power_sources") or []:
        if not isinstance(source, dict):
            texts.append(str(source))
            continue
        tags = []
        if source.get("available") is False or source.get("usable") is False:
            tags.append("unavailable")
        elif source.get("measured") is False or source.get("kind") == "estimate":
            tags.append("estimate")
        if source.get("reason"):
            tags.append(str(source["reason"]))
        name = source.get("name") or source.get("kind") or "?"
        texts.append(f"{name} ({': '.join(tags)})" if tags else name)
    return ", ".join(texts) or None
