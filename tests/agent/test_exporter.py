"""The agent exporter: power from a simulated powercap tree scraped over real HTTP (rate, wraps, a zone going down),
scrapes that read no sensor, ``python -m agent exporter`` and the agent service with ``--metrics-port`` as real
processes (loopback only, a real master and a short real FFmpeg job)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from agent.exporter import Exporter
from agent.monitor import PowerMonitor, monitor_sources, zone_label
from agent.power.base import PowerSource, Reading
from agent.power.rapl import discover_rapl
from agent.scenarios.base import LiveStatus
from tests.agent.power.powercap_sim import PowercapSim
from tests.agent.test_cli import SHORT, needs_ffmpeg, submit, wait_for
from tests.master.test_service import clean_env, start_master

ROOT = Path(__file__).resolve().parents[2]
EXIT_TIMEOUT_S = 20.0
RANGE_UJ = 20_000_000
"""Counter range of the simulated zones: 0.2 s to wrap at the 100 W a zone may draw (40 W stated x 2.5), so the
monitor reads every 0.1 s and package-0 (30-50 W) wraps every half second."""

Samples = dict[tuple[str, frozenset], float]


@pytest.fixture
def sim(pc_dir):
    """A one-package simulated tree (package-0, dram-0) with small counter ranges."""
    return PowercapSim(pc_dir, range_uj=RANGE_UJ, packages=1, psys=False, mmio=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by (sample name, frozenset of label pairs)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(url: str) -> Samples:
    resp = requests.get(url, timeout=5)
    assert resp.status_code == 200
    return parse(resp.text)


def zone(name: str, **labels: str) -> frozenset:
    return frozenset({"source": "rapl", "zone": name, **labels}.items())


def joules(samples: Samples, name: str) -> float:
    return samples[("ffwatt_energy_joules_total", zone(name, estimated="false"))]


def named(samples: Samples, metric: str) -> dict[frozenset, float]:
    return {labels: value for (n, labels), value in samples.items() if n == metric}


def serve(monitor: PowerMonitor, run_thread: bool = True) -> tuple[Exporter, str]:
    exporter = Exporter(monitor, hostname="test-host")
    address, port = exporter.serve(0, "127.0.0.1")
    monitor.start(run_thread=run_thread)
    return exporter, f"http://{address}:{port}/metrics"


def synced(monitor: PowerMonitor, sim: PowercapSim, url: str) -> tuple[float, float, Samples]:
    """Right after one of the monitor's readings: (time, simulated package-0 joules, a scrape of that reading)."""
    for _ in range(20):
        seen = monitor.reads
        wait_for(lambda seen=seen: monitor.reads > seen, 5, "the monitor's next reading", interval=0.0005)
        t, truth, seen = time.monotonic(), sim.energy_j("package-0"), monitor.reads
        samples = scrape(url)
        if monitor.reads == seen:  # else the monitor read again before the scrape: try the next reading
            return t, truth, samples
    raise AssertionError("no scrape between two readings of the monitor")


# -- the exporter in this process, over real HTTP ---------------------------------------------------------------


def test_scraped_rate_matches_truth_across_wraps(sim):
    """Two scrapes 6 s apart: Δjoules/Δt of package-0 is within 1% of the simulated power; across 8 wraps or more the
    counter never decreases; the monitor's interval is shortened (effective_interval) for the counters' range."""
    with sim.running():
        sources, _ = monitor_sources(str(sim.root))
        monitor = PowerMonitor(sources, interval_s=1.0)
        assert monitor.interval_s == pytest.approx(0.1) and "shortened" in monitor.notes[0]
        exporter, url = serve(monitor)
        try:
            wraps0 = sim.wraps("package-0")
            t0, truth0, first = synced(monitor, sim, url)
            previous = {z: joules(first, z) for z in ("package-0", "dram-0")}
            deadline = t0 + 6.0
            while time.monotonic() < deadline:
                time.sleep(0.05)
                now = scrape(url)
                for z, before in previous.items():
                    assert joules(now, z) >= before, f"{z} counter went backwards"
                    previous[z] = joules(now, z)
            t1, truth1, last = synced(monitor, sim, url)
        finally:
            exporter.close()
    assert sim.wraps("package-0") - wraps0 >= 8
    scraped_watts = (joules(last, "package-0") - joules(first, "package-0")) / (t1 - t0)
    true_watts = (truth1 - truth0) / (t1 - t0)
    assert 30 <= true_watts <= 50
    assert scraped_watts == pytest.approx(true_watts, rel=0.01)
    watts = last[("ffwatt_power_watts", zone("package-0", estimated="false"))]
    assert 25 <= watts <= 55
    assert last[("ffwatt_power_source_up", zone("package-0", reason=""))] == 1
    assert [dict(k)["hostname"] for k in named(last, "ffwatt_agent_info")] == ["test-host"]
    assert last[("ffwatt_agent_sampler_cpu_seconds_total", frozenset())] > 0
    assert ("process_cpu_seconds_total", frozenset()) in last


