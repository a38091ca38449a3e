"""The web UI through Flask's test client on a real SQLite file: pages, 404s, headers, and the helpers behind them."""

from __future__ import annotations

import json
import re
import time

import pytest

from master import db, queue
from master.app import create_app
from master.fleet import Liveness
from master.web import formatting

INVENTORY = {
    "hostname": "bench-01",
    "cpu_model": "AMD EPYC 7443P 24-Core Processor",
    "cpu_sockets": 1,
    "cpu_cores": 24,
    "cpu_threads": 48,
    "memory_bytes": 128 * 2**30,
    "gpus": [{"index": 0, "name": "NVIDIA L4", "uuid": "GPU-1"}],
    "kernel": "6.1.0-18-amd64",
    "os": "Debian GNU/Linux 12 (bookworm)",
    "ffmpeg": {"path": "/usr/bin/ffmpeg", "version": "5.1.6-0+deb12u1", "source": "system"},
    "encoders": {
        "libx264": {"usable": True, "reason": None},
        "h264_nvenc": {"usable": False, "reason": "no NVENC device"},
    },
    "power_sources": [
        {"name": "rapl:package-0", "kind": "rapl", "measured": True, "details": {"max_energy_range_uj": 262143328850}}
    ],
    "power_notes": ["DRAM counted separately"],
    "missing": {},
}


@pytest.fixture
def app(tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "ffwatt.db"), "INSECURE": True})


def insert_node(
    conn,
    node_id: str,
    hostname: str,
    *,
    watts: float | None = None,
    heartbeat_age: float | None = 1.0,
    inventory: dict | None = None,
    status: str = "online",
    progress: dict | None = None,
) -> str:
    """A nodes row as registration and heartbeats leave it; ``heartbeat_age`` None = never heartbeated."""
    now = time.time()
    with db.write(conn):
        conn.execute(
            "INSERT INTO nodes (id, hostname, inventory, labels, status, registered_at, last_heartbeat, current_watts,"
            " progress) VALUES (?, ?, ?, '{}', ?, ?, ?, ?, ?)",
            (
                node_id,
                hostname,
                json.dumps(inventory or {}),
                status,
                now - 3600,
                None if heartbeat_age is None else now - heartbeat_age,
                watts,
                None if progress is None else json.dumps(progress),
            ),
        )
    return node_id


def make_jobs(
    conn, states: list[str], *, node_id: str | None = None, name: str = "ladder", error: str | None = None
) -> tuple[str, list[str]]:
    """A campaign whose jobs are in ``states`` (in order); finished and running ones ran on ``node_id``."""
    specs = [
        {
            "name": f"x264-veryfast#{i}",
            "scenario": "x264",
            "variant": "x264-veryfast",
            "repetition": i,
            "kind": "transcode",
            "requirements": {"encoder": "libx264", "targets": ["local"]},
            "params": {
                "kind": "transcode",
                "encoder": "libx264",
                "preset": "veryfast",
                "bitrate": "3000k",
                "crf": None,
                "duration": 10,
                "input": {"type": "lavfi", "source": "testsrc2"},
            },
        }
        for i in range(1, len(states) + 1)
    ]
    campaign_id = queue.create_campaign(
        conn, name=name, description="x264 at 720p", spec_text="name: t", spec_path="campaigns/h264.yml", jobs=specs
    )
    ids = [r["id"] for r in conn.execute("SELECT id FROM jobs WHERE campaign_id = ? ORDER BY seq", (campaign_id,))]
    now = time.time()
    with db.write(conn):
        for job_id, state in zip(ids, states):
            if state == "queued":
                continue
            conn.execute(
                "UPDATE jobs SET state = ?, attempt = 1, node_id = ?, started_at = ?, finished_at = ?, error = ?,"
                " lease_expires = ? WHERE id = ?",
                (
                    state,
                    node_id,
                    now - 30,
                    None if state == "running" else now - 20,
                    error if state == "failed" else None,
                    now + 60 if state == "running" else None,
                    job_id,
                ),
            )
    return campaign_id, ids


