"""``python -m master`` as a real process: token refusal, loopback-only --insecure, busy port, gunicorn serving with
many threads, SIGTERM during a long-poll, HTTPS and mTLS with certificates made by the openssl CLI at test time.

The helpers here (:func:`start_master`, :func:`make_tls_files`) are also used by the agent's process tests.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from master import service

START_TIMEOUT_S = 20.0
EXIT_TIMEOUT_S = 15.0
ENROLL, ADMIN = "enroll-test-token", "admin-test-token"
URL_LINE = re.compile(r"ffwatt master on (https?://[^\s]+) \(")

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any FFWATT_* variable, unbuffered, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FFWATT_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def master_cmd(db_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "master", "--db", str(db_path), *args]


@dataclass
class MasterProcess:
    """A started ``python -m master`` (its own session), its log file and its URL."""

    proc: subprocess.Popen
    log_path: Path
    url: str = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = EXIT_TIMEOUT_S) -> int:
        """SIGTERM, wait for the exit status; SIGKILL the group if it does not come in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def start_master(
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    verify: bool | str = True,
    cert: tuple[str, str] | None = None,
    db_name: str = "master.db",
    port: int = 0,
) -> MasterProcess:
    """Start the master on 127.0.0.1 (port 0 unless given) and wait until its URL answers /health."""
    log_path = workdir / f"master-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            master_cmd(workdir / db_name, "--host", "127.0.0.1", "--port", str(port), *args),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=env or clean_env(),
            start_new_session=True,
        )
    master = MasterProcess(proc, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"master exited with {proc.returncode}:\n{master.log()}")
        found = URL_LINE.search(master.log())
        if found:
            master.url = found.group(1)
            try:
                if requests.get(master.url + "/health", timeout=2, verify=verify, cert=cert).ok:
                    return master
            except requests.RequestException:
                pass
        time.sleep(0.1)
    master.kill()
    raise AssertionError(f"master did not answer /health within {START_TIMEOUT_S:g} s:\n{master.log()}")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_tls_files(folder: Path) -> dict[str, Path]:
    """A self-signed server certificate, and a CA with a server and a client certificate (EC P-256, 2 days)."""
    folder.mkdir(parents=True, exist_ok=True)
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    san = "subjectAltName=IP:127.0.0.1,DNS:localhost"
    openssl(
        "req",
        "-x509",
        *new_key,
        "-keyout",
        "self.key",
        "-out",
        "self.pem",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        san,
        cwd=folder,
    )
    openssl(
        "req",
        "-x509",
        *new_key,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ffwatt-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )
    for name, cn, ext in (
        ("server", "127.0.0.1", f"{san}\nextendedKeyUsage=serverAuth\n"),
        ("client", "agent-test", "extendedKeyUsage=clientAuth\n"),
    ):
        (folder / f"{name}.ext").write_text(ext)
        openssl(
            "req", "-new", *new_key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=folder
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=folder,
        )
    return {
        name: folder / name
        for name in ("self.pem", "self.key", "ca.pem", "server.pem", "server.key", "client.pem", "client.key")
    }


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl CLI")
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def run_master(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the master expecting it to refuse to start (so it exits by itself)."""
    return subprocess.run(
        master_cmd(tmp_path / "refused.db", *args),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env or clean_env(),
        timeout=30,
    )


@pytest.mark.parametrize(
    "args, missing",
    [
        ((), "--enrollment-token and --admin-token"),
        (("--enrollment-token", ENROLL), "--admin-token"),
        (("--admin-token", ADMIN), "--enrollment-token"),
    ],
)
def test_refuses_to_start_without_both_tokens(tmp_path, args, missing):
    """Without both tokens and without --insecure the master exits 2 naming what is missing."""
    done = run_master(tmp_path, "--port", "0", *args)
    assert done.returncode == 2, done.stderr
    assert f"refusing to start without {missing}" in done.stderr
    assert "Traceback" not in done.stderr


def test_insecure_refuses_a_public_address(tmp_path):
    """--insecure with --host 0.0.0.0 exits 2: no tokens means loopback only."""
    done = run_master(tmp_path, "--insecure", "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2
    assert "refusing --host 0.0.0.0" in done.stderr


def test_tls_flags_that_do_not_go_together_are_usage_errors(tmp_path, tls_files):
    """--tls-cert without --tls-key, or --tls-client-ca without a certificate, exits 2."""
    lone = run_master(tmp_path, "--insecure", "--port", "0", "--tls-cert", str(tls_files["server.pem"]))
    assert lone.returncode == 2 and "--tls-cert and --tls-key go together" in lone.stderr
    ca_only = run_master(tmp_path, "--insecure", "--port", "0", "--tls-client-ca", str(tls_files["ca.pem"]))
    assert ca_only.returncode == 2 and "--tls-client-ca needs --tls-cert" in ca_only.stderr


def test_busy_port_is_one_clear_line(tmp_path):
    """A port someone else listens on: exit 1 with one line naming the address, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_master(
            tmp_path, "--port", str(port), env=clean_env(FFWATT_ENROLLMENT_TOKEN=ENROLL, FFWATT_ADMIN_TOKEN=ADMIN)
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"Error: cannot listen on 127.0.0.1:{port}: address already in use"
    assert "Traceback" not in done.stderr


def _long_poll(url: str, node_id: str, token: str | None, wait: float, out: list) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        out.append(
            requests.get(
                f"{url}/jobs/next", params={"node_id": node_id, "wait": wait}, headers=headers, timeout=wait + 10
            ).status_code
        )
    except requests.RequestException as exc:
        out.append(exc)


def _register(url: str, hostname: str, **kwargs) -> dict:
    resp = requests.post(
        f"{url}/nodes/register",
        json={"hostname": hostname, "inventory": {}},
        headers={"Authorization": f"Bearer {ENROLL}"},
        timeout=10,
        **kwargs,
    )
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def test_serves_many_long_polls_from_one_worker_process(tmp_path, masters):
    """Tokens from the environment; 60 long-polls in flight at once while /health still answers; one worker."""
    master = start_master(
        tmp_path, "--lease", "60s", env=clean_env(FFWATT_ENROLLMENT_TOKEN=ENROLL, FFWATT_ADMIN_TOKEN=ADMIN)
    )
    masters.append(master)
    node = _register(master.url, "poller")
    results: list = []
    polls = [
        threading.Thread(target=_long_poll, args=(master.url, node["node_id"], node.get("node_token"), 3.0, results))
        for _ in range(60)
    ]
    for poll in polls:
        poll.start()
    time.sleep(0.5)
    started = time.monotonic()
    assert requests.get(master.url + "/health", timeout=5).json() == {"status": "healthy"}
    assert time.monotonic() - started < 1.0
    for poll in polls:
        poll.join(timeout=20)
    assert results == [200] * 60
    workers = psutil.Process(master.proc.pid).children()
    assert len(workers) == 1, workers


def test_sigterm_exits_0_quickly_with_a_long_poll_in_flight(tmp_path, masters):
    """SIGTERM while an agent long-polls for 30 s: exit 0 within the graceful timeout, not after the poll."""
    master = start_master(tmp_path, "--enrollment-token", ENROLL, "--admin-token", ADMIN)
    masters.append(master)
    node = _register(master.url, "poller")
    results: list = []
    poll = threading.Thread(
        target=_long_poll, args=(master.url, node["node_id"], node.get("node_token"), 30.0, results)
    )
    poll.start()
    time.sleep(0.5)
    started = time.monotonic()
    assert master.terminate() == 0, master.log()
    assert time.monotonic() - started < 9.0
    poll.join(timeout=15)
    assert not poll.is_alive() and len(results) == 1
    assert "Traceback" not in master.log()


def test_a_second_master_on_the_same_database_is_refused(tmp_path, masters):
    """Two masters never share one SQLite file: the second exits 1 naming the lock."""
    masters.append(start_master(tmp_path, "--insecure"))
    done = subprocess.run(
        master_cmd(tmp_path / "master.db", "--insecure", "--port", "0"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=30,
    )
    assert done.returncode == 1
    assert "another master is serving" in done.stderr.strip().splitlines()[-1]


@needs_openssl
def test_https_with_a_self_signed_certificate(tmp_path, tls_files, masters):
    """--tls-cert/--tls-key serve HTTPS; a client that trusts the certificate gets through, others do not."""
    cert = str(tls_files["self.pem"])
    master = start_master(
        tmp_path, "--insecure", "--tls-cert", cert, "--tls-key", str(tls_files["self.key"]), verify=cert
    )
    masters.append(master)
    assert master.url.startswith("https://127.0.0.1:")
    assert requests.get(master.url + "/health", verify=cert, timeout=5).json() == {"status": "healthy"}
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(master.url + "/health", timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(master.url.replace("https://", "http://") + "/health", timeout=5)


@needs_openssl
def test_mtls_refuses_clients_without_a_certificate(tmp_path, tls_files, masters):
    """--tls-client-ca: no client certificate -> the TLS handshake is refused; the CA's client certificate works."""
    ca, client = str(tls_files["ca.pem"]), (str(tls_files["client.pem"]), str(tls_files["client.key"]))
    master = start_master(
        tmp_path,
        "--insecure",
        "--tls-cert",
        str(tls_files["server.pem"]),
        "--tls-key",
        str(tls_files["server.key"]),
        "--tls-client-ca",
        ca,
        verify=ca,
        cert=client,
    )
    masters.append(master)
    with pytest.raises(requests.exceptions.ConnectionError):  # SSLError, or a reset right after the handshake
        requests.get(master.url + "/health", verify=ca, timeout=5)
    stranger = (str(tls_files["self.pem"]), str(tls_files["self.key"]))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(master.url + "/health", verify=ca, cert=stranger, timeout=5)
    assert requests.get(master.url + "/health", verify=ca, cert=client, timeout=5).json() == {"status": "healthy"}


def test_gunicorn_runs_one_gthread_worker_with_many_threads():
    """One worker process (SQLite, the in-process long-poll signal), gthread, the --threads count, mTLS required."""
    opts = service.ServeOptions(
        host="127.0.0.1", port=0, threads=300, tls_cert="c.pem", tls_key="k.pem", tls_client_ca="ca.pem"
    )
    with socket.socket() as sock:
        settings = service.gunicorn_settings(sock, opts)
        assert settings["bind"] == [f"fd://{sock.fileno()}"]
    assert (settings["workers"], settings["worker_class"], settings["threads"]) == (1, "gthread", 300)
    assert settings["cert_reqs"] == ssl.CERT_REQUIRED and settings["ca_certs"] == "ca.pem"
    assert settings["graceful_timeout"] <= 5
    loaded = service.MasterService(object(), settings).cfg
    assert (loaded.workers, loaded.threads, loaded.worker_class_str) == (1, 300, "gthread")


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.0.0.12", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("no-such-host.invalid", False),
    ],
)
def test_loopback_detection(host, loopback):
    """--insecure accepts exactly the addresses that stay on this machine."""
    assert service.is_loopback(host) is loopback
