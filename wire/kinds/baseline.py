"""``baseline``: ``duration`` seconds of idle power, no FFmpeg, no encoder requirement."""

from __future__ import annotations

from wire.kinds.base import POSITIVE, Kind

KIND = Kind(
    name="baseline",
    fields={"duration": POSITIVE},
    required=("duration",),
    requirements=(),
    common=("repetitions", "sample_rate", "timeout"),
)
"""An idle measurement as its own scenario: ``duration`` seconds of power with no job running."""
