"""``python -m agent``: flags (usage errors, labels, durations), and the service as a real process against a real
master (``python -m master --insecure`` on loopback) and real FFmpeg: SIGTERM mid-job, a crash with a spooled result.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import psutil
import pytest
import requests
from click.testing import CliRunner

from agent.cli import main, parse_labels
from agent.statedir import default_state_dir
from tests.master.test_service import clean_env, start_master
from wire.durations import Duration, parse_duration

AGENT_EXIT_TIMEOUT_S = 30.0
needs_ffmpeg = pytest.mark.skipif(not Path("/usr/bin/ffmpeg").exists(), reason="needs /usr/bin/ffmpeg")

CAMPAIGN = """\
version: 1
name: {name}
targets: [local]
defaults: {{repetitions: 1, idle_baseline: 0, sample_rate: 10, timeout: 600}}
scenarios:
  - name: x264
    kind: transcode
    input: {{source: testsrc2, size: {size}, rate: 30}}
    encoder: libx264
    preset: {preset}
    bitrate: 2000k
    resolution: {size}
    fps: 30
    duration: {duration}
"""
LONG = {"name": "long", "size": "1280x720", "preset": "slow", "duration": 120}
SHORT = {"name": "short", "size": "640x360", "preset": "ultrafast", "duration": 20}  # 1-3 s of encoding


# -- flags ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--register"], "--master"),
        (["--master", "http://127.0.0.1:9"], "--register"),
        (["--register", "--master", "127.0.0.1:8080"], "expected http://HOST:PORT"),
        (["--register", "--master", "http://127.0.0.1:9", "--labels", "gpu"], "expected k=v"),
        (["--register", "--master", "http://127.0.0.1:9", "--poll-interval", "10x"], "not a duration"),
        (["--register", "--master", "http://127.0.0.1:9", "--shutdown-timeout", "0s"], "must be positive"),
        (["--register", "--master", "http://127.0.0.1:9", "--heartbeat-interval", "nan"], "must be positive"),
    ],
)
def test_usage_errors_exit_2(args, message, tmp_path):
    """A missing --master or --register, a bad URL, label or duration is a usage error naming the problem."""
    result = CliRunner().invoke(main, [*args, "--state-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_tls_flags_need_each_other_and_https(tmp_path):
    """--tls-cert without --tls-key, or --tls-ca with an http:// master, is a usage error."""
    pem = tmp_path / "x.pem"
    pem.write_text("x")
    base = ["--register", "--state-dir", str(tmp_path)]
    lone = CliRunner().invoke(main, [*base, "--master", "https://127.0.0.1:9", "--tls-cert", str(pem)])
    assert lone.exit_code == 2 and "--tls-cert and --tls-key go together" in lone.output
    plain = CliRunner().invoke(main, [*base, "--master", "http://127.0.0.1:9", "--tls-ca", str(pem)])
    assert plain.exit_code == 2 and "need an https:// --master" in plain.output


def test_help_shows_the_default_state_dir():
    """--help names the per-user, per-node default of --state-dir."""
    out = CliRunner().invoke(main, ["--help"]).output
    assert "$XDG_STATE_HOME/ffwatt/agent-HOSTNAME, else" in out and "~/.local/state/ffwatt/agent-HOSTNAME" in out


