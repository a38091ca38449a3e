"""Tests for agent.inventory: host facts, GPU listing, encoder probes with their cache, and the whole inventory."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import psutil
import pytest

from agent import inventory
from agent.inventory import (
    KNOWN_ENCODERS,
    NOT_BUILT,
    collect_inventory,
    cpu_info,
    gpu_info,
    parse_cpuinfo,
    parse_encoders,
    parse_nvidia_smi,
    probe_encoders,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "ffmpeg"
GPU_HOST = shutil.which("nvidia-smi") is not None or os.path.exists("/dev/nvidia0")

TWO_SOCKETS = "\n\n".join(
    f"processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\n"
    f"physical id\t: {n // 4}\ncore id\t\t: {(n // 2) % 2}\nsiblings\t: 4"
    for n in range(8)
)

NVIDIA_SMI_L = (
    "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5f4e3d2c-1b0a-9988-7766-554433221100)\n"
    "GPU 1: NVIDIA A10 (UUID: GPU-00112233-4455-6677-8899-aabbccddeeff)\n"
)


@pytest.fixture
def probe_calls(monkeypatch):
    """Counts the real probe encodes run through agent.inventory (a spy: each call still runs ffmpeg)."""
    calls = []
    real = inventory.run_ffmpeg

    def spy(argv, timeout_s, **kwargs):
        calls.append(argv[argv.index("-c:v") + 1])
        return real(argv, timeout_s, **kwargs)

    monkeypatch.setattr(inventory, "run_ffmpeg", spy)
    return calls


def fake_nvidia_smi(directory: Path, output: str) -> Path:
    """An executable nvidia-smi in ``directory`` printing ``output``, standing in for absent GPU hardware."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "nvidia-smi"
    script.write_text("#!/bin/sh\ncat <<'OUT'\n" + output + "OUT\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_parse_encoders_on_saved_output():
    """Video encoders are read from real `ffmpeg -encoders` output; audio ones are not."""
    names = parse_encoders((DATA / "encoders_ffmpeg5.1.txt").read_text())
    assert {"libx264", "libx265", "libsvtav1", "libvpx-vp9", "h264_nvenc", "hevc_vaapi"} <= set(names)
    assert "av1_nvenc" not in names and "wmav1" not in names and "aac" not in names


def test_parse_cpuinfo_two_sockets():
    """A two-socket, hyper-threaded cpuinfo gives model, 2 sockets, 4 cores and 8 threads."""
    assert parse_cpuinfo(TWO_SOCKETS) == {
        "model": "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
        "sockets": 2,
        "cores": 4,
        "threads": 8,
    }


def test_cpu_info_falls_back_to_psutil(tmp_path):
    """Without /proc/cpuinfo, cores and threads come from psutil and sockets stay unknown."""
    info = cpu_info(str(tmp_path / "missing"))
    assert info["threads"] == psutil.cpu_count(logical=True)
    assert info["cores"] == psutil.cpu_count(logical=False)
    assert info["sockets"] is None


def test_parse_nvidia_smi_lines():
    """`nvidia-smi -L` lines give index, name and UUID."""
    gpus = parse_nvidia_smi(NVIDIA_SMI_L)
    assert gpus[0] == {"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-5f4e3d2c-1b0a-9988-7766-554433221100"}
    assert [g["name"] for g in gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA A10"]


def test_gpu_info_uses_nvidia_smi_on_path(tmp_path):
    """An nvidia-smi on PATH is asked for the GPU list."""
    fake_nvidia_smi(tmp_path / "bin", NVIDIA_SMI_L)
    gpus, note = gpu_info(str(tmp_path / "bin"))
    assert note is None and len(gpus) == 2 and gpus[1]["index"] == 1


def test_gpu_info_falls_back_to_nvml(tmp_path, fake_nvml):
    """Without nvidia-smi, GPUs are listed through NVML (the fake library), and NVML is shut down after."""
    fake_nvml.fake_reset([fake_nvml.FakeGpu("NVIDIA L4"), fake_nvml.FakeGpu("NVIDIA T4")])
    gpus, note = gpu_info(str(tmp_path))
    assert note is None
    assert [(g["index"], g["name"]) for g in gpus] == [(0, "NVIDIA L4"), (1, "NVIDIA T4")]
    assert fake_nvml.state.init_count == 0


def test_gpu_info_nvml_init_failure_is_a_note(tmp_path, fake_nvml):
    """An NVML that cannot initialise gives no GPUs and its error as the note."""
    fake_nvml.fake_reset([], init_error=fake_nvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    gpus, note = gpu_info(str(tmp_path))
    assert gpus == [] and note == "no nvidia-smi on PATH; NVML: NVML Shared Library Not Found"


@pytest.mark.skipif(GPU_HOST, reason="this host has a GPU")
def test_gpu_info_without_gpu_is_empty_with_reason(tmp_path):
    """No nvidia-smi and no NVML library: no GPUs, and a note saying why."""
    gpus, note = gpu_info(str(tmp_path))
    assert gpus == []
    assert note.startswith("no nvidia-smi on PATH; ")


@pytest.mark.integration
def test_probe_results_and_cache_hit(ffmpeg, tmp_path, probe_calls):
    """Probes tell libx264 (usable) from an unknown encoder; a second call reads the cache instead of encoding."""
    encoders = ["libx264", "nosuch_enc"]
    first = probe_encoders(ffmpeg, encoders, tmp_path)
    assert first["libx264"] == {"usable": True, "reason": None}
    assert first["nosuch_enc"]["usable"] is False
    assert first["nosuch_enc"]["reason"] == "encoder unavailable: nosuch_enc (Unknown encoder 'nosuch_enc')"
    assert probe_calls == encoders
    cached = json.loads((tmp_path / "encoder-probes.json").read_text())
    assert set(cached) == {f"{ffmpeg.path}|{ffmpeg.version}"}
    assert probe_encoders(ffmpeg, encoders, tmp_path) == first
    assert probe_calls == encoders  # no new encode
    probe_encoders(ffmpeg, ["libx264"], tmp_path, refresh=True)
    assert probe_calls == encoders + ["libx264"]


@pytest.mark.integration
def test_timed_out_probe_is_not_cached(ffmpeg, tmp_path, probe_calls):
    """A probe that hits its timeout is reported unusable but probed again next time."""
    result = probe_encoders(ffmpeg, ["libx264"], tmp_path, timeout_s=0.001)
    assert result["libx264"]["usable"] is False and result["libx264"]["reason"].startswith("timed out")
    probe_encoders(ffmpeg, ["libx264"], tmp_path)
    assert probe_calls == ["libx264", "libx264"]


@pytest.mark.integration
@pytest.mark.skipif(GPU_HOST, reason="NVENC really works on a GPU host")
def test_nvenc_probe_unavailable_without_gpu(ffmpeg, tmp_path):
    """On this GPU-less host the h264_nvenc probe says why it cannot work."""
    result = probe_encoders(ffmpeg, ["h264_nvenc"], tmp_path)["h264_nvenc"]
    assert result["usable"] is False
    assert result["reason"].startswith("encoder unavailable: h264_nvenc (")


@pytest.mark.integration
def test_collect_inventory_fields_and_types(ffmpeg, tmp_path, probe_calls):
    """The inventory has every field with the right type, and a second collection re-encodes nothing."""
    sources = [{"name": "estimate", "kind": "estimate", "measured": False}]
    inv = collect_inventory(ffmpeg, power_sources=sources, power_notes=["no RAPL"], cache_dir=tmp_path)
    assert isinstance(inv["hostname"], str) and inv["hostname"]
    assert isinstance(inv["cpu_model"], str)
    assert all(isinstance(inv[k], int) and inv[k] > 0 for k in ("cpu_sockets", "cpu_cores", "cpu_threads"))
    assert isinstance(inv["memory_bytes"], int) and inv["memory_bytes"] > 2**20
    assert isinstance(inv["gpus"], list)
    assert all(isinstance(inv[k], str) and inv[k] for k in ("kernel", "os", "python"))
    assert inv["ffmpeg"]["version"] == ffmpeg.version and "--enable-libx264" in inv["ffmpeg"]["configuration"]
    assert list(inv["encoders"]) == KNOWN_ENCODERS
    assert inv["encoders"]["libx264"]["usable"] is True
    assert inv["encoders"]["av1_nvenc"] == {"usable": False, "reason": NOT_BUILT}  # Debian 5.1 lacks it
    assert (inv["power_sources"], inv["power_notes"]) == (sources, ["no RAPL"])
    assert json.loads(json.dumps(inv)) == inv
    probed = len(probe_calls)
    collect_inventory(ffmpeg, cache_dir=tmp_path)
    assert len(probe_calls) == probed


def test_collect_inventory_without_ffmpeg():
    """With no FFmpeg the inventory still builds, with ffmpeg null and a reason under missing."""
    inv = collect_inventory(None)
    assert inv["ffmpeg"] is None and "ffmpeg" in inv["missing"]
    assert all(not e["usable"] for e in inv["encoders"].values())


def _cpu_tree(tmp_path, governor=None, no_turbo=None, smt=None):
    """A fake /sys/devices/system/cpu with the given files (absent when None)."""
    for rel, text in (
        ("cpu0/cpufreq/scaling_governor", governor),
        ("intel_pstate/no_turbo", no_turbo),
        ("smt/control", smt),
    ):
        if text is not None:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text + "\n")
    return tmp_path


def test_cpu_power_facts_read_governor_turbo_and_smt(tmp_path):
    """powersave, turbo on (no_turbo 0), SMT on: read as they are, nothing missing."""
    from agent.inventory import cpu_power_facts

    facts, missing = cpu_power_facts(_cpu_tree(tmp_path, "powersave", "0", "on"))
    assert facts == {"cpu_governor": "powersave", "turbo": True, "smt": True} and missing == {}
    facts, _ = cpu_power_facts(_cpu_tree(tmp_path, "performance", "1", "off"))
    assert facts == {"cpu_governor": "performance", "turbo": False, "smt": False}


def test_cpu_power_facts_absent_are_none_with_a_reason(tmp_path):
    """A host without the files (a container): each fact None, its reason naming the file."""
    from agent.inventory import cpu_power_facts

    facts, missing = cpu_power_facts(tmp_path)
    assert facts == {"cpu_governor": None, "turbo": None, "smt": None}
    assert "scaling_governor not readable" in missing["cpu_governor"] and "no_turbo" in missing["turbo"]
    assert "smt/control" in missing["smt"]
