"""``campaign run/status/cancel/report --master URL`` against a real ``python -m master`` with tokens (and TLS)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.integration.procs import (
    first_campaign_id,
    free_port,
    start_agent,
    start_campaign_cli,
    start_master,
    wait_until,
)

pytestmark = pytest.mark.integration

CLI_TIMEOUT_S = 120

SMALL = """\
name: remote
defaults: {idle_baseline: 0, sample_rate: 10, timeout: 60}
scenarios:
  - name: x264
    kind: transcode
    input: {source: testsrc2, size: 160x90, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrate: 100k
    duration: 1
    repetitions: 2
"""


def campaign(tmp_path: Path, *args: str, env: dict | None = None, timeout: float = CLI_TIMEOUT_S):
    """Run ``campaign ARGS`` in tmp_path without any FFWATT_ variable but those in ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FFWATT_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "master.cli", *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_error_line(proc) -> str:
    """The command failed with one line on stderr and no traceback; returns that line."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def master(cluster, tmp_path):
    return cluster.add(start_master(tmp_path, lease=30))


def submit(master, text: str = SMALL) -> str:
    resp = requests.post(master.url + "/campaigns", json={"spec_text": text}, headers=master.admin(), timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()["campaign_id"]


def test_run_status_report_against_a_master(cluster, master, tmp_path):
    """run submits and follows to a report written here; status shows it finished; report fetches it again."""
    cluster.add(start_agent(master, tmp_path, "remote-agent"))
    spec = tmp_path / "remote.yml"
    spec.write_text(SMALL)
    proc = campaign(tmp_path, "run", str(spec), "--master", master.url, "--token", master.admin_token)
    assert proc.returncode == 0, proc.stderr
    index = tmp_path / next(ln for ln in proc.stdout.splitlines() if ln.startswith("report: ")).split("report: ", 1)[1]
    run = json.loads((index.parent / "results.json").read_text())
    assert [j["state"] for j in run["jobs"]] == ["succeeded", "succeeded"]
    assert all(j["result"]["metrics"]["frames"] == 25 for j in run["jobs"])
    campaign_id = run["campaign"]["id"]
    assert f"(id {campaign_id})" in proc.stderr and master.url in proc.stderr

    status = campaign(tmp_path, "status", campaign_id, "--master", master.url)
    assert status.returncode == 0, status.stderr
    assert "finished, 2/2 jobs done" in status.stdout and "2 succeeded" in status.stdout
    listing = campaign(tmp_path, "status", "--master", master.url)
    assert campaign_id in listing.stdout and "remote" in listing.stdout and "2/2" in listing.stdout
    as_json = json.loads(campaign(tmp_path, "status", campaign_id, "--master", master.url, "--json").stdout)
    assert as_json["id"] == campaign_id and as_json["state"] == "finished"

    again = campaign(tmp_path, "report", campaign_id, "--master", master.url, "--reports-dir", "again")
    assert again.returncode == 0, again.stderr
    latest = campaign(tmp_path, "report", "--master", master.url, "--reports-dir", "latest")
    assert latest.returncode == 0, latest.stderr
    for folder in ("again", "latest"):
        written = json.loads(next((tmp_path / folder).glob("remote-*/results.json")).read_text())
        assert written["campaign"]["id"] == campaign_id and len(written["jobs"]) == 2
        assert (next((tmp_path / folder).glob("remote-*/index.html"))).stat().st_size > 0


def test_token_errors_are_one_line(master, tmp_path):
    """Missing, wrong and node tokens give one-line 401/403 errors; the env variable is read when --token is not."""
    spec = tmp_path / "remote.yml"
    spec.write_text(SMALL)
    missing = one_error_line(campaign(tmp_path, "run", str(spec), "--master", master.url))
    assert "401" in missing and "--token" in missing and "FFWATT_ADMIN_TOKEN" in missing
    wrong = one_error_line(campaign(tmp_path, "run", str(spec), "--master", master.url, "--token", "nope"))
    assert "401" in wrong
    node = requests.post(
        master.url + "/nodes/register",
        json={"hostname": "cli-node"},
        timeout=10,
        headers={"Authorization": f"Bearer {master.enrollment_token}"},
    ).json()
    forbidden = one_error_line(
        campaign(tmp_path, "run", str(spec), "--master", master.url, "--token", node["node_token"])
    )
    assert "403" in forbidden and "admin token" in forbidden
    campaign_id = submit(master)
    denied = one_error_line(campaign(tmp_path, "cancel", campaign_id, "--master", master.url))
    assert "401" in denied
    ok = campaign(
        tmp_path, "cancel", campaign_id, "--master", master.url, env={"FFWATT_ADMIN_TOKEN": master.admin_token}
    )
    assert ok.returncode == 0 and f"campaign {campaign_id} cancelled: 2 job(s)" in ok.stdout, ok.stderr
    status = campaign(tmp_path, "status", campaign_id, "--master", master.url)
    assert "cancelled" in status.stdout and "2 cancelled" in status.stdout


def test_unknown_ids_unreachable_and_bad_urls(master, tmp_path):
    """Unknown campaign -> one-line 404; nobody listening -> 'unreachable: connection refused'; not a URL -> usage."""
    for args in (
        ("status", "c-000000000000"),
        ("report", "c-000000000000"),
        ("cancel", "c-000000000000", "--token", master.admin_token),
    ):
        line = one_error_line(campaign(tmp_path, *args, "--master", master.url))
        assert "404" in line and "c-000000000000" in line, line
    nobody = f"http://127.0.0.10:{free_port('127.0.0.10')}"
    line = one_error_line(campaign(tmp_path, "status", "--master", nobody))
    assert f"master {nobody} unreachable: connection refused" in line
    bad = campaign(tmp_path, "status", "--master", "127.0.0.10:8080")
    assert bad.returncode == 2 and "http://" in bad.stderr and "Traceback" not in bad.stderr
    assert "cancel needs --master" in campaign(tmp_path, "cancel", "c-1").stderr
    empty = campaign(tmp_path, "status", "--master", master.url)
    assert empty.returncode == 0 and "no campaigns" in empty.stdout


def test_ctrl_c_stops_following_not_the_campaign(master, tmp_path):
    """Ctrl-C on a remote run exits 130 and says how to come back; the campaign stays queued on the master."""
    spec = tmp_path / "remote.yml"
    spec.write_text(SMALL)
    follower = start_campaign_cli(tmp_path, "run", str(spec), "--master", master.url, "--token", master.admin_token)
    try:
        campaign_id = wait_until(lambda: first_campaign_id(master), 30, "the submission")
        wait_until(lambda: f"(id {campaign_id})" in follower.log(), 30, "the follower to start")
        follower.popen.send_signal(signal.SIGINT)
        assert follower.popen.wait(timeout=30) == 130
    finally:
        follower.kill()
    assert "keeps running" in follower.log() and f"campaign cancel {campaign_id}" in follower.log()
    state = requests.get(f"{master.url}/campaigns/{campaign_id}", timeout=5).json()
    assert state["state"] == "running" and state["jobs"].get("queued") == 2


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def certs(tmp_path):
    """A CA and a server certificate for 127.0.0.10, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path / "tls"
    folder.mkdir()
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ffwatt test CA",
        cwd=folder,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.10",
        cwd=folder,
    )
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.10\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        cwd=folder,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
        "-subj",
        "/CN=ffwatt operator",
        cwd=folder,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "client.pem",
        "-days",
        "2",
        cwd=folder,
    )
    return folder


