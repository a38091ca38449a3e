"""How long the master takes to check a result body against its schema: the fast path (fastjsonschema) and
jsonschema alone, for results with an hour's samples.

Usage: .venv/bin/python bench/result_validation.py [--samples 36000] [--sources 2] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from master.api import bodies  # noqa: E402
from master.api.result_schema import RESULT_SCHEMA  # noqa: E402


def result(samples: int, sources: int) -> dict:
    """A succeeded result with ``samples`` power samples of ``sources`` zones each."""
    watts = {f"rapl:package-{i}": 50.0 + i for i in range(sources)}
    return {
        "job_id": "j",
        "attempt": 1,
        "node_id": "n",
        "status": "succeeded",
        "metrics": {"frames": 10},
        "samples": [{"t": i / 10, "watts": watts, "total_watts": sum(watts.values())} for i in range(samples)],
    }


def timed(check, repeat: int) -> float:
    """Median seconds of ``check()`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        check()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=36_000)
    parser.add_argument("--sources", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    body = result(args.samples, args.sources)
    reference = jsonschema.Draft202012Validator(RESULT_SCHEMA)
    fast = timed(lambda: bodies.check(body, RESULT_SCHEMA), args.repeat)
    slow = timed(lambda: reference.validate(body), args.repeat)
    print(
        f"{args.samples} samples x {args.sources} sources: fast path {fast * 1000:.0f} ms,"
        f" jsonschema alone {slow * 1000:.0f} ms ({slow / fast:.1f}x)"
    )


if __name__ == "__main__":
    main()
