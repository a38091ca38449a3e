"""A newcomer walks the README's "Distributed mode" on one machine, then the POST /jobs call of docs/DISTRIBUTED.md.

The commands are read from the docs, not retyped here: the README's one-machine block (the ```sh block with
``--hostname a1``) runs line by line as real subprocesses, with this venv's ``bin/`` first on PATH (as after
``. .venv/bin/activate``), in a temporary folder holding a link to the repository's ``campaigns/``. Only what must
differ on a shared test machine is replaced: the master's port (a free one; the address stays 127.0.0.1, loopback),
the agents' metrics ports (free ones), and the token values (fresh ones; the doc's ``openssl rand`` does the same).
``ID`` is the id ``campaign run`` printed; ``kill %2 %3 %1`` becomes SIGTERM to the two agents, then the master.

What the docs say the commands print or write is checked: ``campaign run``'s ``campaign quick: 4 jobs (id ...)``
and ``report: ...`` lines, ``campaign report --out``'s folder and files (rewritten in place on a second call, while
``campaign report`` without ``--out`` writes a new folder), the keys of POST /jobs' documented answer, the jobs
shared by both agents, both agents exiting 0 on SIGTERM and shown offline at once.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import requests

from tests.integration.procs import Proc, _die_with_parent, free_port, wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DISTRIBUTED = ROOT / "docs" / "DISTRIBUTED.md"
VENV_BIN = Path(sys.executable).parent

DOC_URL = "http://127.0.0.1:8080"
"""The master URL the README's one-machine block uses."""

CLI_TIMEOUT_S = 240
"""Longest a foreground command of the walk may take (campaign run of quick.yml: about 30 s on 2 cores)."""

REGISTER_TIMEOUT_S = 90
JOB_TIMEOUT_S = 180
AGENT_EXIT_TIMEOUT_S = 60


def sh_block(path: Path, marker: str) -> list[str]:
    """The lines (continuations joined, comments dropped) of the ```sh block of ``path`` that contains ``marker``."""
    blocks = re.findall(r"^```sh\n(.*?)^```", path.read_text(), re.M | re.S)
    block = next((b for b in blocks if marker in b), None)
    assert block is not None, f"{path.name}: no ```sh block with {marker!r}"
    lines = []
    for line in block.replace("\\\n", " ").splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def words_of(line: str, env: dict[str, str]) -> list[str]:
    """The line's words as the shell passes them (variables of ``env`` expanded; the docs' bodies hold no ``$``)."""

    def expand(word: str) -> str:
        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env[m.group(1)], word)

    return [expand(w) for w in shlex.split(line)]


