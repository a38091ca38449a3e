"""The ``campaign run`` progress line shows the phase an agent's heartbeat reports, ``preparing source`` included
(the source is rendered before the measured window). Real Flask client, real SQLite."""

from __future__ import annotations

from master.cli.follow import status_line
from tests.master.api.test_result_schema import claim


def test_preparing_source_phase_reaches_the_progress_line(client, node, make_campaign, admin):
    """A heartbeat's ``phase: preparing source`` is in GET /campaigns/ID's running job and in the status line."""
    campaign_id = make_campaign(1)
    a = node("a")
    job = claim(client, a)
    beat = {
        "watts": 12.5,
        "job_id": job["id"],
        "held_jobs": [job["id"]],
        "progress": {"job_id": job["id"], "phase": "preparing source"},
    }
    assert client.post(f"/nodes/{a.id}/heartbeat", json=beat, headers=a.headers).status_code == 200
    campaign = client.get(f"/campaigns/{campaign_id}", headers=admin).get_json()
    assert campaign["running"][0]["progress"]["phase"] == "preparing source"
    assert status_line(campaign) == f"{job['name']}  preparing source  12.5 W"
