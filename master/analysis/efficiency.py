"""Energy efficiency across variants: the ranking by frames per joule and the quality/energy Pareto frontier.

Pure functions over the variant summaries of master.analysis.summarize; a variant without a value is left out of a
ranking's order (listed last) and of the frontier, never treated as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

QUALITY_METRICS = (("vmaf", "VMAF"), ("ssim", "SSIM"), ("psnr_db", "PSNR (dB)"))
"""Quality metrics in order of preference for the quality/energy chart: VMAF, else SSIM, else PSNR."""

QUALITY_PER_JOULE = (
    ("vmaf_frames_per_joule", "VMAF-weighted frames / J"),
    ("ssim_frames_per_joule", "SSIM frames / J"),
)
"""Quality-per-joule metrics of the ranking, in order of preference, when measured."""


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def pareto(points: Sequence[tuple[float | None, float | None]]) -> list[int]:
    """Indices of the points (cost, quality) that no other point dominates (no more cost and no less quality, one of
    them strictly better), ordered by rising cost; points with a missing or non-finite coordinate are left out."""
    valid = [(i, x, y) for i, (x, y) in enumerate(points) if _number(x) and _number(y)]
    valid.sort(key=lambda p: (p[1], -p[2]))
    frontier, best_y, best_x = [], -math.inf, None
    for i, x, y in valid:
        if y > best_y:
            frontier.append(i)
            best_y, best_x = y, x
        elif y == best_y and x == best_x:
            frontier.append(i)  # an identical point: neither dominates the other
    return frontier


def _mean(variant: dict, name: str) -> float | None:
    stat = (variant.get("stats") or {}).get(name) or {}
    return stat.get("mean") if _number(stat.get("mean")) else None


def quality_metric(variants: list[dict]) -> tuple[str, str] | None:
    """(metric, label) of the preferred quality metric that at least two variants with joules per frame report."""
    for name, label in QUALITY_METRICS:
        if sum(1 for v in variants if _mean(v, name) is not None and _mean(v, "joules_per_frame") is not None) >= 2:
            return name, label
    return None


def quality_points(variants: list[dict]) -> tuple[list[dict], list[int], str] | None:
    """The quality/energy scatter: points {label, x: J/frame, y: quality, estimated}, the frontier's indices and the
    quality label; None when fewer than two variants have both."""
    chosen = quality_metric(variants)
    if chosen is None:
        return None
    name, label = chosen
    points = [
        {
            "label": v["variant"],
            "x": _mean(v, "joules_per_frame"),
            "y": _mean(v, name),
            "estimated": bool((v.get("provenance") or {}).get("estimated")),
        }
        for v in variants
        if _mean(v, "joules_per_frame") is not None and _mean(v, name) is not None
    ]
    return points, pareto([(p["x"], p["y"]) for p in points]), label


def ranking(variants: list[dict]) -> tuple[list[dict], tuple[str, str] | None]:
    """Variants with frames per joule, best first (those without a value last, in their order), and the
    quality-per-joule metric (name, label) some of them report, if any."""
    rated = [v for v in variants if _mean(v, "frames_per_joule") is not None]
    rated.sort(key=lambda v: -_mean(v, "frames_per_joule"))
    unrated = [v for v in variants if _mean(v, "frames_per_joule") is None]
    per_joule = next((q for q in QUALITY_PER_JOULE if any(_mean(v, q[0]) is not None for v in variants)), None)
    return rated + unrated, per_joule
