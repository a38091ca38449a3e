"""The efficiency ranking: best frames per joule first, with the pixels per joule and Mbps per watt the master
derives from each run."""

from __future__ import annotations

import json

from master.analysis.summarize import summarize_run
from master.reports.cells import Footnotes
from master.reports.sections import ranking_rows
from master.reports.tables import energy_variants
from tests.master.conftest import RUN_FILE


def test_ranking_orders_by_frames_per_joule_and_adds_derived_figures():
    summary = summarize_run(json.loads(RUN_FILE.read_text()))
    variants = energy_variants(summary)
    table = ranking_rows(variants, Footnotes())
    assert table["extra_headings"] == ["pixels / J", "Mbps / W"]
    by_name = {v["variant"]: v for v in variants}
    fpj = [by_name[r["variant"]]["stats"]["frames_per_joule"]["mean"] for r in table["rows"]]
    rated = [x for x in fpj if x is not None]
    assert rated == sorted(rated, reverse=True) and table["rows"][0]["rank"] == 1
    top = by_name[table["rows"][0]["variant"]]["stats"]
    pixels, mbps = table["rows"][0]["extras"]
    mean = float(mbps.text.split(" ± ")[0])
    assert mean == float(f"{top['mbps_per_watt']['mean']:.4g}")
    assert float(pixels.text.split(" ± ")[0].replace(",", "")) == float(f"{top['pixels_per_joule']['mean']:.7g}")
