"""Deploy benchmark: how long `ansible-playbook deploy.yml` takes on three loopback test hosts, how long a rerun that
changes nothing takes, and how long adding an agent takes.

Usage: .venv/bin/python bench/deploy.py

Three test hosts (127.0.0.11 master and RTMP ingest, 127.0.0.12 and 127.0.0.13 agents), each with its own sshd and
ffwatt_prefix under a fresh temp dir, all on this machine (so the hosts share its cores: a real fleet deploys each host
on its own). Then a fourth host (127.0.0.14) joins the agents. Printed: wall seconds of each run and its per-host
changed counts (the rerun must be all 0; adding an agent must change only the new host), then everything is torn
down (teardown.yml with ffwatt_purge) and the sshds stopped. Loopback only; bounded by the playbook timeout.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.deploy.playbooks import fleet_vars, run_playbook  # noqa: E402
from tests.deploy.testhosts import TestHosts, free_port  # noqa: E402


def line(what: str, run) -> None:
    changed = ", ".join(f"{host} {count}" for host, count in sorted(run.changed().items()))
    print(f"{what:<34} {run.seconds:7.1f} s   changed: {changed}")


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="ffwatt-bench-deploy-"))
    root.chmod(0o711)  # the services' user passes through to each prefix
    print(
        f"host: {platform.node()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    )
    groups = {"master": ["m"], "rtmp": ["m"], "agents": ["a1", "a2"]}
    settings = fleet_vars(
        ffwatt_master_port=free_port("127.0.0.11"),
        ffwatt_rtmp_port=free_port("127.0.0.11"),
        ffwatt_rtmp_stat_port=free_port("127.0.0.11"),
    )
    with TestHosts(4, root=root) as hosts:
        try:
            inventory = hosts.write_inventory(groups, settings)
            first = run_playbook(inventory).check()
            line("deploy, 3 fresh hosts", first)
            again = run_playbook(inventory).check()
            line("deploy again (nothing to do)", again)
            groups["agents"].append("a3")
            hosts.write_inventory(groups, settings, inventory)
            added = run_playbook(inventory).check()
            line("deploy with a 4th host (new agent)", added)
            ok = set(again.changed().values()) == {0} and {h for h, c in added.changed().items() if c} == {"a3"}
            print("rerun changed=0 everywhere and only the new host changed:", "yes" if ok else "NO")
        finally:
            teardown = run_playbook(hosts.inventory, "playbooks/teardown.yml", "-e", "ffwatt_purge=true")
            line("teardown (purge)", teardown)
    shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
