"""The report's charts as inline SVG chart dicts (drawn by templates/charts.html; geometry in master/reports/svg.py).

No JavaScript and no bundle: a chart is a few kilobytes of shapes, each with a native tooltip (``<title>``). Missing
values stay missing: a variant without a joules-per-frame mean gets no bar, a sample without total watts is a gap,
and an estimated series is dashed and labelled "(est.)".
"""

from __future__ import annotations

import math
import statistics

from master.analysis.stats import summary
from master.reports.svg import WIDTH, Frame, color, extent, finite

GRID_POINTS = 80
"""Points of the common time grid a variant's power runs are resampled on (median and min-max band)."""

_ROW = 26
"""Height of one bar row, in viewBox units."""

_NUMBERS = (int, float)
_FINITE_LOW, _FINITE_HIGH = -math.inf, math.inf


def _short(label: str, size: int = 24) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def bar_chart(bars: list[dict], chart_id: str, title: str, unit: str) -> dict | None:
    """Horizontal bars, one row per {label, value, low, high, estimated, note}, CI whiskers from low to high; None
    when no bar has a value."""
    bars = [b for b in bars if finite(b.get("value"))]
    if not bars:
        return None
    span = extent([v for b in bars for v in (b["value"], b.get("low"), b.get("high"))], include_zero=True)
    frame = Frame(span, (0, len(bars)), height=12 + _ROW * len(bars) + 44, left=170, y_ticks=False)
    frame.y_lo, frame.y_hi = len(bars), 0
    rects, whiskers, labels = [], [], []
    for i, bar in enumerate(bars):
        y0, y1 = frame.y(i + 0.18), frame.y(i + 0.82)
        x0, x1 = sorted((frame.x(0), frame.x(bar["value"])))
        name = bar["label"] + (" (est.)" if bar.get("estimated") else "")
        tip = f"{name}: {bar['value']:.4g} {unit}" + (f" — {bar['note']}" if bar.get("note") else "")
        fill = color(1) if bar.get("estimated") else color(0)
        rects.append({"x": x0, "y": y0, "w": max(x1 - x0, 0.5), "h": round(y1 - y0, 1), "color": fill, "title": tip})
        if finite(bar.get("low")) and finite(bar.get("high")):
            whiskers.append({"x0": frame.x(bar["low"]), "x1": frame.x(bar["high"]), "y": frame.y(i + 0.5)})
        labels.append({"x": frame.left - 6, "y": frame.y(i + 0.5) + 4, "text": _short(name), "anchor": "end"})
    legend = [{"label": "measured", "color": color(0)}, {"label": "estimated (model)", "color": color(1), "dash": 1}]
    used = {bool(b.get("estimated")) for b in bars}
    return frame.chart(
        chart_id,
        title,
        unit,
        "",
        rects=rects,
        whiskers=whiskers,
        labels=labels,
        legend=[entry for entry, est in zip(legend, (False, True)) if est in used],
    )


def jpf_bar_chart(variants: list[dict], chart_id: str = "chart-jpf") -> dict | None:
    """Mean joules per frame per variant with its 95% CI as whiskers; None when no variant has a mean."""
    bars = []
    for v in variants:
        stat = v["stats"]["joules_per_frame"]
        note = f"n={stat['n']}, 95% CI " + _fmt_ci(stat)
        bars.append(
            {
                "label": v["variant"],
                "value": stat["mean"],
                "low": stat["ci95_low"],
                "high": stat["ci95_high"],
                "estimated": v["provenance"]["estimated"],
                "note": note,
            }
        )
    return bar_chart(bars, chart_id, "Joules per frame (mean; whiskers: 95% CI)", "J/frame")


def _fmt_ci(stat: dict) -> str:
    if stat["ci95_low"] is None or stat["ci95_high"] is None:
        return "— (needs 2 runs)" if stat["n"] < 2 else "— (too wide to represent)"
    return f"{stat['ci95_low']:.4g} – {stat['ci95_high']:.4g}"


def sample_points(samples) -> tuple[list[float], list[float | None]]:
    """(t, total watts) of a result's samples; a sample without a numeric ``t`` is left out, a total that is not a
    number is a gap (samples of results stored before validation may hold anything)."""
    x, y = [], []
    for sample in samples if isinstance(samples, list) else []:
        t = sample.get("t") if type(sample) is dict else None
        if type(t) in _NUMBERS and _FINITE_LOW < t < _FINITE_HIGH:
            watts = sample.get("total_watts")
            x.append(t)
            y.append(watts if type(watts) in _NUMBERS and _FINITE_LOW < watts < _FINITE_HIGH else None)
    return x, y


