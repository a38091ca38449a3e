"""deploy.yml end to end over ssh: three loopback test hosts become a fleet, scale out, run a campaign that
VictoriaMetrics records and the dashboards show, raise and resolve an alert, are upgraded during a campaign, lose
the master's host and get it back from a backup, and are torn down. The tests share one fleet and run in file order
(each builds on the last).

Hosts: m (127.0.0.11: master, RTMP ingest, VictoriaMetrics, vmalert and Alertmanager), a1 and a2 (agents); each its
own sshd and ffwatt_prefix; node_exporter on all three. Alertmanager's webhook is a small HTTP server in this test.
"""

from __future__ import annotations

import grp
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest
import requests
import yaml

from tests.deploy.playbooks import ROOT, fleet_vars, run_playbook
from tests.deploy.testhosts import SshdMissing, TestHosts, free_port
from tests.integration.procs import wait_until
from tests.observability.dashboards import panel_queries, query_all

pytestmark = pytest.mark.e2e

HTTP_TIMEOUT_S = 10
CAMPAIGN_TIMEOUT_S = 900
ALERTING_DEFAULTS = yaml.safe_load((ROOT / "roles" / "alerting" / "defaults" / "main.yml").read_text())
ALERT_TIMEOUT_S = 120
"""Longest wait for an alert to reach the webhook (heartbeats every 5 s, offline after 3 missed, 2 s evaluations)."""


def campaign_file(path: Path, name: str, repetitions: int, idle_baseline: float = 1) -> Path:
    """A small transcode campaign pinned to the inventory group "agents": 2 presets x ``repetitions`` jobs, each
    ``idle_baseline`` seconds of idle (wall time that costs no CPU) then 2 s of 320x240 video."""
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": name,
                "targets": ["agents"],
                "defaults": {
                    "repetitions": repetitions,
                    "idle_baseline": idle_baseline,
                    "sample_rate": 10,
                    "timeout": 120,
                },
                "scenarios": [
                    {
                        "name": "x264",
                        "kind": "transcode",
                        "input": {"content": "easy", "size": "320x240", "rate": 30},
                        "encoder": "libx264",
                        "bitrate": "500k",
                        "resolution": "320x240",
                        "fps": 30,
                        "duration": 2,
                        "matrix": {"preset": ["ultrafast", "veryfast"]},
                    }
                ],
            },
            sort_keys=False,
        )
    )
    return path


def wheel_with_version(version: str, workdir: Path) -> Path:
    """An ffwatt wheel of this checkout that says it is ``version`` (what an upgrade installs)."""
    src = workdir / "src"
    for part in ("master", "agent", "wire"):
        shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "README.md", src / "README.md")
    text = (ROOT / "pyproject.toml").read_text()
    (src / "pyproject.toml").write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', text, count=1))
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(workdir / "dist"), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
        env=dict(os.environ, SOURCE_DATE_EPOCH="315532800"),
    )
    return next((workdir / "dist").glob(f"ffwatt-{version}-*.whl"))


