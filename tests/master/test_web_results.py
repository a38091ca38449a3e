"""The campaign page's results table, ``/ui/`` and ``campaign status``'s confidence progress, on the real app with a
real SQLite file: campaigns are submitted, claimed and answered through the HTTP API as an agent would.

The expected numbers are computed here from the result bodies the tests post (mean, sample standard deviation,
Student-t 95% interval with the t quantiles of a printed table), never read back from the implementation.
"""

from __future__ import annotations

import json
import math
import re
import statistics

import pytest
from click.testing import CliRunner

from master.cli import main as campaign_cli
from master.embedded_server import start_in_thread
from tests.master.conftest import ENROLLMENT_TOKEN, LIBX264, bearer

T_975 = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305, 4: 2.776445105}
"""Student-t 0.975 quantiles by degrees of freedom (any statistics table)."""

TWO_PRESETS = """\
version: 1
name: web-results
targets: [local]
defaults: {repetitions: 3}
scenarios:
  - name: x264
    kind: transcode
    input: {content: medium, size: 1280x720, rate: 30}
    encoder: libx264
    bitrate: 3000k
    duration: 10
    matrix:
      preset: [veryfast, ultrafast]
"""

CONFIDENCE = TWO_PRESETS.replace("name: web-results", "name: web-confidence").replace(
    "defaults: {repetitions: 3}", "defaults: {confidence: {target: 0.05, min: 2, max: 4}}"
)


def submit(client, admin, spec_text: str) -> str:
    resp = client.post("/campaigns", json={"spec_text": spec_text, "spec_path": "web.yml"}, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["campaign_id"]


def register(client, hostname: str = "web-node") -> tuple[str, dict]:
    resp = client.post(
        "/nodes/register", json={"hostname": hostname, "inventory": LIBX264}, headers=bearer(ENROLLMENT_TOKEN)
    )
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()["node_id"], bearer(resp.get_json()["node_token"])


def claim(client, node: tuple[str, dict]) -> dict:
    job = client.get(f"/jobs/next?node_id={node[0]}&wait=0", headers=node[1]).get_json()["job"]
    assert job is not None, "no job to claim"
    return job


def result_body(
    job: dict, node_id: str, *, jpf: float, watts: float, fps: float, vmaf: float | None = None, estimated: bool = False
) -> dict:
    """A succeeded result as an agent sends it (docs/WIRE.md), measured by RAPL unless ``estimated``."""
    metrics = {
        "frames": 300,
        "fps": fps,
        "mean_watts": watts,
        "joules_per_frame": jpf,
        "total_energy_j": jpf * 300,
        "psnr_db": None,
        "ssim": None,
        "vmaf": vmaf,
    }
    missing = {"psnr_db": "quality not asked for", "ssim": "quality not asked for"}
    if vmaf is None:
        missing["vmaf"] = "this FFmpeg has no libvmaf"
    source = {
        "name": "rapl:package-0",
        "kind": "rapl",
        "measured": not estimated,
        "valid_samples": 40,
        "invalid_samples": 0,
        "reason": None,
    }
    return {
        "job_id": job["id"],
        "attempt": job["attempt"],
        "node_id": node_id,
        "status": "succeeded",
        "error": None,
        "metrics": metrics,
        "missing": missing,
        "provenance": {
            "estimated": estimated,
            "sample_rate_hz": 10.0,
            "sample_count": 40,
            "notes": [],
            "sources": [source],
        },
    }


def post(client, node, job: dict, **figures) -> dict:
    body = result_body(job, node[0], **figures)
    resp = client.post("/results", json=body, headers=node[1])
    assert resp.status_code in (200, 201), resp.get_json()
    return body


def claim_variant(client, node, variant_part: str) -> dict:
    """Claim jobs until one of a variant whose name contains ``variant_part``; others are answered as failed."""
    for _ in range(20):
        job = claim(client, node)
        if variant_part in job["variant"]:
            return job
        client.post(
            "/results",
            json={
                "job_id": job["id"],
                "attempt": job["attempt"],
                "node_id": node[0],
                "status": "failed",
                "error": "set aside by the test",
            },
            headers=node[1],
        )
    raise AssertionError(f"no job of {variant_part}")


def page(client, campaign_id: str) -> str:
    resp = client.get(f"/ui/campaigns/{campaign_id}")
    assert resp.status_code == 200, resp.data[:500]
    return resp.get_data(as_text=True)


def results_section(html: str) -> str:
    match = re.search(r'<section id="campaign-results"[^>]*>(.*?)</section>', html, re.S)
    assert match, "no results section"
    return match.group(1)


def row(html: str, variant_part: str) -> str:
    match = re.search(rf'<tr data-variant="[^"]*{re.escape(variant_part)}[^"]*">(.*?)</tr>', html, re.S)
    assert match, f"no row of {variant_part}"
    return match.group(1)


def cells(row_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)]


