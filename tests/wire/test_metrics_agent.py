"""Every metric the agent's code writes into a result is in the metric registry (wire/metrics.py), read from the
agent's source: keys of ``metrics[...]``, of dicts that become metrics, and of the names loops assign through.

tests/integration/test_kinds.py checks the same on real results of every kind; this check is the cheap one that
runs everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

from wire.metrics import METRICS, WIRE_METRICS

AGENT = Path(__file__).resolve().parents[2] / "agent"

METRIC_VARS = {"metrics", "m"}
"""Names the agent's result builders give a result's metrics dict."""

METRIC_DICTS = {"metrics", "fields"}
"""Names of dict literals whose keys are metrics (energy.summarize's ``fields``), and of functions returning one."""


def _strings(node: ast.AST | None) -> set[str]:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def _dict_keys(node: ast.AST | None) -> set[str]:
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return set()


def _is_metrics(node: ast.AST) -> bool:
    return isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in METRIC_VARS


def metric_keys(tree: ast.Module) -> set[str]:
    """The metric names one agent module writes or reads through its metrics dicts."""
    constants: dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value
    found: set[str] = set()
    for node in ast.walk(tree):
        if _is_metrics(node) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            found.add(node.slice.value)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in METRIC_DICTS for t in targets):
                found |= _dict_keys(node.value)
        elif isinstance(node, ast.FunctionDef) and node.name in METRIC_DICTS:
            found |= {k for r in ast.walk(node) if isinstance(r, ast.Return) for k in _dict_keys(r.value)}
        elif isinstance(node, ast.For):
            found |= _loop_keys(node, constants)
    return found


def _loop_keys(loop: ast.For, constants: dict[str, ast.AST]) -> set[str]:
    """The names a ``for name in ...:`` loop (or ``for a, name in ((.., ..), ...)``) goes through when its body writes
    ``metrics[name]``."""
    names = [loop.target] if isinstance(loop.target, ast.Name) else getattr(loop.target, "elts", [])
    used = {n.slice.id for n in ast.walk(loop) if _is_metrics(n) and isinstance(n.slice, ast.Name)}
    source = constants.get(loop.iter.id) if isinstance(loop.iter, ast.Name) else loop.iter
    found: set[str] = set()
    for position, target in enumerate(names):
        if not (isinstance(target, ast.Name) and target.id in used):
            continue
        if isinstance(loop.target, ast.Name):
            found |= _strings(source)
        elif isinstance(source, (ast.Tuple, ast.List)):
            found |= {
                s
                for e in source.elts
                if isinstance(e, ast.Tuple)
                for s in _strings(ast.Tuple(e.elts[position : position + 1]))
            }
    return found


def agent_metric_keys() -> dict[str, set[str]]:
    """Per agent module (path relative to the repository), the metric names it uses."""
    keys = {}
    for path in sorted(AGENT.rglob("*.py")):
        found = metric_keys(ast.parse(path.read_text(), str(path)))
        if found:
            keys[str(path.relative_to(AGENT.parent))] = found
    return keys


def test_the_scan_finds_metrics_of_every_builder():
    """The scan itself sees the metrics of energy, transcode encode, quality, the live kinds, density, ladder and the
    source (a scan that found nothing would pass the next test vacuously)."""
    found = set().union(*agent_metric_keys().values())
    expected = {
        "joules_per_frame",
        "gpu_encoder_util_pct",
        "frames",
        "bitrate_kbps",
        "psnr_db",
        "quality_frames",
        "frames_received",
        "watts_per_stream",
        "max_streams",
        "marginal_watts_per_stream",
        "pixels",
        "joules_per_megapixel",
        "si",
    }
    assert expected <= found, sorted(expected - found)


def test_every_metric_the_agent_uses_is_registered():
    """No agent module writes a metric the registry lacks (it would have no label, unit or schema range)."""
    unregistered = {
        module: sorted(names - set(METRICS)) for module, names in agent_metric_keys().items() if names - set(METRICS)
    }
    assert not unregistered, f"metrics the agent sends that wire/metrics.py does not register: {unregistered}"


def test_every_registered_wire_metric_is_one_the_agent_uses():
    """The other way round: a registered metric no agent code mentions is a stale entry (derived ones aside)."""
    found = set().union(*agent_metric_keys().values())
    assert not {m.name for m in WIRE_METRICS} - found


def test_the_scan_reads_subscripts_loops_and_dicts():
    """A subscript, a loop over a tuple, a pair loop and a ``metrics = {...}`` dict each name their metrics."""
    code = (
        'metrics = {"a": 1}\n'
        'metrics["b"] = 2\n'
        'for k in ("c", "d"):\n    metrics[k] = 0\n'
        'for s, k in (("x", "e"),):\n    metrics[k] = s\n'
        'other["z"] = 1\n'
    )
    assert metric_keys(ast.parse(code)) == {"a", "b", "c", "d", "e"}
