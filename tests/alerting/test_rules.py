"""ffwatt's alerting rules as a host gets them (roles/alerting/templates/rules/ffwatt.yml.j2 rendered with the role's
defaults): promtool's unit tests in rules_test.yml pass, promtool and vmalert accept the file, and every alert is
tested firing and not firing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.alerting.render import defaults, render

HERE = Path(__file__).resolve().parent


def _rules(tmp_path: Path, **overrides) -> Path:
    path = tmp_path / "ffwatt.yml"
    path.write_text(render("rules/ffwatt.yml.j2", **overrides))
    return path


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed")
    return path


def _alerts(rules: Path) -> dict[str, dict]:
    groups = yaml.safe_load(rules.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_the_rules_pass_their_promtool_unit_tests(tmp_path):
    """`promtool test rules` on rules_test.yml beside the rendered rules: every case passes."""
    promtool = _tool("promtool")
    _rules(tmp_path)
    shutil.copy(HERE / "rules_test.yml", tmp_path / "rules_test.yml")
    done = subprocess.run(
        [promtool, "test", "rules", "rules_test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_checks_the_rules(tmp_path):
    promtool = _tool("promtool")
    done = subprocess.run(
        [promtool, "check", "rules", str(_rules(tmp_path))], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts(tmp_path / 'ffwatt.yml'))} rules found" in done.stdout


def test_vmalert_accepts_the_rules(tmp_path):
    """`vmalert -dryRun`, what the role's template task validates with, accepts the rules (MetricsQL, templates)."""
    vmalert = _tool("vmalert")
    done = subprocess.run([vmalert, "-dryRun", f"-rule={_rules(tmp_path)}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_vmalert_rejects_a_broken_rule(tmp_path):
    """The role's validation would stop a broken file: vmalert -dryRun fails on it."""
    vmalert = _tool("vmalert")
    broken = tmp_path / "broken.yml"
    broken.write_text(_rules(tmp_path).read_text().replace("ffwatt_node_up == 0", "ffwatt_node_up == (", 1))
    done = subprocess.run([vmalert, "-dryRun", f"-rule={broken}"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


def test_every_alert_is_tested_firing_and_not_firing(tmp_path):
    alerts = set(_alerts(_rules(tmp_path)))
    cases = [
        case
        for test in yaml.safe_load((HERE / "rules_test.yml").read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert alerts - fired == set(), "alerts with no case where they fire"
    assert alerts - quiet == set(), "alerts with no case where they must not fire"


def test_each_alert_waits_its_for_from_alerting_rule_for_and_names_the_host(tmp_path):
    """Rendered with other durations, each rule's `for:` is its entry of alerting_rule_for; each alert has a severity
    and a summary and description that name the host."""
    durations = {name: f"{minute + 1}m" for minute, name in enumerate(defaults()["alerting_rule_for"])}
    alerts = _alerts(_rules(tmp_path, alerting_rule_for=durations))
    assert sorted(rule["for"] for rule in alerts.values()) == sorted(durations.values())
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert (
            "$labels.host" in rule["annotations"]["summary"] + rule["annotations"]["description"]
            or "$labels.hostname" in rule["annotations"]["summary"]
        ), name


def test_the_thresholds_come_from_the_role_variables(tmp_path):
    alerts = _alerts(_rules(tmp_path, alerting_job_failure_ratio=0.5, alerting_disk_free_ratio=0.05))
    assert alerts["FfwattJobFailureRatio"]["expr"].rstrip().endswith("> 0.5")
    assert alerts["FfwattDiskLow"]["expr"].rstrip().endswith("< 0.05")
