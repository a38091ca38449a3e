"""Wall time of `campaign run campaigns/quick.yml` on the embedded default (goal: under 2 minutes on 2 cores).

Usage: .venv/bin/python bench/quick_walltime.py [CAMPAIGN]
Runs the campaign in a temporary state dir and prints wall time, jobs and per-job J/frame from results.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.embedded_run import run_embedded  # noqa: E402


def main() -> int:
    campaign = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "campaigns" / "quick.yml").resolve()
    code, wall, run = run_embedded(campaign, timeout_s=900)
    if run is None:
        return code
    print(f"campaign: {campaign.name}  wall time: {wall:.1f} s  jobs: {len(run['jobs'])}")
    for job in run["jobs"]:
        m = (job.get("result") or {}).get("metrics") or {}
        prov = (job.get("result") or {}).get("provenance") or {}
        print(
            f"  {job['name']:<28} {job['state']:<10} frames={m.get('frames')} fps={m.get('fps')}"
            f" J/frame={m.get('joules_per_frame')} estimated={prov.get('estimated')}"
            f" agent_overhead={m.get('agent_overhead_pct')}%"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