class Webhook:
    """Alertmanager's webhook receiver: a tiny HTTP server on loopback keeping every alert it is sent."""

    def __init__(self):
        self.alerts: list[dict] = []
        received = self.alerts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                received.extend(body.get("alerts", []))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True).start()

    def wait(self, alertname: str, status: str, since: int = 0, **labels) -> dict:
        """The first alert after index ``since`` named ``alertname`` in ``status`` with ``labels``."""

        def found():
            return next(
                (
                    a
                    for a in self.alerts[since:]
                    if a["labels"].get("alertname") == alertname
                    and a["status"] == status
                    and labels.items() <= a["labels"].items()
                ),
                None,
            )

        return wait_until(
            found,
            ALERT_TIMEOUT_S,
            f"{alertname} {labels} {status} at the webhook "
            f"(received: {[(a['labels'].get('alertname'), a['status']) for a in self.alerts]})",
            interval=0.5,
        )

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Fleet:
    """The deployed test fleet: hosts, inventory, tokens, the master's and VictoriaMetrics' URLs."""

    def __init__(self, hosts, powercap: Path, webhook: Webhook):
        self.hosts = hosts
        self.webhook = webhook
        self.ports = {
            "ffwatt_master_port": free_port("127.0.0.11"),
            "ffwatt_rtmp_port": free_port("127.0.0.11"),
            "ffwatt_rtmp_stat_port": free_port("127.0.0.11"),
            "ffwatt_victoriametrics_port": free_port("127.0.0.11"),
            "ffwatt_vmalert_port": free_port("127.0.0.11"),
            "ffwatt_alertmanager_port": free_port("127.0.0.11"),
            "ffwatt_node_exporter_port": free_port("127.0.0.12"),
            "ffwatt_agent_metrics_port": free_port("127.0.0.12"),
        }
        self.vars = fleet_vars(
            **self.ports,
            common_powercap_root=str(powercap),
            agent_powercap_root="/sys/class/powercap",
            agent_heartbeat_interval="5s",
            agent_poll_interval="5s",
            victoriametrics_latency_offset="1s",
            alerting_webhook_url=webhook.url,
            alerting_evaluation_interval="2s",
            alerting_group_wait="1s",
            alerting_group_interval="2s",
            alerting_rule_for={**ALERTING_DEFAULTS["alerting_rule_for"], "agent_missing_heartbeats": "0s"},
        )
        self.url = f"http://127.0.0.11:{self.ports['ffwatt_master_port']}"
        self.vm_url = f"http://127.0.0.11:{self.ports['ffwatt_victoriametrics_port']}"
        self.groups = {"master": ["m"], "rtmp": ["m"], "victoriametrics": ["m"], "alerting": ["m"], "agents": ["a1"]}
        self.inventory = hosts.write_inventory(self.groups, self.vars)

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """VictoriaMetrics' instant vector of ``expr``."""
        params = {"query": expr, **({"time": f"{at:.3f}"} if at else {})}
        answer = requests.get(f"{self.vm_url}/api/v1/query", params=params, timeout=HTTP_TIMEOUT_S)
        answer.raise_for_status()
        return answer.json()["data"]["result"]

    def wait_query(self, expr: str, predicate=bool, timeout: float = 60) -> list[dict]:
        """Poll ``expr`` until ``predicate(result)`` holds; AssertionError with the last result after ``timeout``."""
        last: list = []

        def check():
            nonlocal last
            last = self.query(expr)
            return last if predicate(last) else None

        try:
            return wait_until(check, timeout, expr, interval=1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last answer: {last}") from None

    def report(self, campaign_id: str, reports: Path) -> Path:
        """``campaign report ID --master URL``: the directory it wrote."""
        argv = [
            str(Path(sys.executable).parent / "campaign"),
            "report",
            campaign_id,
            "--master",
            self.url,
            "--token",
            self.vars["ffwatt_admin_token"],
            "--reports-dir",
            str(reports),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stdout + done.stderr
        return reports

    def get(self, path: str):
        answer = requests.get(self.url + path, timeout=HTTP_TIMEOUT_S)
        answer.raise_for_status()
        return answer.json()

    def nodes(self) -> dict[str, dict]:
        return {n["hostname"]: n for n in self.get("/nodes")["nodes"]}

    def results(self, campaign_id: str) -> list[dict]:
        """The accepted result of each of the campaign's jobs that has one."""
        return [job["result"] for job in self.get(f"/campaigns/{campaign_id}/results")["jobs"] if job["result"]]

    def jobs(self, campaign_id: str) -> list[dict]:
        return self.get(f"/jobs?campaign={campaign_id}&limit=1000")["jobs"]

    def campaign(self, path: Path, reports: Path, *how: str, background: bool = False):
        """``campaign run PATH`` with ``how`` (default: --master URL --token T), in the project root."""
        how = how or ("--master", self.url, "--token", self.vars["ffwatt_admin_token"])
        argv = [str(Path(sys.executable).parent / "campaign"), "run", str(path), *how, "--reports-dir", str(reports)]
        env = {k: v for k, v in os.environ.items() if k != "FFWATT_ADMIN_TOKEN"}
        if background:  # output to a file: a pipe nobody reads would block the command once full
            with open(reports.parent / f"{path.stem}.out", "w") as out:
                return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
        return subprocess.run(argv, capture_output=True, text=True, timeout=CAMPAIGN_TIMEOUT_S, cwd=ROOT, env=env)

    def service_pids(self) -> dict[str, int]:
        """Live pids of the services whose pid files are under any test host's prefix."""
        found = {}
        for pidfile in self.hosts.root.glob("hosts/*/run/*.pid"):
            pid = int(pidfile.read_text().strip() or 0)
            if pid and psutil.pid_exists(pid):
                found[f"{pidfile.parent.parent.name}/{pidfile.stem}"] = pid
        return found

    def processes(self) -> list[psutil.Process]:
        """Every live process whose command line runs from a test host's prefix."""
        root = str(self.hosts.root / "hosts")
        return [p for p in psutil.process_iter(["cmdline"]) if root in " ".join(p.info["cmdline"] or [])]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    # Not under pytest's temp dir: that one is private (0700, and each pytest session makes it so again), and the
    # services' user must pass through to each prefix (the deploy's preflight refuses a prefix it cannot reach).
    root = Path(tempfile.mkdtemp(prefix="ffwatt-fleet-"))
    root.chmod(0o711)
    hosts = TestHosts(3, root=root)
    try:
        hosts.start()
    except SshdMissing as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(str(exc))
    powercap = tmp_path_factory.mktemp("powercap")
    zone = powercap / "intel-rapl:0"
    zone.mkdir()
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("123456789\n")
    (zone / "energy_uj").chmod(0o644)
    webhook = Webhook()
    fleet = Fleet(hosts, powercap, webhook)
    try:
        yield fleet
    finally:
        for proc in fleet.processes():  # a failed test must not leave services behind
            proc.kill()
        hosts.stop()
        webhook.close()
        shutil.rmtree(root, ignore_errors=True)


def test_deploy_makes_a_master_and_an_agent(fleet):
    """The first deploy: the master answers, the agent is online under its inventory name with its group label,
    services run as the ffwatt user from pid files under each prefix, RAPL counters are the ffwatt group's only."""
    run = run_playbook(fleet.inventory).check()
    assert set(run.recap) == {"m", "a1"}
    assert fleet.get("/health")
    a1 = fleet.nodes()["a1"]
    assert a1["status"] == "online" and a1["labels"] == {"group": "agents"}
    assert a1["inventory"]["ffwatt"] == "0.1.0"
    pids = fleet.service_pids()
    assert set(pids) == {
        "m/ffwatt-master",
        "m/ffwatt-rtmp",
        "m/ffwatt-victoriametrics",
        "m/ffwatt-vmalert",
        "m/ffwatt-alertmanager",
        "m/ffwatt-node-exporter",
        "a1/ffwatt-agent",
        "a1/ffwatt-node-exporter",
    }
    assert {psutil.Process(pid).username() for pid in pids.values()} == {"ffwatt"}
    stat_page = requests.get(f"http://127.0.0.11:{fleet.ports['ffwatt_rtmp_stat_port']}/stat", timeout=10)
    assert stat_page.status_code == 200 and "<rtmp>" in stat_page.text
    counter = os.stat(fleet.vars["common_powercap_root"] + "/intel-rapl:0/energy_uj")
    assert stat.S_IMODE(counter.st_mode) == 0o440 and counter.st_gid == grp.getgrnam("ffwatt").gr_gid
    env = fleet.hosts.prefix("m") / "etc" / "ffwatt-master.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o640 and fleet.vars["ffwatt_admin_token"] in env.read_text()


def test_adding_a_host_under_agents_adds_an_agent_and_changes_nothing_else(fleet):
    """Scale out: a2 joins the inventory's agents; the next deploy registers it, and on m only VictoriaMetrics' scrape
    configuration changes (re-read without a restart); a1 is unchanged and no service restarts."""
    fleet.groups["agents"].append("a2")
    fleet.hosts.write_inventory(fleet.groups, fleet.vars, fleet.inventory)
    before = fleet.service_pids()
    run = run_playbook(fleet.inventory).check()
    assert run.changed_tasks("m") == [
        "victoriametrics : Write the scrape configuration from the inventory",
        "victoriametrics : Reload the ffwatt VictoriaMetrics process",
    ], run.output[-4000:]
    assert run.changed()["a1"] == 0 and run.changed()["a2"] > 0
    nodes = fleet.nodes()
    assert {h for h, n in nodes.items() if n["status"] == "online"} == {"a1", "a2"}
    assert {k: v for k, v in fleet.service_pids().items() if not k.startswith("a2/")} == before


def test_a_second_deploy_changes_nothing(fleet):
    """Idempotence: deploying the same inventory again reports changed=0 on every host and restarts nothing."""
    before = fleet.service_pids()
    run = run_playbook(fleet.inventory).check()
    assert run.changed() == {"m": 0, "a1": 0, "a2": 0}
    assert fleet.service_pids() == before


def test_a_campaign_runs_on_both_agents(fleet, tmp_path):
    """`campaign run --inventory INV --deploy`: the deploy (through ansible-runner) changes nothing, the master and
    its token come from the inventory, the campaign pinned to the group "agents" succeeds on both hosts, and each
    result says which ffwatt measured it."""
    done = fleet.campaign(
        campaign_file(tmp_path / "both.yml", "both", 3),
        tmp_path / "reports",
        "--inventory",
        str(fleet.inventory),
        "--deploy",
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"master {fleet.url}" in output
    campaign_id = re.search(r"\(id (\S+)\)", output)[1]
    jobs = fleet.jobs(campaign_id)
    assert len(jobs) == 6 and {j["state"] for j in jobs} == {"succeeded"}
    by_id = {n["id"]: h for h, n in fleet.nodes().items()}
    assert {by_id[j["node_id"]] for j in jobs} == {"a1", "a2"}
    results = fleet.results(campaign_id)
    assert len(results) == 6
    assert {r["provenance"]["ffwatt_version"] for r in results} == {"0.1.0"}
    fleet.campaign_id = campaign_id


def test_victoriametrics_has_per_node_power_and_the_campaigns_results(fleet):
    """Every exporter of the inventory is scraped; each agent's energy counter gives its host's power; the master
    sent each of the campaign's six results with its labels."""
    up = fleet.wait_query("up", lambda r: len(r) == 9 and all(x["value"][1] == "1" for x in r))
    assert sorted((x["metric"]["job"], x["metric"]["host"]) for x in up) == [
        ("alertmanager", "m"),
        ("ffwatt-agent", "a1"),
        ("ffwatt-agent", "a2"),
        ("ffwatt-master", "m"),
        ("node", "a1"),
        ("node", "a2"),
        ("node", "m"),
        ("victoriametrics", "m"),
        ("vmalert", "m"),
    ]
    power = fleet.wait_query(
        'sum by (host) (rate(ffwatt_energy_joules_total{job="ffwatt-agent"}[1m]))', lambda r: len(r) == 2
    )
    assert {x["metric"]["host"] for x in power} == {"a1", "a2"}
    assert all(float(x["value"][1]) > 0 for x in power), power
    results = fleet.wait_query(
        f'last_over_time(ffwatt_result_joules_per_frame{{campaign_id="{fleet.campaign_id}"}}[1h])',
        lambda r: len(r) == 6,
    )
    assert {x["metric"]["node"] for x in results} == {"a1", "a2"}
    assert {x["metric"]["encoder"] for x in results} == {"libx264"}
    assert {x["metric"]["campaign"] for x in results} == {"both"}
    assert all(float(x["value"][1]) > 0 for x in results)


def test_every_dashboard_query_returns_data(fleet, tmp_path):
    """After a campaign whose encodes last long enough to be scraped mid-run (FFmpeg's fps, the running job, the
    watts in heartbeats), each panel query of every provisioned dashboard, run as Grafana would (a range query over
    the last half hour), returns at least one series. Samples take a moment to show in range queries: poll."""
    spec = yaml.safe_load(campaign_file(tmp_path / "long-encodes.yml", "long-encodes", 1).read_text())
    spec["scenarios"][0].update(
        {
            "input": {"content": "easy", "size": "1280x720", "rate": 30},
            "resolution": "1280x720",
            "duration": 10,
            "matrix": {"preset": ["medium", "slow"]},
        }
    )
    (tmp_path / "long-encodes.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    done = fleet.campaign(tmp_path / "long-encodes.yml", tmp_path / "reports")
    assert done.returncode == 0, done.stdout + done.stderr
    queries = panel_queries(ROOT / "roles" / "grafana" / "files" / "dashboards")
    assert len(queries) >= 10
    empty: list[str] = []

    def all_have_data():
        end = time.time()
        answers = query_all(fleet.vm_url, queries, start=end - 1800, end=end, step=15)
        empty[:] = [f"{q.dashboard} / {q.panel}: {q.expr}" for q, series in answers.items() if not series]
        return not empty

    try:
        wait_until(all_have_data, 90, "every dashboard panel to have data", interval=5)
    except AssertionError:
        raise AssertionError("panels without data:\n" + "\n".join(empty)) from None


def test_a_killed_agent_raises_the_alert_and_it_resolves_when_the_agent_returns(fleet):
    """SIGKILL a2's agent: its heartbeats stop, the master marks it offline, vmalert fires
    FfwattAgentMissingHeartbeats and Alertmanager posts it to the webhook; started again, the alert resolves."""
    since = len(fleet.webhook.alerts)
    pid = int((fleet.hosts.prefix("a2") / "run" / "ffwatt-agent.pid").read_text())
    os.kill(pid, 9)
    fired = fleet.webhook.wait("FfwattAgentMissingHeartbeats", "firing", since, hostname="a2")
    assert fired["labels"]["severity"] and "a2" in json.dumps(fired["annotations"])
    ctl = subprocess.run(
        [str(fleet.hosts.prefix("a2") / "bin" / "ffwattctl"), "start", "ffwatt-agent"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ctl.returncode == 0, ctl.stdout + ctl.stderr
    fleet.webhook.wait("FfwattAgentMissingHeartbeats", "resolved", since, hostname="a2")
    assert fleet.nodes()["a2"]["status"] == "online"


def test_upgrading_the_agents_during_a_campaign_loses_and_repeats_no_job(fleet, tmp_path):
    """upgrade.yml drains, upgrades and restarts one agent at a time while a campaign runs: every job succeeds at
    its first attempt, and both agents come back running the new version."""
    wheel = wheel_with_version("0.1.1", tmp_path)
    running = fleet.campaign(
        campaign_file(tmp_path / "long.yml", "long", 40, idle_baseline=3), tmp_path / "reports", background=True
    )
    try:
        deadline = time.monotonic() + 120
        while fleet.get("/jobs?state=running&limit=1")["total"] == 0:
            assert time.monotonic() < deadline and running.poll() is None, "the campaign did not start"
            time.sleep(0.5)
        run = run_playbook(
            fleet.inventory, "playbooks/upgrade.yml", "--limit", "agents", "-e", f"ffwatt_wheel={wheel}"
        ).check()
        still_running = running.poll() is None  # so both agents were upgraded while it ran
        running.wait(timeout=CAMPAIGN_TIMEOUT_S)
    finally:
        running.kill()
    output = (tmp_path / "long.out").read_text()
    assert running.returncode == 0, output
    assert still_running, f"the campaign ended before the upgrade did ({run.seconds:.0f} s): make it longer"
    assert run.changed()["a1"] > 0 and run.changed()["a2"] > 0
    campaign_id = re.search(r"\(id (\S+)\)", output)[1]
    jobs = fleet.jobs(campaign_id)
    assert len(jobs) == 80 and {j["state"] for j in jobs} == {"succeeded"}
    assert [j["name"] for j in jobs if j["attempt"] != 1] == []
    assert len(fleet.results(campaign_id)) == 80
    nodes = fleet.nodes()
    assert {h: (n["status"], n["draining"], n["inventory"]["ffwatt"]) for h, n in nodes.items()} == {
        "a1": ("online", False, "0.1.1"),
        "a2": ("online", False, "0.1.1"),
    }


def _report_files(reports: Path) -> dict[str, str]:
    """The files of the one report under ``reports``, with the time it was generated (which differs by design, and
    only that) taken out."""
    (report,) = reports.iterdir()  # <campaign>-<time of writing>
    generated_at = json.loads((report / "results.json").read_text())["generated_at"]
    assert generated_at
    return {
        path.name: path.read_text(errors="replace").replace(generated_at, "<generated_at>")
        for path in sorted(report.iterdir())
        if path.is_file()
    }


def test_backup_and_restore_bring_back_the_report_and_the_series_after_losing_the_master_host(fleet, tmp_path):
    """The drill: back up, purge m (master, its database, VictoriaMetrics' storage), deploy it afresh, restore: the
    first campaign's report regenerates identically and its series are back in VictoriaMetrics."""
    before = _report_files(fleet.report(fleet.campaign_id, tmp_path / "before"))
    assert any(name.endswith(".html") for name in before)
    backed_up_at = time.time()
    run_playbook(fleet.inventory, "playbooks/backup.yml", "-e", f"ffwatt_backup_dir={tmp_path / 'backups'}").check()
    (backup,) = (tmp_path / "backups").iterdir()
    assert (backup / "master" / "ffwatt.db").stat().st_size > 0
    assert (backup / "victoriametrics.tar.gz").stat().st_size > 0
    run_playbook(fleet.inventory, "playbooks/teardown.yml", "--limit", "m", "-e", "ffwatt_purge=true").check()
    assert not fleet.hosts.prefix("m").exists()
    run_playbook(fleet.inventory, "deploy.yml", "--limit", "m").check()
    assert fleet.get(f"/jobs?campaign={fleet.campaign_id}&limit=1")["total"] == 0  # a new, empty master
    run_playbook(fleet.inventory, "playbooks/restore.yml", "-e", f"ffwatt_restore_from={backup}").check()
    assert _report_files(fleet.report(fleet.campaign_id, tmp_path / "after")) == before
    results = fleet.wait_query(
        f'last_over_time(ffwatt_result_joules_per_frame{{campaign_id="{fleet.campaign_id}"}}[3h])',
        lambda r: len(r) == 6,
    )
    assert {x["metric"]["node"] for x in results} == {"a1", "a2"}
    power = fleet.query(
        'sum by (host) (rate(ffwatt_energy_joules_total{job="ffwatt-agent"}[1m]))', at=backed_up_at - 30
    )
    assert {x["metric"]["host"] for x in power} == {"a1", "a2"}  # scraped before the backup, restored
    wait_until(
        lambda: {h for h, n in fleet.nodes().items() if n["status"] == "online"} == {"a1", "a2"},
        60,
        "both agents back at the restored master",
    )


def test_teardown_stops_everything_and_keeps_the_results(fleet):
    """teardown.yml: no process of the fleet is left; the master's database stays (no ffwatt_purge)."""
    run_playbook(fleet.inventory, "playbooks/teardown.yml").check()
    assert fleet.processes() == []
    assert fleet.service_pids() == {}
    assert (fleet.hosts.prefix("m") / "state" / "master" / "ffwatt.db").is_file()
    assert not (fleet.hosts.prefix("a1") / "venv").exists()