def add_result(conn, job_id: str, node_id: str, *, estimated: bool) -> None:
    """Store an accepted result (docs/WIRE.md shape) for attempt 1 of ``job_id``."""
    body = {
        "job_id": job_id,
        "attempt": 1,
        "node_id": node_id,
        "status": "succeeded",
        "error": None,
        "metrics": {
            "frames": 300,
            "fps": 73.2,
            "total_energy_j": 130.4,
            "mean_watts": 31.8,
            "idle_watts": None,
            "joules_per_frame": 0.4347,
            "energy_j": {"rapl:package-0": 120.3},
        },
        "missing": {"idle_watts": "idle baseline unreadable"},
        "provenance": {
            "estimated": estimated,
            "sample_rate_hz": 10.0,
            "sample_count": 41,
            "notes": [],
            "sources": [
                {
                    "name": "rapl:package-0",
                    "kind": "rapl",
                    "measured": not estimated,
                    "valid_samples": 41,
                    "invalid_samples": 0,
                    "reason": None,
                }
            ],
        },
        "ffmpeg": {
            "argv": ["ffmpeg", "-i", "in put.mp4"],
            "version": "5.1.6",
            "path": "/usr/bin/ffmpeg",
            "stderr_tail": ["frame=300"],
        },
    }
    with db.write(conn):
        conn.execute(
            "INSERT INTO results (job_id, attempt, node_id, status, body, received_at)"
            " VALUES (?, 1, ?, 'succeeded', ?, ?)",
            (job_id, node_id, json.dumps(body), time.time()),
        )


def text_of(resp) -> str:
    """A page's HTML as text, asserting it rendered."""
    assert resp.status_code == 200, resp.data[:500]
    assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


