"""One error vocabulary for both clients of the master (wire/errors.py): the agent's MasterClient and the campaign
CLI's MasterApi read the same refused call the same way, against a real master."""

from __future__ import annotations

import pytest

from agent.client import MasterClient, MasterError
from master.app import create_app
from master.cli.api import ApiError, MasterApi
from master.embedded_server import start_in_thread
from tests.integration.procs import free_port
from wire.errors import RequestFailed, error_of

ADMIN = "admin-e"


@pytest.fixture
def master_url(tmp_path):
    server = start_in_thread(create_app({"DATABASE": str(tmp_path / "e.db"), "ADMIN_TOKEN": ADMIN}))
    yield server.url
    server.stop()


def test_error_of_reads_any_body():
    """A JSON object gives its error and problems; raw text its start; nothing the HTTP reason."""
    assert error_of({"error": "spec_text: invalid", "problems": ["a: 1", 2]}, "", "Bad Request") == (
        "spec_text: invalid",
        ["a: 1", "2"],
    )
    assert error_of(None, "  <html>proxy error</html>\n", "Bad Gateway") == ("<html>proxy error</html>", [])
    assert error_of(["not", "an", "object"], "", "Bad Request") == ("Bad Request", [])
    assert error_of(None, "", "") == ("error", [])


def test_both_clients_read_a_refused_campaign_alike(master_url):
    """An invalid campaign (400 with its problems) and a wrong token (401) come out of both clients as a
    RequestFailed with the same status, problems and flags."""
    body = {"spec_text": "name: x\nscenarios: nope\n"}
    with pytest.raises(MasterError) as from_agent:
        MasterClient(master_url)._call("POST", "/campaigns", json=body, token=ADMIN)
    with pytest.raises(ApiError) as from_cli:
        MasterApi(master_url, token=ADMIN).call("POST", "/campaigns", json=body)
    for exc in (from_agent.value, from_cli.value):
        assert isinstance(exc, RequestFailed)
        assert exc.status == 400 and not exc.unreachable and not exc.auth
        assert exc.problems and any("scenarios" in p for p in exc.problems), exc.problems
    assert from_agent.value.problems == from_cli.value.problems
    with pytest.raises(ApiError) as refused:
        MasterApi(master_url, token="wrong").call("POST", "/campaigns", json=body)
    assert refused.value.status == 401 and refused.value.auth


def test_no_answer_is_status_0_for_both():
    """Nothing listening: status 0, unreachable, for both clients."""
    url = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    with pytest.raises(MasterError) as from_agent:
        MasterClient(url, timeout_s=2).register("n", {})
    with pytest.raises(ApiError) as from_cli:
        MasterApi(url, timeout_s=2).call("GET", "/campaigns")
    assert from_agent.value.status == from_cli.value.status == 0
    assert from_agent.value.unreachable and from_cli.value.unreachable
