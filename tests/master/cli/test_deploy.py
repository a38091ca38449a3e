"""``campaign run --inventory INV --deploy``: the deploy playbook through ansible-runner (real Ansible on
``ansible_connection: local`` hosts), then the campaign on a real master and agent on loopback."""

from __future__ import annotations

import io
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
from rich.console import Console

from master.cli.deploy import DeployError, Deployment, find_playbook, run_deploy, runner_env
from tests.integration.procs import free_port, start_agent, start_master, wait_until
from tests.master.cli.fleet_files import encrypt_string, indent, vault_password_file, write_campaign, write_inventory

DEPLOY_DATA = Path(__file__).resolve().parents[2] / "data" / "deploy"

CLI_TIMEOUT_S = 180
"""Longest a ``campaign run --deploy`` may take here: Ansible starts in seconds, the campaign runs 1 s of FFmpeg."""


def test_playbook_given_must_exist(tmp_path):
    with pytest.raises(DeployError, match="--playbook .*nope.yml: no such file"):
        find_playbook(tmp_path / "nope.yml", tmp_path / "inventory" / "x.yml")


def test_playbook_found_in_the_working_directory_first(tmp_path, monkeypatch):
    """./deploy.yml wins over the one next to the inventory's directory."""
    (tmp_path / "project" / "inventory").mkdir(parents=True)
    (tmp_path / "project" / "deploy.yml").write_text("---\n")
    (tmp_path / "deploy.yml").write_text("---\n")
    inventory = tmp_path / "project" / "inventory" / "x.yml"
    monkeypatch.chdir(tmp_path)
    assert find_playbook(None, inventory) == tmp_path / "deploy.yml"
    (tmp_path / "deploy.yml").unlink()
    assert find_playbook(None, inventory) == tmp_path / "project" / "deploy.yml"
    (tmp_path / "project" / "deploy.yml").unlink()
    with pytest.raises(
        DeployError, match="no deploy.yml in .* or .*project: run from the project root or pass --playbook PATH"
    ):
        find_playbook(None, inventory)


def test_playbook_next_to_an_inventory_directory(tmp_path, monkeypatch):
    """An inventory that is a directory (inventory/) looks for deploy.yml in that directory's parent."""
    (tmp_path / "project" / "inventory").mkdir(parents=True)
    (tmp_path / "project" / "deploy.yml").write_text("---\n")
    monkeypatch.chdir(tmp_path)
    assert find_playbook(None, tmp_path / "project" / "inventory") == tmp_path / "project" / "deploy.yml"


def test_runner_env_puts_this_venv_first_and_the_playbooks_config(tmp_path):
    (tmp_path / "deploy.yml").write_text("---\n")
    assert "ANSIBLE_CONFIG" not in runner_env(tmp_path / "deploy.yml")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = runner_env(tmp_path / "deploy.yml")
    assert env["ANSIBLE_CONFIG"] == str(tmp_path / "ansible.cfg")
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


integration = pytest.mark.integration
"""The tests below start a master, an agent and ansible-playbook."""


def fleet_inventory(tmp_path: Path, master, token_block: str) -> Path:
    """m1 (the master, at the test master's address and port), a1 (agents), b1 (group other): all local."""
    marks = tmp_path / "marks"
    marks.mkdir()
    text = (
        "all:\n  vars:\n    ansible_connection: local\n"
        '    ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
        f"    ffwatt_test_marker_dir: {marks}\n" + indent(token_block, 4) + "  children:\n    master:\n      hosts:\n"
        f"        m1: {{ansible_host: {master.host}, ffwatt_master_port: {master.port}}}\n"
        "    agents:\n      hosts:\n        a1:\n    other:\n      hosts:\n        b1:\n"
    )
    return write_inventory(tmp_path / "project", text)


