"""The metric registry: one :class:`Metric` per result metric, read by every side that names, formats or checks one.

The master's analysis (master/analysis/summarize.py: which metrics are summarized per variant, which kinds are
expected to carry them), the report's tables (master/reports/tables.py), results.csv (master/reports/tabular.py), the
job page (master/web/jobs.py) and the result schema of ``POST /results`` and ``/openapi.json``
(master/api/result_schema.py) all read :data:`REGISTRY`; the built-in kinds' ``metrics`` (wire/kinds/) are derived
from it (:func:`kind_metrics`). Adding a metric is one entry here, plus the agent code that measures it.

:data:`REGISTRY` is in the report's order: the figures a scenario table leads with, then the kind-specific ones, then
the source's, then those only the job page and results.csv show, then the ones the master derives.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

FLOAT_MAX = sys.float_info.max
"""Bound of every number: a JSON integer beyond it (10**400) would overflow a reader converting it to a float."""

MAX_INT = 2**63 - 1
"""Largest integer a count may be: SQLite's, and exactly representable as a float up to rounding."""


def number(low: float = 0, high: float = FLOAT_MAX) -> dict[str, Any]:
    """The JSON Schema of a metric that is a number from ``low`` to ``high``, or null (not measured)."""
    return {"type": ["number", "null"], "minimum": low, "maximum": high}


def count() -> dict[str, Any]:
    """The JSON Schema of a metric that is a whole number from 0 to :data:`MAX_INT`, or null."""
    return {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_INT}


BOOL = {"type": ["boolean", "null"]}
ANY_NUMBER = number(low=-FLOAT_MAX)
ENERGY_BY_SOURCE = {
    "type": ["object", "null"],
    "maxProperties": 256,
    "propertyNames": {"minLength": 1, "maxLength": 256},
    "additionalProperties": number(),
}
"""``energy_j``: joules per power source (at most 256 sources, names up to 256 characters)."""

LIVE_KINDS = ("live", "multi")
STREAM_KINDS = ("live", "multi", "density")


@dataclass(frozen=True)
class Metric:
    """One result metric: what it is called, how it is shown, which results carry it and what values it may take."""

    name: str
    label: str
    """Its name in words, as the job page shows it ("energy per frame")."""
    unit: str = ""
    heading: str | None = None
    """Short heading for a table column ("J/frame"); the label when None."""
    description: str = ""
    schema: dict[str, Any] = field(default_factory=number)
    """The JSON Schema of its value in a result (``metrics`` of docs/WIRE.md "Result")."""
    energy: bool = False
    """An energy or power figure (joules, watts, or one computed from them)."""
    estimated_capable: bool | None = None
    """Whether it is estimated when the energy is (gets ``est.``); the same as ``energy`` when not given."""
    lower_is_better: bool | None = None
    """True: less is better (joules per frame); False: more is better (fps); None: neither."""
    kinds: tuple[str, ...] | None = None
    """The kinds whose results carry it (and are "missing" it when null); None: every measuring kind."""
    digits: int = 4
    """Significant digits a report shows of it."""
    column: bool = False
    """A column of the report's scenario tables (master/reports/tables.py)."""
    summarized: bool = True
    """Summarized over the repetitions of a variant (master/analysis/summarize.py)."""
    optional: bool = False
    """Expected only where some result of the variant carries it (even null): the source's SI/TI, and metrics that
    results of older agents lack."""
    derived: bool = False
    """Computed by the master from other metrics, never sent by an agent (:data:`DERIVED`)."""

    def __post_init__(self) -> None:
        if self.estimated_capable is None:
            object.__setattr__(self, "estimated_capable", self.energy)
        if self.heading is None:
            object.__setattr__(self, "heading", self.label)

    @property
    def documented_schema(self) -> dict[str, Any]:
        """:attr:`schema` with a ``description`` in words (label, unit, description), for the result schema and
        ``/openapi.json``."""
        unit = f" ({self.unit})" if self.unit else ""
        what = f": {self.description}" if self.description else ""
        return {**self.schema, "description": f"{self.label}{unit}{what}"}

    @property
    def positive(self) -> bool:
        """Whether it can never be below 0 (its schema's minimum is 0 or more): a confidence interval of it that
        reaches below 0 is not a figure to show."""
        return isinstance(self.schema.get("minimum"), (int, float)) and self.schema["minimum"] >= 0

    @property
    def scalar(self) -> bool:
        """A number or boolean (a CSV cell), not an object such as ``energy_j``."""
        return "object" not in self.schema.get("type", ())


