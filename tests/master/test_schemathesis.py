"""Schemathesis against the master's own /openapi.json: no operation answers a 5xx, whatever it is sent.

Stateless: every operation of the document, on an app with tokens, each request carrying the token its operation
names (node routes pinned to a registered node so they get past the token check). Stateful: sequences of calls
linked by the ids earlier answers gave, on an INSECURE app seeded with a node and a campaign before each sequence.
Both are bounded (few examples, no shrinking) to stay well under a minute on two slow cores.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from master import db, queue
from master.app import create_app
from tests.master.conftest import ADMIN_TOKEN, ENROLLMENT_TOKEN, LIBX264, bearer, job_spec

CONFIG = {"phases": {"examples": {"enabled": False}}, "generation": {"max-examples": 10}}
"""Schemathesis' own settings: its coverage phase (boundary values) and fuzzing, 10 examples an operation."""

BOUNDED = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


def _app(tmp_path, **config):
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "ffwatt.db"),
            "REQUEUE_CHECK_S": 0.05,
            "ENROLLMENT_TOKEN": ENROLLMENT_TOKEN,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            **config,
        }
    )


def _secured() -> tuple[schemathesis.BaseSchema, str, str]:
    """(schema, node id, node token) of an app with tokens and one registered node, built at import: schemathesis
    collects one test per operation from it (its fixture-based loader fails on this pytest)."""
    app = _app(Path(_STATE.name))
    answer = (
        app.test_client()
        .post(
            "/nodes/register",
            json={"hostname": "schemathesis-node", "inventory": LIBX264},
            headers=bearer(ENROLLMENT_TOKEN),
        )
        .get_json()
    )
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config), answer["node_id"], answer["node_token"]


_STATE = tempfile.TemporaryDirectory(prefix="ffwatt-schemathesis-")
schema, NODE_ID, NODE_TOKEN = _secured()


def _no_waiting(case) -> None:
    """A long-poll answers at once: ``?wait=`` is always 0 (its bounds have their own tests)."""
    if case.query and "wait" in case.query:
        case.query["wait"] = "0"


def _authorize(case, node_id: str, node_token: str) -> dict[str, str]:
    """The headers with the token the operation's ``security`` names; node routes aimed at our node."""
    names = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
    if "nodeToken" in names:
        if case.path_parameters and "node_id" in case.path_parameters:
            case.path_parameters["node_id"] = node_id
        if case.query is not None and "node_id" in case.query:
            case.query["node_id"] = node_id
        if isinstance(case.body, dict) and "node_id" in case.body:
            case.body["node_id"] = node_id
        return bearer(node_token)
    tokens = {"adminToken": ADMIN_TOKEN, "enrollmentToken": ENROLLMENT_TOKEN}
    return next((bearer(tokens[name]) for name in names if name in tokens), {})


@schema.parametrize()
@BOUNDED
def test_no_operation_answers_a_server_error(case):
    """Every operation, with generated (also invalid) arguments and bodies and the right token: never a 5xx."""
    _no_waiting(case)
    response = case.call(headers=_authorize(case, NODE_ID, NODE_TOKEN))
    case.validate_response(response, checks=[not_a_server_error])


def _seed(conn) -> None:
    """Start each sequence from the same state: one node that can run libx264, a campaign of two jobs."""
    with db.write(conn):
        for table in ("job_events", "results", "jobs", "campaigns", "nodes"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute(
            "INSERT INTO nodes (id, hostname, inventory, labels, status, registered_at, last_heartbeat)"
            " VALUES ('n-seed', 'seed', ?, '{}', 'online', ?, ?)",
            (db.dumps(LIBX264), time.time(), time.time()),
        )
    queue.create_campaign(
        conn,
        name="seed",
        description="",
        spec_text="name: seed",
        spec_path=None,
        jobs=[job_spec("a#1", encoder="libx264"), job_spec("b#1", encoder="libx264")],
    )


def test_no_sequence_of_calls_answers_a_server_error(tmp_path):
    """Stateful: register, submit, claim, heartbeat, report, cancel, retry, drain, delete in generated orders."""
    app = _app(tmp_path, INSECURE=True)
    stateful = schemathesis.openapi.from_wsgi(
        "/openapi.json", app, config=schemathesis.Config.from_dict({"generation": {"mode": "positive"}})
    )
    conn = db.connect(app.config["DATABASE"])

    class Sequences(stateful.as_state_machine()):
        def setup(self) -> None:
            _seed(conn)

        def before_call(self, case) -> None:
            _no_waiting(case)

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            case.validate_response(response, checks=[not_a_server_error])

    try:
        Sequences.run(settings=settings(BOUNDED, max_examples=30, stateful_step_count=10))
    finally:
        conn.close()