def campaign(tmp_path: Path, *args: str):
    """``campaign ARGS`` in tmp_path, without FFWATT_ or ANSIBLE_ variables from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FFWATT_", "ANSIBLE_"))}
    return subprocess.run(
        [sys.executable, "-m", "master.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )


def campaigns_on(master) -> list:
    return requests.get(master.url + "/campaigns", timeout=10).json()["campaigns"]


@integration
def test_failed_deploy_says_where_and_submits_nothing(cluster, tmp_path):
    """The preflight assert fails: exit 1 naming the host, the task and its message; no campaign on the master."""
    master = cluster.add(start_master(tmp_path))
    inventory = fleet_inventory(tmp_path, master, "")
    write_campaign(tmp_path, ["agents"])
    proc = campaign(
        tmp_path,
        "run",
        "fleet.yml",
        "--inventory",
        str(inventory),
        "--deploy",
        "--playbook",
        str(DEPLOY_DATA / "fails.yml"),
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"master: {master.url} (host m1 of {inventory})" in proc.stderr
    assert "Error: deploy failed (fails.yml, rc 2); nothing was submitted" in proc.stderr
    for host in ("m1", "a1"):
        assert (
            f"  {host}: task 'Check that the admin token is set': ffwatt_admin_token is not set: add it to the "
            "inventory's vars"
        ) in proc.stderr
    assert "b1:" not in proc.stderr  # --limit: the master and the targeted group only
    assert campaigns_on(master) == []


@integration
def test_deploy_then_run_on_the_inventorys_master(cluster, tmp_path):
    """deploy.yml next to the inventory's directory runs (with its ansible.cfg, limited to m1 and agents, the vault
    token decrypted), then the campaign goes to the inventory's master with the vault token and runs on agent a1."""
    master = cluster.add(start_master(tmp_path))
    password = vault_password_file(tmp_path)
    inventory = fleet_inventory(tmp_path, master, encrypt_string(master.admin_token, "ffwatt_admin_token", password))
    shutil.copy(DEPLOY_DATA / "succeeds.yml", tmp_path / "project" / "deploy.yml")
    (tmp_path / "project" / "ansible.cfg").write_text("[defaults]\ntimeout = 42\n")
    cluster.add(start_agent(master, tmp_path, "a1", labels={"group": "agents"}))
    write_campaign(tmp_path, ["agents"])
    proc = campaign(
        tmp_path,
        "run",
        "fleet.yml",
        "--inventory",
        str(inventory),
        "--deploy",
        "--vault-password-file",
        str(password),
        "--reports-dir",
        "reports",
    )
    assert proc.returncode == 0, proc.stderr
    assert "deployed: deploy.yml\n  a1: ok=2 changed=1\n  m1: ok=2 changed=1\n" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "marks").iterdir()) == ["a1", "m1"]
    assert (tmp_path / "marks" / "m1").read_text() == "timeout=42\n"
    assert "targets: group agents (a1)" in proc.stderr
    [submitted] = campaigns_on(master)
    assert submitted["state"] == "finished"
    assert "report: " in proc.stdout


