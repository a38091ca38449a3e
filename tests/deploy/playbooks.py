"""Run this project's playbooks against test hosts and read the recap: what tests and bench/deploy.py share."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.testhosts import ansible_command, ansible_env

ROOT = Path(__file__).resolve().parents[2]
"""The project root: ansible.cfg, deploy.yml, playbooks/, roles/."""

PLAYBOOK_TIMEOUT_S = 900
"""Longest wait for one playbook run (a first deploy installs a ~300 MiB virtualenv per host on 2 shared cores)."""

TASK_HEADER = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.+?)\] \*+$")
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


@dataclass
class Run:
    """One ansible-playbook run: exit status, per-host recap counts, seconds, and the output to quote on failure."""

    rc: int
    recap: dict[str, dict[str, int]]
    seconds: float
    output: str

    def changed(self) -> dict[str, int]:
        return {host: counts["changed"] for host, counts in self.recap.items()}

    def changed_tasks(self, host: str) -> list[str]:
        """Names ("role : task") of the tasks and handlers that reported changed on ``host``, in order."""
        names, current = [], None
        for line in self.output.splitlines():
            if match := TASK_HEADER.match(line):
                current = match[1]
            elif current and re.match(rf"^changed: \[{re.escape(host)}\]", line):
                names.append(current)
        return names

    def check(self) -> Run:
        """Self when the run succeeded; an AssertionError with the end of the output otherwise."""
        assert self.rc == 0 and not any(c["failed"] or c["unreachable"] for c in self.recap.values()), (
            f"ansible-playbook exited {self.rc}:\n{self.output[-6000:]}"
        )
        return self


def fleet_vars(**extra) -> dict:
    """Inventory vars every test fleet needs: fresh tokens (never the same twice), plus ``extra``."""
    return {
        "ffwatt_enrollment_token": "enroll-" + secrets.token_hex(16),
        "ffwatt_admin_token": "admin-" + secrets.token_hex(16),
        **extra,
    }


def run_playbook(inventory: Path, playbook: str = "deploy.yml", *args: str, timeout: float = PLAYBOOK_TIMEOUT_S) -> Run:
    """``ansible-playbook PLAYBOOK -i INVENTORY ARGS`` from the project root (its ansible.cfg applies)."""
    started = time.monotonic()
    done = subprocess.run(
        [ansible_command("ansible-playbook"), playbook, "-i", str(inventory), *args],
        cwd=ROOT,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    recap = {
        m[1]: {"ok": int(m[2]), "changed": int(m[3]), "unreachable": int(m[4]), "failed": int(m[5])}
        for m in RECAP.finditer(done.stdout)
    }
    return Run(done.returncode, recap, time.monotonic() - started, output)
