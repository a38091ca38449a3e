"""``baseline``: ``duration`` seconds of idle power, no FFmpeg, no encoder requirement."""

from __future__ import annotations

from typing import Any

from wire.kinds.base import POSITIVE, Kind, PlanModel


def plan(params: dict[str, Any], model: PlanModel) -> dict[str, float]:
    """Idle wall time: ``duration`` seconds, no encoder."""
    return {"idle baselines": float(params.get("duration") or 0)}


KIND = Kind(
    name="baseline",
    fields={"duration": POSITIVE},
    required=("duration",),
    requirements=(),
    common=("repetitions", "sample_rate", "timeout"),
    plan=plan,
)
"""An idle measurement as its own scenario: ``duration`` seconds of power with no job running."""
