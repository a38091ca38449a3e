"""docs/DISTRIBUTED.md "The API's routes" lists exactly the API the real app serves: every documented route (method
and path) is in the app's /openapi.json, and every API route there is documented, with a token column that matches
the route's security requirement. The web UI's pages (``/``, ``/ui/...``) are for browsers and left out on purpose."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "DISTRIBUTED.md"
SECTION = "## The API's routes"
ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE)`\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|\s*(.+?)\s*\|\s*$")
TOKEN_OF_SCHEME = {"adminToken": "admin", "enrollmentToken": "enrollment", "nodeToken": "that node's"}
"""The doc's token column for each OpenAPI security scheme; no security requirement is "anyone"."""


def is_web_ui(path: str) -> bool:
    return path == "/" or path == "/ui" or path.startswith("/ui/")


def documented_routes() -> dict[tuple[str, str], str]:
    text = DOC.read_text()
    assert SECTION in text, f"{DOC} has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1]
    body = body.split("\n## ", 1)[0]
    routes: dict[tuple[str, str], str] = {}
    for line in body.splitlines():
        match = ROW.match(line)
        if match:
            method, path, token, what = match.groups()
            assert what.strip(), f"{method} {path}: no description"
            assert (method, path) not in routes, f"{method} {path} documented twice"
            routes[(method, path)] = token.strip()
    assert routes, f"no route rows found in {SECTION!r}"
    return routes


def api_routes(client) -> dict[tuple[str, str], str]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    routes = {}
    for path, operations in answer.get_json()["paths"].items():
        if is_web_ui(path):
            continue
        for method, operation in operations.items():
            schemes = [name for requirement in operation.get("security") or [] for name in requirement]
            token = TOKEN_OF_SCHEME[schemes[0]] if schemes else "anyone"
            routes[(method.upper(), path)] = token
    return routes


def test_every_documented_route_exists(client):
    served = api_routes(client)
    missing = sorted(set(documented_routes()) - set(served))
    assert not missing, f"documented in {DOC.name} but not served by the app: {missing}"


def test_every_api_route_is_documented(client):
    documented = documented_routes()
    undocumented = sorted(set(api_routes(client)) - set(documented))
    assert not undocumented, f"served by the app but missing from {DOC.name} {SECTION!r}: {undocumented}"


def test_documented_tokens_match_the_apps_security(client):
    served = api_routes(client)
    wrong = {
        route: (token, served[route])
        for route, token in documented_routes().items()
        if route in served and token != served[route]
    }
    assert not wrong, f"token column (documented, app): {wrong}"


def test_the_app_serves_web_ui_pages_the_doc_leaves_out(client):
    """The exclusion is not a blind spot: the UI routes exist, and the API list holds none of them."""
    paths = client.get("/openapi.json").get_json()["paths"]
    assert any(is_web_ui(path) for path in paths)
    assert not any(is_web_ui(path) for _, path in documented_routes())