def test_default_state_dir_follows_xdg_state_home_else_home(tmp_path):
    """$XDG_STATE_HOME/ffwatt/agent-NAME when it is an absolute path, else ~/.local/state/ffwatt/agent-NAME."""
    assert default_state_dir("a1", {"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "ffwatt" / "agent-a1"
    home = Path.home() / ".local" / "state" / "ffwatt" / "agent-a1"
    assert default_state_dir("a1", {}) == home
    assert default_state_dir("a1", {"XDG_STATE_HOME": "relative/state"}) == home


def test_labels_parse_to_a_mapping():
    """Repeated --labels k=v become a dict; a value may hold '='; a key given again holds every value once."""
    assert parse_labels(("gpu=nvidia", "rack = r1", "expr=a=b", "gpu=amd", "gpu=nvidia")) == {
        "gpu": "nvidia,amd",
        "rack": "r1",
        "expr": "a=b",
    }
    for bad in ("gpu", "=x", "gpu="):
        with pytest.raises(click.BadParameter):
            parse_labels((bad,))


@pytest.mark.parametrize(
    "text, seconds", [("10s", 10), ("2m", 120), ("500ms", 0.5), ("1h", 3600), ("7", 7), ("1.5s", 1.5), (" 30S ", 30)]
)
def test_durations(text, seconds):
    """The original system's durations (10s, 30s) and their kin parse to seconds."""
    assert parse_duration(text) == pytest.approx(seconds)
    assert Duration().convert(text, None, None) == pytest.approx(seconds)


# -- the service as a process ---------------------------------------------------------------------------------------


def start_agent(workdir: Path, url: str, hostname: str, *args: str) -> tuple[subprocess.Popen, Path]:
    """``python -m agent --register`` in its own session, logging to a file; returns the process and the log."""
    log_path = workdir / f"agent-{hostname}-{time.monotonic_ns()}.log"
    argv = [
        sys.executable,
        "-m",
        "agent",
        "--register",
        "--master",
        url,
        "--hostname",
        hostname,
        "--state-dir",
        str(workdir / f"state-{hostname}"),
        "--poll-interval",
        "1s",
        "--heartbeat-interval",
        "1s",
        "--metrics-port",
        "0",
        *args,
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=clean_env(),
            start_new_session=True,
        )
    return proc, log_path


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def submit(url: str, campaign: dict) -> str:
    resp = requests.post(f"{url}/campaigns", json={"spec_text": CAMPAIGN.format(**campaign)}, timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()["campaign_id"]


def only_job(url: str, campaign_id: str) -> dict:
    jobs = requests.get(f"{url}/jobs", params={"campaign_id": campaign_id}, timeout=10).json()["jobs"]
    assert len(jobs) == 1
    return jobs[0]


def ffmpeg_under(pid: int) -> list[psutil.Process]:
    """The job's FFmpeg under the agent (encoder probes at start do not count: they encode -frames:v, not -t)."""
    found = []
    try:
        for child in psutil.Process(pid).children(recursive=True):
            try:
                if child.name() == "ffmpeg" and "-t" in child.cmdline():
                    found.append(child)
            except psutil.Error:
                continue
    except psutil.NoSuchProcess:
        pass
    return found


def spooled(workdir: Path, hostname: str) -> list[Path]:
    return sorted((workdir / f"state-{hostname}" / "spool").glob("*.json"))


def log_of(log_path: Path) -> str:
    return log_path.read_text(errors="replace")


@needs_ffmpeg
def test_sigterm_abandons_a_long_job_after_the_shutdown_timeout(tmp_path, masters, agents):
    """SIGTERM during a 120 s transcode with --shutdown-timeout 2s: FFmpeg is killed, the job is reported failed
    ("agent shutting down"), nothing stays spooled, and the agent exits 0."""
    master = start_master(tmp_path, "--insecure")
    masters.append(master)
    agent, log = start_agent(tmp_path, master.url, "abandoner", "--shutdown-timeout", "2s")
    agents.append(agent)
    campaign_id = submit(master.url, LONG)
    ffmpeg = wait_for(lambda: ffmpeg_under(agent.pid), 40, "FFmpeg to run under the agent")
    agent.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert agent.wait(timeout=AGENT_EXIT_TIMEOUT_S) == 0, log_of(log)
    assert time.monotonic() - started < 15, log_of(log)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in ffmpeg)
    job = only_job(master.url, campaign_id)
    assert job["state"] == "failed", job
    assert job["error"].startswith("agent shutting down"), job
    assert spooled(tmp_path, "abandoner") == []


@needs_ffmpeg
def test_sigterm_lets_the_running_job_finish(tmp_path, masters, agents):
    """SIGTERM during a short transcode with the default shutdown timeout: the job finishes, its result is
    accepted, and the agent exits 0 without claiming more."""
    master = start_master(tmp_path, "--insecure")
    masters.append(master)
    agent, log = start_agent(tmp_path, master.url, "finisher")
    agents.append(agent)
    campaign_id = submit(master.url, SHORT)
    wait_for(lambda: ffmpeg_under(agent.pid), 40, "FFmpeg to run under the agent", interval=0.05)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=AGENT_EXIT_TIMEOUT_S) == 0, log_of(log)
    job = only_job(master.url, campaign_id)
    assert job["state"] == "succeeded", (job, log_of(log))
    assert spooled(tmp_path, "finisher") == []


@needs_ffmpeg
def test_a_spooled_result_survives_an_agent_crash_and_a_master_outage(tmp_path, masters, agents):
    """The master dies mid-job, the agent spools the result and is then killed too; once both are back the
    spooled result is accepted for the job."""
    master = start_master(tmp_path, "--insecure", "--lease", "10m")
    masters.append(master)
    port = master.url.rsplit(":", 1)[1]
    agent, log = start_agent(tmp_path, master.url, "crasher")
    agents.append(agent)
    campaign_id = submit(master.url, SHORT)
    wait_for(lambda: ffmpeg_under(agent.pid), 40, "FFmpeg to run under the agent", interval=0.05)
    master.kill()
    wait_for(lambda: spooled(tmp_path, "crasher"), 40, "the result in the agent's spool")
    os.killpg(agent.pid, signal.SIGKILL)
    agent.wait(timeout=10)

    master = start_master(tmp_path, "--insecure", "--lease", "10m", port=int(port))
    masters.append(master)
    again, log = start_agent(tmp_path, master.url, "crasher", "--burst")
    agents.append(again)
    assert again.wait(timeout=AGENT_EXIT_TIMEOUT_S) == 0, log_of(log)
    assert "resubmitting spooled result" in log_of(log)
    job = only_job(master.url, campaign_id)
    assert job["state"] == "succeeded", (job, log_of(log))
    assert spooled(tmp_path, "crasher") == []