def resample(x: list[float], y: list[float | None], grid: list[float]) -> list[float | None]:
    """y linearly interpolated at each (rising) grid time; None outside [x first, x last] or next to a gap."""
    if any(b < a for a, b in zip(x, x[1:])):
        pairs = sorted(zip(x, y), key=lambda p: p[0])
        x, y = [p[0] for p in pairs], [p[1] for p in pairs]
    out: list[float | None] = []
    i, last = 0, len(x) - 1
    for t in grid:
        if t < x[0] or t > x[last]:
            out.append(None)
            continue
        while i < last and x[i + 1] <= t:
            i += 1
        if t == x[i] or i == last:
            out.append(y[i])
            continue
        y0, y1 = y[i], y[i + 1]
        out.append(None if y0 is None or y1 is None else y0 + (y1 - y0) * (t - x[i]) / (x[i + 1] - x[i]))
    return out


def run_curve(samples, grid: list[float]) -> list[float | None]:
    """A result's total watts at each (rising) grid time in one pass over its samples: what
    ``resample(*sample_points(samples), grid)`` gives, which it falls back to when the samples are out of order."""
    out: list[float | None] = [None] * len(grid)
    g, n, prev_t, prev_w = 0, len(grid), None, None
    for sample in samples if isinstance(samples, list) else []:
        t = sample.get("t") if type(sample) is dict else None
        if type(t) not in _NUMBERS or not _FINITE_LOW < t < _FINITE_HIGH:
            continue
        w = sample.get("total_watts")
        if type(w) not in _NUMBERS or not _FINITE_LOW < w < _FINITE_HIGH:
            w = None
        if prev_t is not None and t < prev_t:
            return resample(*sample_points(samples), grid)
        while g < n and grid[g] < t:
            if prev_t is not None and prev_w is not None and w is not None:
                out[g] = prev_w + (w - prev_w) * (grid[g] - prev_t) / (t - prev_t)
            g += 1
        while g < n and grid[g] == t:
            out[g] = w
            g += 1
        prev_t, prev_w = t, w
    return out


def _last_t(samples) -> float | None:
    """The ``t`` of a result's last sample with a numeric one (its end: samples come in time order; a run whose
    samples do not is resampled in sorted order up to that end)."""
    for sample in reversed(samples) if isinstance(samples, list) else ():
        t = sample.get("t") if type(sample) is dict else None
        if type(t) in _NUMBERS and _FINITE_LOW < t < _FINITE_HIGH:
            return t
    return None


