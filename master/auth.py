"""Who may call what: ``Authorization: Bearer TOKEN`` checked per docs/DISTRIBUTED.md "Tokens".

Three parties hold tokens: the admin (ADMIN_TOKEN), agents that have not registered yet (ENROLLMENT_TOKEN) and each
registered node (its own token, issued by ``POST /nodes/register``; only its SHA-256 hex is stored). A route guarded
here answers 401 when the token is missing or unknown, 403 when it is valid but belongs to another party (raised as
:class:`~master.errors.Unauthenticated` and :class:`~master.errors.Forbidden`), always before the body is read. With
``INSECURE`` set no route checks anything. Tokens are compared in constant time (``hmac.compare_digest``).

The decorators also mark the view (``view.auth_party``) so the OpenAPI document can say which token a route needs.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request

from master import db
from master.errors import Forbidden, Unauthenticated

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


def _unauthorized(wanted: str) -> Unauthenticated:
    return Unauthenticated(
        f"authorization: this route needs the {wanted} token (Authorization: Bearer TOKEN);"
        " none or an unknown one was given"
    )


def _forbidden(node_id: str | None, party: str, wanted: str) -> Forbidden:
    holder = f"node {node_id}" if node_id else f"the {party}"
    return Forbidden(f"authorization: this token belongs to {holder}; this route needs {wanted}")


def _checked(party: str, check: Callable[..., None]) -> Callable:
    """Decorator factory: run ``check(**view_args)`` unless INSECURE; it raises to refuse the call."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any):
            if not current_app.config.get("INSECURE"):
                check(**kwargs)
            return view(*args, **kwargs)

        guarded.auth_party = party
        return guarded

    return decorate


def _require_party(party: str) -> Callable:
    def check(**_kwargs: Any) -> None:
        token = bearer_token()
        found, node_id = token_party(token) if token is not None else (None, None)
        if found is None:
            raise _unauthorized(party)
        if found != party:
            raise _forbidden(node_id, found, f"the {party} token")

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
    return None  # "body": compared by check_body_node once the body is parsed


def require_node(node_id_from: str | Callable[[dict], str | None] = "path") -> Callable:
    """Decorator: the token of the node the request is about, read from ``node_id_from``.

    ``"path"`` (the ``node_id`` URL part), ``"query"`` (``?node_id=``), ``"body"`` (the JSON body's ``node_id``) or
    a callable given the view's arguments. The token is checked first, from the headers alone: a request without a
    node's token is refused before a byte of its body is read. With ``"body"`` the body's ``node_id`` is compared
    by :func:`check_body_node` when the view parses it (master/api/bodies.py). When the request names no node the
    token must still be some node's; the view then refuses the request itself (400). The authenticated node id is
    left in ``g.node_id``.
    """

    def check(**view_args: Any) -> None:
        token = bearer_token()
        party, node_id = token_party(token) if token is not None else (None, None)
        if party is None:
            raise _unauthorized(NODE)
        wanted = _node_id(node_id_from, view_args)
        if party != NODE or (wanted is not None and wanted != node_id):
            raise _forbidden(node_id, party, f"the token of node {wanted}" if wanted else "a node's token")
        g.node_id = node_id
        g.body_node_id = node_id if node_id_from == "body" else None

    return _checked(NODE, check)


def check_body_node(body: Any) -> None:
    """Refuse (403) a parsed body whose ``node_id`` is not the node whose token authenticated it, when the route
    reads its node from the body (``require_node("body")``); nothing otherwise."""
    expected = g.get("body_node_id")
    if expected is None or not isinstance(body, dict):
        return
    named = body.get("node_id")
    if isinstance(named, str) and named != expected:
        raise _forbidden(expected, NODE, f"the token of node {named}")
