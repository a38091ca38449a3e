"""Results in VictoriaMetrics (master/vmpush.py): the outbox in SQLite, the pusher thread, a real VictoriaMetrics."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import click
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from master import db, queue, vmpush
from master.__main__ import check_victoriametrics_url
from master.app import create_app
from tests.integration.procs import free_port, start_master, wait_until
from tests.integration.victoriametrics import VictoriaMetrics, require_binary
from tests.master.conftest import ADMIN_TOKEN, ENROLLMENT_TOKEN, LIBX264, bearer, job_spec
from tests.master.test_api import FLEET_DOCS_BODY
from tests.master.test_metrics import scrape

FINISHED = "2026-11-27T03:40:07.456Z"
FINISHED_MS = 1795750807456
"""``FINISHED`` in milliseconds since the epoch: the samples' timestamp."""

METRICS = {
    "duration_s": 4.1,
    "frames": 300,
    "fps": 73.2,
    "mean_watts": 31.8,
    "total_energy_j": 130.4,
    "joules_per_frame": 0.4347,
    "psnr_db": 38.41,
    "ssim": 0.9712,
    "vmaf": None,
}
"""A transcode result's metrics (docs/WIRE.md): every headline figure but VMAF."""

SERIES = (
    "ffwatt_result_joules_per_frame",
    "ffwatt_result_watts",
    "ffwatt_result_fps",
    "ffwatt_result_duration_seconds",
    "ffwatt_result_quality",
)


def closed_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port('127.0.0.1')}"


def vm_app(tmp_path, url: str, **config):
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "ffwatt.db"),
            "ENROLLMENT_TOKEN": ENROLLMENT_TOKEN,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "VICTORIAMETRICS_URL": url,
            "VICTORIAMETRICS_BACKOFF_MAX_S": 1.0,
            **config,
        }
    )


@pytest.fixture
def pushers():
    """Start an app's pusher; every one started is stopped at the end of the test."""
    started = []

    def start(app) -> vmpush.Pusher:
        pusher = app.extensions[vmpush.EXTENSION].start()
        started.append(pusher)
        return pusher

    yield start
    for pusher in started:
        pusher.stop()


@pytest.fixture
def vm(tmp_path):
    server = VictoriaMetrics.start(tmp_path / "vm")
    yield server
    server.stop()


def restart(server: VictoriaMetrics) -> None:
    """Start a stopped VictoriaMetrics again: same port, same storage."""
    server.proc.popen = None
    server.proc.start()
    wait_until(server.healthy, 30, "victoria-metrics to start again")


@dataclass
class Accepted:
    """A result :func:`accept` posted: its job, campaign, how long the POST took, the body and the node's headers."""

    job_id: str
    campaign_id: str
    took: float
    body: dict
    headers: dict


def accept(
    app, campaign: str = "h264 ladder", metrics: dict | None = None, hostname: str = "bench-01", **extra
) -> Accepted:
    """Queue one libx264 job in a new campaign, claim it as ``hostname`` and post its result."""
    client, conn = app.test_client(), db.connect(app.config["DATABASE"])
    try:
        campaign_id = queue.create_campaign(
            conn,
            name=campaign,
            description="",
            spec_text="name: t",
            spec_path=None,
            jobs=[job_spec("x264-fast#1", encoder="libx264")],
        )
    finally:
        conn.close()
    reg = client.post(
        "/nodes/register", json={"hostname": hostname, "inventory": LIBX264}, headers=bearer(ENROLLMENT_TOKEN)
    ).get_json()
    node = bearer(reg["node_token"])
    job = client.get(f"/jobs/next?node_id={reg['node_id']}&wait=0", headers=node).get_json()["job"]
    body = {
        "job_id": job["id"],
        "attempt": job["attempt"],
        "node_id": reg["node_id"],
        "status": "succeeded",
        "error": None,
        "finished_at": FINISHED,
        "metrics": METRICS if metrics is None else metrics,
        "provenance": {"estimated": False},
        **extra,
    }
    began = time.monotonic()
    resp = client.post("/results", json=body, headers=node)
    took = time.monotonic() - began
    assert resp.status_code == 200, resp.get_json()
    return Accepted(job["id"], campaign_id, took, body, node)