class CountingSource(PowerSource):
    """A RAPL zone behind a counter of reads: the PowerSource boundary the monitor reads through."""

    def __init__(self, inner: PowerSource) -> None:
        self.inner, self.name, self.kind, self.measured = inner, inner.name, inner.kind, inner.measured
        self.reads = 0

    def start(self) -> None:
        self.inner.start()

    def read(self) -> Reading:
        self.reads += 1
        return self.inner.read()

    def max_interval_s(self):
        return self.inner.max_interval_s()

    def details(self):
        return self.inner.details()


def test_a_scrape_reads_no_sensor(sim):
    """Thirty scrapes between two monitor readings read no source and see the same joules."""
    sources, _ = discover_rapl(sim.root, clock=sim.clock)
    counting = [CountingSource(s) for s in sources]
    monitor = PowerMonitor(counting)
    exporter, url = serve(monitor, run_thread=False)
    try:
        sim.advance(0.05)
        monitor.poll()
        reads = [s.reads for s in counting]
        scrapes = [scrape(url) for _ in range(30)]
    finally:
        exporter.close()
    assert [s.reads for s in counting] == reads == [1] * len(counting)
    assert len({joules(s, "package-0") for s in scrapes}) == 1
    assert joules(scrapes[0], "package-0") == pytest.approx(sim.energy_j("package-0"), rel=1e-3)


def test_an_unreadable_zone_is_down_and_counts_no_joules(sim):
    """dram-0's counter becomes unreadable: up 0 with the reason, no watts, joules frozen; package-0 carries on;
    once readable again the zone is up with watts."""
    sources, _ = discover_rapl(sim.root, clock=sim.clock)
    monitor = PowerMonitor(sources)
    monitor.start(run_thread=False)
    exporter = Exporter(monitor, hostname="test-host")
    for _ in range(3):
        sim.advance(0.05)
        monitor.poll()
    before = parse(exporter.exposition().decode())
    dram = sim.zones["dram-0"]
    folder = dram.dirs.pop()  # the simulator stops writing it
    (folder / "energy_uj").unlink()
    (folder / "energy_uj").mkdir()  # unreadable, even for root
    for _ in range(3):
        sim.advance(0.05)
        monitor.poll()
    down = parse(exporter.exposition().decode())
    up = named(down, "ffwatt_power_source_up")
    dram_up = {dict(k)["reason"]: v for k, v in up.items() if dict(k)["zone"] == "dram-0"}
    assert list(dram_up.values()) == [0] and "cannot read" in next(iter(dram_up))
    assert ("ffwatt_power_watts", zone("dram-0", estimated="false")) not in down
    assert joules(down, "dram-0") == joules(before, "dram-0")
    assert joules(down, "package-0") > joules(before, "package-0")
    assert down[("ffwatt_power_source_up", zone("package-0", reason=""))] == 1

    (folder / "energy_uj").rmdir()
    dram.dirs.append(folder)
    sim.advance(0.05)
    monitor.poll()
    sim.advance(0.05)
    monitor.poll()
    again = parse(exporter.exposition().decode())
    assert again[("ffwatt_power_source_up", zone("dram-0", reason=""))] == 1
    assert ("ffwatt_power_watts", zone("dram-0", estimated="false")) in again
    assert joules(again, "dram-0") > joules(down, "dram-0")
    monitor.stop()