_REPORTED = (
    Metric(
        "joules_per_frame",
        "energy per frame",
        "J/frame",
        heading="J/frame",
        energy=True,
        lower_is_better=True,
        column=True,
        schema=number(),
        description="total energy / frames",
    ),
    Metric(
        "dynamic_joules_per_frame",
        "dynamic energy per frame",
        "J/frame",
        heading="dyn. J/frame",
        energy=True,
        lower_is_better=True,
        column=True,
        schema=ANY_NUMBER,
        description="(total - idle watts x duration) / frames; may be negative",
    ),
    Metric(
        "frames_per_joule",
        "frames per joule",
        "frames/J",
        heading="frames/J",
        energy=True,
        lower_is_better=False,
        column=True,
        description="frames / total energy",
    ),
    Metric("mean_watts", "mean power", "W", heading="W mean", energy=True, lower_is_better=True, column=True),
    Metric(
        "idle_watts",
        "idle power",
        "W",
        heading="idle W",
        energy=True,
        column=True,
        description="the idle baseline's mean power",
    ),
    Metric("fps", "frames per second", "fps", heading="fps", lower_is_better=False, column=True),
    Metric(
        "speed",
        "speed",
        "×",
        heading="speed ×",
        lower_is_better=False,
        column=True,
        description="encoded seconds per wall second (the slowest stream's for the live kinds)",
    ),
    Metric(
        "bitrate_kbps",
        "bitrate",
        "kbps",
        heading="kbps",
        column=True,
        description="output bitrate (summed over streams)",
    ),
    Metric("total_energy_j", "total energy", "J", energy=True, lower_is_better=True),
    Metric("duration_s", "encode time", "s", description="seconds of the measured window"),
    Metric(
        "psnr_db",
        "PSNR",
        "dB",
        heading="PSNR dB",
        lower_is_better=False,
        column=True,
        schema=number(0, 100),
        description="capped at 100 dB for identical frames (psnr_identical)",
    ),
    Metric("ssim", "SSIM", heading="SSIM", lower_is_better=False, column=True, schema=number(-1, 1)),
    Metric("vmaf", "VMAF", heading="VMAF", lower_is_better=False, column=True, schema=number(0, 100)),
    Metric(
        "ssim_frames_per_joule",
        "SSIM x frames per joule",
        "frames/J",
        heading="SSIM·frames/J",
        energy=True,
        lower_is_better=False,
        column=True,
        schema=ANY_NUMBER,
    ),
    Metric("vmaf_frames_per_joule", "VMAF x frames per joule", "frames/J", energy=True, lower_is_better=False),
    # the kinds' own (wire/kinds/*.py derive their ``metrics`` from these)
    Metric(
        "frames_received",
        "frames received",
        kinds=LIVE_KINDS,
        column=True,
        schema=count(),
        description="frames the ingest received, over all streams",
    ),
    Metric(
        "dropped_frames",
        "dropped frames",
        heading="dropped",
        kinds=LIVE_KINDS,
        column=True,
        lower_is_better=True,
        schema=count(),
    ),
    Metric(
        "duplicated_frames",
        "duplicated frames",
        heading="duplicated",
        kinds=LIVE_KINDS,
        column=True,
        lower_is_better=True,
        schema=count(),
    ),
    Metric(
        "realtime",
        "real time",
        kinds=LIVE_KINDS,
        column=True,
        lower_is_better=False,
        schema=BOOL,
        description="every stream kept up with real time; its mean over runs is the share of real-time runs",
    ),
    Metric("streams", "streams", kinds=LIVE_KINDS, column=True, schema=count()),
    Metric(
        "watts_per_stream",
        "power per stream",
        "W",
        heading="W/stream",
        kinds=STREAM_KINDS,
        column=True,
        energy=True,
        lower_is_better=True,
    ),
    Metric(
        "dynamic_watts_per_stream",
        "dynamic power per stream",
        "W",
        heading="dyn. W/stream",
        kinds=LIVE_KINDS,
        column=True,
        energy=True,
        lower_is_better=True,
        schema=ANY_NUMBER,
    ),
    Metric(
        "max_streams",
        "most streams in real time",
        heading="max streams",
        kinds=("density",),
        column=True,
        lower_is_better=False,
        schema=count(),
    ),
    Metric(
        "marginal_watts_per_stream",
        "marginal power per stream",
        "W",
        heading="marginal W/stream",
        kinds=("density",),
        column=True,
        energy=True,
        lower_is_better=True,
        schema=ANY_NUMBER,
        description="least-squares slope of watts over streams; any sign",
    ),
    Metric("rungs", "rungs", kinds=("ladder",), column=True, schema=count(), description="rungs produced"),
    Metric(
        "frames",
        "frames",
        kinds=("ladder",),
        column=True,
        schema=count(),
        description="frames encoded (every encoding kind sends it; a ladder's is the sum over its rungs, summarized "
        "and shown as a column for ladders)",
    ),
    Metric(
        "pixels", "pixels", kinds=("ladder",), column=True, schema=count(), description="pixels encoded over all rungs"
    ),
    Metric(
        "joules_per_megapixel",
        "energy per megapixel",
        "J/MP",
        heading="J/MP",
        kinds=("ladder",),
        column=True,
        energy=True,
        lower_is_better=True,
    ),
    # the source's (ITU-T P.910)
    Metric(
        "si",
        "spatial information",
        heading="SI",
        column=True,
        optional=True,
        description="the source's SI (ITU-T P.910), mean over its frames",
    ),
    Metric(
        "ti",
        "temporal information",
        heading="TI",
        column=True,
        optional=True,
        description="the source's TI (ITU-T P.910), mean over its frames",
    ),
)