def outbox(app) -> list[str]:
    conn = db.connect(app.config["DATABASE"])
    try:
        return [row["line"] for row in conn.execute("SELECT line FROM vm_outbox ORDER BY id")]
    finally:
        conn.close()


def exported(server: VictoriaMetrics, match: str) -> list[dict]:
    """Every sample of the series matching ``match`` as VictoriaMetrics stored it (``/api/v1/export`` JSON lines)."""
    server.flush()
    resp = requests.get(f"{server.url}/api/v1/export", params={"match[]": match, "start": "0"}, timeout=10)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def wait_exported(server: VictoriaMetrics, match: str, count: int, timeout: float = 20.0) -> list[dict]:
    return wait_until(
        lambda: (found := exported(server, match)) and len(found) >= count and found,
        timeout,
        f"{count} series matching {match} in VictoriaMetrics",
        interval=0.5,
    )


def test_result_figures_arrive_with_labels_values_and_timestamp(tmp_path, vm, pushers):
    """Each figure is one sample at the result's finish time, labelled with campaign, node, encoder and the rest;
    a campaign name with quotes, a backslash and a newline comes back unchanged."""
    app = vm_app(tmp_path, vm.url)
    pushers(app)
    name = 'say "hi" \\ then\nnext line'
    result = accept(app, campaign=name)
    job_id, campaign_id = result.job_id, result.campaign_id
    got = wait_exported(vm, f'{{__name__=~"ffwatt_result_.*",campaign_id="{campaign_id}"}}', 6)
    by_name = {(s["metric"]["__name__"], s["metric"].get("metric")): s for s in got}
    assert sorted(by_name) == [
        ("ffwatt_result_duration_seconds", None),
        ("ffwatt_result_fps", None),
        ("ffwatt_result_joules_per_frame", None),
        ("ffwatt_result_quality", "psnr"),
        ("ffwatt_result_quality", "ssim"),
        ("ffwatt_result_watts", None),
    ]
    values = {key: (s["values"], s["timestamps"]) for key, s in by_name.items()}
    assert values[("ffwatt_result_joules_per_frame", None)] == ([0.4347], [FINISHED_MS])
    assert values[("ffwatt_result_watts", None)] == ([31.8], [FINISHED_MS])
    assert values[("ffwatt_result_fps", None)] == ([73.2], [FINISHED_MS])
    assert values[("ffwatt_result_duration_seconds", None)] == ([4.1], [FINISHED_MS])
    assert values[("ffwatt_result_quality", "psnr")] == ([38.41], [FINISHED_MS])
    assert values[("ffwatt_result_quality", "ssim")] == ([0.9712], [FINISHED_MS])
    labels = by_name[("ffwatt_result_joules_per_frame", None)]["metric"]
    assert labels == {
        "__name__": "ffwatt_result_joules_per_frame",
        "campaign": name,
        "campaign_id": campaign_id,
        "variant": "x264-fast",
        "node": "bench-01",
        "encoder": "libx264",
        "kind": "transcode",
        "estimated": "false",
        "job_id": job_id,
    }
    wait_until(lambda: not outbox(app), 10, "the outbox to empty")
    got = scrape(app.test_client())
    assert got["ffwatt_vm_pushed_samples"][("ffwatt_vm_pushed_samples_total", ())] == 6
    assert got["ffwatt_vm_outbox_depth"][("ffwatt_vm_outbox_depth", ())] == 0


