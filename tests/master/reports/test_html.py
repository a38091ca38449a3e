"""Tests of the report page (master.reports.html and its templates), on the written quick run."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from master.analysis.summarize import summarize_run
from master.reports.html import TABLE_METRICS, Footnotes, fmt, render_html, stat_cell

URL_ATTRIBUTES = {"src", "href", "action", "formaction", "data", "poster", "srcset", "xlink:href", "background"}


class TagCollector(HTMLParser):
    """Collects start tags and their attributes; script and style bodies are raw text, not parsed as tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def parse(page: str) -> TagCollector:
    """The page's tags, attributes and style text."""
    collector = TagCollector()
    collector.feed(page)
    return collector


def render(run: dict) -> str:
    """The report page of a run, without writing files."""
    return render_html(run, summarize_run(run))


def test_page_names_every_variant_and_scenario(page):
    """Each variant and scenario of the run appears."""
    for name in ("x264-veryfast", "x264-medium", "x265-fast", "nvenc-p4", "Scenario x264", "Scenario nvenc"):
        assert name in page


def test_mixed_run_banner_says_which_jobs_are_estimated(page):
    """The banner says mixed: measured via rapl, estimated on dev1 with the CPU-time model sentence."""
    banner = re.search(r'<div class="banner (\w+)" id="provenance-banner"[^>]*>(.*?)</div>', page, re.S)
    assert banner.group(1) == "mixed"
    assert "MEASURED via rapl" in banner.group(2)
    assert "ESTIMATED on dev1 — no power sensor on this host; energy is a CPU-time model" in banner.group(2)


def test_estimated_only_run_has_the_estimated_banner(run):
    """Without the measured jobs the banner is ESTIMATED, prominently classed."""
    run["jobs"] = [j for j in run["jobs"] if j["node_id"] == "n-dev1"]
    page = render(run)
    assert '<div class="banner estimated" id="provenance-banner"' in page
    assert "ESTIMATED on dev1 — no power sensor on this host; energy is a CPU-time model" in page


def test_measured_only_run_has_no_estimated_badge(run):
    """With only RAPL jobs the banner says MEASURED and no number carries the est. badge."""
    run["jobs"] = [j for j in run["jobs"] if j["node_id"] == "n-rapl1"]
    page = render(run)
    assert '<div class="banner measured" id="provenance-banner"' in page
    assert "MEASURED via rapl" in page
    assert page.count('class="badge est"') == 1, "only the legend's badge"


def test_estimated_numbers_carry_the_badge(page):
    """Estimated energy cells are marked est.: 2 variants x 5 energy columns, plus row and legend badges."""
    results = page[page.index('id="results"') : page.index('id="charts"')]
    assert results.count('class="badge est"') == 2 * 5 + 2 + 1


def test_failed_job_error_is_shown(page):
    """The failed NVENC job's error is in the failed-jobs table."""
    failures = page[page.index('id="failures"') : page.index('id="hosts"')]
    assert "encoder unavailable: h264_nvenc (no NVIDIA GPU: /dev/nvidia0 absent" in failures
    assert "nvenc-p4#1" in failures


def test_missing_value_is_a_dash_with_its_reason(page):
    """A missing idle baseline shows "—" with the agent's reason as tooltip and as a numbered note."""
    reason = "idle baseline invalid: rapl:package-0 wrapped twice between samples"
    assert f'<span class="missing" title="{reason}">—</span>' in page
    assert re.search(r'<li id="note-\d+">' + re.escape(reason) + "</li>", page)


def test_failed_variant_shows_dashes_not_zeros(page):
    """The failed variant's metric cells are "—" explained by its error, never 0."""
    row = re.search(r"<strong>nvenc-p4</strong>.*?</tr>", page, re.S).group(0)
    assert row.count(">—</span>") == len(TABLE_METRICS)
    assert ">0<" not in row and ">0 ±" not in row


def test_single_run_has_mean_without_spread(page):
    """A metric measured in one run shows its mean with the CI as "—" and why."""
    assert "one run: no standard deviation or 95% CI (needs at least 2)" in page
    assert "n=1/2" in page


def test_charts_are_inline_svg_without_script(page):
    """The J/frame and the two power charts are inline SVG; the page runs no script and stays small."""
    assert page.count("<svg ") == 3
    assert [a["id"] for t, a in parse(page).tags if t == "figure"] == ["chart-jpf", "chart-power-0", "chart-power-1"]
    assert "<script" not in page and "Plotly" not in page
    assert len(page.encode()) < 150_000


def test_no_external_resource_is_referenced(page):
    """Every src/href is relative (results.json, results.csv, #anchors); no <link>, no <script src>, no CSS url()."""
    parsed = parse(page)
    urls = [v for _, attrs in parsed.tags for k, v in attrs.items() if k in URL_ATTRIBUTES and v]
    assert "results.csv" in urls and "results.json" in urls
    for url in urls:
        assert not urlsplit(url).scheme and not url.startswith("//"), url
    assert not [t for t, _ in parsed.tags if t in ("link", "iframe", "img", "object", "embed")]
    assert not [a for t, a in parsed.tags if t == "script" and "src" in a]
    assert "url(" not in "".join(parsed.styles)


