"""Alertmanager's configuration as the role writes it: amtool accepts it with and without a webhook, and it groups by
alert and instance, sends resolved alerts and has no receiver without a webhook URL."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.alerting.render import render


def _check(tmp_path, **overrides) -> dict:
    amtool = shutil.which("amtool")
    if not amtool:
        pytest.skip("amtool is not installed")
    path = tmp_path / "alertmanager.yml"
    path.write_text(render("alertmanager.yml.j2", **overrides))
    done = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return yaml.safe_load(path.read_text())


def test_without_a_webhook_the_receiver_sends_nowhere(tmp_path):
    config = _check(tmp_path)
    assert config["receivers"] == [{"name": "ffwatt"}]
    assert config["route"]["group_by"] == ["alertname", "instance"]
    assert (
        config["route"]["group_wait"],
        config["route"]["group_interval"],
        config["route"]["repeat_interval"],
        config["global"]["resolve_timeout"],
    ) == ("30s", "5m", "4h", "5m")


def test_the_webhook_gets_firing_and_resolved_alerts(tmp_path):
    url = "https://hooks.example/ffwatt?team=lab&x=1"
    config = _check(tmp_path, alerting_webhook_url=url, alerting_group_wait="1s", alerting_repeat_interval="1h")
    assert config["receivers"] == [{"name": "ffwatt", "webhook_configs": [{"url": url, "send_resolved": True}]}]
    assert (config["route"]["group_wait"], config["route"]["repeat_interval"]) == ("1s", "1h")
