"""Inventories, vault-encrypted values and campaign files for the ``--inventory`` tests, written with real Ansible."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

VAULT_PASSWORD = "correct horse battery staple"

ANSIBLE_TIMEOUT_S = 120
"""Longest an ansible-vault call may take (it starts in about a second)."""


def campaign_text(targets: list[str] | None) -> str:
    """A small valid campaign; ``targets:`` on line 3, one target a line from line 4."""
    lines = ["name: fleet", "description: on an inventory"]
    if targets is not None:
        lines += ["targets:", *(f"  - {target}" for target in targets)]
    lines += [
        "defaults: {idle_baseline: 0, sample_rate: 10, timeout: 60}",
        "scenarios:",
        "  - name: x264",
        "    kind: transcode",
        "    input: {source: testsrc2, size: 160x90, rate: 25}",
        "    encoder: libx264",
        "    preset: ultrafast",
        "    bitrate: 100k",
        "    duration: 1",
    ]
    return "\n".join(lines) + "\n"


def write_campaign(directory: Path, targets: list[str] | None, name: str = "fleet.yml") -> Path:
    path = directory / name
    path.write_text(campaign_text(targets))
    return path


def write_inventory(directory: Path, text: str, name: str = "inventory.yml") -> Path:
    """An inventory file (``text`` dedented) under ``directory/inventory/``, the layout of the project's own."""
    path = directory / "inventory" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def vault_password_file(directory: Path, password: str = VAULT_PASSWORD, name: str = "vault-pass") -> Path:
    path = directory / name
    path.write_text(password + "\n")
    path.chmod(0o600)
    return path


def encrypt_string(value: str, name: str, password_file: Path) -> str:
    """``NAME: !vault |...`` as ``ansible-vault encrypt_string`` (the venv's) writes it; ``--`` ends the options, so a
    value that starts with ``-`` (a random token may) is still the value."""
    vault = Path(sys.executable).parent / "ansible-vault"
    proc = subprocess.run(
        [str(vault), "encrypt_string", "--vault-password-file", str(password_file), "--name", name, "--", value],
        capture_output=True,
        text=True,
        timeout=ANSIBLE_TIMEOUT_S,
        check=True,
    )
    assert "$ANSIBLE_VAULT" in proc.stdout, proc.stderr
    return proc.stdout


def indent(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces)
