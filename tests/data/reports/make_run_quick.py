"""Regenerate run_quick.json, the report tests' campaign run (deterministic: fixed seed).

The run: 2 x264 variants x 2 repetitions on dev1 (no sensor: estimated), 1 x265 variant x 2 repetitions on rapl1
(measured by RAPL; repetition 2 lost its idle baseline), and 1 NVENC job that failed with "encoder unavailable".
Run: python tests/data/reports/make_run_quick.py
"""

import json
import math
import random
from pathlib import Path

random.seed(7)
SPEC = """\
# quick.yml: two x264 presets on the dev host (no sensor: estimated),
# x265 on the RAPL host (measured), and one NVENC variant the dev host cannot run.
name: quick
description: x264 presets vs x265 and NVENC, 720p30, 4 s of testsrc2
targets: [dev1, rapl1]
defaults:
  input: {type: lavfi, source: testsrc2, size: 1280x720, rate: 30}
  duration: 4
  idle_baseline: 2
  sample_rate: 5
  repetitions: 2
scenarios:
  - name: x264
    encoder: libx264
    bitrate: 3000k
    matrix: {preset: [veryfast, medium]}
    targets: [dev1]
  - name: x265
    encoder: libx265
    preset: fast
    crf: 28
    targets: [rapl1]
  - name: nvenc
    encoder: h264_nvenc
    preset: p4
    bitrate: 3000k
    repetitions: 1
    targets: [dev1]
"""

INPUT = {"type": "lavfi", "source": "testsrc2", "size": "1280x720", "rate": 30}


def params(encoder, preset, bitrate=None, crf=None):
    return {
        "kind": "transcode",
        "input": INPUT,
        "encoder": encoder,
        "preset": preset,
        "bitrate": bitrate,
        "crf": crf,
        "resolution": "1280x720",
        "fps": 30,
        "duration": 4,
        "idle_baseline": 2,
        "sample_rate": 5,
        "timeout": 600,
    }


def samples(source, duration, watts, idle, rate=5):
    out = []
    n = int(duration * rate)
    for i in range(1, n + 1):
        t = round(i / rate, 3)
        w = round(idle + (watts - idle) * (1 - math.exp(-t * 4)) + random.uniform(-1.5, 1.5), 2)
        out.append(
            {
                "t": t,
                "watts": {source[0]: w}
                if len(source) == 1
                else {source[0]: round(w * 0.9, 2), source[1]: round(w * 0.1, 2)},
                "total_watts": w,
            }
        )
    return out


def result(
    job_id, node, started, duration, fps, speed, kbps, out_bytes, mean_w, peak_w, idle_w, estimated, sources, overhead
):
    frames = 120
    total = round(mean_w * duration, 2)
    dyn = round(total - idle_w * duration, 2) if idle_w is not None else None
    n = int(duration * 5)
    names = [s["name"] for s in sources]
    energy = (
        {names[0]: total} if len(names) == 1 else {names[0]: round(total * 0.9, 2), names[1]: round(total * 0.1, 2)}
    )
    srcs = [dict(s, valid_samples=n, invalid_samples=0) for s in sources]
    res = {
        "job_id": job_id,
        "attempt": 1,
        "node_id": node,
        "status": "succeeded",
        "error": None,
        "started_at": started,
        "finished_at": started.replace(":00.", f":{int(duration) + 2:02d}."),
        "metrics": {
            "duration_s": duration,
            "frames": frames,
            "fps": fps,
            "speed": speed,
            "output_bytes": out_bytes,
            "bitrate_kbps": kbps,
            "energy_j": energy,
            "total_energy_j": total,
            "mean_watts": mean_w,
            "peak_watts": peak_w,
            "idle_watts": idle_w,
            "dynamic_energy_j": dyn,
            "joules_per_frame": round(total / frames, 5),
            "dynamic_joules_per_frame": round(dyn / frames, 5) if dyn is not None else None,
            "frames_per_joule": round(frames / total, 4),
            "agent_overhead_pct": overhead,
            "sampler_overhead_pct": round(overhead / 3, 2),
        },
        "missing": {},
        "provenance": {
            "estimated": estimated,
            "sources": srcs,
            "sample_rate_hz": 5.0,
            "sample_count": n,
            "notes": (
                ["energy = CPU seconds of the job's process tree x 11.0 W per busy core (model: TDP / cores)"]
                if estimated
                else []
            ),
        },
        "baseline": {"duration_s": 2.0, "idle_watts": idle_w, "sample_count": 10 if idle_w is not None else 0},
        "ffmpeg": {
            "argv": ["ffmpeg", "-hide_banner", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "4"],
            "version": "5.1.6-0+deb12u1",
            "path": "/usr/bin/ffmpeg",
            "stderr_tail": [],
        },
        "samples": samples(names, duration, peak_w * 0.95, idle_w if idle_w is not None else mean_w * 0.3),
    }
    return res


