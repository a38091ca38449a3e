"""The molecule scenario (delegated driver, this machine): converge the master and agent roles, converge again with
no change (molecule's idempotence step), verify the user, the services, the socket and the node, then tear down."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.deploy.playbooks import ROOT
from tests.deploy.testhosts import ansible_env, free_port

pytestmark = pytest.mark.e2e


def test_molecule_scenario_converges_idempotently_and_verifies():
    molecule = Path(sys.executable).parent / "molecule"
    if not molecule.exists():
        pytest.skip("molecule is not installed in this venv (pip install -e '.[test]')")
    prefix = Path(tempfile.mkdtemp(prefix="ffwatt-molecule-"))
    prefix.chmod(0o755)  # the services' user must reach it
    env = ansible_env(
        {
            "FFWATT_MOLECULE_PREFIX": str(prefix / "opt"),
            "FFWATT_MOLECULE_PORT": str(free_port("127.0.0.1")),
            "FFWATT_MOLECULE_AGENT_METRICS_PORT": str(free_port("127.0.0.1")),
            "FFWATT_MOLECULE_NODE_EXPORTER_PORT": str(free_port("127.0.0.1")),
            "PATH": f"{molecule.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    try:
        done = subprocess.run(
            [str(molecule), "test", "-s", "default"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-8000:]
        assert "idempotence" in done.stdout + done.stderr
        assert not (prefix / "opt").exists(), "cleanup (teardown with ffwatt_purge) left the prefix"
    finally:
        ctl = prefix / "opt" / "bin" / "ffwattctl"
        for service in ("ffwatt-agent", "ffwatt-master", "ffwatt-node-exporter"):  # whatever a failed run left behind
            if ctl.exists():
                subprocess.run([str(ctl), "stop", service], capture_output=True, timeout=120)
        shutil.rmtree(prefix, ignore_errors=True)