def test_https_master_needs_tls_ca(cluster, tmp_path, certs):
    """Against an HTTPS master, --tls-ca verifies it; without it the error says certificate verify failed."""
    master = cluster.add(
        start_master(
            tmp_path,
            wait=False,
            extra=["--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key")],
        )
    )
    master.wait_healthy(verify=str(certs / "ca.pem"))
    assert master.url.startswith("https://")
    submit_ok = requests.post(
        master.url + "/campaigns",
        json={"spec_text": SMALL},
        headers=master.admin(),
        timeout=30,
        verify=str(certs / "ca.pem"),
    )
    assert submit_ok.status_code == 201
    ok = campaign(tmp_path, "status", "--master", master.url, "--tls-ca", str(certs / "ca.pem"))
    assert ok.returncode == 0 and "remote" in ok.stdout, ok.stderr
    line = one_error_line(campaign(tmp_path, "status", "--master", master.url))
    assert "certificate verify failed" in line and "--tls-ca" in line


def test_status_and_report_read_the_embedded_database(tmp_path):
    """Without --master, status and report read the state dir's database (here written by an embedded run)."""
    state, spec = tmp_path / "state", tmp_path / "remote.yml"
    spec.write_text(SMALL)
    run = campaign(tmp_path, "run", str(spec), "--state-dir", str(state), "--reports-dir", "r1")
    assert run.returncode == 0, run.stderr
    listing = campaign(tmp_path, "status", "--state-dir", str(state))
    assert listing.returncode == 0 and "remote" in listing.stdout and "2/2" in listing.stdout, listing.stderr
    campaign_id = json.loads(campaign(tmp_path, "status", "--state-dir", str(state), "--json").stdout)[0]["id"]
    one = campaign(tmp_path, "status", campaign_id, "--state-dir", str(state))
    assert "finished, 2/2 jobs done" in one.stdout and "2 succeeded" in one.stdout
    again = campaign(tmp_path, "report", "--state-dir", str(state), "--reports-dir", "r2")
    assert again.returncode == 0, again.stderr
    assert (
        json.loads(next((tmp_path / "r2").glob("remote-*/results.json")).read_text())["campaign"]["id"] == campaign_id
    )
    missing = one_error_line(campaign(tmp_path, "report", "c-000000000000", "--state-dir", str(state)))
    assert "c-000000000000" in missing and "not found" in missing
    nothing = one_error_line(campaign(tmp_path, "status", "--state-dir", str(tmp_path / "none")))
    assert "no database" in nothing