EST = [
    {
        "name": "estimate:cpu-time",
        "kind": "estimate",
        "measured": False,
        "reason": "no power sensor readable: /sys/class/powercap absent, no NVML",
    }
]
RAPL = [
    {"name": "rapl:package-0", "kind": "rapl", "measured": True, "reason": None},
    {"name": "rapl:dram-0", "kind": "rapl", "measured": True, "reason": None},
]

jobs = []


def job(jid, name, scen, var, rep, state, node, p, res, error=None):
    jobs.append(
        {
            "id": jid,
            "name": name,
            "scenario": scen,
            "variant": var,
            "repetition": rep,
            "state": state,
            "error": error,
            "node_id": node,
            "params": p,
            "result": res,
        }
    )


job(
    "j-0001",
    "x264-veryfast#1",
    "x264",
    "x264-veryfast",
    1,
    "succeeded",
    "n-dev1",
    params("libx264", "veryfast", "3000k"),
    result(
        "j-0001",
        "n-dev1",
        "2026-11-27T03:40:00.120Z",
        3.92,
        30.6,
        1.02,
        2941.3,
        1470650,
        21.4,
        23.9,
        3.1,
        True,
        EST,
        0.8,
    ),
)
job(
    "j-0002",
    "x264-veryfast#2",
    "x264",
    "x264-veryfast",
    2,
    "succeeded",
    "n-dev1",
    params("libx264", "veryfast", "3000k"),
    result(
        "j-0002",
        "n-dev1",
        "2026-11-27T03:40:10.480Z",
        4.05,
        29.6,
        0.99,
        2950.8,
        1475400,
        21.9,
        24.6,
        3.2,
        True,
        EST,
        0.7,
    ),
)
job(
    "j-0003",
    "x264-medium#1",
    "x264",
    "x264-medium",
    1,
    "succeeded",
    "n-dev1",
    params("libx264", "medium", "3000k"),
    result(
        "j-0003",
        "n-dev1",
        "2026-11-27T03:40:21.010Z",
        9.81,
        12.2,
        0.41,
        2903.7,
        1451850,
        22.8,
        24.4,
        3.1,
        True,
        EST,
        0.5,
    ),
)
job(
    "j-0004",
    "x264-medium#2",
    "x264",
    "x264-medium",
    2,
    "succeeded",
    "n-dev1",
    params("libx264", "medium", "3000k"),
    result(
        "j-0004",
        "n-dev1",
        "2026-11-27T03:40:37.660Z",
        10.22,
        11.7,
        0.39,
        2911.2,
        1455600,
        22.6,
        24.1,
        3.3,
        True,
        EST,
        0.5,
    ),
)
job(
    "j-0005",
    "x265-fast#1",
    "x265",
    "x265-fast",
    1,
    "succeeded",
    "n-rapl1",
    params("libx265", "fast", crf=28),
    result(
        "j-0005",
        "n-rapl1",
        "2026-11-27T03:40:00.300Z",
        3.31,
        36.3,
        1.21,
        611.4,
        305700,
        48.7,
        61.2,
        11.8,
        False,
        RAPL,
        0.3,
    ),
)
r6 = result(
    "j-0006", "n-rapl1", "2026-11-27T03:40:10.900Z", 3.45, 34.8, 1.16, 608.9, 304450, 49.9, 62.0, None, False, RAPL, 0.3
)
r6["missing"] = {
    "idle_watts": "idle baseline invalid: rapl:package-0 wrapped twice between samples",
    "dynamic_energy_j": "needs idle_watts",
    "dynamic_joules_per_frame": "needs idle_watts",
}
r6["provenance"]["notes"] = ["idle baseline discarded: counter wrapped twice within one 200 ms interval"]
job("j-0006", "x265-fast#2", "x265", "x265-fast", 2, "succeeded", "n-rapl1", params("libx265", "fast", crf=28), r6)
err = "encoder unavailable: h264_nvenc (no NVIDIA GPU: /dev/nvidia0 absent, libnvidia-encode.so.1 not found)"
job(
    "j-0007",
    "nvenc-p4#1",
    "nvenc",
    "nvenc-p4",
    1,
    "failed",
    "n-dev1",
    params("h264_nvenc", "p4", "3000k"),
    {
        "job_id": "j-0007",
        "attempt": 1,
        "node_id": "n-dev1",
        "status": "failed",
        "error": err,
        "started_at": "2026-11-27T03:40:48.100Z",
        "finished_at": "2026-11-27T03:40:48.180Z",
        "metrics": None,
        "missing": {},
        "provenance": None,
        "baseline": None,
        "ffmpeg": None,
        "samples": [],
    },
    error=err,
)

