"""The comparison of two runs as text cells (shared by the terminal table, the HTML page and the web UI) and as a
self-contained HTML page (templates/compare.html: inline CSS, no script, nothing fetched)."""

from __future__ import annotations

from markupsafe import Markup

from master.analysis.compare import fmt_p
from master.reports.html import environment

DASH = "—"


def num(value: float | None) -> str:
    """A figure with 4 significant digits; a missing one is a dash."""
    return DASH if value is None else f"{value:.4g}"


def mean_ci(stats: dict) -> str:
    """``mean ± 95% half-width (n=N)``; the half-width is left out with fewer than 2 runs."""
    if stats["mean"] is None:
        return f"{DASH} (n={stats['n']})"
    spread = f" ± {num(stats['ci95_halfwidth'])}" if stats["ci95_halfwidth"] is not None else ""
    return f"{num(stats['mean'])}{spread} (n={stats['n']})"


def diff_pct(diff: dict) -> str:
    """B - A as a signed percentage of A's mean: ``-12.3%``."""
    return DASH if diff["rel_diff"] is None else f"{diff['rel_diff'] * 100:+.1f}%"


def diff_ci(diff: dict) -> str:
    """The interval of B - A: ``[-0.14, -0.1]``."""
    if diff["ci_low"] is None:
        return DASH
    return f"[{num(diff['ci_low'])}, {num(diff['ci_high'])}]"


def verdict_text(row: dict) -> str:
    """The verdict, with the reason after it when it cannot tell, and "estimated" when energy is a model."""
    text = row["verdict"] + (f": {row['reason']}" if row["reason"] else "")
    if row["estimated"]:
        text += " (estimated energy)"
    if row["note"]:
        text += f" [{row['note']}]"
    return text


def metric_tables(result: dict) -> list[dict]:
    """One table per metric (in first-seen order): its label and a row of text cells per matched variant."""
    tables: dict[str, dict] = {}
    for pair in result["matched"]:
        for row in pair["metrics"]:
            table = tables.setdefault(row["metric"], {"metric": row["metric"], "label": row["label"], "rows": []})
            table["rows"].append(
                {
                    "variant": pair["label"],
                    "a": mean_ci(row["a"]),
                    "b": mean_ci(row["b"]),
                    "diff_pct": diff_pct(row["difference"]),
                    "diff_ci": diff_ci(row["difference"]),
                    "p": fmt_p(row["difference"]["p_value"]),
                    "verdict": row["verdict"],
                    "verdict_text": verdict_text(row),
                    "lower_is_better": row["lower_is_better"],
                }
            )
    return list(tables.values())


def environment_rows(result: dict) -> list[dict]:
    """FFmpeg, CPU and hosts of each side, and whether they differ."""
    labels = {"ffmpeg": "FFmpeg", "cpu": "CPU", "hosts": "Hosts"}
    return [
        {
            "label": labels[key],
            "a": ", ".join(env["a"]) or DASH,
            "b": ", ".join(env["b"]) or DASH,
            "differs": env["differs"],
        }
        for key, env in result["environment"].items()
    ]


def side_name(info: dict) -> str:
    """``name (id, created_at)`` of one side."""
    extra = ", ".join(str(v) for v in (info.get("id"), info.get("created_at")) if v)
    return f"{info.get('name') or info.get('id') or '?'}" + (f" ({extra})" if extra else "")


def _context(result: dict) -> dict:
    return {
        "result": result,
        "a_name": side_name(result["a"]),
        "b_name": side_name(result["b"]),
        "tables": metric_tables(result),
        "environment": environment_rows(result),
    }


def render_compare_html(result: dict) -> str:
    """The self-contained comparison page."""
    return environment().get_template("compare.html").render(**_context(result))


def render_compare_body(result: dict) -> Markup:
    """The comparison without its page (verdicts, environment, tables), for the web UI's page."""
    return Markup(environment().get_template("compare_body.html").render(**_context(result)))
