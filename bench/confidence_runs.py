"""How many runs ``confidence: auto`` needs: campaigns/quick.yml's scenario repeated until the 95% interval of
joules per frame is within ±5% of the mean (min 3, max 10 runs per variant) instead of a fixed ``repetitions``.

Usage: .venv/bin/python bench/confidence_runs.py [CAMPAIGN] [--confidence VALUE]
Writes a temporary copy of the campaign (default campaigns/quick.yml) with ``repetitions`` dropped and
``confidence: VALUE`` (default auto) set in its defaults, runs it on the embedded default in a temporary state dir,
and prints per variant: runs needed, failed runs, mean J/frame, the interval's half-width in % and whether the target
was reached; then the wall time and the energy source (measured or estimated).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.embedded_run import run_embedded  # noqa: E402

RUN_TIMEOUT_S = 1800


def confidence_campaign(source: Path, value: str) -> str:
    """The campaign's text with every ``repetitions`` removed and ``confidence: value`` in its defaults."""
    data = yaml.safe_load(source.read_text())
    data["name"] = f"{data['name']}-confidence"
    data.setdefault("defaults", {}).pop("repetitions", None)
    data["defaults"]["confidence"] = yaml.safe_load(value)
    for scenario in data["scenarios"]:
        scenario.pop("repetitions", None)
    return yaml.safe_dump(data, sort_keys=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", nargs="?", type=Path, default=ROOT / "campaigns" / "quick.yml")
    parser.add_argument("--confidence", default="auto", help="auto, high, medium, low or a YAML mapping")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "confidence.yml"
        path.write_text(confidence_campaign(args.campaign.resolve(), args.confidence))
        code, wall, run = run_embedded(path, timeout_s=RUN_TIMEOUT_S, cwd=ROOT)
    if run is None:
        return code
    print(
        f"campaign: {args.campaign.name} with confidence: {args.confidence}  wall time: {wall:.1f} s"
        f"  jobs: {len(run['jobs'])}  energy: {run['summary']['provenance']['mode']}"
    )
    print(f"  {'variant':<24} {'runs':>4} {'failed':>6} {'mean J/frame':>13} {'±95% CI':>8}  target  reached")
    for variant in run["summary"]["variants"]:
        found = variant.get("confidence")
        if not found:
            print(f"  {variant['variant']:<24} (fixed repetitions: {variant['jobs']})")
            continue
        mean = variant["stats"]["joules_per_frame"]["mean"]
        half = found["half_width_pct"]
        print(
            f"  {variant['variant']:<24} {variant['jobs']:>4} {variant['runs_failed']:>6}"
            f" {mean if mean is None else f'{mean:.5f}':>13} {'—' if half is None else f'{half:.1f}%':>8}"
            f"  ±{found['target'] * 100:g}%  {'yes' if found['reached'] else 'no'}"
            f" ({found['min']}-{found['max']} runs)"
        )
        values = [
            ((j.get("result") or {}).get("metrics") or {}).get("joules_per_frame")
            for j in run["jobs"]
            if j["variant"] == variant["variant"]
        ]
        print(f"  {'':<24} J/frame by run: {', '.join('—' if v is None else f'{v:.5f}' for v in values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
