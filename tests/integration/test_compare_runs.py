"""``campaign compare`` on two real embedded runs of one tiny campaign (real FFmpeg, real master and agent): the
figures it prints and writes into compare.html are those recomputed here from the two results.json files; the page
loads in headless Chromium without a console error or a request, and so does the web UI's /ui/compare page."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

import pytest

from master.analysis.compare import fmt_p
from master.analysis.stats import summary, welch
from master.app import create_app
from master.embedded_server import start_in_thread
from tests.integration.conftest import DATA, campaign_cmd, report_dir_of
from tests.integration.test_web_browser import chromium, needs_chromium, page_requests

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The compare campaign run twice in one state dir: (report folder A, report folder B, state dir)."""
    root = tmp_path_factory.mktemp("compare")
    folders = []
    for _ in range(2):
        proc = subprocess.run(
            campaign_cmd(
                "run",
                str(DATA / "compare.yml"),
                "--state-dir",
                str(root / "state"),
                "--reports-dir",
                str(root / "reports"),
            ),
            cwd=root,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        folders.append(report_dir_of(proc.stdout))
    return folders[0], folders[1], root / "state"


def compare(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run(campaign_cmd("compare", *map(str, args)), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def per_variant(folder: Path, metric: str) -> dict[str, list[float]]:
    """The metric's values per preset over the succeeded jobs of a results.json."""
    run = json.loads((folder / "results.json").read_text())
    values: dict[str, list[float]] = {}
    for job in run["jobs"]:
        if job["state"] == "succeeded":
            values.setdefault(job["params"]["preset"], []).append(job["result"]["metrics"][metric])
    return values


def estimated(folder: Path) -> bool:
    """Whether the run's energy is estimated (a host without energy counters)."""
    run = json.loads((folder / "results.json").read_text())
    return any(j["result"]["provenance"]["estimated"] for j in run["jobs"] if j["state"] == "succeeded")


def expected_cells(folder_a: Path, folder_b: Path, metric: str) -> dict[str, list[str]]:
    """The cells of each preset's row, recomputed from the two results.json files."""
    a, b = per_variant(folder_a, metric), per_variant(folder_b, metric)
    assert sorted(a) == sorted(b) == ["ultrafast", "veryfast"] and all(len(v) == 3 for v in a.values())
    cells = {}
    for preset in a:
        mean_a, mean_b = statistics.fmean(a[preset]), statistics.fmean(b[preset])
        diff = welch(a[preset], b[preset])
        assert diff.diff == pytest.approx(mean_b - mean_a)
        cells[preset] = [
            f"{mean_a:.4g} ± {summary(a[preset]).ci95_halfwidth:.4g} (n=3)",
            f"{mean_b:.4g} ± {summary(b[preset]).ci95_halfwidth:.4g} (n=3)",
            f"{(mean_b - mean_a) / abs(mean_a) * 100:+.1f}%",
            f"[{diff.ci_low:.4g}, {diff.ci_high:.4g}]",
            fmt_p(diff.p_value),
        ]
    return cells


def test_text_output_has_the_recomputed_figures(two_runs):
    folder_a, folder_b, _ = two_runs
    out = compare(folder_a, folder_b).stdout
    lines = out.splitlines()
    assert lines[0].startswith("x264-ultrafast: ")
    assert ("J/frame (estimated)" in lines[0]) == estimated(folder_a)
    for metric in ("joules_per_frame", "fps"):
        for preset, cells in expected_cells(folder_a, folder_b, metric).items():
            row = next(line for line in lines if f"x264-{preset} " in line and cells[0] in line)
            for cell in cells:
                assert cell in row, (metric, preset, cell, row)


def test_html_page_has_the_recomputed_figures_and_loads_cleanly(two_runs, tmp_path):
    folder_a, folder_b, _ = two_runs
    compare(folder_a / "results.json", folder_b / "results.json", "--html", tmp_path / "cmp")
    page = tmp_path / "cmp" / "compare.html"
    html = page.read_text()
    for preset, cells in expected_cells(folder_a, folder_b, "joules_per_frame").items():
        row = next(r for r in html.split("<tr>") if f"<td>x264-{preset}</td>" in r and cells[0] in r)
        for cell in cells:
            assert cell.replace("<", "&lt;") in row
    if needs_chromium.args[0]:
        pytest.skip(needs_chromium.kwargs["reason"])
    proc = chromium(page.as_uri(), tmp_path / "profile", tmp_path / "net.json", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Content Security Policy" not in proc.stderr and "Uncaught" not in proc.stderr
    assert "CONSOLE" not in proc.stderr
    assert "x264-veryfast" in proc.stdout
    assert page_requests(tmp_path / "net.json") == []


def test_campaign_ids_compare_like_the_folders(two_runs):
    """By campaign id from the embedded state dir: the same JSON as from the report folders."""
    folder_a, folder_b, state = two_runs
    ids = [json.loads((f / "results.json").read_text())["campaign"]["id"] for f in (folder_a, folder_b)]
    by_id = json.loads(compare(*ids, "--json", "--state-dir", state).stdout)
    by_folder = json.loads(compare(folder_a, folder_b, "--json").stdout)
    assert by_id["matched"] == by_folder["matched"]
    history = json.loads(
        subprocess.run(
            campaign_cmd("history", "--json", "--state-dir", str(state)), capture_output=True, text=True, timeout=60
        ).stdout
    )
    assert {r["id"] for r in history["runs"]} == set(ids)
    assert [r["best"]["estimated"] for r in history["runs"]] == [estimated(folder_a), estimated(folder_b)][::-1]


@needs_chromium
def test_web_ui_page_loads_cleanly_in_chromium(two_runs, tmp_path):
    """/ui/compare/A/B of a master over the runs' database: the figures shown, only same-origin requests, no CSP
    violation or script error."""
    folder_a, folder_b, state = two_runs
    ids = [json.loads((f / "results.json").read_text())["campaign"]["id"] for f in (folder_a, folder_b)]
    app = create_app({"DATABASE": str(state / "ffwatt.db"), "INSECURE": True})
    server = start_in_thread(app)
    try:
        proc = chromium(f"{server.url}/ui/compare/{ids[0]}/{ids[1]}", tmp_path / "p", tmp_path / "n.json", "--dump-dom")
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Content Security Policy" not in proc.stderr and "Uncaught" not in proc.stderr
    for preset, cells in expected_cells(folder_a, folder_b, "joules_per_frame").items():
        row = next(r for r in proc.stdout.split("<tr>") if f"<td>x264-{preset}</td>" in r and cells[0] in r)
        assert all(cell.replace("<", "&lt;") in row for cell in cells)
    requests = page_requests(tmp_path / "n.json")
    assert requests and all(target.startswith(server.url + "/") for _, target in requests)