def test_a_null_or_absent_figure_has_no_sample(tmp_path):
    """Null or absent figures give no line (never 0); an estimated result says so; a failed result gives none."""
    app = vm_app(tmp_path, closed_url())
    accept(
        app,
        metrics={"joules_per_frame": None, "mean_watts": 12.5, "fps": 0.0, "vmaf": 91.2},
        provenance={"estimated": True},
    )
    lines = outbox(app)
    assert [line.split("{")[0] for line in lines] == [
        "ffwatt_result_watts",
        "ffwatt_result_fps",
        "ffwatt_result_quality",
    ]
    assert all('estimated="true"' in line for line in lines) and 'metric="vmaf"' in lines[2]
    assert lines[1].split()[-2:] == ["0.0", str(FINISHED_MS)]  # a measured 0 fps is a sample; a null is not
    job = {"id": "j-1", "campaign_id": None, "variant": "v", "kind": "baseline", "params": "{}"}
    assert vmpush.result_lines(job, {"status": "failed", "node_id": "n", "metrics": METRICS}, None, None, 0) == []


def test_vm_unreachable_never_slows_a_result_and_the_outbox_keeps_it(tmp_path, pushers, caplog):
    """With nothing listening, POST /results answers at once, the rows stay, each failed push is counted and the
    outage is logged once."""
    caplog.set_level("INFO", logger="master.vmpush")
    app = vm_app(tmp_path, closed_url())
    pushers(app)
    result = accept(app)
    assert result.took < 1.0
    assert len(outbox(app)) == 6
    client = app.test_client()
    again = client.post("/results", json=result.body, headers=result.headers)
    assert again.get_json()["duplicate"] is True and len(outbox(app)) == 6  # a repeat queues nothing more
    wait_until(
        lambda: scrape(client)["ffwatt_vm_push_errors"][("ffwatt_vm_push_errors_total", ())] >= 2,
        10,
        "two failed pushes",
    )
    got = scrape(client)
    assert got["ffwatt_vm_outbox_depth"][("ffwatt_vm_outbox_depth", ())] == 6
    assert got["ffwatt_vm_pushed_samples"][("ffwatt_vm_pushed_samples_total", ())] == 0
    assert sum("unreachable" in r.getMessage() for r in caplog.records) == 1


def test_vm_stopped_then_started_again_gets_the_outbox(tmp_path, vm, pushers):
    """Results accepted while VictoriaMetrics is down reach it once it is back, and the outbox empties."""
    vm.stop()
    app = vm_app(tmp_path, vm.url)
    pushers(app)
    result = accept(app)
    campaign_id = result.campaign_id
    assert result.took < 1.0
    wait_until(
        lambda: scrape(app.test_client())["ffwatt_vm_push_errors"][("ffwatt_vm_push_errors_total", ())],
        10,
        "a failed push",
    )
    assert len(outbox(app)) == 6
    restart(vm)
    wait_exported(vm, f'{{__name__=~"ffwatt_result_.*",campaign_id="{campaign_id}"}}', 6)
    wait_until(lambda: not outbox(app), 10, "the outbox to empty")


def test_outbox_cap_drops_the_oldest_and_counts_them(tmp_path, pushers):
    """Over its cap the outbox loses its oldest samples, counted in ffwatt_vm_dropped_samples_total."""
    app = vm_app(tmp_path, closed_url(), VICTORIAMETRICS_OUTBOX_MAX=4)
    accept(app, hostname="first")
    second = accept(app, hostname="second").job_id
    assert len(outbox(app)) == 12
    pushers(app)
    client = app.test_client()
    wait_until(
        lambda: scrape(client)["ffwatt_vm_dropped_samples"][("ffwatt_vm_dropped_samples_total", ())] == 8,
        10,
        "8 dropped samples",
    )
    kept = outbox(app)
    assert len(kept) == 4 and all(f'job_id="{second}"' in line for line in kept)
    assert [line.split("{")[0] for line in kept] == [
        "ffwatt_result_fps",
        "ffwatt_result_duration_seconds",
        "ffwatt_result_quality",
        "ffwatt_result_quality",
    ]