def test_mtls_master_needs_a_client_certificate(cluster, tmp_path, certs):
    """Against a master with --tls-client-ca, the CLI needs --tls-cert/--tls-key and says so without them."""
    master = cluster.add(
        start_master(
            tmp_path,
            wait=False,
            extra=[
                "--tls-cert",
                str(certs / "server.pem"),
                "--tls-key",
                str(certs / "server.key"),
                "--tls-client-ca",
                str(certs / "ca.pem"),
            ],
        )
    )
    master.wait_healthy(verify=str(certs / "ca.pem"), cert=(str(certs / "client.pem"), str(certs / "client.key")))
    ca = ("--tls-ca", str(certs / "ca.pem"))
    line = one_error_line(campaign(tmp_path, "status", "--master", master.url, *ca))
    assert "client certificate" in line and "--tls-cert" in line
    ok = campaign(
        tmp_path,
        "status",
        "--master",
        master.url,
        *ca,
        "--tls-cert",
        str(certs / "client.pem"),
        "--tls-key",
        str(certs / "client.key"),
    )
    assert ok.returncode == 0 and "no campaigns" in ok.stdout, ok.stderr


def test_status_says_why_jobs_wait(master, tmp_path):
    """Jobs no online node can run show up in status with the master's reason."""
    requests.post(
        master.url + "/nodes/register",
        timeout=10,
        json={"hostname": "x264-only", "inventory": {"encoders": {"libx264": {"usable": True}}, "gpus": []}},
        headers={"Authorization": f"Bearer {master.enrollment_token}"},
    ).raise_for_status()
    campaign_id = submit(master, SMALL.replace("libx264", "h264_nvenc").replace("ultrafast", "fast"))
    status = campaign(tmp_path, "status", campaign_id, "--master", master.url)
    assert status.returncode == 0, status.stderr
    waiting = next(line for line in status.stdout.splitlines() if line.strip().startswith("waiting: "))
    assert "2 jobs" in waiting and "h264_nvenc" in waiting, status.stdout
