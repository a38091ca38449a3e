"""Compare two campaign runs (run A, run B: each a run dict as results.json holds it, see master/reports/writer.py).

Variants are matched by their parameters (kind, input, encoder, preset, bitrate or crf, resolution, fps, duration...:
``summarize.PARAM_KEYS``), never by name; a variant without a twin on the other side is listed as unmatched. For each
matched variant and headline metric the difference B - A is tested with Welch's t-test over the per-run values of the
succeeded results (:func:`master.analysis.stats.welch`), and given a verdict at ``alpha``: better, worse, no
significant change, or cannot tell (with the reason, e.g. fewer than 2 runs on a side).

Estimated energy is never compared with measured energy as if they were alike: a variant estimated on one side and
measured on the other (or mixed) raises :class:`EstimatedVsMeasured`, unless ``allow_estimated``, and then each of
its rows says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from master.analysis.stats import summary, welch
from master.analysis.summarize import group_by_variant, job_kind, metric, ok_result, shared_params
from master.reports.inventory import pick

ALPHA = 0.05
"""Default significance level of the verdicts (and 1 - ALPHA is the level of the difference's interval)."""

ENCODING_METRICS = ("joules_per_frame", "dynamic_joules_per_frame", "mean_watts", "fps", "psnr_db", "ssim", "vmaf")
"""Headline metrics of the encoding kinds (quality ones only when a side measured them)."""

LIVE_METRICS = ("watts_per_stream", "dynamic_watts_per_stream", "mean_watts")
"""Headline metrics of the live kinds (streams at once: per stream watts)."""

LIVE_KINDS = ("live", "multi", "density")
"""Kinds whose headline is watts per stream."""

LOWER_IS_BETTER = {
    "joules_per_frame": True,
    "dynamic_joules_per_frame": True,
    "mean_watts": True,
    "watts_per_stream": True,
    "dynamic_watts_per_stream": True,
    "fps": False,
    "psnr_db": False,
    "ssim": False,
    "vmaf": False,
}
"""Whether a smaller value is an improvement: energy and watts yes; speed and quality no."""

ENERGY_METRICS = ("joules_per_frame", "dynamic_joules_per_frame", "mean_watts", "watts_per_stream")
"""Metrics that come from the energy source (measured or estimated)."""

LABELS = {
    "joules_per_frame": "J/frame",
    "dynamic_joules_per_frame": "dynamic J/frame",
    "mean_watts": "mean W",
    "fps": "fps",
    "psnr_db": "PSNR dB",
    "ssim": "SSIM",
    "vmaf": "VMAF",
    "watts_per_stream": "W/stream",
    "dynamic_watts_per_stream": "dynamic W/stream",
}
"""Short unit label of each metric, for headlines and table titles."""

OPTIONAL_METRICS = ("psnr_db", "ssim", "vmaf", "dynamic_watts_per_stream")
"""Metrics compared only when at least one side has a value."""


class EstimatedVsMeasured(ValueError):
    """Comparing estimated energy with measured energy was refused; ``variants`` names each such variant."""

    def __init__(self, variants: list[str]):
        self.variants = variants
        super().__init__(
            "refusing to compare estimated energy with measured energy for "
            + ", ".join(variants)
            + " (pass allow_estimated / --allow-estimated to compare them anyway, labelled)"
        )


def compare_runs(run_a: dict, run_b: dict, alpha: float = ALPHA, allow_estimated: bool = False) -> dict:
    """The comparison of B against A: environment, matched variants with per-metric tests, unmatched variants,
    and one headline sentence per matched variant."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    side_a, side_b = variants_of(run_a), variants_of(run_b)
    pairs, unmatched_a, unmatched_b = match(side_a, side_b)
    mixed = [pair_label(a, b) for a, b in pairs if energy_note(a, b)]
    if mixed and not allow_estimated:
        raise EstimatedVsMeasured(mixed)
    matched = [compare_variant(a, b, alpha) for a, b in pairs]
    return {
        "alpha": alpha,
        "a": run_info(run_a),
        "b": run_info(run_b),
        "environment": environment(run_a, run_b),
        "matched": matched,
        "unmatched_a": [{"variant": v["variant"], "params": v["params"]} for v in unmatched_a],
        "unmatched_b": [{"variant": v["variant"], "params": v["params"]} for v in unmatched_b],
        "headlines": [headline(m, alpha) for m in matched],
    }


def variants_of(run: dict) -> list[dict]:
    """The run's variants (baselines left out): name, kind, shared params, match key, succeeded results."""
    found = []
    for jobs in group_by_variant(run.get("jobs") or []):
        kind = job_kind(jobs[0])
        if kind == "baseline":
            continue
        params = {"kind": kind, **shared_params(jobs)}
        found.append(
            {
                "variant": jobs[0].get("variant") or jobs[0].get("name") or jobs[0].get("id") or "?",
                "kind": kind,
                "params": params,
                "key": json.dumps(params, sort_keys=True, default=str),
                "results": [r for r in (ok_result(j) for j in jobs) if r is not None],
            }
        )
    return found


def match(side_a: list[dict], side_b: list[dict]) -> tuple[list[tuple[dict, dict]], list[dict], list[dict]]:
    """Pairs of variants with the same parameters (in A's order), then A's and B's variants left without a twin."""
    remaining = list(side_b)
    pairs, alone_a = [], []
    for variant in side_a:
        twin = next((b for b in remaining if b["key"] == variant["key"]), None)
        if twin is None:
            alone_a.append(variant)
        else:
            remaining.remove(twin)
            pairs.append((variant, twin))
    return pairs, alone_a, remaining


def pair_label(a: dict, b: dict) -> str:
    """A's variant name, and B's after a slash when it is named differently."""
    return a["variant"] if a["variant"] == b["variant"] else f"{a['variant']} / {b['variant']}"


def energy_basis(results: Iterable[dict]) -> str:
    """``measured``, ``estimated``, ``mixed`` (some of each) or ``none`` (no succeeded result)."""
    flags = [bool((r.get("provenance") or {}).get("estimated")) for r in results]
    if not flags:
        return "none"
    if all(flags):
        return "estimated"
    return "measured" if not any(flags) else "mixed"


def energy_note(a: dict, b: dict) -> str | None:
    """Why the pair's energy figures are not alike (estimated on one side, measured on the other, or mixed), or
    None when both sides share one basis (a side without results has none to compare)."""
    basis_a, basis_b = energy_basis(a["results"]), energy_basis(b["results"])
    if "none" in (basis_a, basis_b):
        return None
    if basis_a == basis_b and basis_a != "mixed":
        return None
    return f"energy {basis_a} in A, {basis_b} in B: estimated and measured energy are not alike"


def metrics_for(kind: str | None) -> tuple[str, ...]:
    """The headline metrics of a kind."""
    return LIVE_METRICS if kind in LIVE_KINDS else ENCODING_METRICS


def compare_variant(a: dict, b: dict, alpha: float) -> dict:
    """One matched pair: its label, params, energy basis per side and one row per headline metric."""
    note = energy_note(a, b)
    basis = {"a": energy_basis(a["results"]), "b": energy_basis(b["results"])}
    rows = []
    for name in metrics_for(a["kind"]):
        values_a = [metric(r, name) for r in a["results"]]
        values_b = [metric(r, name) for r in b["results"]]
        if name in OPTIONAL_METRICS and not summary(values_a).n and not summary(values_b).n:
            continue
        row = metric_row(name, values_a, values_b, alpha)
        row["estimated"] = name in ENERGY_METRICS and "estimated" in (basis["a"], basis["b"])
        row["note"] = note
        rows.append(row)
    return {
        "label": pair_label(a, b),
        "variant_a": a["variant"],
        "variant_b": b["variant"],
        "kind": a["kind"],
        "params": a["params"],
        "energy": basis,
        "note": note,
        "metrics": rows,
    }


def metric_row(name: str, values_a: list, values_b: list, alpha: float) -> dict:
    """Summaries of each side, Welch's test of B - A at 1 - alpha, and the verdict."""
    diff = welch(values_a, values_b, level=1.0 - alpha)
    verdict, reason = judge(diff, LOWER_IS_BETTER[name], alpha)
    return {
        "metric": name,
        "label": LABELS[name],
        "lower_is_better": LOWER_IS_BETTER[name],
        "a": summary(values_a).to_dict(),
        "b": summary(values_b).to_dict(),
        "difference": diff.to_dict(),
        "verdict": verdict,
        "reason": reason,
    }


def judge(diff, lower_is_better: bool, alpha: float) -> tuple[str, str | None]:
    """``better`` / ``worse`` (B against A, significant at alpha), ``no significant change``, or ``cannot tell``
    with the reason."""
    if diff.p_value is None:
        if diff.n_a == 0 and diff.n_b == 0:
            return "cannot tell", "no value on either side"
        return "cannot tell", diff.why or "the test could not be computed"
    if diff.p_value >= alpha:
        return "no significant change", None
    improved = (diff.diff < 0) == lower_is_better
    return ("better" if improved else "worse"), None


def headline(matched: dict, alpha: float) -> str:
    """One sentence on the pair's first metric, e.g. ``m: 12.3% fewer J/frame in B, significant (p = 0.003)``."""
    if not matched["metrics"]:
        return f"{matched['label']}: no metric to compare"
    row = matched["metrics"][0]
    diff = row["difference"]
    label = row["label"] + (" (estimated)" if row["estimated"] else "")
    if row["verdict"] == "cannot tell":
        change = "" if diff["rel_diff"] is None else f" ({change_words(diff['rel_diff'], label)})"
        return f"{matched['label']}: {label} cannot tell{change}: {row['reason']}"
    if diff["rel_diff"] is None:
        moved = f"{label} differs by {diff['diff']:.4g} in B"
    else:
        moved = change_words(diff["rel_diff"], label) + " in B"
    significance = "significant" if row["verdict"] in ("better", "worse") else "no significant change"
    verdict = f", {row['verdict']}" if row["verdict"] in ("better", "worse") else ""
    return f"{matched['label']}: {moved}, {significance}{verdict} (p = {fmt_p(diff['p_value'])}, alpha {alpha:g})"


def change_words(rel: float, label: str) -> str:
    """``12.3% fewer J/frame`` / ``3.1% more fps`` / ``no change in J/frame``."""
    if rel == 0:
        return f"no change in {label}"
    return f"{pct(abs(rel))} {'fewer' if rel < 0 else 'more'} {label}"


def pct(fraction: float) -> str:
    """A fraction as a percentage with one decimal, as the tables show it: 0.1234 -> ``12.3%``."""
    return f"{fraction * 100:.1f}%"


def fmt_p(p: float | None) -> str:
    """A p-value as people read it: ``0.003``, ``< 0.0001``."""
    if p is None:
        return "—"
    return "< 0.0001" if p < 0.0001 else f"{p:.2g}" if p < 0.01 else f"{p:.3f}".rstrip("0").rstrip(".")


def run_info(run: dict) -> dict:
    """Id, name, state and dates of a run's campaign."""
    campaign = run.get("campaign") or {}
    return {key: campaign.get(key) for key in ("id", "name", "state", "created_at", "finished_at")}


def hosts(run: dict) -> list[dict]:
    """Each node of the run: hostname, CPU model and FFmpeg version (None where its inventory does not say)."""
    found = []
    for node in run.get("nodes") or []:
        inv = node.get("inventory") or {}
        cpu = inv.get("cpu") if isinstance(inv.get("cpu"), str) else pick(inv, "cpu_model", "cpu.model")
        ffmpeg = inv.get("ffmpeg")
        version = ffmpeg if isinstance(ffmpeg, str) else pick(inv, "ffmpeg.version", "ffmpeg_version")
        found.append({"hostname": node.get("hostname") or node.get("id") or "?", "cpu": cpu, "ffmpeg": version})
    return found


def ffmpeg_versions(run: dict) -> list[str]:
    """The FFmpeg versions the run's succeeded results say they ran (``ffmpeg.version``), else those of its nodes'
    inventories (a node's inventory is its latest: a later run may have changed it)."""
    found = set()
    for job in run.get("jobs") or []:
        result = ok_result(job)
        ffmpeg = (result or {}).get("ffmpeg")
        if isinstance(ffmpeg, dict) and ffmpeg.get("version"):
            found.add(str(ffmpeg["version"]))
    return sorted(found) or sorted({str(h["ffmpeg"]) for h in hosts(run) if h["ffmpeg"]})


def environment(run_a: dict, run_b: dict) -> dict:
    """FFmpeg versions and hosts (CPU models) of each side, and whether they differ."""
    hosts_a, hosts_b = hosts(run_a), hosts(run_b)
    out = {}
    for field, key in (("ffmpeg", "ffmpeg"), ("cpu", "cpu"), ("hosts", "hostname")):
        if field == "ffmpeg":
            values_a, values_b = ffmpeg_versions(run_a), ffmpeg_versions(run_b)
        else:
            values_a = sorted({str(h[key]) for h in hosts_a if h[key]})
            values_b = sorted({str(h[key]) for h in hosts_b if h[key]})
        out[field] = {"a": values_a, "b": values_b, "differs": values_a != values_b}
    return out


def best_figure(run: dict) -> dict | None:
    """The run's headline figure: the lowest mean joules per frame of its variants (``variant``, ``mean``, ``n``,
    ``estimated``), None when no variant has one."""
    best = None
    for variant in variants_of(run):
        stats = summary(metric(r, "joules_per_frame") for r in variant["results"])
        if stats.mean is not None and (best is None or stats.mean < best["mean"]):
            basis = energy_basis(variant["results"])
            best = {"variant": variant["variant"], "mean": stats.mean, "n": stats.n, "estimated": basis != "measured"}
    return best