def test_content_security_policy_forbids_fetching(page):
    """A CSP meta tag blocks any network fetch the page might attempt."""
    csp = [a for t, a in parse(page).tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1 and "default-src 'none'" in csp[0]["content"]


def test_host_inventory_per_node(page):
    """Each node's inventory (agent's flat shape on dev1, nested on rapl1): CPU, RAM, FFmpeg, encoders, power."""
    hosts = page[page.index('id="hosts"') : page.index('id="provenance"')]
    assert "Intel(R) Xeon(R) CPU @ 2.20GHz" in hosts and "1 / 2 (1 socket)" in hosts and "7.8 GiB" in hosts
    assert "estimate:cpu-time (estimate)" in hosts
    assert "AMD EPYC 7313P 16-Core Processor" in hosts and "16 / 32" in hosts and "128.0 GiB" in hosts
    assert "5.1.6-0+deb12u1 (debian package, /usr/bin/ffmpeg)" in hosts
    assert "libx264, libx265, libsvtav1" in hosts
    assert "h264_nvenc (no NVIDIA GPU: /dev/nvidia0 absent)" in hosts
    assert "rapl:package-0, rapl:dram-0" in hosts


def test_provenance_details_per_job(page):
    """The provenance table lists sample rate, sample count, sources and agent overhead per job."""
    prov = page[page.index('id="provenance"') : page.index('id="campaign-spec"')]
    assert prov.count("<tr>") == 1 + 6
    assert '<td class="num">5 Hz</td>' in prov
    assert '<td class="num">0.8 %</td>' in prov
    assert "rapl:dram-0 (rapl)" in prov


def test_campaign_yaml_is_in_a_collapsible_block(page):
    """The campaign file is shown inside <details>, escaped."""
    spec = page[page.index('id="campaign-spec"') :]
    assert "<details>" in spec and "matrix: {preset: [veryfast, medium]}" in spec


def test_text_from_the_run_is_escaped(run):
    """Names and errors from the run are HTML-escaped, not interpreted."""
    run["jobs"][6]["error"] = "<script>alert(1)</script>"
    run["campaign"]["description"] = "<img src=x onerror=alert(2)>"
    page = render(run)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_interrupted_campaign_has_a_partial_banner(run):
    """An interrupted campaign says the report covers the completed jobs only."""
    run["campaign"]["state"] = "interrupted"
    run["campaign"]["finished_at"] = None
    run["jobs"].append(
        {
            "id": "j-0008",
            "name": "x265-fast#3",
            "scenario": "x265",
            "variant": "x265-fast",
            "repetition": 3,
            "state": "queued",
            "error": None,
            "node_id": None,
            "params": {},
            "result": None,
        }
    )
    page = render(run)
    assert "interrupted: the report covers the 7 completed jobs only; 1 of 8 jobs did not complete" in page
    assert 'title="the campaign has not finished">—</span>' in page


def test_finished_campaign_has_no_partial_banner(page):
    """A finished campaign gets no partial banner."""
    assert 'id="partial-banner"' not in page


def test_run_without_results_has_no_charts_and_says_so(run):
    """When no job succeeded: no chart, a NO ENERGY DATA banner, dashes instead of charts."""
    run["jobs"] = [run["jobs"][6]]
    page = render(run)
    assert "<svg" not in page
    assert '<div class="banner none"' in page
    assert "no variant has a joules-per-frame value" in page


def test_sparse_run_renders(run):
    """Missing inventory, campaign keys and job fields do not break the page; they show as "—"."""
    run["nodes"] = [{"id": "n-x"}]
    run["campaign"] = {"id": "c-1"}
    run["jobs"].append({"id": "j-bare", "state": "failed"})
    page = render(run)
    assert 'title="not in this host&#39;s inventory">—</span>' in page
    assert "j-bare" in page


def test_numbers_near_the_float_limit_are_short_and_an_unrepresentable_spread_is_explained(run):
    """1e308 is shown as 1e+308, not 309 digits; a variant whose spread does not fit a float shows "—" saying so."""
    assert (fmt(1e308), fmt(-1.5), fmt(123456)) == ("1e+308", "-1.5", "123,456")
    variant = summarize_run(run)["variants"][0]
    variant["stats"]["joules_per_frame"] = {
        "n": 2,
        "mean": 0.0,
        "stdev": None,
        "ci95_halfwidth": None,
        "ci95_low": None,
        "ci95_high": None,
        "rel_ci95": None,
    }
    cell = stat_cell(variant, "joules_per_frame", Footnotes(), energy=False)
    assert cell.sub == "—" and "too large to represent" in cell.title
