"""Who may call what: ``Authorization: Bearer TOKEN`` checked per docs/DISTRIBUTED.md "Tokens".

Three parties hold tokens: the admin (ADMIN_TOKEN), agents that have not registered yet (ENROLLMENT_TOKEN) and each
registered node (its own token, issued by ``POST /nodes/register``; only its SHA-256 hex is stored). A route guarded
here answers 401 when the token is missing or unknown, 403 when it is valid but belongs to another party. With
``INSECURE`` set no route checks anything. Tokens are compared in constant time (``hmac.compare_digest``).

The decorators also mark the view (``view.auth_party``) so the OpenAPI document can say which token a route needs.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from typing import Any, Callable

from flask import Response, current_app, g, jsonify, request

from master import db

ADMIN, ENROLLMENT, NODE = "admin", "enrollment", "node"
"""The parties a token can belong to."""

NODE_TOKEN_BYTES = 32
"""Random bytes in a node token (``secrets.token_urlsafe``)."""


def new_node_token() -> str:
    """A fresh random node token."""
    return secrets.token_urlsafe(NODE_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 hex the nodes table stores instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token() -> str | None:
    """The request's bearer token; None when the header is missing or is not ``Bearer <token>``."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _same(token: str, configured: str | None) -> bool:
    return bool(configured) and hmac.compare_digest(token.encode(), str(configured).encode())


def token_party(token: str) -> tuple[str | None, str | None]:
    """(party, node id) the token belongs to: (ADMIN, None), (ENROLLMENT, None), (NODE, id) or (None, None)."""
    if _same(token, current_app.config.get("ADMIN_TOKEN")):
        return ADMIN, None
    if _same(token, current_app.config.get("ENROLLMENT_TOKEN")):
        return ENROLLMENT, None
    row = db.get_db().execute("SELECT id, token_hash FROM nodes WHERE token_hash = ?", (hash_token(token),)).fetchone()
    if row is not None and hmac.compare_digest(row["token_hash"], hash_token(token)):
        return NODE, row["id"]
    return None, None


def _refuse(status: int, message: str) -> Response:
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ffwatt"'
    return response


def _unauthorized(wanted: str) -> Response:
    return _refuse(401, f"authorization: this route needs the {wanted} token (Authorization: Bearer TOKEN);"
                        " none or an unknown one was given")


def _checked(party: str, check: Callable[..., Response | None]) -> Callable:
    """Decorator factory: run ``check(**view_args)`` unless INSECURE; a Response it returns refuses the call."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any):
            if not current_app.config.get("INSECURE"):
                refused = check(**kwargs)
                if refused is not None:
                    return refused
            return view(*args, **kwargs)
        guarded.auth_party = party
        return guarded
    return decorate


def _require_party(party: str) -> Callable:
    def check(**_kwargs: Any) -> Response | None:
        token = bearer_token()
        if token is None:
            return _unauthorized(party)
        found, node_id = token_party(token)
        if found == party:
            return None
        if found is None:
            return _unauthorized(party)
        holder = f"node {node_id}" if node_id else f"the {found}"
        return _refuse(403, f"authorization: this token belongs to {holder}; this route needs the {party} token")
    return _checked(party, check)


require_admin = _require_party(ADMIN)
"""Decorator: the admin token only (submit, cancel, retry, drain, delete)."""

require_enrollment = _require_party(ENROLLMENT)
"""Decorator: the enrollment token only (POST /nodes/register)."""


def _node_id(source: str | Callable[[dict], str | None], view_args: dict) -> str | None:
    if callable(source):
        return source(view_args)
    if source == "path":
        return view_args.get("node_id")
    if source == "query":
        return request.args.get("node_id")
    body = request.get_json(silent=True)
    value = body.get("node_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def require_node(node_id_from: str | Callable[[dict], str | None] = "path") -> Callable:
    """Decorator: the token of the node the request is about, read from ``node_id_from``.

    ``"path"`` (the ``node_id`` URL part), ``"query"`` (``?node_id=``), ``"body"`` (the JSON body's ``node_id``) or
    a callable given the view's arguments. When the request names no node the token must still be some node's; the
    view then refuses the request itself (400). The authenticated node id is left in ``g.node_id``.
    """
    def check(**view_args: Any) -> Response | None:
        token = bearer_token()
        if token is None:
            return _unauthorized(NODE)
        wanted = _node_id(node_id_from, view_args)
        party, node_id = token_party(token)
        if party is None:
            return _unauthorized(NODE)
        if party == NODE and (wanted is None or wanted == node_id):
            g.node_id = node_id
            return None
        holder = f"node {node_id}" if node_id else f"the {party}"
        return _refuse(403, f"authorization: this token belongs to {holder}; this route needs the token of node"
                            f" {wanted}")
    return _checked(NODE, check)
