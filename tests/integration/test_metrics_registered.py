"""Every metric real results of every kind carry is in the metric registry (wire/metrics.py), and the summary derives
the efficiency figures from them: one embedded campaign of all six kinds, real FFmpeg and RTMP, power estimated
where the host has no sensor."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.integration.test_kinds import EVERY_KIND
from tests.integration.test_remote_cli import campaign
from wire.metrics import DERIVED, METRICS

pytestmark = pytest.mark.integration

EVERY_KIND_AND_TRANSCODE = (
    EVERY_KIND
    + """\
  - name: enc
    kind: transcode
    input: {source: testsrc2, size: 320x180, rate: 25}
    encoder: libx264
    preset: ultrafast
    crf: 30
    duration: 2
"""
)


def test_every_metric_of_every_kind_is_registered(tmp_path):
    """Each result's metric keys (and ``missing`` keys naming a metric) are registered; results.csv has a column for
    each; the summary has the derived figures of the kinds they apply to, each a number or None with a reason."""
    spec = tmp_path / "every.yml"
    spec.write_text(EVERY_KIND_AND_TRANSCODE)
    proc = campaign(tmp_path, "run", str(spec), "--state-dir", "state", "--reports-dir", "reports", timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("report: "))
    folder = (tmp_path / line.split("report: ", 1)[1]).parent
    run = json.loads((folder / "results.json").read_text())
    results = {j["name"]: j["result"] for j in run["jobs"]}
    assert set(results) == {"idle#1", "stream#1", "two#1", "dense#1", "abr#1", "enc#1"}
    assert all(r["status"] == "succeeded" for r in results.values()), {n: r.get("error") for n, r in results.items()}
    unregistered = {name: sorted(set(r["metrics"]) - set(METRICS)) for name, r in results.items()}
    assert not any(unregistered.values()), f"metrics sent but not in wire/metrics.py: {unregistered}"
    missing_keys = {k for r in results.values() for k in r["missing"] if "." not in k}
    assert missing_keys <= set(METRICS), sorted(missing_keys - set(METRICS))
    header = next(csv.reader(io.StringIO((folder / "results.csv").read_text())))
    sent = {k for r in results.values() for k, v in r["metrics"].items() if not isinstance(v, dict)}
    assert sent <= set(header), sorted(sent - set(header))
    _check_derived({v["variant"]: v for v in run["summary"]["variants"]})


def _check_derived(variants: dict) -> None:
    assert variants["enc"]["stats"]["pixels_per_joule"]["n"] == 1
    assert variants["abr"]["stats"]["pixels_per_joule"]["n"] == 1
    assert variants["stream"]["stats"]["joules_per_stream_hour"]["n"] == 1
    for name, variant in variants.items():
        for metric in DERIVED:
            stat = variant["stats"][metric.name]
            applies = variant["kind"] != "baseline" and (metric.kinds is None or variant["kind"] in metric.kinds)
            if stat["n"] == 0 and applies:
                assert variant["missing"][metric.name], (name, metric.name)
            if stat["n"]:
                assert stat["mean"] > 0, (name, metric.name, stat)
                assert stat["estimated"] == variant["provenance"]["estimated"], (name, metric.name)
