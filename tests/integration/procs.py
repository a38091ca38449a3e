"""Real master and agent processes for fault tests and benchmarks: loopback addresses only, every wait bounded.

Each process starts in its own session (so its process group is its pid) with its output in a log file, and is
killed by the kernel if the process that started it dies first (PR_SET_PDEATHSIG).
Killing or stopping one reaches its whole tree: the group plus every descendant found by psutil, because the agent
starts FFmpeg in a session of its own. Processes are only ever signalled by pid, never by name.

Also a launcher: ``python -m tests.integration.procs agent HOSTNAME ARGS...`` runs the agent with
``socket.gethostname()`` answering HOSTNAME, for agents whose CLI has no ``--hostname`` flag: two agents on this
machine need two node identities.
"""

from __future__ import annotations

import ctypes
import functools
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]

START_TIMEOUT_S = 30.0
"""Longest wait for a started master to answer GET /health."""

STOP_TIMEOUT_S = 10.0
"""Longest wait for a process to exit after SIGTERM before it is killed."""


def loopback(n: int) -> str:
    """127.0.0.n: a loopback address standing for host number n."""
    if not 1 <= n <= 254:
        raise ValueError(f"loopback host number {n} out of range")
    return f"127.0.0.{n}"


def free_port(host: str) -> int:
    """A TCP port free on ``host`` right now."""
    if not host.startswith("127."):
        raise ValueError(f"{host}: loopback addresses only")
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); AssertionError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def tree_pids(pid: int) -> list[int]:
    """``pid`` and every live descendant."""
    try:
        parent = psutil.Process(pid)
        return [pid] + [child.pid for child in parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def signal_pids(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a process gets when the thread that started it exits."""


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the starting process dies (a killed pytest leaves no master behind)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Proc:
    """One started process (its own session) and its log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait(self, timeout: float, *others: Proc) -> int:
        """Wait for the exit status; on timeout an AssertionError carrying this log and the others' logs."""
        assert self.popen is not None, f"{self.name} was never started"
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logs = "\n".join(f"--- {p.name} ---\n{p.log()}" for p in (self, *others))
            raise AssertionError(f"{self.name} still running after {timeout:g} s\n{logs}") from None

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""

    def signal_tree(self, sig: int) -> list[int]:
        """Send ``sig`` to the process, its group and every descendant; returns the pids signalled."""
        pids = tree_pids(self.pid) if self.alive() else []
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        signal_pids(pids, sig)
        return pids

    def kill(self) -> None:
        """SIGKILL the whole tree at once (a crash) and reap the process."""
        if self.popen is None:
            return
        self.signal_tree(signal.SIGCONT)  # a stopped tree dies on SIGKILL anyway; keep children from lingering
        self.signal_tree(signal.SIGKILL)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM the process (a clean shutdown), wait up to ``timeout``, then kill what is left of its tree."""
        if self.popen is None:
            return None
        pids = tree_pids(self.pid) if self.alive() else []
        if self.alive():
            self.signal_tree(signal.SIGCONT)
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        signal_pids([p for p in pids if psutil.pid_exists(p)], signal.SIGKILL)
        return self.popen.returncode


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FFWATT_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Master(Proc):
    """``python -m master`` on a loopback address with its own database and tokens."""

    host: str = "127.0.0.10"
    port: int = 0
    db_path: Path = Path()
    admin_token: str = ""
    enrollment_token: str = ""
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def admin(self) -> dict[str, str]:
        """Headers carrying the admin token."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def wait_healthy(
        self, timeout: float = START_TIMEOUT_S, verify: bool | str = True, cert: tuple[str, str] | None = None
    ) -> None:
        def healthy() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.log()}")
            try:
                answer = requests.get(self.url + "/health", timeout=2, verify=verify, cert=cert)
                return answer.json() == {"status": "healthy"}
            except (requests.RequestException, ValueError):
                return False

        try:
            wait_until(healthy, timeout, f"{self.name} at {self.url}/health")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- {self.name} log ---\n{self.log()}") from None

    def restart(self) -> Master:
        """Start the same command again (same address, port, database, tokens) and wait for it to be healthy."""
        self.popen = None
        self.start()
        self.wait_healthy()
        return self


