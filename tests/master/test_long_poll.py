"""The long-poll's cost while nothing changes: a waiting claimer looks at the queue once, not every re-check."""

from __future__ import annotations

from master import db


def test_a_waiting_long_poll_does_not_claim_again_until_woken(app, client, node):
    """Over a 1 s wait with a 0.05 s re-check and an unchanged queue, the claim's queries run once (the first look),
    not 20 times; the periodic check for expired leases still runs."""
    n = node()
    with app.app_context():
        conn = db.connections(app).get()  # this thread's connection: the one the request below reuses
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        resp = client.get(f"/jobs/next?node_id={n.id}&wait=1", headers=n.headers)
    finally:
        conn.set_trace_callback(None)
    assert resp.get_json() == {"job": None}
    claims = [s for s in statements if "SELECT COUNT(*) FROM jobs WHERE node_id" in s]
    lease_checks = [s for s in statements if "lease_expires <" in s]
    assert len(claims) == 1, len(claims)
    assert len(lease_checks) >= 5
