"""The written report in a real headless Chromium, at a phone's width (390 px) and a wide screen's (1400 px).

The report dir is served over loopback HTTP next to a small harness page that loads index.html in a same-origin iframe
of the given width and, once it loaded, writes what it measured into its own DOM (the report itself runs no script;
its CSP forbids any): the page's scroll width against the frame's width, and per chart whether its SVG was drawn
(a box of real size holding shapes). ``--dump-dom`` prints the harness; ``--log-net-log`` records every request, and
Chromium's console log (stderr) must hold no error, CSP violation included.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from master.analysis.compare import compare_runs
from master.reports.compare_page import render_compare_html
from master.reports.writer import write_report
from tests.integration.test_kinds import EVERY_KIND
from tests.integration.test_remote_cli import campaign
from tests.integration.test_web_browser import BROWSER_TIMEOUT_S, CHROMIUM, needs_chromium, page_requests
from tests.master.analysis.kind_results import add_kind_jobs
from tests.master.conftest import RUN_FILE

pytestmark = pytest.mark.integration

HARNESS = """<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>
<iframe id="f" src="index.html" style="width:{width}px;height:900px;border:0"></iframe>
<script>
const f = document.getElementById("f");
f.onload = () => {{
  const d = f.contentDocument, w = f.contentWindow;
  const figures = [...d.querySelectorAll("figure.chart")];
  const drawn = figures.map(fig => {{
    const svg = fig.querySelector("svg"), box = svg ? svg.getBoundingClientRect() : null;
    return {{id: fig.id, w: box ? box.width : 0, h: box ? box.height : 0,
            shapes: svg ? svg.querySelectorAll("path[d^='M'], rect, circle, polygon").length : 0}};
  }});
  const wide = [...d.body.querySelectorAll("*")]
    .filter(e => e.getBoundingClientRect().right > w.innerWidth + 1)
    .filter(e => !e.closest(".table-wrap, figure.chart, details:not([open])"))
    .slice(0, 5).map(e => e.tagName + "." + e.getAttribute("class"));
  document.body.dataset.result = JSON.stringify(
    {{scroll: d.documentElement.scrollWidth, inner: w.innerWidth, drawn, wide}});
}};
</script></body></html>
"""


@pytest.fixture
def run() -> dict:
    """The recorded quick run (tests/data/reports/run_quick.json)."""
    return json.loads(RUN_FILE.read_text())


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve_dir():
    """Serve a directory on a free loopback port; yields a function dir -> base URL."""
    servers = []

    def serve(directory: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def load(report: Path, width: int, url: str, tmp_path: Path) -> tuple[dict, str, list]:
    """Load the harness at ``width``: (what it measured, Chromium's stderr, the requests the pages started)."""
    (report / f"harness-{width}.html").write_text(HARNESS.format(width=width))
    netlog = tmp_path / f"net-{width}.json"
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / f'profile-{width}'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--log-net-log={netlog}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1500,1000",
        "--virtual-time-budget=5000",
        "--dump-dom",
        f"{url}/harness-{width}.html",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)
    match = re.search(r'data-result="([^"]*)"', done.stdout)
    assert match, f"the harness measured nothing: {done.stderr[-2000:]}"
    result = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return result, done.stderr, page_requests(netlog)


def check(report: Path, url: str, tmp_path: Path, charts: int) -> None:
    for width in (390, 1400):
        result, stderr, requests = load(report, width, url, tmp_path)
        assert result["inner"] == width
        assert result["scroll"] <= result["inner"], f"{width} px: page scrolls sideways: {result['wide']}"
        assert len(result["drawn"]) == charts
        for chart in result["drawn"]:
            assert chart["w"] > 100 and chart["h"] > 50 and chart["shapes"] > 0, f"{width} px: not drawn: {chart}"
        console = [line for line in stderr.splitlines() if "CONSOLE" in line or "Refused to" in line]
        assert not console, console
        others = [u for _, u in requests if not u.startswith(f"{url}/harness-") and u != f"{url}/index.html"]
        assert others == [], others


@needs_chromium
def test_transcode_report_at_phone_and_wide_widths(run, tmp_path, serve_dir):
    """The quick run (transcode, one failed variant): 3 charts drawn, no sideways scroll, no request, no error."""
    report = tmp_path / "quick"
    write_report(run, report)
    check(report, serve_dir(report), tmp_path, charts=3)


@needs_chromium
def test_every_kind_report_at_phone_and_wide_widths(run, tmp_path, serve_dir):
    """Baseline, live, multi, density and ladder results beside the transcodes: every chart drawn (J/frame,
    streams vs watts, power per scenario), no sideways scroll, no request, no error."""
    report = tmp_path / "kinds"
    write_report(add_kind_jobs(run), report)
    page = (report / "index.html").read_text()
    charts = page.count('<figure class="chart"')
    assert 'id="chart-density"' in page and charts >= 4
    check(report, serve_dir(report), tmp_path, charts=charts)


@needs_chromium
def test_report_of_a_real_campaign_of_every_kind(tmp_path, serve_dir):
    """A tiny real campaign of every kind (baseline, live, multi, density, ladder; `campaign run`, embedded): its
    report opens with a headline per measured kind and passes the same browser checks."""
    spec = tmp_path / "every.yml"
    spec.write_text(EVERY_KIND)
    proc = campaign(tmp_path, "run", str(spec), "--state-dir", "state", "--reports-dir", "reports", timeout=240)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("report: "))
    report = (tmp_path / line.split("report: ", 1)[1]).parent
    page = (report / "index.html").read_text()
    kinds = re.findall(r'<span class="kind">(\w+)</span>', page)
    assert set(kinds) >= {"ladder", "live", "multi"}, kinds
    assert "estimated energy" in page
    check(report, serve_dir(report), tmp_path, charts=page.count('<figure class="chart"'))


@needs_chromium
def test_comparison_page_at_phone_and_wide_widths(run, tmp_path, serve_dir):
    """`campaign compare --html`'s page (the recorded quick run against a copy with every J/frame 20% lower): the
    verdict rows are there, no sideways scroll at 390 or 1400 px, no request, no error."""
    faster = json.loads(json.dumps(run))
    for job in faster["jobs"]:
        metrics = (job.get("result") or {}).get("metrics") or {}
        if metrics.get("joules_per_frame") is not None:
            metrics["joules_per_frame"] *= 0.8
    page_dir = tmp_path / "compare"
    page_dir.mkdir()
    html = render_compare_html(compare_runs(run, faster))
    assert "-20.0%" in html
    (page_dir / "index.html").write_text(html)
    check(page_dir, serve_dir(page_dir), tmp_path, charts=0)