def test_agent_families_follow_the_worker(sim):
    """job_started/job_finished and the live progress drive job_running, the FFmpeg gauges (absent while unknown),
    jobs_total and the job samplers' CPU; last contact is absent before the first contact."""
    sources, _ = discover_rapl(sim.root, clock=sim.clock)
    monitor = PowerMonitor(sources)
    monitor.start(run_thread=False)
    exporter = Exporter(monitor, hostname="test-host")
    live = LiveStatus()
    state = exporter.attach(live, lambda: 3)
    scraped = lambda: parse(exporter.exposition().decode())  # noqa: E731
    idle = scraped()
    assert named(idle, "ffwatt_job_running") == {} and named(idle, "ffwatt_agent_last_contact_timestamp_seconds") == {}
    assert named(idle, "ffwatt_agent_jobs_total") == {
        frozenset({"status": s}.items()): 0 for s in ("succeeded", "failed")
    }
    assert idle[("ffwatt_agent_spool_depth", frozenset())] == 3
    cpu0 = idle[("ffwatt_agent_sampler_cpu_seconds_total", frozenset())]

    job = {"id": "j-1", "campaign_id": "c-1", "kind": "transcode", "attempt": 1, "params": {}}
    state.job_started(job)
    live.job_id, live.progress = "j-1", {"frame": 120, "speed": 2.5}
    state.contacted(at=1_700_000_000.0)
    running = scraped()
    assert named(running, "ffwatt_job_running") == {
        frozenset({"job_id": "j-1", "campaign_id": "c-1", "kind": "transcode"}.items()): 1
    }
    assert running[("ffwatt_ffmpeg_frames", frozenset({"job_id": "j-1"}.items()))] == 120
    assert running[("ffwatt_ffmpeg_speed", frozenset({"job_id": "j-1"}.items()))] == 2.5
    assert named(running, "ffwatt_ffmpeg_fps") == {}  # unknown: absent, not 0
    assert running[("ffwatt_agent_last_contact_timestamp_seconds", frozenset())] == 1_700_000_000.0

    state.job_finished({"status": "succeeded", "metrics": {"duration_s": 10.0, "sampler_overhead_pct": 0.5}})
    live.job_id, live.progress = None, {}
    done = scraped()
    assert named(done, "ffwatt_job_running") == {} and named(done, "ffwatt_ffmpeg_frames") == {}
    assert done[("ffwatt_agent_jobs_total", frozenset({"status": "succeeded"}.items()))] == 1
    assert done[("ffwatt_agent_sampler_cpu_seconds_total", frozenset())] == pytest.approx(cpu0 + 0.05)
    monitor.stop()


@pytest.mark.parametrize(
    "name, label",
    [
        ("rapl:package-0", "package-0"),
        ("rapl:dram-1", "dram-1"),
        ("nvml:gpu0", "gpu-0"),
        ("nvml:gpu12", "gpu-12"),
        ("estimate:cpu", "cpu"),
    ],
)
def test_zone_labels(name, label):
    """The zone label is the source name after its kind, GPUs numbered like the RAPL zones."""
    assert zone_label(type("Source", (), {"name": name})()) == label


def test_estimate_host_exports_an_estimated_cpu_zone(tmp_path):
    """Without RAPL or a GPU the monitor's estimate follows this process's tree and is labelled estimated."""
    sources, notes = monitor_sources(str(tmp_path / "no-powercap"), tdp_watts=65.0)
    if any(s.kind == "nvml" for s in sources):
        pytest.skip("this host has an NVML GPU")
    assert [(s.kind, zone_label(s), s.measured) for s in sources] == [("estimate", "cpu", False)]
    assert sources[0].tracked_pids() == [os.getpid()]
    monitor = PowerMonitor(sources)
    monitor.start(run_thread=False)
    sum(i * i for i in range(300_000))  # some CPU for the estimate to see
    monitor.poll()
    samples = parse(Exporter(monitor).exposition().decode())
    key = frozenset({"source": "estimate", "zone": "cpu", "estimated": "true"}.items())
    assert samples[("ffwatt_energy_joules_total", key)] > 0
    monitor.stop()


# -- the commands as processes ----------------------------------------------------------------------------------


def run_agent(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=clean_env(),
        start_new_session=True,
        text=True,
        **kw,
    )


def try_scrape(url: str) -> Samples | None:
    try:
        return scrape(url)
    except requests.RequestException:
        return None


