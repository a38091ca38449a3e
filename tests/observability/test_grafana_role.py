"""The grafana role without Grafana: the playbook parses, ansible-lint's production profile passes, the defaults follow
the roles' conventions, and its configure step renders the datasource, the provider, the dashboards and the process
command line on localhost (process mode, a temporary prefix) twice with no change the second time; its teardown
stops the process and removes that configuration."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from tests.deploy import test_roles
from tests.deploy.playbooks import RECAP, ROOT
from tests.deploy.testhosts import ansible_command, ansible_env
from tests.observability.dashboards import DASHBOARD_DIR, DATASOURCE_UID

PLAYBOOK = "tests/observability/grafana_role.yml"
PASSWORD = "correct-horse-battery"


def ansible(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("playbook", [PLAYBOOK, "tests/observability/grafana_teardown.yml"])
def test_the_playbooks_pass_the_syntax_check(playbook):
    done = ansible([ansible_command("ansible-playbook"), "--syntax-check", playbook, "-i", "localhost,"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint_production_profile_is_clean_on_the_role():
    done = ansible(
        [
            ansible_command("ansible-lint"),
            "--offline",
            "--profile",
            "production",
            "--nocolor",
            "roles/grafana",
            PLAYBOOK,
            "tests/observability/grafana_teardown.yml",
        ],
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]


def test_every_default_is_commented_and_in_the_argument_specs():
    test_roles.test_every_default_is_commented_prefixed_and_in_the_argument_specs("grafana")


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b'{"database": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def grafana_health():
    """A loopback stand-in answering Grafana's /api/health (and /api/user) with 200."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _prefix(tmp_path: Path) -> Path:
    """A prefix with a stand-in ffwattctl that records its arguments."""
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "etc").mkdir()
    ctl = prefix / "bin" / "ffwattctl"
    ctl.write_text(f'#!/bin/sh\necho "$@" >> {prefix}/ffwattctl.calls\necho "$2 restarted"\n')
    ctl.chmod(0o755)
    return prefix


def _configure(
    tmp_path: Path, prefix: Path, password: str, health_url: str = "", playbook: str = PLAYBOOK
) -> subprocess.CompletedProcess:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "grafana": {
                            "hosts": {"localhost": {"ansible_host": "127.0.0.1", "ansible_connection": "local"}}
                        },
                        "victoriametrics": {
                            "hosts": {
                                "vm-1": {
                                    "ansible_host": "127.0.0.5",
                                    "ffwatt_bind_address": "127.0.0.6",
                                    "ffwatt_victoriametrics_port": 8429,
                                }
                            }
                        },
                    }
                }
            }
        )
    )
    user = os.getuid()
    extra = {
        "ffwatt_prefix": str(prefix),
        "ffwatt_service_manager": "process",
        "grafana_admin_password": password,
        "common_user": str(user),
        "common_group": str(os.getgid()),
        "ansible_python_interpreter": ansible_command("python"),
    }
    if health_url:
        extra["_grafana_local_url"] = health_url
    tags = ["--tags", "grafana_configure"] if playbook == PLAYBOOK else []
    return ansible(
        [ansible_command("ansible-playbook"), playbook, "-i", str(inventory), *tags, "-e", json.dumps(extra)]
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="the role writes files owned by root")
def test_configure_renders_the_provisioning_changes_nothing_the_second_time_and_tears_down(tmp_path, grafana_health):
    prefix = _prefix(tmp_path)
    first = _configure(tmp_path, prefix, PASSWORD, grafana_health)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    conf = prefix / "etc" / "grafana"
    source = yaml.safe_load((conf / "provisioning" / "datasources" / "ffwatt.yml").read_text())["datasources"][0]
    assert (source["uid"], source["type"], source["url"]) == (DATASOURCE_UID, "prometheus", "http://127.0.0.6:8429")
    provider = yaml.safe_load((conf / "provisioning" / "dashboards" / "ffwatt.yml").read_text())["providers"][0]
    boards = Path(provider["options"]["path"])
    assert sorted(p.name for p in boards.glob("*.json")) == sorted(p.name for p in DASHBOARD_DIR.glob("*.json"))
    ini = (conf / "grafana.ini").read_text()
    assert f'admin_password = """{PASSWORD}"""' in ini and "[auth.anonymous]\nenabled = false" in ini
    assert f"data = {prefix}/state/grafana" in ini and "http_addr = 127.0.0.1\nhttp_port = 3000" in ini
    assert source["jsonData"]["timeInterval"] == "5s"
    assert (conf / "grafana.ini").stat().st_mode & 0o777 == 0o640
    argv = (prefix / "etc" / "ffwatt-grafana.argv").read_text().split("\n")
    assert f"--config={conf}/grafana.ini" in argv and "--homepath=/usr/share/grafana" in argv
    assert (prefix / "ffwattctl.calls").read_text() == "restart ffwatt-grafana\n"
    assert PASSWORD not in first.stdout

    second = _configure(tmp_path, prefix, PASSWORD, grafana_health)
    assert second.returncode == 0, second.stdout[-6000:]
    assert {host: int(changed) for host, _, changed, *_ in RECAP.findall(second.stdout)} == {"localhost": 0}

    gone = _configure(tmp_path, prefix, PASSWORD, playbook="tests/observability/grafana_teardown.yml")
    assert gone.returncode == 0, gone.stdout[-6000:]
    assert (prefix / "ffwattctl.calls").read_text().splitlines()[-1] == "stop ffwatt-grafana"
    assert not conf.exists() and not (prefix / "etc" / "ffwatt-grafana.argv").exists()
    assert (prefix / "state" / "grafana").is_dir(), "Grafana's database stays without ffwatt_purge"


def test_a_short_admin_password_fails_before_anything_is_written(tmp_path):
    prefix = _prefix(tmp_path)
    done = _configure(tmp_path, prefix, "short")
    assert done.returncode != 0
    assert "grafana_admin_password, 12 characters or more" in done.stdout
    assert not (prefix / "etc" / "grafana").exists()