def power_series(jobs: list[dict]) -> tuple[list[float], list[dict]]:
    """The common time grid and, per variant, the median of its runs' total watts with the min and max at each grid
    time (``runs``: how many runs had samples; ``estimated`` when any of them is estimated)."""
    runs_of: dict[str, list] = {}
    estimated: dict[str, bool] = {}
    end = None
    for job in jobs:
        result = job.get("result") or {}
        last = _last_t(result.get("samples"))
        if last is None:
            continue
        variant = job.get("variant") or job.get("name") or "?"
        runs_of.setdefault(variant, []).append(result["samples"])
        estimated[variant] = estimated.get(variant, False) or bool((result.get("provenance") or {}).get("estimated"))
        end = last if end is None else max(end, last)
    if not runs_of:
        return [], []
    grid = [end * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
    curves = {}
    for variant, runs in runs_of.items():
        resampled = [run_curve(samples, grid) for samples in runs]
        kept = [c for c in resampled if any(v is not None for v in c)]
        if kept:
            curves[variant] = kept
    series = []
    for variant, runs in curves.items():
        columns = list(zip(*runs))
        values = [[v for v in column if v is not None] for column in columns]
        series.append(
            {
                "variant": variant,
                "runs": len(runs),
                "estimated": estimated[variant],
                "median": [statistics.median(v) if v else None for v in values],
                "low": [min(v) if v else None for v in values],
                "high": [max(v) if v else None for v in values],
            }
        )
    return grid, series


def power_chart(scenario: str, jobs: list[dict], chart_id: str) -> dict | None:
    """Total watts over time, one line per variant (median of its runs on a common time grid) over a band from the
    lowest to the highest run; None when no job has samples."""
    grid, series = power_series(jobs)
    if not series:
        return None
    span = extent([v for s in series for v in s["low"] + s["high"]], include_zero=True)
    frame = Frame((0, grid[-1] or 1.0), span)
    lines, bands, legend = [], [], []
    for i, s in enumerate(series):
        name = s["variant"] + (" (est.)" if s["estimated"] else "")
        tip = f"{name}: median of {s['runs']} run(s), band min–max"
        lines.append({"d": frame.path(zip(grid, s["median"])), "color": color(i), "dash": s["estimated"], "title": tip})
        if s["runs"] > 1:
            for polygon in frame.band(zip(grid, s["low"], s["high"])):
                bands.append({"points": polygon, "color": color(i), "title": tip})
        legend.append({"label": f"{_short(name, 32)} ({s['runs']} runs)", "color": color(i), "dash": s["estimated"]})
    return frame.chart(
        chart_id,
        f"Power over time — {scenario} (median per variant, band: min–max of its runs)",
        "time since job start (s)",
        "total W",
        lines=lines,
        bands=bands,
        legend=legend,
    )


def density_levels(results: list[dict]) -> list[dict]:
    """A density variant's points over its runs: per stream count the mean of ``mean_watts`` and how many runs
    held it (``result["density"]["levels"]``, else its ``curve``); a level without watts is left out, never 0 W."""
    points: dict[int, dict] = {}
    for result in results:
        density = result.get("density") or {}
        for level in density.get("levels") or density.get("curve") or []:
            streams, watts = level.get("streams"), level.get("mean_watts", level.get("watts"))
            if not isinstance(streams, (int, float)) or not isinstance(watts, (int, float)):
                continue
            point = points.setdefault(streams, {"streams": streams, "watts": [], "held": 0, "runs": 0})
            point["watts"].append(watts)
            point["runs"] += 1
            point["held"] += bool(level.get("held"))
    return [
        {"streams": p["streams"], "mean_watts": summary(p["watts"]).mean, "held": p["held"], "runs": p["runs"]}
        for _, p in sorted(points.items())
    ]


def density_chart(groups: dict[str, list[dict]], chart_id: str = "chart-density") -> dict | None:
    """Streams vs watts, one line per density variant; a level every run held is a filled circle, one that a run
    failed (a stream fell below real time or dropped frames) an open mark; the most streams every run held (the
    real-time limit) is a dashed vertical line. None when no level has watts."""
    curves = {v: density_levels(results) for v, results in groups.items()}
    curves = {v: levels for v, levels in curves.items() if levels}
    if not curves:
        return None
    xs = [lv["streams"] for levels in curves.values() for lv in levels]
    frame = Frame(extent(xs, include_zero=True), extent([lv["mean_watts"] for c in curves.values() for lv in c], True))
    lines, marks, labels, legend = [], [], [], []
    for i, (variant, levels) in enumerate(curves.items()):
        estimated = any((r.get("provenance") or {}).get("estimated") for r in groups[variant])
        name = variant + (" (est.)" if estimated else "")
        lines.append({"d": frame.path((lv["streams"], lv["mean_watts"]) for lv in levels), "color": color(i)})
        lines[-1].update(dash=estimated, title=name)
        for lv in levels:
            held = lv["held"] == lv["runs"]
            tip = (
                f"{name}: {lv['streams']} streams, {lv['mean_watts']:.4g} W, held in {lv['held']} of {lv['runs']} runs"
            )
            marks.append({"x": frame.x(lv["streams"]), "y": frame.y(lv["mean_watts"]), "color": color(i)})
            marks[-1].update(open=not held, title=tip)
        limit = max((lv["streams"] for lv in levels if lv["held"] == lv["runs"]), default=None)
        if limit is not None:
            x = frame.x(limit)
            d = f"M{x},{frame.y(frame.y_lo)} L{x},{frame.y(frame.y_hi)}"
            lines.append({"d": d, "color": color(i), "dash": True, "title": f"{name}: real-time limit {limit} streams"})
            labels.append(
                {"x": x + 3, "y": frame.y(frame.y_hi) + 12 + 12 * i, "text": f"limit {limit}", "anchor": "start"}
            )
        legend.append({"label": _short(name, 32), "color": color(i), "dash": estimated})
    return frame.chart(
        chart_id,
        "Streams vs watts (● held real time, ○ failed; dashed vertical: real-time limit)",
        "concurrent streams",
        "mean W",
        lines=lines,
        marks=marks,
        labels=labels,
        legend=legend,
    )


def _label(x: float, y: float, text: str) -> dict:
    """A text label beside a point: to its right, or to its left in the right quarter so it stays inside."""
    if x > WIDTH * 0.7:
        return {"x": x - 6, "y": y, "text": text, "anchor": "end"}
    return {"x": x + 6, "y": y, "text": text, "anchor": "start"}


def pareto_chart(points: list[dict], frontier: list[int], quality: str, chart_id: str = "chart-pareto") -> dict | None:
    """Quality vs joules per frame, one point per variant ({label, x, y, estimated}); the Pareto frontier (indices
    into points, by rising x) is a line and its variants are named. None without points."""
    if not points:
        return None
    frame = Frame(extent([p["x"] for p in points], True), extent([p["y"] for p in points]))
    marks, labels = [], []
    for i, p in enumerate(points):
        name = p["label"] + (" (est.)" if p.get("estimated") else "")
        on = i in frontier
        tip = f"{name}: {p['x']:.4g} J/frame, {quality} {p['y']:.4g}" + (" — on the frontier" if on else "")
        marks.append({"x": frame.x(p["x"]), "y": frame.y(p["y"]), "color": color(0 if on else 7), "open": not on})
        marks[-1]["title"] = tip
        if on:
            labels.append(_label(frame.x(p["x"]), frame.y(p["y"]) - 8, _short(name)))
    line = frame.path((points[i]["x"], points[i]["y"]) for i in frontier)
    return frame.chart(
        chart_id,
        f"{quality} vs joules per frame (line: Pareto frontier — no variant is both cheaper and better)",
        "J / frame",
        quality,
        lines=[{"d": line, "color": color(0), "dash": False, "title": "Pareto frontier"}],
        marks=marks,
        labels=labels,
        legend=[{"label": "on the frontier", "color": color(0)}, {"label": "dominated", "color": color(7)}],
    )