def test_exporter_command_serves_and_exits_0_on_sigterm(pc_dir, agents):
    """``python -m agent exporter`` on a simulated tree serves joules that grow, and exits 0 on SIGTERM."""
    port = free_port()
    sim = PowercapSim(pc_dir, packages=1, psys=False, mmio=False, range_uj=10**12)  # no wrap to race with
    with sim.running():
        proc = run_agent(
            "exporter",
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--powercap-root",
            str(sim.root),
            "--interval",
            "100ms",
        )
        agents.append(proc)
        url = f"http://127.0.0.1:{port}/metrics"
        first = wait_for(
            lambda: (s := try_scrape(url)) and joules(s, "package-0") > 0 and s, 20, "the exporter's first joules"
        )
        time.sleep(0.5)
        second = scrape(url)
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=EXIT_TIMEOUT_S)
    assert proc.returncode == 0, out
    assert joules(second, "package-0") > joules(first, "package-0")
    assert named(second, "ffwatt_agent_jobs_total") == {}  # agent families belong to the service


@pytest.mark.parametrize(
    "args, flag",
    [
        (["exporter", "--port", "{port}", "--address", "127.0.0.1"], "--port"),
        (
            [
                "--register",
                "--master",
                "http://127.0.0.1:9",
                "--state-dir",
                "{state}",
                "--metrics-port",
                "{port}",
                "--metrics-address",
                "127.0.0.1",
            ],
            "--metrics-port",
        ),
    ],
)
def test_a_busy_port_exits_2_naming_it(args, flag, agents, tmp_path):
    """A metrics port already taken: exit 2 and a message naming address:port and the flag, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_agent(*[a.format(port=port, state=tmp_path / "state") for a in args])
        agents.append(proc)
        out, _ = proc.communicate(timeout=EXIT_TIMEOUT_S)
    assert proc.returncode == 2, out
    assert f"127.0.0.1:{port}" in out and "address already in use" in out and flag in out
    assert "Traceback" not in out


@needs_ffmpeg
def test_agent_service_exports_contact_and_the_running_job(tmp_path, masters, agents):
    """The agent service with --metrics-port on a real master: info and last contact, then ffwatt_job_running and
    FFmpeg progress while a short transcode runs, then a succeeded job counted."""
    master = start_master(tmp_path, "--insecure")
    masters.append(master)
    port = free_port()
    proc = run_agent(
        "--register",
        "--master",
        master.url,
        "--hostname",
        "exported",
        "--state-dir",
        str(tmp_path / "state"),
        "--poll-interval",
        "1s",
        "--heartbeat-interval",
        "1s",
        "--metrics-port",
        str(port),
        "--metrics-address",
        "127.0.0.1",
        "--metrics-interval",
        "200ms",
    )
    agents.append(proc)
    url = f"http://127.0.0.1:{port}/metrics"
    ready = wait_for(
        lambda: (s := try_scrape(url)) and named(s, "ffwatt_agent_last_contact_timestamp_seconds") and s,
        30,
        "the agent's first contact with the master",
    )
    assert abs(next(iter(named(ready, "ffwatt_agent_last_contact_timestamp_seconds").values())) - time.time()) < 30
    assert [dict(k)["hostname"] for k in named(ready, "ffwatt_agent_info")] == ["exported"]
    assert named(ready, "ffwatt_job_running") == {}
    assert ready[("ffwatt_agent_spool_depth", frozenset())] == 0

    campaign_id = submit(master.url, SHORT)
    succeeded = ("ffwatt_agent_jobs_total", frozenset({"status": "succeeded"}.items()))
    seen: list[Samples] = []
    deadline = time.monotonic() + 25
    while not (seen and seen[-1].get(succeeded)):
        assert time.monotonic() < deadline, "timed out waiting for the job to be counted as succeeded"
        seen.append(scrape(url))
        time.sleep(0.05)
    running = [s for s in seen if named(s, "ffwatt_job_running")]
    assert running, "ffwatt_job_running never appeared while the job ran"
    labels = dict(next(iter(named(running[0], "ffwatt_job_running"))))
    assert labels["campaign_id"] == campaign_id and labels["kind"] == "transcode" and labels["job_id"]
    frames = [v for s in running for v in named(s, "ffwatt_ffmpeg_frames").values()]
    assert frames and frames == sorted(frames), frames
    done = seen[-1]
    assert named(done, "ffwatt_job_running") == {} and named(done, "ffwatt_ffmpeg_fps") == {}
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=EXIT_TIMEOUT_S)
    assert proc.returncode == 0, out
