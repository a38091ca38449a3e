"""``campaign run --deploy``: the deploy playbook, run through ansible-runner before anything is submitted.

Progress shows live (play, task, per-host ok/changed/failed counts) from the runner's events; a failed deployment
ends in one error naming the host, the task and the module's message, so the campaign is never submitted to a fleet
that is not ready.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from master.cli.inventory import VAULT_HINT
from master.cli.runner_stop import RunnerStop

PLAYBOOK_NAME = "deploy.yml"
"""The site deployment playbook, at the project root next to ansible.cfg."""

DEPLOY_TIMEOUT_S = 3600
"""Longest a deployment may run before it is stopped and counted failed (a fleet of hundreds installs in minutes)."""

RUNNER_POLL_S = 1
"""How often ansible-runner asks whether to stop while ansible-playbook is quiet (seconds)."""

OUTPUT_TAIL_LINES = 15
"""Lines of ansible-playbook's output shown for a failure no task event explains (a syntax error, say)."""

TASK_FAILED = "Task failed: "
"""How ansible-core 2.19 starts a failed task's ``msg``; said once by the error already."""


class DeployError(click.ClickException):
    """A deployment that failed: said without a traceback, exit 1, nothing submitted."""


class DeployInterrupted(click.ClickException):
    """Ctrl-C (or SIGTERM) while deploying: nothing submitted, exit 128 + the signal (130 for Ctrl-C, as for an
    interrupted campaign)."""

    def __init__(self, signum: int) -> None:
        super().__init__("deploy interrupted: the playbook was stopped where it was; nothing was submitted")
        self.exit_code = 128 + signum


def find_playbook(playbook: Path | None, inventory: Path) -> Path:
    """``--playbook``, else ``deploy.yml`` in the working directory, else in the inventory directory's parent (the
    inventory's directory: the one holding an inventory file, or an inventory that is a directory)."""
    if playbook is not None:
        if not playbook.is_file():
            raise DeployError(f"--playbook {playbook}: no such file")
        return playbook.resolve()
    inventory_dir = inventory.resolve() if inventory.is_dir() else inventory.resolve().parent
    candidates = [Path.cwd() / PLAYBOOK_NAME, inventory_dir.parent / PLAYBOOK_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise DeployError(
        f"no {PLAYBOOK_NAME} in {' or '.join(str(c.parent) for c in candidates)}: run from the "
        "project root or pass --playbook PATH"
    )


def runner_env(playbook: Path) -> dict[str, str]:
    """This interpreter's bin directory first on PATH (ansible-playbook of this venv) and the playbook's ansible.cfg."""
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])}
    config = playbook.parent / "ansible.cfg"
    if config.is_file():
        env["ANSIBLE_CONFIG"] = str(config)
    return env


@dataclass
class HostCounts:
    """Task results of one host so far."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


@dataclass
class Failure:
    """A task that failed on a host (or a host that could not be reached), with the module's message."""

    host: str
    task: str
    message: str
    unreachable: bool = False

    def __str__(self) -> str:
        return f"{self.host}: {'unreachable, ' if self.unreachable else ''}task '{self.task}': {self.message}"


def failure_message(res: Any) -> str:
    """The module's ``msg``, else its stderr or stdout; something short and readable from any result."""
    if not isinstance(res, dict):
        return str(res or "failed")
    for key in ("msg", "stderr", "module_stderr", "stdout", "module_stdout"):
        value = res.get(key)
        if value:
            return str(value).strip().removeprefix(TASK_FAILED)
    failed_items = [item for item in res.get("results") or [] if isinstance(item, dict) and item.get("failed")]
    return failure_message(failed_items[0]) if failed_items else "failed"


@dataclass
class DeployProgress:
    """What the runner's events said so far: the current play and task, counts per host, failures."""

    play: str = ""
    task: str = ""
    hosts: dict[str, HostCounts] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def on_event(self, event: dict[str, Any]) -> None:
        """Take one ansible-runner event."""
        kind, data = event.get("event", ""), event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "")
        elif kind == "playbook_on_task_start":
            self.task = data.get("task", "")
        elif kind.startswith("runner_on_") and data.get("host"):
            self._count(kind, data)

    def _count(self, kind: str, data: dict[str, Any]) -> None:
        counts = self.hosts.setdefault(data["host"], HostCounts())
        res = data.get("res") or {}
        if kind == "runner_on_ok":
            counts.ok += 1
            counts.changed += bool(isinstance(res, dict) and res.get("changed"))
        elif kind == "runner_on_skipped":
            counts.skipped += 1
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            counts.failed += 1
            self.failures.append(Failure(data["host"], data.get("task", self.task), failure_message(res)))
        elif kind == "runner_on_unreachable":
            counts.unreachable += 1
            self.failures.append(Failure(data["host"], data.get("task", self.task), failure_message(res), True))

    def view(self) -> Group:
        """The live display: the current play and task, then a row per host."""
        heading = Text(f"deploy: {self.play} — {self.task}" if self.play else "deploy: starting", style="bold")
        table = Table()
        for column in ("host", "ok", "changed", "failed", "unreachable"):
            table.add_column(column, justify="left" if column == "host" else "right")
        for host, counts in sorted(self.hosts.items()):
            table.add_row(host, str(counts.ok), str(counts.changed), str(counts.failed), str(counts.unreachable))
        return Group(heading, table)

    def recap(self) -> str:
        """One line per host: ``m1: ok=12 changed=3``."""
        return "\n".join(
            f"  {host}: ok={c.ok} changed={c.changed}" + (f" skipped={c.skipped}" if c.skipped else "")
            for host, c in sorted(self.hosts.items())
        )


