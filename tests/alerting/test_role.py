"""The alerting role: its defaults are documented like every role's, its units pass `systemd-analyze verify`, and a
real run on this machine (as processes under a temporary prefix, against a real VictoriaMetrics) starts vmalert and
Alertmanager that deliver an alert to a webhook and then its resolution; a rerun changes nothing; teardown stops
both."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from tests.deploy import test_roles as role_checks
from tests.deploy.playbooks import ROOT
from tests.deploy.testhosts import ansible_command, ansible_env
from tests.integration.procs import free_port
from tests.integration.victoriametrics import VictoriaMetrics

RULE_NAMES = (
    "master_down",
    "agent_missing_heartbeats",
    "agent_exporter_down",
    "power_sensor_missing",
    "job_failure_ratio",
    "queue_stuck",
    "spool_growing",
    "disk_low",
    "outbox_growing",
    "monitoring_target_down",
)


def _playbook(playbook: str, extra: dict, tmp_path: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    extra_file = tmp_path / f"extra-{time.monotonic_ns()}.json"
    extra_file.write_text(json.dumps({"ansible_python_interpreter": ansible_command("python"), **extra}))
    return subprocess.run(
        [ansible_command("ansible-playbook"), playbook, "-i", "localhost,", "-c", "local", "-e", f"@{extra_file}"],
        cwd=ROOT,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_every_default_is_commented_prefixed_and_in_the_argument_specs():
    role_checks.test_every_default_is_commented_prefixed_and_in_the_argument_specs("alerting")


def test_alerting_rule_for_names_every_rule():
    defaults = yaml.safe_load((ROOT / "roles/alerting/defaults/main.yml").read_text())
    names = yaml.safe_load((ROOT / "roles/alerting/vars/main.yml").read_text())["_alerting_rule_names"]
    assert sorted(defaults["alerting_rule_for"]) == sorted(names) == sorted(RULE_NAMES)


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    prefix, units = tmp_path / "prefix", tmp_path / "units"
    for sub in ("state", "log", "run"):
        (prefix / sub).mkdir(parents=True)
    units.mkdir()
    done = _playbook(
        "tests/alerting/render_units.yml",
        {
            "units_dir": str(units),
            "ffwatt_prefix": str(prefix),
            "alerting_victoriametrics_url": "http://127.0.0.1:8428",
            "ffwatt_bind_address": "127.0.0.1",
        },
        tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rendered = sorted(units.iterdir())
    assert [p.name for p in rendered] == ["ffwatt-alertmanager.service", "ffwatt-vmalert.service"]
    vmalert = (units / "ffwatt-vmalert.service").read_text()
    assert f"'-rule={prefix}/etc/alerting/rules/*.yml'" in vmalert
    assert "-httpListenAddr=127.0.0.1:8880" in vmalert and "-notifier.url=http://127.0.0.1:9093" in vmalert
    alertmanager = (units / "ffwatt-alertmanager.service").read_text()
    exec_start = alertmanager.split("ExecStart=")[1].split("\n")[0]
    assert exec_start.endswith(" --cluster.listen-address=") and f"ReadWritePaths={prefix}/state" in alertmanager
    verify = subprocess.run(
        ["systemd-analyze", "verify", *map(str, rendered)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"SYSTEMD_LOG_LEVEL": "notice", "PATH": "/usr/bin:/bin"},
    )
    assert verify.returncode == 0 and verify.stderr.strip() == "" and verify.stdout.strip() == "", (
        verify.stdout + verify.stderr
    )


class _Webhook(BaseHTTPRequestHandler):
    """Keeps every notification Alertmanager posts."""

    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    handler = type("Webhook", (_Webhook,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler.received
    server.shutdown()


@pytest.fixture
def prefix():
    """A prefix the ffwatt user can reach (pytest's tmp_path is closed to other users)."""
    path = Path(tempfile.mkdtemp(prefix="ffwatt-alerting-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _wait_for(received: list[dict], status: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in list(received):
            for alert in message["alerts"]:
                if alert["labels"].get("alertname") == "FfwattMasterDown" and alert["status"] == status:
                    return alert
        time.sleep(0.5)
    raise AssertionError(f"no {status} FfwattMasterDown at the webhook; it received {received}")


def test_the_role_runs_vmalert_and_alertmanager_that_deliver_and_resolve_an_alert(tmp_path, prefix, webhook):
    if os.geteuid() != 0:
        pytest.skip("the role runs the services as the ffwatt user: needs root")
    try:
        pwd.getpwnam("ffwatt")
    except KeyError:
        pytest.skip("no ffwatt user (the common role creates it)")
    for binary in ("vmalert", "prometheus-alertmanager", "amtool", "start-stop-daemon"):
        if not shutil.which(binary):
            pytest.skip(f"{binary} is not installed")
    url, received = webhook
    vm = VictoriaMetrics.start(tmp_path / "vm")
    vmalert_port, alertmanager_port = free_port("127.0.0.1"), free_port("127.0.0.1")
    extra = {
        "ffwatt_prefix": str(prefix),
        "ffwatt_service_manager": "process",
        "ffwatt_bind_address": "127.0.0.1",
        "ffwatt_vmalert_port": vmalert_port,
        "ffwatt_alertmanager_port": alertmanager_port,
        "ffwatt_victoriametrics_url": vm.url,
        "ffwatt_alert_webhook_url": url,
        "common_install_packages": False,
        "alerting_evaluation_interval": "1s",
        "alerting_group_wait": "1s",
        "alerting_group_interval": "1s",
        "alerting_rule_for": {name: "0s" for name in RULE_NAMES},
        "alerting_action": "deploy",
    }
    try:
        done = _playbook("tests/alerting/role_local.yml", extra, tmp_path)
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        assert requests.get(f"http://127.0.0.1:{vmalert_port}/health", timeout=5).ok
        assert requests.get(f"http://127.0.0.1:{alertmanager_port}/-/healthy", timeout=5).ok

        # VictoriaMetrics has no master target at all: FfwattMasterDown fires (absent) and reaches the webhook.
        firing = _wait_for(received, "firing")
        assert firing["labels"]["severity"] == "critical"
        assert firing["annotations"]["summary"] == "ffwatt master is down"

        # The master's scrape appears, up: the alert resolves, and the webhook hears that too (send_resolved).
        line = 'up{job="ffwatt-master",instance="127.0.0.1:8080",host="m1"} 1'
        requests.post(f"{vm.url}/api/v1/import/prometheus", data=line, timeout=10).raise_for_status()
        vm.flush()
        _wait_for(received, "resolved")

        again = _playbook("tests/alerting/role_local.yml", extra, tmp_path)
        assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-3000:]
        assert "changed=0" in again.stdout.split("PLAY RECAP")[-1], again.stdout[-6000:]

        # A changed configuration restarts Alertmanager (a new pid) and only it; the play waits until it answers.
        pids = {
            name: (prefix / "run" / f"{name}.pid").read_text() for name in ("ffwatt-alertmanager", "ffwatt-vmalert")
        }
        changed = _playbook("tests/alerting/role_local.yml", {**extra, "alerting_repeat_interval": "2h"}, tmp_path)
        assert changed.returncode == 0, changed.stdout[-6000:] + changed.stderr[-3000:]
        assert "repeat_interval: 2h" in (prefix / "etc" / "alerting" / "alertmanager.yml").read_text()
        assert (prefix / "run" / "ffwatt-alertmanager.pid").read_text() != pids["ffwatt-alertmanager"]
        assert (prefix / "run" / "ffwatt-vmalert.pid").read_text() == pids["ffwatt-vmalert"]
        assert requests.get(f"http://127.0.0.1:{alertmanager_port}/-/healthy", timeout=5).ok
    finally:
        down = _playbook("tests/alerting/role_local.yml", {**extra, "alerting_action": "teardown"}, tmp_path)
        vm.stop()
    assert down.returncode == 0, down.stdout[-6000:] + down.stderr[-3000:]
    assert not (prefix / "etc" / "alerting").exists()
    assert (prefix / "state" / "alertmanager").is_dir(), "silences stay unless ffwatt_purge"
    assert not list((prefix / "run").glob("ffwatt-*.pid"))
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{alertmanager_port}/-/healthy", timeout=5)
