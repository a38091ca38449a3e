"""Every query of ffwatt's Grafana dashboards, ready for a plain Prometheus API call.

``panel_queries(path_or_dir)`` reads dashboard JSON files (Grafana's model: ``panels``, rows with nested ``panels``,
each panel's ``targets[].expr``) and returns one :class:`PanelQuery` per target, its Grafana variables substituted:

- the built-in ones by durations given as parameters: ``$__interval`` (default 30s), ``$__rate_interval`` (2m),
  ``$__range`` (1h), and their ``_ms`` / ``_s`` forms in milliseconds or seconds;
- the dashboard's own template variables (``templating.list``) by the value "All" stands for: ``.*`` (the variable's
  ``allValue``) for query and custom variables, the value for constants, the current value for interval variables.

``$var``, ``${var}``, ``${var:format}`` and ``[[var]]`` are all recognised. A query that names a variable the dashboard
does not declare, or one that cannot stand for All, raises :class:`UnknownVariable`, so a dashboard edit that breaks
the substitution fails its unit test instead of a panel on a real fleet.

``variable_queries(path_or_dir)`` returns the template variables' ``label_values(METRIC, LABEL)`` queries and
``label_values(base_url, query, start, end)`` asks ``/api/v1/label/LABEL/values`` for the values a variable offers.

``query_all(base_url, queries, start, end, step)`` runs each query through ``/api/v1/query_range`` (VictoriaMetrics or
Prometheus) and returns ``{PanelQuery: data.result}``; any failed query raises :class:`QueryFailed` naming all of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

DATASOURCE_UID = "ffwatt-vm"
"""The uid every panel's datasource has: the VictoriaMetrics datasource the grafana role provisions."""

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "roles" / "grafana" / "files" / "dashboards"
"""Where the dashboards live (the grafana role copies them to Grafana's provisioning directory)."""

ALL = ".*"
"""What a query or custom variable holds when "All" is selected (each dashboard variable's allValue)."""

QUERY_TIMEOUT_S = 30.0
"""Longest wait for one query_range answer."""

_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$")

# $name, ${name}, ${name:format}, ${name.field}, [[name]], [[name:format]]
_VARIABLE = re.compile(r"\$\{(\w+)(?:[.:][^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class UnknownVariable(ValueError):
    """A query references a variable the harness cannot substitute."""


class QueryFailed(AssertionError):
    """One or more queries were refused (HTTP error, status not success)."""


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel: the dashboard's and panel's titles, the target's refId, its substituted expr."""

    dashboard: str
    panel: str
    ref: str
    expr: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}: {self.expr}"


@dataclass(frozen=True)
class VariableQuery:
    """A template variable's ``label_values(match, label)`` query (``match`` empty: every series)."""

    dashboard: str
    name: str
    match: str
    label: str


def seconds(duration: str) -> float:
    """``"2m"`` -> 120.0 (one unit only, the form Grafana's interval settings use)."""
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"not a duration: {duration!r}")
    return int(match[1]) * _SECONDS[match[2]]


def builtins(interval: str = "30s", rate_interval: str = "2m", time_range: str = "1h") -> dict[str, str]:
    """Grafana's built-in variables for a query over ``time_range`` at ``interval`` steps."""
    values = {"__interval": interval, "__rate_interval": rate_interval, "__range": time_range}
    out = dict(values)
    for name, value in values.items():
        out[f"{name}_ms"] = str(int(seconds(value) * 1000))
        out[f"{name}_s"] = str(int(seconds(value)))
    return out


def load(path: Path) -> dict[str, Any]:
    """One dashboard's JSON (the bare model, or the ``{"dashboard": ...}`` form the HTTP API exports)."""
    board = json.loads(Path(path).read_text())
    return board.get("dashboard", board) if "panels" not in board else board


def dashboard_files(path_or_dir: str | Path = DASHBOARD_DIR) -> list[Path]:
    """The ``*.json`` files of a directory, sorted, or the one file given."""
    path = Path(path_or_dir)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"no dashboard JSON in {path}")
    return files


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that is not a row, including those nested in (collapsed) rows, in file order."""
    for panel in board.get("panels", []):
        if panel.get("type") == "row":
            yield from panels(panel)
        else:
            yield panel


def template_values(board: dict[str, Any]) -> dict[str, str]:
    """Each template variable's stand-in value: All (``.*``) for query and custom ones."""
    values = {}
    for var in board.get("templating", {}).get("list", []):
        name, kind = var["name"], var.get("type", "query")
        if kind in ("query", "custom"):
            if not var.get("includeAll"):
                raise UnknownVariable(f"variable ${name} has no All option (includeAll) to stand for every value")
            values[name] = var.get("allValue") or ALL
        elif kind in ("constant", "textbox"):
            values[name] = str(var.get("query", ""))
        elif kind == "interval":
            current = var.get("current", {}).get("value") or str(var.get("query", "")).split(",")[0]
            values[name] = str(current).strip()
        else:
            raise UnknownVariable(f"variable ${name} of type {kind} cannot be substituted")
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    """``expr`` with every variable replaced; UnknownVariable names the first that has no value."""

    def replace(match: re.Match) -> str:
        name = match[1] or match[2] or match[3]
        if name not in values:
            raise UnknownVariable(f"${name} is neither a Grafana built-in nor a variable of the dashboard")
        return values[name]

    return _VARIABLE.sub(replace, expr)