def test_a_restarted_master_delivers_what_its_outbox_held(tmp_path):
    """A real master stopped with samples in its outbox sends them after its next start."""
    require_binary()
    vm = VictoriaMetrics.start(tmp_path / "vm")
    vm.stop()
    master = start_master(tmp_path, extra=["--victoriametrics-url", vm.url])
    try:
        reg = requests.post(
            master.url + "/nodes/register",
            json={"hostname": "far-01", "inventory": LIBX264},
            headers=bearer(master.enrollment_token),
            timeout=10,
        ).json()
        node = bearer(reg["node_token"])
        requests.post(master.url + "/jobs", json=FLEET_DOCS_BODY, headers=master.admin(), timeout=10).raise_for_status()
        job = requests.get(f"{master.url}/jobs/next?node_id={reg['node_id']}&wait=0", headers=node, timeout=10).json()[
            "job"
        ]
        body = {
            "job_id": job["id"],
            "attempt": job["attempt"],
            "node_id": reg["node_id"],
            "status": "succeeded",
            "finished_at": FINISHED,
            "metrics": METRICS,
            "provenance": {"estimated": False},
        }
        requests.post(master.url + "/results", json=body, headers=node, timeout=5).raise_for_status()
        assert master.stop() == 0
        conn = sqlite3.connect(master.db_path)
        assert conn.execute("SELECT COUNT(*) FROM vm_outbox").fetchone()[0] == 6
        conn.close()
        restart(vm)
        master.restart()
        got = wait_exported(vm, f'{{__name__=~"ffwatt_result_.*",job_id="{job["id"]}"}}', 6)
        assert {s["metric"]["campaign"] for s in got} == {"1080p-h264"}
        assert {s["metric"]["node"] for s in got} == {"far-01"}
        wait_until(
            lambda: requests.get(master.url + "/metrics", timeout=5).text.count("ffwatt_vm_outbox_depth 0.0"),
            10,
            "the restarted master's outbox to empty",
        )
    finally:
        master.stop()
        vm.stop()


def test_label_values_are_escaped_for_the_text_format():
    """Quotes, backslashes and newlines in label values survive prometheus_client's own parser."""
    nasty = 'a "quoted" \\ back\\slash\nnew line'
    line = vmpush.sample_line("ffwatt_result_fps", {"campaign": nasty, "job": "j-1", "encoder": ""}, 25, 1000)
    assert line == ('ffwatt_result_fps{campaign="a \\"quoted\\" \\\\ back\\\\slash\\nnew line",job="j-1"} 25.0 1000')
    (family,) = text_string_to_metric_families(line + "\n")
    (sample,) = family.samples
    assert sample.labels == {"campaign": nasty, "job": "j-1"} and sample.value == 25.0
    assert sample.timestamp == 1.0


def test_finish_time_falls_back_to_the_time_received():
    """A null or unreadable finished_at stamps the samples with the time the master received the result."""
    assert vmpush.finish_ms({"finished_at": FINISHED}, 5.0) == FINISHED_MS
    assert vmpush.finish_ms({"finished_at": "2026-11-27T03:40:07.456"}, 5.0) == FINISHED_MS
    assert vmpush.finish_ms({"finished_at": None}, 5.0) == 5000
    assert vmpush.finish_ms({"finished_at": "yesterday"}, 5.25) == 5250
    assert FINISHED_MS == round(datetime(2026, 11, 27, 3, 40, 7, 456000, UTC).timestamp() * 1000)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8428", "https://vm.example:443/prefix/", "http://[::1]:8428"])
def test_victoriametrics_url_accepted(url):
    """http(s)://HOST:PORT, with an optional path prefix (a trailing slash is dropped)."""
    assert check_victoriametrics_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8428", "http://127.0.0.1", "ftp://h:1", "http://:8428", "http://h:99999", "http://h:8428/?db=x"]
)
def test_victoriametrics_url_refused_with_a_usage_error(url):
    """Anything else is a usage error (exit 2) naming the flag and its variable."""
    with pytest.raises(click.UsageError, match="--victoriametrics-url .FFWATT_VICTORIAMETRICS_URL.: .* is not"):
        check_victoriametrics_url(url)
    assert check_victoriametrics_url(None) is None and check_victoriametrics_url("") is None


def test_off_by_default_nothing_is_queued(tmp_path):
    """Without a URL the app has no pusher and accepted results leave the outbox empty."""
    app = vm_app(tmp_path, None)
    accept(app)
    assert vmpush.EXTENSION not in app.extensions and outbox(app) == []