def g4(x: float) -> str:
    """4 significant digits, as the report writes a number."""
    return f"{x:.4g}"


def interval(values: list[float]) -> tuple[float, float, float, float]:
    """mean, sample stdev, and the Student-t 95% interval's bounds."""
    mean, sd = statistics.mean(values), statistics.stdev(values)
    half = T_975[len(values) - 1] * sd / math.sqrt(len(values))
    return mean, sd, mean - half, mean + half


# ---- the results table ----------------------------------------------------------------------------------------------


def test_results_table_appears_with_the_first_result_and_keeps_missing_missing(client, admin):
    """No table before any result; after the first, a row per variant: the answered one with its numbers, the other
    with "—" and why, never 0; with three results the mean ± stdev and the 95% CI of each column."""
    campaign_id = submit(client, admin, TWO_PRESETS)
    node = register(client)
    before = results_section(page(client, campaign_id))
    assert "<tr data-variant" not in before and "No result yet" in before

    first = claim_variant(client, node, "veryfast")
    post(client, node, first, jpf=0.5, watts=30.0, fps=60.0, vmaf=90.0)
    html = results_section(page(client, campaign_id))
    fast = cells(row(html, "veryfast"))
    assert fast[1][:3] == ["1", "of", "3"]
    assert fast[2][0] == "0.5" and fast[3][0] == "30" and fast[4][0] == "60" and fast[5][0] == "90"
    assert fast[2][-1] == "—"  # one run: no CI, shown as a dash
    ultra = row(html, "ultrafast")
    for cell in cells(ultra)[2:6]:
        assert cell[0] == "—", cell
    assert not re.search(r">\s*0(\.0+)?\s*<", ultra)
    assert "no result yet: 3 runs queued or running" in html
    assert "<th>VMAF</th>" in html and "<th>PSNR dB</th>" not in html and "<th>SSIM</th>" not in html
    energy = re.search(r"<td data-energy>(.*?)</td>", row(html, "veryfast"), re.S).group(1)
    assert "measured" in energy and "rapl:package-0" in energy and "est." not in energy

    jpfs, watts, fpss = [0.5, 0.6, 0.7], [30.0, 32.0, 34.0], [60.0, 57.0, 55.5]
    for jpf, w, fps in zip(jpfs[1:], watts[1:], fpss[1:]):
        post(client, node, claim_variant(client, node, "veryfast"), jpf=jpf, watts=w, fps=fps, vmaf=None)
    html = results_section(page(client, campaign_id))
    fast = row(html, "veryfast")
    text = re.sub(r"<[^>]+>", " ", fast)
    for values in (jpfs, watts, fpss):
        mean, sd, low, high = interval(values)
        assert f"{g4(mean)} ± {f'{sd:.2g}'}" in text, (values, text)
        assert f"CI [{g4(low)}, {g4(high)}]" in text, (values, text)
    assert cells(fast)[1][:3] == ["3", "of", "3"]
    # VMAF came from one run of three: its mean, and the count it stands on
    assert "90" in " ".join(cells(fast)[5]) and "n=1/3" in " ".join(cells(fast)[5])
    assert "this FFmpeg has no libvmaf" in html


def test_estimated_energy_is_labelled_in_the_table(client, admin):
    """A variant whose runs were estimated carries the est. badge on its energy columns and says estimated."""
    campaign_id = submit(client, admin, TWO_PRESETS)
    node = register(client)
    post(client, node, claim_variant(client, node, "ultrafast"), jpf=0.25, watts=20.0, fps=90.0, estimated=True)
    ultra = row(results_section(page(client, campaign_id)), "ultrafast")
    energy = re.search(r"<td data-energy>(.*?)</td>", ultra, re.S).group(1)
    assert "est." in energy and "measured" not in energy and "CPU-time model" in energy
    assert 'class="badge est"' in re.findall(r"<td[^>]*>(.*?)</td>", ultra, re.S)[2]  # J/frame


def test_finished_campaign_page_is_final_and_running_one_is_not(client, admin):
    """The page of a running campaign keeps refreshing (no data-final); once it finished, its progress is final."""
    campaign_id = submit(client, admin, TWO_PRESETS)
    assert "data-final" not in page(client, campaign_id)
    client.post(f"/campaigns/{campaign_id}/cancel", headers=admin)
    assert re.search(r'<section id="campaign-progress" data-live data-final>', page(client, campaign_id))


@pytest.mark.parametrize("path", ["/ui/", "/ui"])
def test_ui_root_redirects_to_the_dashboard(client, path):
    resp = client.get(path)
    assert resp.status_code in (301, 302, 307, 308)
    assert resp.headers["Location"] in ("/", "http://localhost/")
    assert client.get(path, follow_redirects=True).status_code == 200


# ---- confidence progress: JSON and campaign status ------------------------------------------------------------------


def expected_half_width_pct(values: list[float]) -> float:
    mean, _, low, high = interval(values)
    return (high - mean) / mean * 100


