"""Campaign text of many trivial jobs, for the benchmarks that load a master with a burst of work."""

from __future__ import annotations

MAX_REPETITIONS = 1000
"""Most repetitions one scenario may ask for (the campaign loader's limit): bigger bursts use several scenarios."""
SCENARIO = """\
  - name: sim{i}
    kind: transcode
    input: {{source: testsrc2, size: 160x90, rate: 25}}
    encoder: libx264
    bitrate: 100k
    duration: 1
    repetitions: {n}
"""


def campaign_text(name: str, jobs: int) -> str:
    """A campaign of ``jobs`` trivial jobs, as scenarios of at most MAX_REPETITIONS repetitions each."""
    counts = [min(MAX_REPETITIONS, jobs - start) for start in range(0, jobs, MAX_REPETITIONS)]
    return f"name: {name}\ndefaults: {{idle_baseline: 0, timeout: 60}}\nscenarios:\n" + "".join(
        SCENARIO.format(i=i, n=n) for i, n in enumerate(counts)
    )