def run_env(tokens: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FFWATT_")}
    env.update(tokens)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    exe = shutil.which(argv[0], path=env["PATH"])
    assert exe, f"{argv[0]}: not on PATH (venv first)"
    proc = subprocess.run(
        [exe, *argv[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        start_new_session=True,
    )
    assert proc.returncode == 0, (
        f"{shlex.join(argv)}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


@pytest.fixture
def walk_dir(tmp_path):
    (tmp_path / "campaigns").symlink_to(ROOT / "campaigns")
    return tmp_path


def test_readme_distributed_walkthrough(walk_dir: Path):
    lines = sh_block(README, "--hostname a1")
    export, *rest = lines
    assert export.startswith("export "), f"the block should start by exporting the tokens: {export!r}"
    names = re.findall(r"\b(FFWATT_[A-Z_]+)=", export)
    assert sorted(names) == ["FFWATT_ADMIN_TOKEN", "FFWATT_ENROLLMENT_TOKEN"], export
    tokens = {name: secrets.token_hex(32) for name in names}
    env = run_env(tokens)

    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    metrics_ports = {"9101": str(free_port("127.0.0.1")), "9102": str(free_port("127.0.0.1"))}
    background: list[Proc] = []
    outputs: dict[str, str] = {}
    campaign_id = None
    try:
        for line in rest:
            if line.startswith("kill "):
                assert line.split()[1:] == ["%2", "%3", "%1"], line
                break
            line = line.replace(DOC_URL, url).replace("--port 8080", f"--port {port}")
            for doc_port, port_here in metrics_ports.items():
                line = line.replace(f"--metrics-port {doc_port}", f"--metrics-port {port_here}")
            if campaign_id:
                line = re.sub(r"\bID\b", campaign_id, line)
            assert "8080" not in line and "ID" not in line.split(), f"placeholder left in {line!r}"
            if line.endswith("&"):
                argv = words_of(line[:-1], env)
                exe = shutil.which(argv[0], path=env["PATH"])
                name = (
                    "master"
                    if argv[:3] == ["python", "-m", "master"]
                    else argv[argv.index("--hostname") + 1]
                    if "--hostname" in argv
                    else f"bg{len(background)}"
                )
                # in the walk's folder: the doc's relative paths (.ffwatt-master/, .ffwatt-a1/) land there
                proc = start_in(
                    Proc(name=name, argv=[exe, *argv[1:]], log_path=walk_dir / f"{name}.log", env=env), walk_dir
                )
                background.append(proc)
                if name == "master":
                    wait_until(lambda proc=proc: _healthy(url, proc), 30, f"the master at {url}/health")
                continue
            if line.startswith("campaign run"):
                # a newcomer starts the campaign once `GET /nodes` shows both agents (and this keeps the test
                # independent of how long an agent takes to probe its encoders)
                wait_until(
                    lambda: _online(url) >= {"a1", "a2"}, REGISTER_TIMEOUT_S, "agents a1 and a2 online", interval=0.5
                )
            argv = words_of(line, env)
            proc = run(argv, walk_dir, env)
            outputs[" ".join(argv[:2])] = proc.stdout + proc.stderr
            if argv[:2] == ["campaign", "run"]:
                match = re.search(
                    r"campaign quick: 4 jobs \(id (c-[0-9a-f]+)\), master " + re.escape(url), proc.stdout + proc.stderr
                )
                assert match, f"campaign run's first line is not as README.md says:\n{proc.stdout}{proc.stderr}"
                campaign_id = match.group(1)
                index = re.search(r"^report: (reports/quick-[^/\s]+/index\.html)$", proc.stdout, re.M)
                assert index, f"no `report: reports/quick-<time>/index.html` line:\n{proc.stdout}"
                assert (walk_dir / index.group(1)).stat().st_size > 0
        assert campaign_id, "the block never ran `campaign run`"
        assert {"campaign status", "campaign report"} <= set(outputs), f"block ran only {sorted(outputs)}"

        status = outputs["campaign status"]
        assert campaign_id in status or "quick" in status, status

        # campaign report --out DIR: the folder printed, its three files there, rewritten (not a new folder) by a
        # second call; without --out a new timestamped folder under reports/ each call
        out_dir = walk_dir / "reports" / "quick-fleet"
        assert "report folder: reports/quick-fleet" in outputs["campaign report"], outputs["campaign report"]
        for name in ("index.html", "results.json", "results.csv"):
            assert (out_dir / name).stat().st_size > 0, name
        json.loads((out_dir / "results.json").read_text())
        before = sorted(p.name for p in (walk_dir / "reports").iterdir())
        mtime = (out_dir / "index.html").stat().st_mtime_ns
        again = run(["campaign", "report", campaign_id, "--master", url, "--out", "reports/quick-fleet"], walk_dir, env)
        assert "report folder: reports/quick-fleet" in again.stdout
        assert sorted(p.name for p in (walk_dir / "reports").iterdir()) == before
        assert (out_dir / "index.html").stat().st_mtime_ns >= mtime
        fresh = run(["campaign", "report", campaign_id, "--master", url], walk_dir, env)
        folder = re.search(r"^report folder: (\S+)", fresh.stdout, re.M)
        assert folder and folder.group(1) not in ("reports/quick-fleet",), fresh.stdout
        assert len(list((walk_dir / "reports").iterdir())) == len(before) + 1
        assert (walk_dir / folder.group(1) / "index.html").stat().st_size > 0

        # the four jobs went to both agents
        jobs = requests.get(f"{url}/jobs", params={"campaign": campaign_id}, timeout=10).json()["jobs"]
        assert len(jobs) == 4 and all(j["state"] == "succeeded" for j in jobs), jobs
        hostnames = {n["id"]: n["hostname"] for n in requests.get(f"{url}/nodes", timeout=10).json()["nodes"]}
        assert {hostnames[j["node_id"]] for j in jobs} == {"a1", "a2"}, jobs

        post_job(url, env)
    finally:
        agents = [p for p in background if p.name != "master"]
        exits = {}
        for agent in agents:
            if agent.alive():
                agent.popen.send_signal(signal.SIGTERM)
        for agent in agents:
            try:
                exits[agent.name] = agent.popen.wait(timeout=AGENT_EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                exits[agent.name] = None
            agent.kill()
        # the README: a stopped agent tells the master it is going offline, so GET /nodes shows it at once (not
        # after three missed heartbeats: the agents' default interval is 30 s)
        statuses = _statuses(url) if any(p.name == "master" and p.alive() for p in background) else {}
        for proc in background:
            if proc.name == "master":
                proc.stop()
    assert exits == {"a1": 0, "a2": 0}, "\n".join(f"--- {a.name} ---\n{a.log()}" for a in agents)
    assert {statuses.get("a1"), statuses.get("a2")} == {"offline"}, statuses


def post_job(url: str, env: dict[str, str]) -> None:
    """DISTRIBUTED.md's curl POST /jobs, as written (real curl when installed, else the same request by urllib);
    its answer has the documented keys, and the job runs to success on one of the agents."""
    (line,) = sh_block(DISTRIBUTED, "curl -sS -X POST")
    argv = words_of(line.replace("http://MASTER:8080", url), env)
    body = argv[argv.index("-d") + 1]
    headers = dict(h.split(": ", 1) for h in (argv[i + 1] for i, w in enumerate(argv) if w == "-H"))
    assert headers == {"Content-Type": "application/json", "Authorization": f"Bearer {env['FFWATT_ADMIN_TOKEN']}"}
    if shutil.which("curl"):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        answer = json.loads(proc.stdout)
    else:
        request = urllib.request.Request(f"{url}/jobs", data=body.encode(), headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201
            answer = json.loads(response.read())
    text = DISTRIBUTED.read_text()
    documented = json.loads(re.search(r"The answer \(201\): `(\{.*?\})`", text).group(1))
    assert set(answer) == set(documented), (answer, documented)
    assert answer["id"] == answer["job_id"]
    sent = json.loads(body)

    def finished():
        job = requests.get(f"{url}/jobs/{answer['job_id']}", timeout=10).json()
        return job if job["state"] in ("succeeded", "failed", "cancelled") else None

    job = wait_until(finished, JOB_TIMEOUT_S, f"job {answer['job_id']} to finish", interval=0.5)
    assert job["state"] == "succeeded", requests.get(f"{url}/jobs/{answer['job_id']}/logs", timeout=10).json()
    assert job["priority"] == sent["priority"]
    for key, value in sent["parameters"].items():
        assert job["params"][key] == value, key


def start_in(proc: Proc, cwd: Path) -> Proc:
    """Start ``proc`` as Proc.start does (own session, log file, killed with the test), but in ``cwd``."""
    with open(proc.log_path, "ab") as log:
        proc.popen = subprocess.Popen(
            proc.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=proc.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    return proc


def _healthy(url: str, proc: Proc) -> bool:
    assert proc.alive(), f"the master exited:\n{proc.log()}"
    try:
        return requests.get(f"{url}/health", timeout=2).json() == {"status": "healthy"}
    except (requests.RequestException, ValueError):
        return False


def _statuses(url: str) -> dict[str, str]:
    try:
        return {n["hostname"]: n["status"] for n in requests.get(f"{url}/nodes", timeout=5).json()["nodes"]}
    except (requests.RequestException, ValueError):
        return {}


def _online(url: str) -> set[str]:
    nodes = requests.get(f"{url}/nodes", timeout=5).json()["nodes"]
    return {n["hostname"] for n in nodes if n.get("status") == "online"}