def variables(expr: str) -> list[str]:
    """The names of the variables ``expr`` references, in order."""
    return [m[1] or m[2] or m[3] for m in _VARIABLE.finditer(expr)]


def board_queries(board: dict[str, Any], values: dict[str, str]) -> list[PanelQuery]:
    """One dashboard's queries; ``values`` are the built-ins, the dashboard's own variables are added here."""
    values = {**values, **template_values(board)}
    title, out = board.get("title", "?"), []
    for panel in panels(board):
        for target in panel.get("targets", []):
            if target.get("hide") or not target.get("expr"):
                continue
            try:
                expr = substitute(target["expr"], values)
            except UnknownVariable as exc:
                raise UnknownVariable(f"{title} / {panel.get('title')} / {target.get('refId')}: {exc}") from None
            out.append(PanelQuery(title, panel.get("title", "?"), target.get("refId", "A"), expr))
    return out


def panel_queries(
    path_or_dir: str | Path = DASHBOARD_DIR, *, interval: str = "30s", rate_interval: str = "2m", time_range: str = "1h"
) -> list[PanelQuery]:
    """Every query of every panel of the dashboard file (or directory of ``*.json``), variables substituted."""
    values = builtins(interval, rate_interval, time_range)
    return [query for path in dashboard_files(path_or_dir) for query in board_queries(load(path), values)]


def variable_queries(path_or_dir: str | Path = DASHBOARD_DIR) -> list[VariableQuery]:
    """The ``label_values`` queries of the dashboards' query variables; UnknownVariable for any other form."""
    out = []
    for path in dashboard_files(path_or_dir):
        board = load(path)
        for var in board.get("templating", {}).get("list", []):
            if var.get("type", "query") != "query":
                continue
            query = var.get("query")
            text = query.get("query", "") if isinstance(query, dict) else str(query or var.get("definition", ""))
            match = _LABEL_VALUES.match(text)
            if match is None:
                raise UnknownVariable(f"{board.get('title')}: ${var['name']} is not a label_values() query: {text}")
            out.append(VariableQuery(board.get("title", "?"), var["name"], match[1] or "", match[2]))
    return out


def label_values(base_url: str, query: VariableQuery, start: float, end: float) -> list[str]:
    """The values ``query``'s variable would offer over [start, end]; QueryFailed on an error."""
    params: dict[str, str] = {"start": f"{start:.0f}", "end": f"{end:.0f}"}
    if query.match:
        params["match[]"] = query.match
    resp = requests.get(
        f"{base_url.rstrip('/')}/api/v1/label/{query.label}/values", params=params, timeout=QUERY_TIMEOUT_S
    )
    if resp.status_code != 200 or resp.json().get("status") != "success":
        raise QueryFailed(f"{query}: HTTP {resp.status_code}: {resp.text[:500]}")
    return resp.json()["data"]


def query_range(
    base_url: str, expr: str, start: float, end: float, step: float | str, session: requests.Session | None = None
) -> list[dict[str, Any]]:
    """``data.result`` of one ``/api/v1/query_range`` call; QueryFailed with the server's error otherwise."""
    step_s = seconds(step) if isinstance(step, str) else step
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}s"}
    resp = (session or requests).get(
        f"{base_url.rstrip('/')}/api/v1/query_range", params=params, timeout=QUERY_TIMEOUT_S
    )
    try:
        body = resp.json()
    except ValueError:
        body = {"error": resp.text[:500]}
    if resp.status_code != 200 or body.get("status") != "success":
        raise QueryFailed(f"HTTP {resp.status_code}: {body.get('error') or body}")
    return body["data"]["result"]


def query_all(
    base_url: str, queries: Iterable[PanelQuery], start: float, end: float, step: float | str = 30
) -> dict[PanelQuery, list[dict[str, Any]]]:
    """Each query's ``data.result`` over [start, end] (Unix seconds) at ``step`` (seconds, or "30s").

    Every query runs; if any fails, QueryFailed lists all the failures (panel and the server's message).
    """
    results, failures = {}, []
    with requests.Session() as session:
        for query in queries:
            try:
                results[query] = query_range(base_url, query.expr, start, end, step, session)
            except (QueryFailed, requests.RequestException) as exc:
                failures.append(f"{query}\n    {exc}")
    if failures:
        raise QueryFailed(f"{len(failures)} dashboard queries failed:\n" + "\n".join(failures))
    return results


def empty(results: dict[PanelQuery, list[dict[str, Any]]]) -> list[PanelQuery]:
    """The queries that returned no series (a panel that would show "No data")."""
    return [query for query, result in results.items() if not result]