@dataclass(frozen=True)
class Deployment:
    """What ``run_deploy`` runs: the playbook on the inventory, limited to some hosts (None: all of them)."""

    playbook: Path
    inventory: Path
    limit: str | None = None
    vault_password_file: str | None = None
    timeout_s: int = DEPLOY_TIMEOUT_S

    def runner_args(self, private_data_dir: str) -> dict[str, Any]:
        """The keyword arguments of ``ansible_runner.run``."""
        cmdline = (
            f"--vault-password-file {shlex.quote(str(Path(self.vault_password_file).resolve()))}"
            if self.vault_password_file
            else None
        )
        return dict(
            private_data_dir=private_data_dir,
            project_dir=str(self.playbook.parent),
            playbook=str(self.playbook),
            inventory=str(self.inventory.resolve()),
            limit=self.limit,
            cmdline=cmdline,
            envvars=runner_env(self.playbook),
            quiet=True,
            settings={"pexpect_timeout": RUNNER_POLL_S},
        )


def run_deploy(deployment: Deployment, console: Console) -> DeployProgress:
    """Run the deployment with a live display on ``console``; DeployError (host, task, message) when it fails,
    DeployInterrupted on Ctrl-C or SIGTERM."""
    try:
        import ansible_runner
    except ImportError as exc:
        raise DeployError(f"--deploy needs ansible-runner ({exc}): pip install 'ffwatt[fleet]'") from None
    progress = DeployProgress()
    where = f" (limit {deployment.limit})" if deployment.limit else ""
    console.print(
        f"deploying: {deployment.playbook} on {deployment.inventory}{where}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    with tempfile.TemporaryDirectory(prefix="ffwatt-deploy-") as private_dir, RunnerStop(deployment.timeout_s) as stop:
        with Live(progress.view(), console=console, refresh_per_second=4, transient=True) as live:

            def on_event(event: dict[str, Any]) -> bool:
                progress.on_event(event)
                live.update(progress.view())
                return True

            runner = ansible_runner.run(
                **deployment.runner_args(private_dir), event_handler=on_event, cancel_callback=stop
            )
    if stop.signum is not None:
        raise DeployInterrupted(stop.signum)
    if stop.timed_out:
        raise DeployError(
            f"deploy: {deployment.playbook.name} still running after {deployment.timeout_s} s: stopped;"
            " nothing was submitted"
        )
    if runner.rc != 0 or runner.status != "successful":
        raise DeployError(_failure_text(runner, progress, deployment))
    console.print(
        f"deployed: {deployment.playbook.name}\n{progress.recap()}", soft_wrap=True, highlight=False, markup=False
    )
    return progress


def _failure_text(runner, progress: DeployProgress, deployment: Deployment) -> str:
    """Why the deployment failed: its failed tasks, else the tail of ansible-playbook's output."""
    head = f"deploy failed ({deployment.playbook.name}, rc {runner.rc}); nothing was submitted"
    lines = [f"  {failure}" for failure in progress.failures] or [f"  {line}" for line in _output_tail(runner)]
    if any(
        "decrypt" in line.lower() or "vault password" in line.lower() or "vault secret" in line.lower()
        for line in lines
    ):
        lines.append(f"  ({VAULT_HINT})")
    return "\n".join([head, *lines])


def _output_tail(runner) -> list[str]:
    """The last lines of the runner's stdout and stderr."""
    lines = []
    for stream in (getattr(runner, "stdout", None), getattr(runner, "stderr", None)):
        try:
            lines += [line.rstrip() for line in stream.read().splitlines() if line.strip()] if stream else []
        except (OSError, ValueError):
            continue
    return lines[-OUTPUT_TAIL_LINES:] or ["(no output)"]
