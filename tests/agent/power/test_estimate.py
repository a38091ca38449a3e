"""The CPU-time estimate on real busy processes: tree accounting, zombies, orphans, the TDP model."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from agent.power.estimate import DEFAULT_TDP_W, EstimateSource, lookup_tdp, read_cpuinfo
from agent.process import run_process

SPIN = "import time\ne = time.process_time() + {s}\nwhile time.process_time() < e: pass\n"
STARTUP_ALLOWANCE_S = 0.8
"""CPU seconds a python interpreter may spend starting and exiting on a slow 2-core VM."""


def _run_tracked(code: str, source: EstimateSource):
    """Run python code as a tracked job; read once after it exited (zombie) and once after it was reaped."""
    readings = []
    source.start()
    out = run_process(
        [sys.executable, "-c", code], on_start=source.track, on_exited=lambda pid: readings.append(source.read())
    )
    readings.append(source.read())
    assert out.returncode == 0, out.stderr_tail
    return readings


def test_busy_child_cpu_and_energy():
    """A child spinning 1 s of CPU: the final read (zombie) holds ~1 CPU s, energy = CPU s x TDP / CPUs."""
    source = EstimateSource(tdp_watts=100.0, logical_cpus=4)
    final, after_reap = _run_tracked(SPIN.format(s=1.0), source)
    cpu = final.extra["cpu_s"]
    assert 1.0 <= cpu <= 1.0 + STARTUP_ALLOWANCE_S
    assert final.energy_j == pytest.approx(cpu * 25.0)
    assert after_reap.energy_j == 0.0 and after_reap.valid


def test_grandchild_cpu_counted():
    """CPU of a grandchild the child waits for is counted, together with the child's own."""
    code = (
        f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {SPIN.format(s=0.6)!r}], check=True)\n"
        + SPIN.format(s=0.4)
    )
    final, _ = _run_tracked(code, EstimateSource(tdp_watts=10.0, logical_cpus=1))
    assert 1.0 <= final.extra["cpu_s"] <= 1.0 + 2 * STARTUP_ALLOWANCE_S


ORPHANING_ROOT = """
import os, subprocess, sys, time
middle = "import subprocess, sys\\np = subprocess.Popen([sys.executable, '-c', sys.argv[1]])\\nprint(p.pid)"
out = subprocess.run([sys.executable, "-c", middle, sys.argv[1]], capture_output=True, text=True, check=True)
orphan = int(out.stdout)
deadline = time.monotonic() + 15
while os.path.exists(f"/proc/{orphan}") and time.monotonic() < deadline:
    time.sleep(0.05)
if os.path.exists(f"/proc/{orphan}"):
    sys.exit(3)
""" + SPIN.format(s=0.4)


def test_orphaned_grandchild_kept_after_it_exits():
    """A grandchild orphaned by its parent and reaped by init keeps its CPU in the total as the root goes on."""
    source = EstimateSource(tdp_watts=1.0, logical_cpus=1)
    source.start()
    readings, done = [], threading.Event()

    def sample():  # what the sampler does: read every 0.1 s until the job ends
        while not done.wait(0.1):
            readings.append(source.read())

    reader = threading.Thread(target=sample)
    reader.start()
    try:
        out = run_process(
            [sys.executable, "-c", ORPHANING_ROOT, SPIN.format(s=0.6)],
            on_start=source.track,
            on_exited=lambda pid: done.set() or reader.join() or readings.append(source.read()),
        )
    finally:
        done.set()
        reader.join()
    if out.returncode == 3:
        pytest.skip("init did not reap the orphan within 15 s")
    assert out.returncode == 0, out.stderr_tail
    assert 1.0 <= sum(r.extra["cpu_s"] for r in readings) <= 1.0 + 3 * STARTUP_ALLOWANCE_S


def test_total_never_goes_backwards_when_root_reaped():
    """After the root is reaped the total stays where it was, and the reading says the last interval is missing."""
    source = EstimateSource(tdp_watts=10.0, logical_cpus=1)
    source.start()
    proc = subprocess.Popen([sys.executable, "-c", SPIN.format(s=0.3)])
    source.track(proc.pid)
    first = source.read()
    proc.wait(timeout=30)
    second = source.read()
    assert first.energy_j >= 0 and second.energy_j >= 0
    assert "reaped before its final CPU time" in second.reason


def test_untracked_reads_zero_job_energy():
    """With no job tracked the modelled job energy is 0 J, valid (the model covers only the job)."""
    source = EstimateSource(tdp_watts=50.0, logical_cpus=2)
    source.start()
    r = source.read()
    assert r.valid and r.energy_j == 0.0


def test_tdp_table_and_override():
    """Model substrings pick a table TDP, unknown models the default, tdp_watts overrides both."""
    assert lookup_tdp("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz") == (150.0, "xeon gold")
    assert lookup_tdp("AMD EPYC 7763 64-Core Processor")[1] == "epyc 7"
    assert lookup_tdp("Some RISC-V core") == (DEFAULT_TDP_W, None)
    src = EstimateSource(cpu_model="AMD Ryzen 9 5950X 16-Core Processor", logical_cpus=32, in_vm=False)
    assert src.tdp_watts == 105.0 * src.sockets and src.watts_per_cpu == pytest.approx(src.tdp_watts / 32)
    given = EstimateSource(tdp_watts=64.0, cpu_model="AMD Ryzen 9 5950X", logical_cpus=16)
    assert given.watts_per_cpu == 4.0 and given.tdp_origin == "given"
    assert given.describe()["measured"] is False and given.name == "estimate:cpu"


def test_vm_vcpu_gets_one_host_thread_share():
    """In a VM a vCPU draws TDP / threads of a typical host package, not TDP / the VM's vCPUs."""
    vm = EstimateSource(cpu_model="AMD EPYC 7763 64-Core Processor", logical_cpus=2, in_vm=True)
    assert vm.watts_per_cpu == pytest.approx(225.0 / 128)
    assert any("hypervisor" in n for n in vm.notes())
    given = EstimateSource(tdp_watts=10.0, cpu_model="AMD EPYC 7763", logical_cpus=2, in_vm=True)
    assert given.watts_per_cpu == 5.0


def test_cpuinfo_parsing(tmp_path):
    """Model name, socket count and the hypervisor flag come from /proc/cpuinfo."""
    f = tmp_path / "cpuinfo"
    block = "processor\t: {i}\nmodel name\t: Intel(R) Xeon(R) Silver 4214\nphysical id\t: {s}\nflags\t: fpu {h}\n\n"
    f.write_text("".join(block.format(i=i, s=i % 2, h="hypervisor" if i else "") for i in range(4)))
    info = read_cpuinfo(str(f))
    assert info == {"model": "Intel(R) Xeon(R) Silver 4214", "sockets": 2, "hypervisor": True}
