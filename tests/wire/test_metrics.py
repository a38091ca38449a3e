"""The metric registry (wire/metrics.py) is the one place a metric is described: every reader agrees with it."""

from __future__ import annotations

import re

import pytest

from wire.kinds import BUILT_IN, KINDS
from wire.metrics import DERIVED, METRICS, REGISTRY, WIRE_METRICS, Metric, kind_metrics

SNAKE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def test_names_are_unique_snake_case_and_kinds_exist():
    """One entry per name, each a name the result schema accepts, naming only registered kinds."""
    names = [m.name for m in REGISTRY]
    assert len(names) == len(set(names)) == len(METRICS)
    assert all(SNAKE.match(n) for n in names)
    assert {k for m in REGISTRY for k in (m.kinds or ())} <= set(KINDS) - {"baseline", "transcode"}


def test_built_in_kinds_take_their_metrics_from_the_registry():
    """One source: each built-in kind's ``metrics`` is what the registry says the kind produces."""
    for module in BUILT_IN:
        assert module.KIND.metrics == kind_metrics(module.KIND.name), module.KIND.name
    assert "frames_received" in KINDS["live"].metrics and "pixels" in KINDS["ladder"].metrics
    assert KINDS["transcode"].metrics == ()


def test_defaults_follow_energy_and_label():
    """``estimated_capable`` follows ``energy`` and the heading the label unless given."""
    plain = Metric("x_y", "x per y")
    assert (plain.heading, plain.estimated_capable) == ("x per y", False)
    assert Metric("w", "watts", energy=True).estimated_capable is True
    assert METRICS["joules_per_frame"].heading == "J/frame" and METRICS["joules_per_frame"].estimated_capable


def test_positive_only_quantities():
    """Joules, watts and counts cannot be below 0; dynamic figures, the marginal slope and SSIM can."""
    assert all(METRICS[n].positive for n in ("joules_per_frame", "mean_watts", "frames_per_joule", "dropped_frames"))
    assert not any(
        METRICS[n].positive for n in ("dynamic_joules_per_frame", "marginal_watts_per_stream", "ssim", "realtime")
    )


def test_result_schema_is_the_registry():
    """POST /results checks each metric against its registry schema; derived metrics are not the agent's to send."""
    from master.api.result_schema import METRICS as SCHEMA

    assert SCHEMA == {m.name: m.documented_schema for m in WIRE_METRICS}
    assert {k: v for k, v in SCHEMA["gpu_encoder_util_pct"].items() if k != "description"} == {
        "type": ["number", "null"],
        "minimum": 0,
        "maximum": 100,
    }
    assert SCHEMA["joules_per_frame"]["description"] == "energy per frame (J/frame): total energy / frames"
    assert not {m.name for m in DERIVED} & set(SCHEMA)


def test_csv_has_a_column_per_scalar_metric():
    """results.csv has every scalar metric the agent sends, the ones it lacked appended after the published ones."""
    from master.reports.tabular import COLUMNS, METRIC_COLUMNS, PUBLISHED_COLUMNS

    assert {m.name for m in WIRE_METRICS if m.scalar} <= set(COLUMNS)
    assert "energy_j" not in COLUMNS and COLUMNS == PUBLISHED_COLUMNS + METRIC_COLUMNS
    assert "gpu_encoder_util_pct" in METRIC_COLUMNS


@pytest.mark.parametrize("name", ["joules_per_frame", "gpu_encoder_util_pct", "frames_received", "si"])
def test_job_page_and_tables_use_registry_labels(name):
    """The job page shows the registry's label and unit; the report's columns its heading."""
    from master.reports.content import CONTENT_TABLE_METRICS
    from master.reports.tables import KIND_TABLE_METRICS, TABLE_METRICS
    from master.web.jobs import METRICS as JOB_METRICS

    metric = METRICS[name]
    assert (name, metric.label, metric.unit, metric.estimated_capable) in JOB_METRICS
    columns = {c[0]: c for c in TABLE_METRICS + KIND_TABLE_METRICS + CONTENT_TABLE_METRICS}
    if metric.column:
        assert columns[name] == (name, metric.heading, metric.estimated_capable)
    else:
        assert name not in columns


def test_summarized_metrics_come_from_the_registry():
    """summarize's metrics are the registry's summarized ones, in its order; derived ones are summarized apart."""
    from master.analysis.summarize import DERIVED_METRICS
    from master.analysis.summarize import METRICS as SUMMARIZED

    assert list(SUMMARIZED) == [m.name for m in WIRE_METRICS if m.summarized]
    assert DERIVED_METRICS == ("pixels_per_joule", "mbps_per_watt", "joules_per_stream_hour")
