"""The run context: everything the agent learns about its host before it takes a job (FFmpeg, power sources,
inventory), built once at start."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from agent.ffmpeg.locate import find_ffmpeg
from agent.inventory import collect_inventory, probe_encoders
from agent.power.detect import detect_sources
from agent.scenarios.base import RunContext


def build_context(
    state_dir: Path, *, powercap: str | None = None, tdp_watts: float | None = None, input_dirs: tuple[Path, ...] = ()
) -> tuple[RunContext, dict[str, Any]]:
    """Find FFmpeg and the power sources, collect the inventory; returns the run context and the inventory.

    Jobs may read file inputs in ``input_dirs`` and ``state_dir`` only."""
    state_dir = Path(state_dir).resolve()  # absolute: FFmpeg passes (quality) run in their own working directories
    workdir = state_dir / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    ffmpeg = find_ffmpeg()
    detection = detect_sources(powercap_root=powercap, tdp_watts=tdp_watts)
    power = [s.describe() for s in detection.sources]
    inventory = collect_inventory(ffmpeg, power, detection.notes, state_dir)
    lock = threading.Lock()

    def encoder_check(encoder: str) -> dict[str, Any]:
        with lock:
            return probe_encoders(ffmpeg, [encoder], state_dir).get(
                encoder, {"usable": False, "reason": "not listed by this FFmpeg's -encoders"}
            )

    ctx = RunContext(
        ffmpeg=ffmpeg,
        sources=detection.sources,
        power_notes=detection.notes,
        workdir=workdir,
        encoder_check=encoder_check,
        input_dirs=(*map(Path, input_dirs), state_dir),
    )
    return ctx, inventory
