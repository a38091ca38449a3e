"""deploy.yml's preflight on this machine (local connection): it refuses before changing anything, saying why; and
`campaign run --deploy` stops with that message and submits nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.deploy.playbooks import ROOT, fleet_vars, run_playbook


def local_inventory(tmp_path: Path, **settings) -> Path:
    inventory = tmp_path / "inventory.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": settings,
                    "children": {"master": {"hosts": {"localhost": host}}, "agents": {"hosts": {"localhost": host}}},
                }
            }
        )
    )
    return inventory


def test_deploy_refuses_without_tokens_and_touches_nothing(tmp_path):
    prefix = tmp_path / "opt"
    run = run_playbook(local_inventory(tmp_path, ffwatt_prefix=str(prefix)))
    assert run.rc != 0 and run.recap["localhost"]["failed"] == 1 and run.recap["localhost"]["changed"] == 0
    assert "ffwatt needs ffwatt_enrollment_token and ffwatt_admin_token" in run.output
    assert not prefix.exists()


def test_deploy_refuses_a_prefix_the_service_user_cannot_reach(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    prefix = private / "opt"
    run = run_playbook(local_inventory(tmp_path, ffwatt_prefix=str(prefix), **fleet_vars()))
    assert run.rc != 0 and run.recap["localhost"]["changed"] == 0
    assert f"{private} (a parent of ffwatt_prefix {prefix}) is closed to other users" in run.output
    assert not prefix.exists()


def test_campaign_run_deploy_stops_at_the_failing_task_and_submits_nothing(tmp_path):
    campaign = tmp_path / "c.yml"
    campaign.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": "c",
                "targets": ["agents"],
                "scenarios": [{"name": "idle", "kind": "baseline", "duration": 1}],
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "FFWATT_ADMIN_TOKEN"}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "campaign"),
            "run",
            str(campaign),
            "--inventory",
            str(local_inventory(tmp_path, ffwatt_prefix=str(tmp_path / "opt"))),
            "--deploy",
            "--token",
            "unused-token-000000",
            "--reports-dir",
            str(tmp_path / "reports"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "Assert the play has the tokens and exactly one master" in out
    assert "ffwatt needs ffwatt_enrollment_token" in out
    assert "nothing was submitted" in out and not (tmp_path / "reports").exists()
    assert "--vault-password-file" not in out  # no vault hint for a failure that is not about the vault
