"""Plotly charts of a report, as HTML fragments without plotly.js (the page inlines the bundle once).

Figures are rendered with `include_plotlyjs=False` and fixed div ids, so the same run gives the same page. Missing
values stay missing: a variant without a joules-per-frame mean gets no bar, a sample without total watts is a gap.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import plotly.offline

from master.analysis.stats import summary

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
"""Plotly config of every chart: no plotly logo, charts follow the page width."""

_MEASURED_COLOR = "#2f6fb0"
_ESTIMATED_COLOR = "#d9822b"


def plotly_js() -> str:
    """The plotly.js bundle, to inline once in the page head."""
    return plotly.offline.get_plotlyjs()


def fragment(fig: go.Figure, div_id: str) -> str:
    """The figure as a <div> plus the script that draws it, relying on a plotly.js already on the page."""
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        config=PLOTLY_CONFIG,
        div_id=div_id,
        default_height="380px",
        default_width="100%",
    )


def _laid_out(fig: go.Figure, div_id: str, bottom: int, **layout) -> str | None:
    """The figure's fragment in the report's look (white template, margins for the axis titles, ``bottom`` pixels
    under the plot) with ``layout`` on top; None when the figure has no trace."""
    if not fig.data:
        return None
    fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": bottom}, **layout)
    return fragment(fig, div_id)


def jpf_bar_chart(variants: list[dict], div_id: str = "chart-jpf") -> str | None:
    """Bar chart of mean joules per frame per variant with 95% CI error bars; None when no variant has a mean."""
    fig = go.Figure()
    kinds = ((False, "measured", _MEASURED_COLOR), (True, "estimated (model)", _ESTIMATED_COLOR))
    for estimated, label, color in kinds:
        rows = [
            v
            for v in variants
            if v["provenance"]["estimated"] == estimated and v["stats"]["joules_per_frame"]["mean"] is not None
        ]
        if rows:
            fig.add_trace(_jpf_trace(rows, label, color))
    return _laid_out(
        fig,
        div_id,
        80,
        barmode="group",
        title="Joules per frame (mean, 95% CI error bars)",
        yaxis_title="J / frame",
        xaxis_title="variant",
        legend_title="energy",
        xaxis={"categoryorder": "array", "categoryarray": [v["variant"] for v in variants]},
    )


def _jpf_trace(rows: list[dict], label: str, color: str) -> go.Bar:
    """One bar trace: a bar per variant, CI half-width as the error bar (none for a single run)."""
    stats = [v["stats"]["joules_per_frame"] for v in rows]
    return go.Bar(
        name=label,
        x=[v["variant"] for v in rows],
        y=[s["mean"] for s in stats],
        marker_color=color,
        error_y={"type": "data", "array": [s["ci95_halfwidth"] for s in stats], "visible": True},
        customdata=[[s["n"], _fmt_ci(s)] for s in stats],
        hovertemplate="%{x}<br>%{y:.4g} J/frame<br>n=%{customdata[0]}<br>95% CI %{customdata[1]}<extra>"
        + label
        + "</extra>",
    )


def _fmt_ci(stat: dict) -> str:
    if stat["ci95_low"] is None or stat["ci95_high"] is None:
        return "— (needs 2 runs)" if stat["n"] < 2 else "— (too wide to represent)"
    return f"{stat['ci95_low']:.4g} – {stat['ci95_high']:.4g}"


def power_chart(scenario: str, jobs: list[dict], div_id: str) -> str | None:
    """Line chart of total watts over time, one trace per job of a scenario; None when no job has samples."""
    fig = go.Figure()
    for job in jobs:
        x, y = sample_points((job.get("result") or {}).get("samples"))
        if not x:
            continue
        estimated = bool(((job.get("result") or {}).get("provenance") or {}).get("estimated"))
        name = (job.get("name") or job.get("id") or "?") + (" (est.)" if estimated else "")
        fig.add_trace(
            go.Scatter(
                name=name,
                mode="lines",
                connectgaps=False,
                x=x,
                y=y,
                line={"dash": "dot" if estimated else "solid"},
                hovertemplate="t=%{x:.2f} s<br>%{y:.3g} W<extra>" + name + "</extra>",
            )
        )
    return _laid_out(
        fig,
        div_id,
        50,
        title=f"Power over time — {scenario}",
        xaxis_title="time since job start (s)",
        yaxis_title="total W",
    )


def sample_points(samples) -> tuple[list[float], list[float | None]]:
    """(t, total watts) of a result's samples; a sample without a numeric ``t`` is left out, a total that is not a
    number is a gap (samples of results stored before validation may hold anything)."""
    x, y = [], []
    for sample in samples if isinstance(samples, list) else []:
        t = sample.get("t") if isinstance(sample, dict) else None
        if _number(t):
            watts = sample.get("total_watts")
            x.append(t)
            y.append(watts if _number(watts) else None)
    return x, y


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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


def density_chart(groups: dict[str, list[dict]], div_id: str = "chart-density") -> str | None:
    """Streams vs watts, one line per density variant; a level every run held is a filled circle, one that a run
    failed (a stream fell below real time or dropped frames) an open cross. None when no level has watts."""
    fig = go.Figure()
    for variant, results in groups.items():
        levels = density_levels(results)
        if not levels:
            continue
        estimated = any((r.get("provenance") or {}).get("estimated") for r in results)
        name = variant + (" (est.)" if estimated else "")
        held = [lv["held"] == lv["runs"] for lv in levels]
        fig.add_trace(
            go.Scatter(
                name=name,
                mode="lines+markers",
                x=[lv["streams"] for lv in levels],
                y=[lv["mean_watts"] for lv in levels],
                line={"dash": "dot" if estimated else "solid"},
                marker={"symbol": ["circle" if h else "x-open" for h in held], "size": [9 if h else 12 for h in held]},
                customdata=[[lv["held"], lv["runs"], "held" if h else "failed"] for lv, h in zip(levels, held)],
                hovertemplate="%{x} streams<br>%{y:.4g} W<br>%{customdata[2]} (held in %{customdata[0]} of "
                "%{customdata[1]} runs)<extra>" + name + "</extra>",
            )
        )
    return _laid_out(
        fig,
        div_id,
        50,
        title="Streams vs watts (● held real time, ✕ failed)",
        xaxis_title="concurrent streams",
        yaxis_title="mean W",
        legend_title="variant",
    )
