"""The report's "Cost and carbon" section (templates/cost.html, master/reports/cost_section.py)."""

import re

from master.analysis.cost import add_costs
from master.analysis.pricing import load_pricing
from master.analysis.summarize import summarize_run
from master.reports.cells import fmt
from master.reports.html import render_html
from tests.master.analysis.kind_results import add_kind_jobs
from tests.master.analysis.test_pricing import JSON_FILE


def section(page: str) -> str:
    """The cost section's HTML."""
    start = page.index('<section id="cost">')
    return page[start : page.index("</section>", start)]


def page_of(run: dict, pricing=None) -> str:
    return render_html(run, add_costs(run, summarize_run(run), pricing))


def test_priced_section_shows_each_variant_and_the_prices(run):
    """With the JSON pricing: a row per variant with its mean energy cost, CO2, per hour of video, the est. badge
    on estimated ones, and the prices used with their source."""
    summary = add_costs(run, summarize_run(run), load_pricing(JSON_FILE))
    html = section(render_html(run, summary))
    assert "Cost and carbon" in html and 'id="cost-table"' in html and str(JSON_FILE) in html
    for variant in summary["variants"]:
        assert f"<strong>{variant['variant']}</strong>" in html
    x265 = next(v for v in summary["variants"] if v["variant"] == "x265-fast")["cost"]["stats"]
    row = re.search(r"<strong>x265-fast</strong>.*?</tr>", html, re.S).group(0)
    assert fmt(x265["energy_cost"]["mean"]) in row and fmt(x265["co2_g"]["mean"]) in row
    assert fmt(x265["energy_cost_per_video_hour"]["mean"]) in row and "hour of video" in row
    assert "est." not in row
    assert "est." in re.search(r"<strong>x264-veryfast</strong>.*?</tr>", html, re.S).group(0)
    prices = html[html.index('id="cost-prices"') :]
    assert "electricity_prices.default" in prices and "co2_intensity.default" in prices and "0.12" in prices


def test_section_without_pricing_says_how_to_add_one(run):
    """No pricing: no cost table, no zeros, and the way to add one."""
    html = section(page_of(run))
    assert 'id="cost-table"' not in html
    assert "--pricing FILE" in html and "pricing: pricing.yml" in html


def test_capacity_block_with_density_results(run):
    """A run with a density variant gets the capacity block: 3 streams per node x 10 nodes = 30 streams."""
    add_kind_jobs(run)
    html = section(page_of(run, load_pricing(JSON_FILE)))
    block = html[html.index('id="capacity-table"') :]
    row = re.search(r"<strong>dense-x264</strong>.*?</tr>", block, re.S).group(0)
    cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in cells[:5]] == ["30", "3", "10", "13.8", fmt(13.8 * 30 * 0.73)]
    assert "campaign plan-capacity RUN --streams N" in html


def test_no_capacity_block_without_density(run):
    """The quick run has no density variant: no capacity block."""
    assert 'id="capacity-table"' not in section(page_of(run, load_pricing(JSON_FILE)))


def test_unpriced_host_shows_dashes_with_the_reason(run, tmp_path):
    """A host the file cannot price: its costs and prices are "—" and the reason names it; the page renders."""
    path = tmp_path / "p.yml"
    path.write_text("regions:\n  eu: {electricity_per_kwh: 1, gco2_per_kwh: 2}\nhosts:\n  other: {region: eu}\n")
    html = section(page_of(run, load_pricing(path)))
    row = re.search(r"<strong>x264-veryfast</strong>.*?</tr>", html, re.S).group(0)
    assert "—" in row and "host dev1" in row
    assert "host dev1" in html[html.index('id="cost-prices"') :]