def section(html: str, section_id: str) -> str:
    """The HTML of the ``<section id=...>`` element (sections are not nested)."""
    match = re.search(rf'<section id="{section_id}"[^>]*>(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def watts_cell(html: str) -> str:
    """The content of the first live-watts cell."""
    match = re.search(r"<td[^>]*data-watts>(.*?)</td>", html, re.S)
    assert match, "no watts cell"
    return match.group(1).strip()


# ---- dashboard ------------------------------------------------------------------------------------------------------


def test_dashboard_shows_node_hardware_watts_and_current_job(client, conn):
    """A node row has hostname, status, CPU model, cores/threads, GPU, live watts and its running job's progress."""
    insert_node(conn, "n-1", "bench-01", watts=87.5, inventory=INVENTORY)
    _, ids = make_jobs(conn, ["running"], node_id="n-1")
    with db.write(conn):
        conn.execute(
            "UPDATE nodes SET progress = ? WHERE id = 'n-1'",
            (json.dumps({"job_id": ids[0], "phase": "encode", "frame": 120, "out_time_s": 4.0}),),
        )
    nodes = section(text_of(client.get("/")), "nodes")
    assert "bench-01" in nodes and "online" in nodes
    assert "AMD EPYC 7443P 24-Core Processor" in nodes and "24 / 48" in nodes and "NVIDIA L4" in nodes
    assert watts_cell(nodes) == '<span class="watts">87.5 W</span>'
    assert "x264-veryfast#1" in nodes and "40%" in nodes and f'href="/ui/jobs/{ids[0]}"' in nodes


def test_dashboard_missing_watts_is_a_dash_with_reason_never_zero(client, conn):
    """A node whose heartbeat carried no watts shows "—" with why, and no "0.0 W"."""
    insert_node(conn, "n-1", "quiet-box", watts=None)
    nodes = section(text_of(client.get("/")), "nodes")
    assert watts_cell(nodes) == (
        '<span class="missing" title="the last heartbeat carried no watts: no power reading on this node">—</span>'
    )
    assert "0.0 W" not in nodes


def test_dashboard_offline_node_shows_no_live_watts(client, conn):
    """A node silent for more than 3 heartbeat intervals is offline, its stale watts hidden behind the reason."""
    insert_node(conn, "n-1", "gone-box", watts=55.0, heartbeat_age=900)
    nodes = section(text_of(client.get("/")), "nodes")
    assert 'class="state state-offline">offline<' in nodes
    cell = watts_cell(nodes)
    assert cell.startswith('<span class="missing" title="offline: last heartbeat 15 min')
    assert cell.endswith(' ago (its last reading was 55.0 W)">—</span>')


def test_dashboard_campaign_progress(client, conn):
    """A campaign row shows done/total with a progress bar, its state, counts and report links."""
    campaign_id, _ = make_jobs(conn, ["succeeded", "failed", "running", "queued"], node_id=None, error="boom")
    campaigns = section(text_of(client.get("/")), "campaigns")
    assert "2 / 4 done (50%)" in campaigns and '<progress max="4" value="2">' in campaigns
    assert "1 queued" in campaigns and "1 failed" in campaigns and "state-running" in campaigns
    assert f'href="/campaigns/{campaign_id}/report"' in campaigns
    assert f'href="/ui/campaigns/{campaign_id}"' in campaigns


def test_dashboard_recent_jobs_show_state_and_error(client, conn):
    """Recent jobs list each job's state and its error."""
    insert_node(conn, "n-1", "bench-01")
    make_jobs(conn, ["succeeded", "failed"], node_id="n-1", error="encoder unavailable: h264_nvenc")
    jobs = section(text_of(client.get("/")), "jobs")
    assert jobs.count("<tr data-job=") == 2
    assert "encoder unavailable: h264_nvenc" in jobs and "state-failed" in jobs and "bench-01" in jobs


def test_dashboard_empty_store(client):
    """With no node and no campaign the dashboard says so instead of showing empty tables."""
    html = text_of(client.get("/"))
    assert "No node has registered yet" in html and "No campaign yet" in html and "<table" not in html


# ---- node page ------------------------------------------------------------------------------------------------------


def test_node_page_shows_inventory(client, conn):
    """The node page lists the agent's inventory: CPU, RAM, GPU, kernel, OS, FFmpeg, encoders, power sources."""
    insert_node(conn, "n-1", "bench-01", watts=87.5, inventory=INVENTORY)
    html = text_of(client.get("/ui/nodes/n-1"))
    for text in (
        "AMD EPYC 7443P 24-Core Processor",
        "24 / 48 (1 socket)",
        "128.0 GiB",
        "NVIDIA L4",
        "6.1.0-18-amd64",
        "Debian GNU/Linux 12 (bookworm)",
        "5.1.6-0+deb12u1 (system, /usr/bin/ffmpeg)",
        "rapl:package-0",
        "DRAM counted separately",
        "87.5 W",
    ):
        assert text in html, text
    encoders = html.split("<h3>Encoders</h3>")[1].split("</table>")[0]
    assert "<code>libx264</code>" in encoders and "no NVENC device" in encoders
    assert encoders.index("libx264") < encoders.index("h264_nvenc")


def test_node_page_current_job_progress(client, conn):
    """The node page shows its running job with the share of the input encoded."""
    insert_node(conn, "n-1", "bench-01", watts=80.0)
    _, ids = make_jobs(conn, ["running"], node_id="n-1")
    with db.write(conn):
        conn.execute(
            "UPDATE nodes SET progress = ? WHERE id = 'n-1'",
            (json.dumps({"job_id": ids[0], "phase": "encode", "frame": 75, "fps": 60.0, "out_time_s": 2.5}),),
        )
    live = section(text_of(client.get("/ui/nodes/n-1")), "node-live")
    assert "x264-veryfast#1" in live and "25%" in live and "frame 75" in live and "2.5 s of 10 s encoded" in live


# ---- campaign page --------------------------------------------------------------------------------------------------


def test_campaign_page_jobs_errors_and_report_links(client, conn):
    """The campaign page shows progress, each job's state and error, and links to the report in 3 formats."""
    insert_node(conn, "n-1", "bench-01")
    campaign_id, ids = make_jobs(
        conn, ["succeeded", "failed", "queued"], node_id="n-1", error="encoder unavailable: h264_nvenc"
    )
    html = text_of(client.get(f"/ui/campaigns/{campaign_id}"))
    assert "2 / 3 done (66%)" in section(html, "campaign-progress")
    for suffix in ("", ".json", ".csv"):
        assert f'href="/campaigns/{campaign_id}/report{suffix}"' in html
    jobs = section(html, "campaign-jobs")
    assert all(f'data-job="{job_id}"' in jobs for job_id in ids)
    assert "encoder unavailable: h264_nvenc" in jobs and "state-queued" in jobs


def test_campaign_page_state_filter(client, conn):
    """?state=failed lists only the failed jobs; an unknown state is a 400 page."""
    campaign_id, ids = make_jobs(conn, ["succeeded", "failed"], error="boom")
    jobs = section(text_of(client.get(f"/ui/campaigns/{campaign_id}?state=failed")), "campaign-jobs")
    assert f'data-job="{ids[1]}"' in jobs and f'data-job="{ids[0]}"' not in jobs
    bad = client.get(f"/ui/campaigns/{campaign_id}?state=nope")
    assert bad.status_code == 400 and bad.mimetype == "text/html" and "state: must be one of" in bad.get_data(True)


def test_campaign_page_says_why_jobs_wait(client, conn):
    """Queued jobs with no online node: the campaign says they wait for one; with a node online it does not."""
    campaign_id, _ = make_jobs(conn, ["queued", "queued"])
    insert_node(conn, "n-1", "gone-box", heartbeat_age=900)
    assert "2 jobs wait: no node is online" in text_of(client.get(f"/ui/campaigns/{campaign_id}"))
    insert_node(conn, "n-2", "live-box")
    assert "wait: no node is online" not in text_of(client.get(f"/ui/campaigns/{campaign_id}"))


# ---- job page -------------------------------------------------------------------------------------------------------


def test_job_page_params_state_and_logs_link(client, conn):
    """The job page shows params, state, attempts, error and links to its logs."""
    insert_node(conn, "n-1", "bench-01")
    _, ids = make_jobs(conn, ["failed"], node_id="n-1", error="encoder unavailable: h264_nvenc")
    html = text_of(client.get(f"/ui/jobs/{ids[0]}"))
    state = section(html, "job-state")
    assert "state-failed" in state and "1 of 3" in state and "encoder unavailable: h264_nvenc" in state
    params = section(html, "params")
    assert "<code>veryfast</code>" in params and "<code>3000k</code>" in params
    assert "type=lavfi, source=testsrc2" in params and "<code>local</code>" in params
    assert f'href="/jobs/{ids[0]}/logs"' in html


def test_job_page_estimated_result_is_labelled(client, conn):
    """Energy metrics of an estimated result carry est.; frames do not; a missing metric shows its reason."""
    insert_node(conn, "n-1", "bench-01")
    _, ids = make_jobs(conn, ["succeeded"], node_id="n-1")
    add_result(conn, ids[0], "n-1", estimated=True)
    result = section(text_of(client.get(f"/ui/jobs/{ids[0]}")), "job-result")
    rows = dict(re.findall(r'<tr data-metric="(\w+)">(.*?)</tr>', result, re.S))
    assert "0.4347" in rows["joules_per_frame"] and "est." in rows["joules_per_frame"]
    assert "130.4" in rows["total_energy_j"] and "est." in rows["total_energy_j"]
    assert "300" in rows["frames"] and "est." not in rows["frames"]
    assert 'title="idle baseline unreadable">—' in rows["idle_watts"]
    assert "ffmpeg -i &#39;in put.mp4&#39;" in result


def test_job_page_measured_result_has_no_est(client, conn):
    """A measured result shows its numbers without any est. badge."""
    insert_node(conn, "n-1", "bench-01")
    _, ids = make_jobs(conn, ["succeeded"], node_id="n-1")
    add_result(conn, ids[0], "n-1", estimated=False)
    result = section(text_of(client.get(f"/ui/jobs/{ids[0]}")), "job-result")
    assert "0.4347" in result and "measured" in result and "est." not in result


def test_job_page_lists_events_when_recorded(client, conn):
    """Events in job_events (schema 2) appear in the job's history with their errors."""
    _, ids = make_jobs(conn, ["failed"], error="lease expired")
    with db.write(conn):
        conn.execute(
            "INSERT INTO job_events (job_id, attempt, event, node_id, at, detail) VALUES (?, 1,"
            " 'lease_expired', NULL, ?, ?)",
            (ids[0], time.time(), json.dumps({"error": "lease expired"})),
        )
    history = section(text_of(client.get(f"/ui/jobs/{ids[0]}")), "job-events")
    assert "lease_expired" in history and "lease expired" in history


# ---- 404s, headers, escaping ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ui/nodes/n-nope", "/ui/campaigns/c-nope", "/ui/jobs/j-nope", "/ui/nothing/here"])
def test_unknown_ids_are_404_pages(client, path):
    """Unknown ids and paths under /ui are HTML 404 pages that say what was not found."""
    resp = client.get(path)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "<h1>404" in body and ("not found" in body or f"no page at {path}" in body)


def test_ui_does_not_shadow_the_json_api(client):
    """/nodes and an unknown /nodes/<id> still answer JSON, not UI pages."""
    assert client.get("/nodes").is_json
    resp = client.get("/nodes/n-nope")
    assert resp.status_code == 404 and resp.is_json


def test_pages_forbid_other_origins_and_link_none(client, conn):
    """Every page and asset has a same-origin-only CSP, and no page references an external URL."""
    insert_node(conn, "n-1", "bench-01", watts=10.0, inventory=INVENTORY)
    campaign_id, ids = make_jobs(conn, ["succeeded"], node_id="n-1")
    add_result(conn, ids[0], "n-1", estimated=True)
    for path in (
        "/",
        "/ui/nodes/n-1",
        f"/ui/campaigns/{campaign_id}",
        f"/ui/jobs/{ids[0]}",
        "/ui/nodes/x",
        "/ui/static/ui.js",
        "/ui/static/ui.css",
    ):
        resp = client.get(path)
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"], path
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"], path
        body = resp.get_data(as_text=True)
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", body), path
        assert not re.search(r"<script>|<style>| style=", body), path


def test_static_assets_are_served(client):
    """The stylesheet and the refresh script come from the blueprint's static folder."""
    js, css = client.get("/ui/static/ui.js"), client.get("/ui/static/ui.css")
    assert js.status_code == 200 and "data-live" in js.get_data(as_text=True)
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_hostile_text_is_escaped(client, conn):
    """A hostname or error containing HTML is shown as text, not markup."""
    insert_node(conn, "n-1", "<script>alert(1)</script>")
    make_jobs(conn, ["failed"], node_id="n-1", error="<img src=x onerror=alert(1)>")
    html = text_of(client.get("/"))
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_page_declares_refresh_interval_and_live_parts(client, conn):
    """The body carries the refresh interval and the dashboard's refreshable parts have ids."""
    html = text_of(client.get("/"))
    assert 'data-refresh-s="5"' in html
    assert all(re.search(rf'id="{part}" data-live', html) for part in ("summary", "nodes", "campaigns", "jobs"))


# ---- node status and formatting -------------------------------------------------------------------------------------

CONFIG = {"HEARTBEAT_INTERVAL_S": 30.0, "MISSED_HEARTBEATS_OFFLINE": 3}


@pytest.mark.parametrize(
    "age, stored, own, expected",
    [
        (10, "online", None, "online"),
        (89, "online", None, "online"),
        (91, "online", None, "offline"),
        (None, "online", None, "offline"),
        (10, "draining", None, "draining"),
        (200, "draining", None, "offline"),
        (200, "online", 100.0, "online"),
        (301, "online", 100.0, "offline"),
        (91, "online", 0, "offline"),
    ],
)
def test_node_status_from_heartbeat_age(age, stored, own, expected):
    """Offline after 3 heartbeat intervals (the node's own interval when it has one), else the stored status."""
    now = 1_000_000.0
    row = {"status": stored, "last_heartbeat": None if age is None else now - age, "heartbeat_interval_s": own}
    assert Liveness.from_config(CONFIG).status(row, now).value == expected


def test_formatting_keeps_missing_missing():
    """Formatters turn None into None (never "0") and format numbers for people."""
    assert [f(None) for f in (formatting.num, formatting.watts, formatting.when, formatting.duration)] == [None] * 4
    assert formatting.num(0.43471) == "0.4347" and formatting.num(1523456) == "1,523,456"
    assert formatting.watts(87.54) == "87.5 W" and formatting.duration(192) == "3 min 12 s"
    assert formatting.ago(100.0, 112.0) == "12 s ago" and formatting.percent(1, 0) is None
    assert formatting.percent(2, 3) == 66 and formatting.gib(128 * 2**30) == "128.0 GiB"


def test_campaign_page_links_comparisons_with_runs_of_the_same_name(client, make_campaign):
    """Two runs named alike: the later one's page links /ui/compare with the earlier one (which answers 200)."""
    first = make_campaign()
    time.sleep(0.01)
    second = make_campaign()
    page = client.get(f"/ui/campaigns/{second}").get_data(as_text=True)
    link = f"/ui/compare/{first}/{second}"
    assert "Compare with another run of t" in page and link in page
    assert client.get(link).status_code == 200
    alone = client.get(f"/ui/campaigns/{first}").get_data(as_text=True)
    assert f"/ui/compare/{second}/{first}" in alone
