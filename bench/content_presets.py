"""What each content preset costs to generate, to feed from a prepared file, and to encode; and its SI/TI.

Usage: .venv/bin/python bench/content_presets.py [--size 1280x720] [--rate 30] [--duration 10] [--repeat 3]

For each preset of wire/content.py at the given size, rate and duration (quick.yml's 720p30, 10 s by default):
  1. renders it once to raw yuv420p NUT, the way the agent prepares a source (wall time);
  2. SI/TI (ITU-T P.910) with FFmpeg's siti filter over the whole render;
  3. CPU seconds (user + system of the FFmpeg child) of: generating it with lavfi into the null muxer (what an
     ``render: inline`` job pays inside its measured process), reading the prepared file into the null muxer (what a
     prepared job pays for feeding its input), and libx264 3000k ultrafast and veryfast encodes (quick.yml's
     presets) read from the prepared file; the median of --repeat runs, and per frame.
The feeding cost as a share of the ultrafast encode is the issue's goal (< 2%), per frame: each cost less the same
command on one frame (FFmpeg's start-up, about 0.1 CPU-s here, is in every measured process whatever it reads).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.ffmpeg.locate import find_ffmpeg  # noqa: E402
from agent.ffmpeg.siti import measure_siti  # noqa: E402
from wire.content import CONTENT_PRESETS, content_graph  # noqa: E402

TIMEOUT_S = 600


def child_cpu(argv: list[str]) -> float:
    """CPU seconds (user + system, microsecond resolution) ``argv`` used; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        argv,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=TIMEOUT_S,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(argv: list[str], repeat: int) -> float:
    """Median CPU seconds of ``repeat`` runs of ``argv``."""
    return statistics.median(child_cpu(argv) for _ in range(repeat))


def measure(ffmpeg: str, name: str, args: argparse.Namespace, workdir: Path) -> dict:
    """Render one preset, then its SI/TI and the CPU of generating, feeding and encoding it."""
    graph = content_graph(name, args.size, args.rate)
    raw = workdir / f"{name}.nut"
    base = [ffmpeg, "-hide_banner", "-nostdin", "-y"]
    generate = base + ["-f", "lavfi", "-i", f"{graph}", "-t", str(args.duration)]
    render_s = child_cpu(generate + ["-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-f", "nut", str(raw)])
    siti, reason = measure_siti(ffmpeg, ["-i", str(raw)], timeout_s=TIMEOUT_S)
    frames = round(args.duration * args.rate)
    encode = base + ["-i", str(raw), "-c:v", "libx264", "-b:v", "3000k", "-f", "null", "-"]
    one = ["-frames:v", "1"]
    return {
        "name": name,
        "graph": graph,
        "render_cpu_s": render_s,
        "siti": siti,
        "siti_reason": reason,
        "frames": frames,
        "generate": median_cpu(generate + ["-f", "null", "-"], args.repeat),
        "feed": median_cpu(base + ["-i", str(raw), "-f", "null", "-"], args.repeat),
        "feed_1": median_cpu(base + ["-i", str(raw), *one, "-f", "null", "-"], args.repeat),
        "ultrafast_1": median_cpu(encode[:-3] + [*one, "-preset", "ultrafast", *encode[-3:]], args.repeat),
        "ultrafast": median_cpu(encode[:-3] + ["-preset", "ultrafast", *encode[-3:]], args.repeat),
        "veryfast": median_cpu(encode[:-3] + ["-preset", "veryfast", *encode[-3:]], args.repeat),
    }


def marginal(m: dict, name: str) -> float:
    """CPU seconds of ``name`` beyond the same command on one frame."""
    return m[name] - m[f"{name}_1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--rate", type=int, default=30)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ffmpeg = find_ffmpeg().path
    print(
        f"FFmpeg {ffmpeg}; {args.size} {args.rate} fps, {args.duration:g} s; CPU s (median of {args.repeat});"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'preset':8} {'SI':>6} {'TI':>6} {'render CPU':>10} {'generate':>9} {'feed':>6} {'ultrafast':>10}"
        f" {'veryfast':>9} {'feed/ultrafast per frame':>25} {'generate/ultrafast':>19} {'veryfast ms/frame':>18}"
    )
    with tempfile.TemporaryDirectory(prefix="ffwatt-content-") as tmp:
        for name in CONTENT_PRESETS:
            m = measure(ffmpeg, name, args, Path(tmp))
            si = f"{m['siti']['si_mean']:6.1f}" if m["siti"] else "  n/a "
            ti = f"{m['siti']['ti_mean']:6.1f}" if m["siti"] else "  n/a "
            print(
                f"{name:8} {si} {ti} {m['render_cpu_s']:10.2f} {m['generate']:9.2f} {m['feed']:6.2f}"
                f" {m['ultrafast']:10.2f} {m['veryfast']:9.2f} {marginal(m, 'feed') / marginal(m, 'ultrafast'):25.2%}"
                f" {m['generate'] / m['ultrafast']:19.1%} {m['veryfast'] / m['frames'] * 1000:18.2f}"
            )


if __name__ == "__main__":
    main()
