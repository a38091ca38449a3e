"""GET /openapi.json describes every route, with the very schemas the API validates against."""

from __future__ import annotations

import re

import jsonschema
import pytest

from master import openapi
from master.api import campaigns, jobs, nodes, results


@pytest.fixture
def doc(client):
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_flask_rule_is_described(app, doc):
    """Each rule of app.url_map (static files aside), with each of its methods, is in the document."""
    assert doc["openapi"] == "3.1.0"
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"].get(_path(rule.rule), {}), (rule.rule, method)


def test_request_schemas_are_the_validating_ones(doc):
    """Request bodies are exactly the schemas the blueprints validate with."""
    bodies = {
        ("/nodes/register", "post"): nodes.REGISTER_SCHEMA,
        ("/nodes/{node_id}/heartbeat", "post"): nodes.HEARTBEAT_SCHEMA,
        ("/nodes/{node_id}/drain", "post"): nodes.DRAIN_SCHEMA,
        ("/jobs", "post"): jobs.SUBMIT_SCHEMA,
        ("/results", "post"): results.RESULT_SCHEMA,
        ("/campaigns", "post"): campaigns.SUBMIT_SCHEMA,
    }
    for (path, method), schema in bodies.items():
        got = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert got == schema, path


def test_security_follows_the_token_table(doc):
    """Admin, node and enrollment routes name their token; reads name none."""
    security = {(p, m): op.get("security") for p, ops in doc["paths"].items() for m, op in ops.items()}
    assert security[("/jobs", "post")] == [{"adminToken": []}]
    assert security[("/nodes/{node_id}", "delete")] == [{"adminToken": []}]
    assert security[("/jobs/next", "get")] == [{"nodeToken": []}]
    assert security[("/results", "post")] == [{"nodeToken": []}]
    assert security[("/nodes/register", "post")] == [{"enrollmentToken": []}]
    assert security[("/jobs", "get")] is None and security[("/health", "get")] is None


def test_every_ref_resolves_and_schemas_are_valid(doc):
    """Every $ref points at a component schema, and every component is a valid JSON Schema 2020-12."""
    refs = re.findall(r'"\$ref": "#/components/schemas/([A-Za-z]+)"', str(doc).replace("'", '"'))
    assert refs and set(refs) <= set(doc["components"]["schemas"])
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def _validate(instance, name):
    schema = {**openapi.SCHEMAS[name], "components": {"schemas": openapi.SCHEMAS}}
    jsonschema.Draft202012Validator(schema).validate(instance)


def test_response_shapes_match_real_answers(client, node, make_campaign, admin):
    """Real answers validate against the documented Job, Node, Claim, progress and registration shapes."""
    cid = make_campaign(2)
    n = node()
    claim = client.get(f"/jobs/next?node_id={n.id}", headers=n.headers).get_json()
    _validate(claim, "Claim")
    _validate(client.get(f"/jobs/{claim['job']['id']}").get_json(), "Job")
    _validate(client.get(f"/jobs/{claim['job']['id']}/logs").get_json(), "JobLogs")
    _validate(client.get("/nodes").get_json(), "NodeList")
    _validate(client.get(f"/campaigns/{cid}").get_json(), "CampaignProgress")
    _validate(client.post("/jobs", json={"scenario": "720p-h264"}, headers=admin).get_json(), "Submitted")
    with pytest.raises(jsonschema.ValidationError):
        _validate({"job": {"id": "j"}}, "Claim")


def test_errors_are_documented(doc):
    """Admin routes document 401/403, bodies 400/413, ids 404."""
    drain = doc["paths"]["/nodes/{node_id}/drain"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "413"} <= set(drain)
    assert drain["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_creation_statuses(doc):
    """Submissions document 201; registration documents 201 (new node) and 200 (reused)."""
    assert "201" in doc["paths"]["/jobs"]["post"]["responses"]
    assert "201" in doc["paths"]["/campaigns"]["post"]["responses"]
    assert {"200", "201"} <= set(doc["paths"]["/nodes/register"]["post"]["responses"])
