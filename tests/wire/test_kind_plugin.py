"""A new scenario kind is its own modules and nothing else: a toy kind, ``toy_decode`` (decode the input, measure the
energy of decoding), lives in a package in a temporary directory and registers itself through entry points (a
``.dist-info`` with ``entry_points.txt``, as an installed plugin does); ``campaign validate`` and an embedded
``campaign run`` then take it, with no edit to ffwatt's own files.

Each check runs in a fresh interpreter with the plugin's directory on PYTHONPATH, so the registries are built the way a
user's process builds them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WIRE_SIDE = '''
"""toy_decode: decode the input to the null muxer; the energy of decoding ``duration`` seconds."""
from wire.kinds.base import INPUT, POSITIVE, Kind


def plan(params, model):
    """Decoding runs at twice real time or faster."""
    return {"encoding": 0.5 * params["duration"]}


KIND = Kind(
    name="toy_decode",
    fields={"input": INPUT, "duration": POSITIVE, "threads": {"type": "integer", "minimum": 1, "maximum": 64,
                                                              "description": "a whole number of threads"}},
    required=("input", "duration"),
    requirements=(),
    metrics=("decoded_frames",),
    plan=plan,
)
'''

AGENT_SIDE = '''
"""The agent's runner of toy_decode: one measured FFmpeg decode inside the usual phases."""
from agent import energy
from agent.ffmpeg.command import PROGRESS_ARGS, input_args
from agent.ffmpeg.runner import encoded_metrics
from agent.scenarios.base import JobFailed, Scenario, ffmpeg_info
from agent.scenarios.phases import measured_ffmpeg, run_phases


class ToyDecode(Scenario):
    kind = "toy_decode"

    def prepare(self, job, ctx):
        params = job["params"]
        inputs, _, _ = input_args(params)
        argv = [str(ctx.ffmpeg.path), "-hide_banner", "-nostdin", "-loglevel", "warning",
                "-threads", str(params.get("threads") or 1), *inputs, "-t", str(params["duration"]),
                "-map", "0:v:0", "-an", *PROGRESS_ARGS, "-f", "null", "-"]
        return {"argv": argv}

    def run(self, job, ctx, state):
        params = job["params"]
        return run_phases(params, ctx, "FFmpeg started", lambda baseline: self._decode(ctx, state, params, baseline))

    def _decode(self, ctx, state, params, baseline):
        ctx.live.phase = "decoding"
        run, measurement = measured_ffmpeg(state["argv"], params, ctx)
        info = ffmpeg_info(ctx, state["argv"], run.outcome.stderr_tail)
        if run.outcome.returncode != 0:
            raise JobFailed(f"decode failed: exit {run.outcome.returncode}", {"ffmpeg": info})
        metrics, missing = encoded_metrics(run, None)
        missing["output_bytes"] = "toy_decode writes no output"
        measured = energy.summarize(baseline, measurement, metrics["frames"])
        metrics.update(measured.pop("metrics"))
        missing.update(measured.pop("missing"))
        metrics["decoded_frames"] = metrics["frames"]
        return {"metrics": metrics, "missing": missing, "ffmpeg": info, **measured}
'''

ENTRY_POINTS = """
[ffwatt.kinds]
toy_decode = toykinds.toy_decode

[ffwatt.scenarios]
toy_decode = toykinds.agent_side:ToyDecode
"""

CAMPAIGN = """\
name: toy
defaults: {idle_baseline: 0, sample_rate: 10, timeout: 90}
scenarios:
  - name: decode
    kind: toy_decode
    input: {source: testsrc2, size: 320x240, rate: 25}
    duration: 1
    threads: 1
"""


def install_plugin(root: Path, entry_points: str = ENTRY_POINTS) -> Path:
    """The toy kind as an installed distribution would leave it: its package and a .dist-info naming its entry
    points. Returns the directory to put on PYTHONPATH."""
    package = root / "toykinds"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "toy_decode.py").write_text(WIRE_SIDE)
    (package / "agent_side.py").write_text(AGENT_SIDE)
    info = root / "toykinds-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toykinds\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    return root


def run_with(plugin_dir: Path, argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_registries_take_a_plugin_kind(tmp_path):
    """wire.kinds.KINDS and agent.scenarios.KINDS both list the toy kind, with its fields and metrics."""
    plugin = install_plugin(tmp_path / "site")
    code = (
        "import json; from wire.kinds import KINDS; from agent.scenarios import KINDS as RUNNERS;"
        " k = KINDS['toy_decode'];"
        " print(json.dumps([list(k.fields), list(k.metrics), RUNNERS['toy_decode'].__name__]))"
    )
    proc = run_with(plugin, [sys.executable, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [["input", "duration", "threads"], ["decoded_frames"], "ToyDecode"]


def test_a_kind_on_one_side_only_fails_the_parity_test(tmp_path):
    """A plugin that registers the wire side of a kind but no agent runner makes tests/wire/test_kinds.py fail,
    naming the kind."""
    half = ENTRY_POINTS.split("[ffwatt.scenarios]")[0]
    plugin = install_plugin(tmp_path / "site", half)
    test_file = Path(__file__).with_name("test_kinds.py")
    proc = run_with(
        plugin,
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{test_file}::test_kinds_exist_on_both_sides",
        ],
        Path(__file__).parents[2],
    )
    assert proc.returncode == 1, proc.stdout
    assert "kinds without an agent runner" in proc.stdout and "toy_decode" in proc.stdout


def test_campaign_validate_and_plan_take_the_plugin_kind(tmp_path):
    """The campaign schema is built from the registry: the toy kind's own field is checked, with file:line; ``campaign
    plan`` counts the toy's jobs with the toy's own plan."""
    plugin = install_plugin(tmp_path / "site")
    good = tmp_path / "toy.yml"
    good.write_text(CAMPAIGN.replace("duration: 1", "duration: 6"))
    proc = run_with(plugin, [sys.executable, "-m", "master.cli", "plan", str(good)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "toy_decode" in proc.stdout and "= 3 s" in proc.stdout, proc.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(CAMPAIGN.replace("threads: 1", "threads: 0"))
    proc = run_with(plugin, [sys.executable, "-m", "master.cli", "validate", str(bad)], tmp_path)
    assert proc.returncode != 0
    assert f"{bad}:8" in proc.stdout + proc.stderr and "threads" in proc.stdout + proc.stderr


@pytest.mark.usefixtures("ffmpeg")
def test_an_embedded_run_measures_the_plugin_kind(tmp_path):
    """``campaign run`` on the embedded default runs the toy kind on its agent: the job succeeds, its frames are the
    decoded second (25 at 25 fps), its own metric is there and its energy has a source."""
    plugin = install_plugin(tmp_path / "site")
    campaign = tmp_path / "toy.yml"
    campaign.write_text(CAMPAIGN)
    proc = run_with(
        plugin,
        [sys.executable, "-m", "master.cli", "run", str(campaign), "--state-dir", "state", "--reports-dir", "reports"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("report: "))
    run = json.loads((tmp_path / line.split("report: ", 1)[1]).parent.joinpath("results.json").read_text())
    (job,) = run["jobs"]
    assert job["kind"] == "toy_decode" and job["state"] == "succeeded", job
    metrics = job["result"]["metrics"]
    assert metrics["frames"] == 25 and metrics["decoded_frames"] == 25
    assert metrics["total_energy_j"] is not None and metrics["total_energy_j"] > 0
    assert job["result"]["provenance"]["sources"], job["result"]["provenance"]