def start_master(
    workdir: Path,
    *,
    host: str = "127.0.0.10",
    port: int | None = None,
    lease: float = 30.0,
    heartbeat_interval: float = 1.0,
    extra: list[str] | None = None,
    tokens: bool = True,
    wait: bool = True,
    name: str = "master",
) -> Master:
    """Start a master with fresh tokens and a database under ``workdir``; waits for /health unless ``wait=False``."""
    port = port or free_port(host)
    admin, enrollment = (secrets.token_urlsafe(24), secrets.token_urlsafe(24)) if tokens else ("", "")
    db_path = workdir / f"{name}.db"
    argv = [
        sys.executable,
        "-m",
        "master",
        "--host",
        host,
        "--port",
        str(port),
        "--db",
        str(db_path),
        "--lease",
        f"{lease:g}",
        "--heartbeat-interval",
        f"{heartbeat_interval:g}",
    ]
    argv += ["--admin-token", admin, "--enrollment-token", enrollment] if tokens else ["--insecure"]
    argv += list(extra or [])
    master = Master(
        name=name,
        argv=argv,
        log_path=workdir / f"{name}.log",
        env=_env(),
        host=host,
        port=port,
        db_path=db_path,
        admin_token=admin,
        enrollment_token=enrollment,
        scheme="https" if "--tls-cert" in (extra or []) else "http",
    )
    master.start()
    if wait:
        master.wait_healthy()
    return master


@functools.lru_cache(maxsize=1)
def agent_has_hostname_flag() -> bool:
    """Whether ``python -m agent`` takes ``--hostname`` (else the launcher below stands in for it)."""
    out = subprocess.run(
        [sys.executable, "-m", "agent", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60, env=_env()
    ).stdout
    return "--hostname" in out


@dataclass
class Agent(Proc):
    """``python -m agent --register`` with its own state dir and host name."""

    hostname: str = ""
    state_dir: Path = Path()


def start_agent(
    master: Master,
    workdir: Path,
    hostname: str,
    *,
    labels: dict[str, str] | None = None,
    poll_interval: str = "1s",
    heartbeat_interval: str = "1s",
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Agent:
    """Start an agent registering with ``master`` as ``hostname`` (its state under ``workdir/hostname``)."""
    state_dir = workdir / hostname
    args = [
        "--register",
        "--master",
        master.url,
        "--state-dir",
        str(state_dir),
        "--poll-interval",
        poll_interval,
        "--heartbeat-interval",
        heartbeat_interval,
        "--metrics-port",
        "0",
    ]
    if master.enrollment_token:
        args += ["--enrollment-token", master.enrollment_token]
    for key, value in (labels or {}).items():
        args += ["--labels", f"{key}={value}"]
    args += list(extra or [])
    if agent_has_hostname_flag():
        argv = [sys.executable, "-m", "agent", "--hostname", hostname, *args]
    else:
        argv = [sys.executable, "-m", "tests.integration.procs", "agent", hostname, *args]
    agent = Agent(
        name=f"agent {hostname}",
        argv=argv,
        log_path=workdir / f"{hostname}.log",
        env=_env(env),
        hostname=hostname,
        state_dir=state_dir,
    )
    return agent.start()


def start_campaign_cli(workdir: Path, *args: str, env: dict[str, str] | None = None, name: str = "campaign") -> Proc:
    """``campaign ARGS`` in the background (e.g. ``run FILE --master URL`` following a campaign), log in workdir."""
    argv = [sys.executable, "-m", "master.cli", *args]
    return Proc(name=name, argv=argv, log_path=workdir / f"{name}.log", env=_env(env)).start()


def first_campaign_id(master: Master) -> str | None:
    """The id of the newest campaign on ``master``, or None while it has none."""
    campaigns = requests.get(master.url + "/campaigns", timeout=10).json()["campaigns"]
    return campaigns[0]["id"] if campaigns else None


def node_ids(master: Master, hostnames) -> dict[str, str] | None:
    """hostname -> node id once every one of ``hostnames`` registered, else None."""
    found = {h: node_id_of(master, h) for h in hostnames}
    return found if all(found.values()) else None


def node_id_of(master: Master, hostname: str) -> str | None:
    """The node id ``hostname`` registered as, or None."""
    nodes = requests.get(master.url + "/nodes", timeout=5).json()["nodes"]
    return next((n["id"] for n in nodes if n["hostname"] == hostname), None)


@dataclass
class Cluster:
    """Everything a test started, stopped (or killed) together at the end, whatever happened."""

    procs: list[Proc] = field(default_factory=list)

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.kill() if isinstance(proc, Agent) else proc.stop()


def _launch_agent(hostname: str, args: list[str]) -> None:
    socket.gethostname = lambda: hostname  # type: ignore[assignment]
    from agent.cli import main

    main(args, prog_name="python -m agent")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "agent":
        sys.exit("usage: python -m tests.integration.procs agent HOSTNAME [AGENT ARGS...]")
    _launch_agent(sys.argv[2], sys.argv[3:])