@integration
def test_unreachable_host_is_named_with_ssh_s_message(cluster, tmp_path):
    """A host whose ssh port answers nothing (loopback, a free port): exit 1 naming it and ssh's reason."""
    master = cluster.add(start_master(tmp_path))
    port = free_port("127.0.0.1")
    text = (
        f"all:\n  vars:\n    ffwatt_admin_token: t\n    ffwatt_test_marker_dir: {tmp_path}\n"
        "  children:\n    master:\n      hosts:\n"
        f"        m1: {{ansible_host: {master.host}, ffwatt_master_port: {master.port}, ansible_connection: local,"
        ' ansible_python_interpreter: "{{ ansible_playbook_python }}"}\n'
        "    agents:\n      hosts:\n"
        f"        a1: {{ansible_host: 127.0.0.1, ansible_port: {port}, ansible_user: nobody}}\n"
    )
    inventory = write_inventory(tmp_path / "project", text)
    write_campaign(tmp_path, ["a1"])
    proc = campaign(
        tmp_path,
        "run",
        "fleet.yml",
        "--inventory",
        str(inventory),
        "--deploy",
        "--playbook",
        str(DEPLOY_DATA / "succeeds.yml"),
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "targets: host a1" in proc.stderr
    assert (
        "  a1: unreachable, task 'Mark this host as deployed': Failed to connect to the host via ssh: "
        f"ssh: connect to host 127.0.0.1 port {port}: Connection refused"
    ) in proc.stderr
    assert campaigns_on(master) == []


@integration
def test_ctrl_c_while_deploying_exits_130_and_submits_nothing(cluster, tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) mid-playbook: exit 130, one line, playbook gone, no campaign."""
    master = cluster.add(start_master(tmp_path))
    sleep_s = f"59.{secrets.randbelow(10**6):06d}"
    inventory = fleet_inventory(tmp_path, master, f"ffwatt_admin_token: t\nffwatt_test_sleep_s: '{sleep_s}'\n")
    write_campaign(tmp_path, ["agents"])
    returncode, stderr = ctrl_c_when(tmp_path, inventory, "slow.yml", lambda: sleeping(sleep_s), "the playbook's sleep")
    assert returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.rstrip().endswith("deploy interrupted: the playbook was stopped where it was; nothing was submitted")
    wait_until(lambda: not sleeping(sleep_s), 30, "the playbook's sleep to end")
    assert campaigns_on(master) == []


def ctrl_c_when(tmp_path, inventory, playbook: str, ready, what: str) -> tuple[int, str]:
    """Run ``campaign run fleet.yml --inventory INV --deploy --playbook PLAYBOOK`` in its own session, press Ctrl-C
    (SIGINT to its process group) once ``ready()`` holds; its exit status and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FFWATT_", "ANSIBLE_"))}
    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "master.cli",
            "run",
            "fleet.yml",
            "--inventory",
            str(inventory),
            "--deploy",
            "--playbook",
            str(DEPLOY_DATA / playbook),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: ready() or cli.poll() is not None, CLI_TIMEOUT_S, what)
        assert cli.poll() is None, cli.communicate()
        os.killpg(cli.pid, signal.SIGINT)
        _, stderr = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait(timeout=30)
    return cli.returncode, stderr


def sleeping(seconds: str) -> list[int]:
    """Pids of ``sleep SECONDS`` processes."""
    return [p.pid for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", seconds]]


def test_deploy_past_its_timeout_is_stopped_with_everything_it_started(tmp_path):
    """A playbook still running at the deadline is stopped, its task's processes too, and said in one error."""
    sleep_s = f"58.{secrets.randbelow(10**6):06d}"
    marks = tmp_path / "marks"
    marks.mkdir()
    inventory = write_inventory(
        tmp_path,
        (
            "agents:\n  hosts:\n    a1:\n  vars:\n    ansible_connection: local\n"
            '    ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
            f"    ffwatt_test_marker_dir: {marks}\n    ffwatt_test_sleep_s: '{sleep_s}'\n"
        ),
    )
    deployment = Deployment(DEPLOY_DATA / "slow.yml", inventory, timeout_s=5)
    started = time.monotonic()
    with pytest.raises(DeployError, match=r"deploy: slow.yml still running after 5 s: stopped; nothing was submitted"):
        run_deploy(deployment, Console(file=io.StringIO()))
    assert time.monotonic() - started < 30
    assert (marks / "a1").exists()
    assert not sleeping(sleep_s)


@integration
def test_ctrl_c_after_the_deploy_stops_following(cluster, tmp_path):
    """After a deployment Ctrl-C still stops following the campaign (ansible-runner's signal handlers are gone)."""
    master = cluster.add(start_master(tmp_path))
    inventory = fleet_inventory(tmp_path, master, f"ffwatt_admin_token: {master.admin_token}\n")
    write_campaign(tmp_path, ["agents"])  # no agent runs: the campaign waits while the command follows it
    returncode, stderr = ctrl_c_when(tmp_path, inventory, "succeeds.yml", lambda: campaigns_on(master), "the campaign")
    assert returncode == 130, stderr
    assert "stopped following: campaign" in stderr