def status_text(*args: str) -> str:
    result = CliRunner().invoke(campaign_cli, ["status", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_campaign_status_shows_confidence_progress(app, client, admin, tmp_path):
    """Per confidence variant: runs, the half-width against the target and reached (still running, yes, or no after a
    cancel), the same from the embedded database (--state-dir) and from a master over HTTP (--master), and in --json."""
    campaign_id = submit(client, admin, CONFIDENCE)
    node = register(client)
    post(client, node, claim_variant(client, node, "veryfast"), jpf=1.0, watts=30.0, fps=60.0)
    post(client, node, claim_variant(client, node, "veryfast"), jpf=1.02, watts=30.0, fps=60.0)
    half = expected_half_width_pct([1.0, 1.02])
    assert half > 5

    progress = client.get(f"/campaigns/{campaign_id}").get_json()
    entry = {v["variant"]: v for v in progress["confidence"]}
    fast = next(v for name, v in entry.items() if "veryfast" in name)
    ultra = next(v for name, v in entry.items() if "ultrafast" in name)
    assert fast["runs"] == 2 and fast["target"] == 0.05 and fast["reached"] is False
    assert fast["half_width_pct"] == pytest.approx(half, rel=1e-6)
    assert fast["outcome"] == "still running" and fast["jobs"] == 3  # the master queued a third run
    assert ultra["runs"] == 0 and ultra["half_width_pct"] is None and ultra["outcome"] == "still running"

    server = start_in_thread(app)
    try:
        for args in (["--state-dir", str(tmp_path)], ["--master", server.url]):
            text = status_text(campaign_id, *args)
            line = next(x for x in text.splitlines() if "veryfast" in x and "half-width" in x)
            assert f"runs 2 of 3 jobs (max 4), half-width ±{half:.1f}%, target ±5%, reached: still running" in line
            ultra_line = next(x for x in text.splitlines() if "ultrafast" in x and "half-width" in x)
            assert "runs 0 of 2 jobs" in ultra_line and "half-width —" in ultra_line
            as_json = json.loads(status_text(campaign_id, "--json", *args))
            assert {v["variant"]: v["outcome"] for v in as_json["confidence"]} == {
                fast["variant"]: "still running",
                ultra["variant"]: "still running",
            }

        post(client, node, claim_variant(client, node, "veryfast"), jpf=1.01, watts=30.0, fps=60.0)
        half = expected_half_width_pct([1.0, 1.02, 1.01])
        assert half <= 5
        text = status_text(campaign_id, "--master", server.url)
        assert f"runs 3 of 3 jobs (max 4), half-width ±{half:.1f}%, target ±5%, reached: yes" in text

        client.post(f"/campaigns/{campaign_id}/cancel", headers=admin)
        text = status_text(campaign_id, "--state-dir", str(tmp_path))
        ultra_line = next(x for x in text.splitlines() if "ultrafast" in x and "half-width" in x)
        assert ultra_line.endswith("reached: no")
    finally:
        server.stop()


def test_campaign_without_confidence_has_no_confidence_lines(client, admin, tmp_path):
    campaign_id = submit(client, admin, TWO_PRESETS)
    assert client.get(f"/campaigns/{campaign_id}").get_json()["confidence"] == []
    assert "confidence" not in status_text(campaign_id, "--state-dir", str(tmp_path))


def test_failed_variant_shows_its_error_and_a_retry_updates_the_table(client, admin):
    """A variant whose only finished run failed shows "—" with the error (no 0); once that job is retried and its new
    attempt succeeds, the next page shows the new attempt's numbers (the table is rebuilt, not served from before)."""
    campaign_id = submit(client, admin, TWO_PRESETS.replace("repetitions: 3", "repetitions: 1"))
    node = register(client)
    job = claim_variant(client, node, "veryfast")
    resp = client.post(
        "/results",
        json={
            "job_id": job["id"],
            "attempt": job["attempt"],
            "node_id": node[0],
            "status": "failed",
            "error": "encoder exploded",
        },
        headers=node[1],
    )
    assert resp.status_code in (200, 201)
    html = results_section(page(client, campaign_id))
    fast = row(html, "veryfast")
    assert [c[0] for c in cells(fast)[2:5]] == ["—", "—", "—"]
    assert "encoder exploded" in html and not re.search(r">\s*0(\.0+)?\s*<", fast)

    assert client.post(f"/jobs/{job['id']}/retry", headers=admin).status_code == 200
    again = claim_variant(client, node, "veryfast")
    assert again["id"] == job["id"] and again["attempt"] == job["attempt"] + 1
    post(client, node, again, jpf=0.75, watts=25.0, fps=40.0)
    fast = cells(row(results_section(page(client, campaign_id)), "veryfast"))
    assert fast[1][:3] == ["1", "of", "1"] and fast[2][0] == "0.75" and fast[3][0] == "25"
