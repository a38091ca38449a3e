"""The Grafana dashboards: valid JSON on the ffwatt-vm datasource, every panel queried, every variable substitutable,
and every query answered with data by a real VictoriaMetrics holding series in the metric contract's names."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.observability import synthetic
from tests.observability.dashboards import (
    DASHBOARD_DIR,
    DATASOURCE_UID,
    PanelQuery,
    UnknownVariable,
    VariableQuery,
    board_queries,
    builtins,
    dashboard_files,
    empty,
    label_values,
    load,
    panel_queries,
    panels,
    query_all,
    substitute,
    variable_queries,
    variables,
)

FILES = dashboard_files(DASHBOARD_DIR)
TITLES = {
    "fleet-power.json": "ffwatt — Fleet power and energy",
    "campaign-progress.json": "ffwatt — Campaign progress",
    "efficiency.json": "ffwatt — Efficiency over time",
    "node-health.json": "ffwatt — Node health",
}


def test_the_four_dashboards_are_there_with_their_titles():
    """One file per dashboard, titled as docs/DASHBOARDS.md says; uids unique."""
    boards = {path.name: load(path) for path in FILES}
    assert {name: board["title"] for name, board in boards.items()} == TITLES
    assert len({board["uid"] for board in boards.values()}) == len(boards)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_panel_queries_the_ffwatt_datasource(path):
    """Valid JSON; each panel and target on datasource uid ffwatt-vm, with at least one expr; titles unique."""
    board = json.loads(path.read_text())
    assert 36 <= board["schemaVersion"] <= 41
    found = list(panels(board))
    assert found
    for panel in found:
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert [t for t in panel["targets"] if t.get("expr")], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
    for var in board["templating"]["list"]:
        assert var["datasource"]["uid"] == DATASOURCE_UID
    titles = [panel["title"] for panel in found]
    assert len(titles) == len(set(titles)), "two panels share a title"
    ids = [panel["id"] for panel in board["panels"]] + [p["id"] for r in board["panels"] for p in r.get("panels", [])]
    assert len(ids) == len(set(ids)), "two panels share an id"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_variable_is_substitutable_and_used_as_a_regex(path):
    """panel_queries substitutes everything; a template variable only follows =~ or !~ (All is the regex .*)."""
    board = load(path)
    queries = panel_queries(path)
    assert queries and not [q for q in queries if "$" in q.expr or "[[" in q.expr]
    own = {var["name"] for var in board["templating"]["list"]}
    for panel in panels(board):
        for target in panel["targets"]:
            for name in set(variables(target["expr"])) & own:
                uses = re.findall(r'(=~|!~|!=|=)\s*"[^"]*\$\{?' + name, target["expr"])
                assert uses and set(uses) <= {"=~", "!~"}, f"{panel['title']}: ${name} outside a =~ matcher"


def test_queries_use_only_the_metric_contract():
    """Every metric name in a query is one the exporters, the master or node_exporter publish."""
    words = {w for q in panel_queries() for w in re.findall(r"\b(?:ffwatt|node|process)_\w+\b|\bup\b", q.expr)}
    assert words - synthetic.CONTRACT == set()
    assert synthetic.names(time.time()) == synthetic.CONTRACT


def test_substitution_handles_every_variable_form():
    """$x, ${x}, ${x:regex}, [[x]] and the built-ins with their _ms/_s forms."""
    values = {**builtins("15s", "1m", "6h"), "host": ".*"}
    expr = (
        'rate(a{host=~"$host", b=~"${host}", c=~"${host:regex}", d=~"[[host]]"}[$__rate_interval]) '
        "* $__range_s + $__interval_ms"
    )
    assert substitute(expr, values) == 'rate(a{host=~".*", b=~".*", c=~".*", d=~".*"}[1m]) * 21600 + 15000'
    with pytest.raises(UnknownVariable, match=r"\$node"):
        substitute('a{node=~"$node"}', values)


def test_rows_nested_panels_and_undeclared_variables():
    """A collapsed row's panels count; a variable the dashboard does not declare is an error naming the panel."""
    board = {
        "title": "t",
        "templating": {"list": [{"name": "host", "type": "query", "includeAll": True}]},
        "panels": [
            {
                "type": "row",
                "title": "r",
                "panels": [{"title": "p", "targets": [{"refId": "A", "expr": 'up{host=~"$host"}'}]}],
            }
        ],
    }
    assert board_queries(board, builtins()) == [PanelQuery("t", "p", "A", 'up{host=~".*"}')]
    board["panels"][0]["panels"][0]["targets"].append({"refId": "B", "expr": 'up{x=~"$campaign"}'})
    with pytest.raises(UnknownVariable, match="t / p / B"):
        board_queries(board, builtins())


@pytest.fixture(scope="module")
def victoriametrics(tmp_path_factory):
    """A real VictoriaMetrics holding the synthetic series (skips when victoria-metrics is not installed)."""
    from tests.integration.procs import wait_until
    from tests.integration.victoriametrics import VictoriaMetrics

    vm = VictoriaMetrics.start(tmp_path_factory.mktemp("vm"))
    try:
        now = time.time()
        synthetic.import_into(vm.url, now)
        vm.flush()

        def searchable() -> bool:
            found = vm.series('{__name__=~".+"}', start=now - 2 * synthetic.SPAN_S)
            return {series["__name__"] for series in found} >= synthetic.CONTRACT

        wait_until(searchable, 30, "every synthetic series to be searchable", interval=0.5)
        yield vm, now
    finally:
        vm.stop()


@pytest.mark.integration
def test_every_panel_query_returns_data_from_victoriametrics(victoriametrics):
    """Each query parses (HTTP 200) and returns at least one series over the samples' ten minutes."""
    vm, now = victoriametrics
    queries = panel_queries(interval="30s", rate_interval="2m", time_range="10m")
    results = query_all(vm.url, queries, now - synthetic.SPAN_S, now, "30s")
    assert set(results) == set(queries)
    assert [str(q) for q in empty(results)] == []


def test_variables_are_label_values_queries():
    """$host offers the hosts of every scrape target; $campaign the campaigns of the dashboard's own series."""
    found = {(q.dashboard, q.name): (q.match, q.label) for q in variable_queries()}
    assert found == {
        (TITLES["fleet-power.json"], "host"): ("up", "host"),
        (TITLES["node-health.json"], "host"): ("up", "host"),
        (TITLES["campaign-progress.json"], "campaign"): ("ffwatt_campaign_jobs", "campaign"),
        (TITLES["efficiency.json"], "campaign"): ("ffwatt_result_joules_per_frame", "campaign"),
    }


@pytest.mark.integration
def test_every_variable_offers_values_from_victoriametrics(victoriametrics):
    vm, now = victoriametrics
    offered = {q.name: label_values(vm.url, q, now - synthetic.SPAN_S, now) for q in variable_queries()}
    assert offered == {"host": ["agent-1", "agent-2", "master-1"], "campaign": ["quick"]}
    assert label_values(vm.url, VariableQuery("d", "x", "", "job"), now - synthetic.SPAN_S, now)
