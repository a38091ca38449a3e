"""Hand-made runs for the comparison tests: variants with given parameters and per-run metric values."""

from __future__ import annotations


def job(variant: str, params: dict, rep: int, metrics: dict, estimated: bool = False, ok: bool = True) -> dict:
    """One job of a run with its result (succeeded or failed)."""
    kind = params.get("kind", "transcode")
    return {
        "id": f"{variant}-{rep}",
        "variant": variant,
        "scenario": "s",
        "kind": kind,
        "repetition": rep,
        "state": "succeeded" if ok else "failed",
        "params": {k: v for k, v in params.items() if k != "kind"} | {"kind": kind},
        "result": {
            "status": "succeeded" if ok else "failed",
            "metrics": metrics,
            "provenance": {"estimated": estimated},
        },
    }


def variant(name: str, params: dict, values: dict[str, list], estimated: bool = False) -> list[dict]:
    """The jobs of one variant: run i has values[metric][i] for each metric."""
    runs = len(next(iter(values.values())))
    return [job(name, params, i + 1, {m: v[i] for m, v in values.items()}, estimated) for i in range(runs)]


def run(campaign_id: str, *variants: list[dict], ffmpeg: str = "7.1", cpu: str = "Test CPU") -> dict:
    """A run dict as results.json holds it (campaign, nodes, jobs)."""
    return {
        "campaign": {"id": campaign_id, "name": f"run {campaign_id}", "state": "finished", "created_at": None},
        "nodes": [{"id": "n1", "hostname": "host1", "inventory": {"cpu_model": cpu, "ffmpeg": {"version": ffmpeg}}}],
        "jobs": [j for v in variants for j in v],
    }


X264 = {"kind": "transcode", "encoder": "libx264", "preset": "medium", "bitrate": "3000k", "resolution": "1280x720"}
FAST = {**X264, "preset": "veryfast"}