ENC_DEV = {
    "libx264": {"usable": True, "reason": None},
    "libx265": {"usable": True, "reason": None},
    "libsvtav1": {"usable": True, "reason": None},
    "h264_nvenc": {"usable": False, "reason": "no NVIDIA GPU: /dev/nvidia0 absent"},
    "h264_vaapi": {"usable": False, "reason": "no /dev/dri/renderD128"},
}
nodes = [
    {
        "id": "n-dev1",
        "hostname": "dev1",
        # The shape agent.inventory.collect_inventory writes (flat keys, describe() power sources, missing).
        "inventory": {
            "hostname": "dev1",
            "cpu_model": "Intel(R) Xeon(R) CPU @ 2.20GHz",
            "cpu_sockets": 1,
            "cpu_cores": 1,
            "cpu_threads": 2,
            "memory_bytes": 8331571200,
            "gpus": [],
            "kernel": "6.1.0-28-cloud-amd64",
            "os": "Debian GNU/Linux 12 (bookworm)",
            "python": "3.11.2",
            "ffmpeg": {
                "path": "/usr/bin/ffmpeg",
                "version": "5.1.6-0+deb12u1",
                "major": 5,
                "source": "system",
                "configuration": ["--enable-gpl", "--enable-libx264", "--enable-libx265", "--enable-libsvtav1"],
            },
            "encoders": ENC_DEV,
            "power_sources": [
                {
                    "name": "estimate:cpu-time",
                    "kind": "estimate",
                    "measured": False,
                    "details": {"model": "TDP / cores", "watts_per_core": 11.0},
                }
            ],
            "power_notes": ["/sys/class/powercap absent (virtual machine)", "NVML: libnvidia-ml.so.1 not found"],
            "notes": ["no NVIDIA GPU: nvidia-smi not found"],
            "missing": {},
        },
    },
    {
        "id": "n-rapl1",
        "hostname": "rapl1",
        "inventory": {
            "cpu": {"model": "AMD EPYC 7313P 16-Core Processor", "cores": 16, "threads": 32, "sockets": 1},
            "ram_bytes": 137438953472,
            "gpus": [],
            "kernel": "6.1.0-28-amd64",
            "os": "Debian GNU/Linux 12 (bookworm)",
            "ffmpeg": {"path": "/usr/bin/ffmpeg", "version": "5.1.6-0+deb12u1", "source": "debian package"},
            "encoders": {"libx264": {"usable": True, "reason": None}, "libx265": {"usable": True, "reason": None}},
            "power_sources": [
                {"name": "rapl:package-0", "kind": "rapl", "available": True, "reason": None},
                {"name": "rapl:dram-0", "kind": "rapl", "available": True, "reason": None},
            ],
            "power_notes": [],
        },
    },
]
run = {
    "campaign": {
        "id": "c-91ab2e",
        "name": "quick",
        "description": "x264 presets vs x265 and NVENC, 720p30, 4 s of testsrc2",
        "spec_text": SPEC,
        "created_at": "2026-11-27T03:39:55.000Z",
        "finished_at": "2026-11-27T03:40:50.002Z",
        "state": "finished",
    },
    "nodes": nodes,
    "jobs": jobs,
    "generated_at": "2026-11-27T03:41:02.517Z",
}
out = Path(__file__).resolve().parent / "run_quick.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(run, indent=1) + "\n")
print(out.stat().st_size)
