"""The loopback ssh test hosts: Ansible reaches each one as root, and stop() leaves no sshd of ours alive."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.testhosts import (
    SshdFailed,
    SshdMissing,
    TestHosts,
    accepts,
    alive,
    ansible_command,
    ansible_env,
    port_bindable,
)

ANSIBLE_TIMEOUT_S = 180
"""Longest wait for one ad-hoc Ansible run (2 shared cores; each host costs an ssh login and a module copy)."""


def ansible_ping(inventory: Path, pattern: str = "all") -> dict[str, str]:
    """Run ``ansible PATTERN -m ansible.builtin.ping -o``; host name -> its ``ping`` answer.

    One line per host: ``NAME | SUCCESS => {...JSON...}`` (the json callback lives outside ansible-core now).
    """
    if not Path(ansible_command()).exists():
        pytest.skip("ansible is not installed in this venv (pip install -e '.[fleet]')")
    done = subprocess.run(
        [ansible_command(), pattern, "-i", str(inventory), "-m", "ansible.builtin.ping", "-o"],
        capture_output=True,
        text=True,
        env=ansible_env(),
        cwd=inventory.parent,
        timeout=ANSIBLE_TIMEOUT_S,
    )
    assert done.returncode == 0, f"ansible exited with {done.returncode}\n{done.stdout}\n{done.stderr}"
    answers = {}
    for line in done.stdout.splitlines():
        if match := re.match(r"^(\S+) \| SUCCESS => (\{.*\})$", line):
            answers[match[1]] = json.loads(match[2]).get("ping")
    return answers


@pytest.mark.e2e
def test_ansible_pings_three_hosts_and_stop_leaves_no_sshd(testhosts):
    """Ansible pings three hosts on three loopback addresses; after stop() (twice) none of their pids lives."""
    hosts = testhosts(3)
    inventory = hosts.write_inventory({"master": ["m"], "agents": ["a1", "a2"]}, {"ffwatt_master_port": 18080})

    assert ansible_ping(inventory) == {"m": "pong", "a1": "pong", "a2": "pong"}
    assert [h.address for h in hosts.hosts] == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
    loaded = yaml.safe_load(inventory.read_text())["all"]
    assert loaded["vars"] == {"ffwatt_master_port": 18080}
    assert len({v["ffwatt_prefix"] for v in loaded["hosts"].values()}) == 3
    pids = hosts.pids()
    assert {h.pid() for h in hosts.hosts} <= set(pids)

    hosts.stop()
    hosts.stop()
    assert [pid for pid in pids if alive(pid)] == []
    assert hosts.pids() == []
    assert not any(accepts(h.address, h.port) for h in hosts.hosts)


@pytest.mark.e2e
def test_scale_out_adds_a_host_and_rewrites_the_inventory(testhosts):
    """add_host() starts sshd on the next address and the rewritten inventory reaches old and new hosts."""
    hosts = testhosts(1)
    inventory = hosts.write_inventory({"master": ["m"], "agents": []})
    added = hosts.add_host("agents", "a1")

    assert added.address == "127.0.0.12"
    groups = yaml.safe_load(inventory.read_text())["all"]["children"]
    assert groups["agents"]["hosts"] == {"a1": {}}
    assert ansible_ping(inventory) == {"m": "pong", "a1": "pong"}


@pytest.mark.e2e
def test_busy_port_22_falls_back_to_a_free_port(testhosts):
    """With 127.0.0.11:22 taken by another listener, the host listens on another port and the inventory says which."""
    holder = socket.socket()
    try:
        if port_bindable("127.0.0.11", 22):
            holder.bind(("127.0.0.11", 22))
            holder.listen()
        hosts = testhosts(1)
        host = hosts.hosts[0]
        assert host.port != 22 and accepts(host.address, host.port)
        inventory = hosts.write_inventory({"agents": ["a1"]})
        assert yaml.safe_load(inventory.read_text())["all"]["hosts"]["a1"]["ansible_port"] == host.port
    finally:
        holder.close()


def test_missing_sshd_is_a_clear_error(tmp_path):
    """Without an sshd binary start() fails naming the path and the package, and starts nothing."""
    hosts = TestHosts(2, root=tmp_path, sshd=tmp_path / "no-sshd")
    with pytest.raises(SshdMissing, match="no-sshd.*openssh-server"):
        hosts.start()
    assert hosts.hosts == [] and hosts.pids() == []
    hosts.stop()


def test_an_sshd_that_exits_at_once_is_a_clear_error(tmp_path):
    """A server that exits instead of listening fails start() with its address and exit status; stop() still works."""
    hosts = TestHosts(1, root=tmp_path, sshd=Path("/bin/false"))
    with pytest.raises(SshdFailed, match=r"sshd for 127\.0\.0\.11:\d+ exited with 1"):
        hosts.start()
    hosts.stop()
    assert hosts.pids() == []


def test_more_names_than_hosts_is_refused(tmp_path):
    """An inventory naming more hosts than were started is refused, pointing at add_host()."""
    hosts = TestHosts(0, root=tmp_path)
    with pytest.raises(ValueError, match="add_host"):
        hosts.write_inventory({"agents": ["a1"]})