_DETAIL = (
    Metric("output_bytes", "output size", "bytes", summarized=False, schema=count()),
    Metric("peak_watts", "peak power", "W", energy=True, summarized=False),
    Metric(
        "dynamic_energy_j",
        "dynamic energy",
        "J",
        energy=True,
        summarized=False,
        schema=ANY_NUMBER,
        description="total - idle watts x duration; may be negative",
    ),
    Metric("energy_j", "energy by source", "J", energy=True, summarized=False, schema=ENERGY_BY_SOURCE),
    Metric(
        "gpu_encoder_util_pct",
        "GPU encoder utilisation",
        "%",
        heading="NVENC %",
        optional=True,
        schema=number(0, 100),
        description="NVENC utilisation NVML reported, averaged over the window (NVIDIA GPUs only)",
    ),
    Metric("agent_overhead_pct", "agent CPU overhead", "% of a core", summarized=False),
    Metric("sampler_overhead_pct", "sampler CPU overhead", "% of a core", summarized=False),
    Metric("mean_speed", "mean speed", "×", kinds=LIVE_KINDS, summarized=False, description="mean over the streams"),
    Metric("target_bitrate_kbps", "target bitrate", "kbps", kinds=LIVE_KINDS, summarized=False),
    Metric("psnr_identical", "identical frames", summarized=False, schema=BOOL),
    Metric("quality_frames", "frames compared", summarized=False, schema=count()),
    Metric("levels_tried", "stream counts tried", kinds=("density",), summarized=False, schema=count()),
    Metric("source_frames", "source frames", kinds=("ladder",), summarized=False, schema=count()),
)

DERIVED = (
    Metric(
        "pixels_per_joule",
        "pixels per joule",
        "px/J",
        heading="px/J",
        derived=True,
        energy=True,
        lower_is_better=False,
        description="frames x width x height / total energy (a ladder: its pixels)",
    ),
    Metric(
        "mbps_per_watt",
        "megabits per second per watt",
        "Mbps/W",
        heading="Mbps/W",
        derived=True,
        energy=True,
        lower_is_better=False,
        description="bitrate_kbps / 1000 / mean watts",
    ),
    Metric(
        "joules_per_stream_hour",
        "energy per stream-hour",
        "J/stream-h",
        heading="J/stream·h",
        derived=True,
        energy=True,
        lower_is_better=True,
        kinds=STREAM_KINDS,
        description="watts per stream x 3600",
    ),
)
"""Metrics the master computes per run from the others (master/analysis/derived.py), never sent by an agent."""

REGISTRY: tuple[Metric, ...] = _REPORTED + _DETAIL + DERIVED
"""Every metric, in the report's order."""

METRICS: dict[str, Metric] = {m.name: m for m in REGISTRY}
"""The registry by name."""

WIRE_METRICS: tuple[Metric, ...] = tuple(m for m in REGISTRY if not m.derived)
"""The metrics an agent sends (the result schema's ``metrics``)."""


def kind_metrics(kind: str) -> tuple[str, ...]:
    """The metrics only ``kind`` (and some other kinds) sends, beside those of every measuring kind: a kind's
    ``metrics`` (wire/kinds/)."""
    return tuple(m.name for m in WIRE_METRICS if m.summarized and m.kinds is not None and kind in m.kinds)


def get(name: str) -> Metric | None:
    """The registered metric of that name, None for one not registered (a newer agent's)."""
    return METRICS.get(name)
