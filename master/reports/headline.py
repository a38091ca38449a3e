"""The report's opening answer in words: per kind of work, the most efficient variant against the runner-up.

Encoding kinds (transcode, ladder) compare joules per frame (lower is better), live kinds watts per stream, density
the most streams held in real time (higher is better, with its watts per stream). The difference is tested with
Welch's t-test on the per-run values (master.analysis.stats.welch) and said plainly: significant with its p-value,
not significant, or too few runs to tell. Energy from the CPU-time model is called "estimated".
"""

from __future__ import annotations

from dataclasses import dataclass

from master.analysis.stats import welch
from master.analysis.summarize import metric, ok_result
from master.reports.cells import fmt

SIGNIFICANCE = 0.05
"""p-value under which a difference is called significant."""


@dataclass(frozen=True)
class Question:
    """What a kind is ranked by: the metric, its unit, whether lower is better and the verb of the sentence."""

    metric: str
    unit: str
    lower_better: bool
    verb: str


ENERGY = Question("joules_per_frame", "J/frame", True, "costs")
LIVE = Question("watts_per_stream", "W/stream", True, "draws")
DENSITY = Question("max_streams", "streams in real time", False, "holds")

QUESTIONS = {"transcode": ENERGY, "ladder": ENERGY, "live": LIVE, "multi": LIVE, "density": DENSITY}
"""The question asked of each kind; kinds not listed (baseline) get no headline."""

_QUALITY = (("vmaf", "VMAF", " points"), ("psnr_db", "PSNR", " dB"), ("ssim", "SSIM", ""))


def _mean(variant: dict, name: str) -> float | None:
    return ((variant.get("stats") or {}).get(name) or {}).get("mean")


def run_values(jobs: list[dict], variant: str, name: str) -> list[float | None]:
    """The per-run values of a metric over the successful jobs of a variant."""
    return [metric(r, name) for j in jobs if j.get("variant") == variant and (r := ok_result(j)) is not None]


def headlines(run: dict, summary: dict) -> list[dict]:
    """One headline per kind that has a ranked variant: {kind, text, significant, estimated, best}."""
    jobs = run.get("jobs") or []
    out = []
    for kind, question in QUESTIONS.items():
        ranked = [v for v in summary["variants"] if v.get("kind") == kind and _mean(v, question.metric) is not None]
        if not ranked:
            continue
        ranked.sort(key=lambda v: _mean(v, question.metric), reverse=not question.lower_better)
        best = ranked[0]
        other = ranked[1] if len(ranked) > 1 else None
        values = run_values(jobs, best["variant"], question.metric)
        other_values = run_values(jobs, other["variant"], question.metric) if other else []
        out.append({"kind": kind, **sentence(question, best, other, values, other_values)})
    return out


def sentence(question: Question, best: dict, other: dict | None, values: list, other_values: list) -> dict:
    """The headline of ``best`` against ``other`` (None: the only variant of its kind) from their summaries and
    per-run values: {text, significant (True, False or None when it cannot be told), estimated, best}."""
    value = _mean(best, question.metric)
    parts = [f"{best['variant']} {question.verb} {fmt(value, 3)} {question.unit}"]
    if question is DENSITY and value == 0:
        parts = [f"{best['variant']} held no stream in real time"]
    if question is DENSITY and _mean(best, "watts_per_stream") is not None:
        parts[0] += f" at {fmt(_mean(best, 'watts_per_stream'), 3)} W/stream"
    estimated = bool(best["provenance"]["estimated"] or (other and other["provenance"]["estimated"]))
    significant = None
    if other is None:
        parts.append("the only variant of its kind, nothing to compare")
    else:
        diff = welch(other_values, values)
        parts[0] += ", " + _versus(question, diff.rel_diff, diff.diff, other["variant"])
        quality = _quality(best, other)
        if quality:
            parts[0] += f", at {quality}"
        significant, verdict = _verdict(diff)
        parts.append(verdict)
    parts.append("estimated energy" if estimated else "measured energy")
    return {"text": "; ".join(parts) + ".", "significant": significant, "estimated": estimated, "best": best["variant"]}


def _versus(question: Question, rel: float | None, diff: float | None, other: str) -> str:
    if question is DENSITY:
        more = round(diff or 0)
        return f"{abs(more)} {'more' if more >= 0 else 'fewer'} than {other}" if more else f"as many as {other}"
    if rel is None:
        return f"vs {other}"
    if round(rel * 100) == 0:
        return f"about the same as {other}"
    return f"{abs(rel) * 100:.0f}% {'less' if rel < 0 else 'more'} than {other}"


def _quality(best: dict, other: dict) -> str | None:
    """How the best variant's quality compares with the other's, on the first quality metric both report."""
    for name, label, unit in _QUALITY:
        a, b = _mean(best, name), _mean(other, name)
        if a is not None and b is not None:
            delta = a - b
            if fmt(abs(delta), 2) == "0" or abs(delta) < (0.0005 if name == "ssim" else 0.05):
                return f"the same {label}"
            return f"{fmt(abs(delta), 2)}{unit} {'lower' if delta < 0 else 'higher'} {label}"
    return None


def _verdict(diff) -> tuple[bool | None, str]:
    if diff.p_value is None:
        if min(diff.n_a, diff.n_b) < 2:
            return None, f"too few runs to tell ({diff.n_b} and {diff.n_a}; needs 2 or more each)"
        return None, f"cannot tell: {diff.why}"
    if diff.p_value < SIGNIFICANCE:
        return True, f"difference significant, {_p(diff.p_value)}"
    return False, f"not significant, {_p(diff.p_value)}"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"
