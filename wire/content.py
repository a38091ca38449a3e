"""Content presets and render modes of a generated input: named synthetic inputs of rising encoding difficulty, as
FFmpeg lavfi graphs. The master checks a campaign's names against :data:`CONTENT_PRESETS` and :data:`RENDERS`; the
agent renders the graphs.

A job's input may name ``content: easy | medium | hard`` instead of a lavfi ``source`` (docs/WIRE.md). Each preset is
deterministic (the noise filter's seed is fixed by default), so the same preset at the same size and rate renders the
same frames on every agent, and :mod:`agent.sources` renders it once into the agent's cache.

Cost of x264 veryfast on 3 s of 640x360 at 30 fps read from a prepared raw file, one thread, user+system CPU seconds
(Debian FFmpeg 5.1, the 2-core development machine, single runs): at ``-crf 23`` easy 0.40, medium 0.83, hard 1.07;
at ``-b:v 1500k`` easy 0.41, medium 0.52, hard 0.56 to 0.66. At a fixed bitrate the
rate control absorbs most of the difficulty (it raises the quantizer), so the content shows mainly in quality and
CRF cost. Strong uniform noise alone is not harder; ``hard`` adds fast global motion (a rotation, 1.5 rad/s) that
motion estimation has to follow.
"""

from __future__ import annotations

CONTENT_GRAPHS: dict[str, str] = {
    "easy": "testsrc2=size={size}:rate={rate}",
    "medium": "testsrc2=size={size}:rate={rate},noise=alls=12:allf=t",
    "hard": "testsrc2=size={size}:rate={rate},rotate=a=1.5*t:c=black,noise=alls=16:allf=t",
}
"""Preset name -> lavfi graph template with ``{size}`` and ``{rate}``: easy is the plain test pattern, medium adds
temporal noise, hard adds a rotation (global motion) to stronger temporal noise."""

CONTENT_PRESETS = tuple(CONTENT_GRAPHS)
"""Names ``input.content`` may take."""

RENDERS = ("prepared", "inline")
"""``input.render``: ``prepared`` renders the generated source once into the agent's cache, outside the measured
window (the default); ``inline`` generates it inside the measured FFmpeg, so its CPU is in the figures."""

DEFAULT_RENDER = "prepared"
"""``input.render`` when a generated input does not say."""

DEFAULT_SIZE = "1280x720"
"""Size of a generated (lavfi) input when neither the input nor the job names one."""

DEFAULT_RATE = 30
"""Frame rate of a generated (lavfi) input when neither the input nor the job names one."""

DEFAULT_BUDGET_BYTES = 2 * 1024**3
"""Largest prepared file (bytes): a longer input is rendered as a segment of this many bytes of raw yuv420p frames,
which the encode loops, so rendering never takes longer than that segment."""

SITI_MAX_S = 20.0
"""Most seconds of a prepared file or a file input SI/TI is computed on: FFmpeg's siti filter reads about one second
of 720p30 per CPU second, so a long source is summarized by its first 20 s (the provenance note says so)."""


def content_graph(name: str, size: str, rate) -> str:
    """The lavfi graph of preset ``name`` at ``size`` and ``rate``; ValueError for an unknown name."""
    if name not in CONTENT_GRAPHS:
        raise ValueError(f"unknown content preset {name!r}; use one of {', '.join(CONTENT_PRESETS)}")
    return CONTENT_GRAPHS[name].format(size=size, rate=rate)
