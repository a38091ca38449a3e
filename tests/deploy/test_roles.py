"""The Ansible side without hosts: playbooks parse, ansible-lint's production profile passes, every role default is
documented and in meta/argument_specs.yml, and the systemd units pass ``systemd-analyze verify`` without a warning."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.playbooks import ROOT
from tests.deploy.testhosts import ansible_command, ansible_env

ROLES = ("common", "master", "agent", "rtmp", "exporters", "victoriametrics", "alerting", "grafana")
PLAYBOOKS = (
    "deploy.yml",
    "playbooks/upgrade.yml",
    "playbooks/teardown.yml",
    "playbooks/backup.yml",
    "playbooks/restore.yml",
)


def run(argv: list[str], timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbooks_pass_the_syntax_check(playbook):
    done = run([ansible_command("ansible-playbook"), "--syntax-check", playbook])
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint_production_profile_is_clean():
    """ansible-lint with the production profile (.ansible-lint) finds nothing in the playbooks and roles."""
    done = run([ansible_command("ansible-lint"), "--offline", "--profile", "production", "--nocolor"], timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]


def _defaults(role: str) -> tuple[dict, dict[str, bool]]:
    """The role's defaults and, for each, whether a comment line is above it (or above the group it starts)."""
    text = (ROOT / "roles" / role / "defaults" / "main.yml").read_text()
    commented, previous = {}, ""
    for line in text.splitlines():
        if match := re.match(r"^([a-z_]+):", line):
            commented[match[1]] = previous.startswith("#") or previous and previous[0].isalpha()
        previous = line
    return yaml.safe_load(text), commented


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_commented_prefixed_and_in_the_argument_specs(role):
    defaults, commented = _defaults(role)
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    public = {name for name in defaults if not name.startswith("_")}
    assert public == set(options), "defaults and meta/argument_specs.yml name different variables"
    assert [n for n in defaults if not n.lstrip("_").startswith(f"{role}_")] == []
    assert [n for n in public if not commented[n]] == [], "a default without a comment above it"
    for name in public:
        if "default" in options[name]:
            assert options[name]["default"] == defaults[name], name


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    """The rendered master, agent, backup, ingest, node_exporter and VictoriaMetrics units: `systemd-analyze verify`
    exits 0 and says nothing."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    prefix, units = tmp_path / "prefix", tmp_path / "units"
    (prefix / "venv" / "bin").mkdir(parents=True)
    units.mkdir()
    for program in ("ffwatt-master", "ffwatt-agent", "ffwatt-master-backup"):  # ExecStart must be executable
        (prefix / "venv" / "bin" / program).symlink_to(Path(ansible_command(program)))
    for sub in ("state", "log", "run"):
        (prefix / sub).mkdir()
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump(
            {"all": {"children": {"master": {"hosts": {"localhost": {}}}, "agents": {"hosts": {"localhost": {}}}}}}
        )
    )
    done = run(
        [
            ansible_command("ansible-playbook"),
            "tests/deploy/render_units.yml",
            "-i",
            str(inventory),
            "-c",
            "local",
            "-e",
            f"units_dir={units}",
            "-e",
            f"ffwatt_prefix={prefix}",
            "-e",
            f"ansible_python_interpreter={ansible_command('python')}",
        ]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rendered = sorted(units.iterdir())
    assert len(rendered) == 7
    agent = (units / "ffwatt-agent.service").read_text()
    assert "KillMode=mixed" in agent and "TimeoutStopSec=80s" in agent and "MemoryMax=4G" in agent
    assert "MemoryMax=2G" in (units / "ffwatt-master.service").read_text()
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


def test_the_fleet_lock_pins_every_dependency_within_pyproject_ranges():
    """roles/common/files/requirements.txt pins (==) each of pyproject's dependencies to a version its range allows."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [
        ln
        for ln in (ROOT / "roles/common/files/requirements.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    pins = {}
    for ln in lines:
        name, sep, version = ln.partition("==")
        assert sep, f"not pinned with ==: {ln}"
        pins[canonicalize_name(name)] = version
    for spec in map(Requirement, project["dependencies"]):
        version = pins.get(canonicalize_name(spec.name))
        assert version is not None, f"{spec.name} is not in the fleet lock (make fleet-lock)"
        assert spec.specifier.contains(version), f"{spec.name}=={version} is outside {spec.specifier}"
