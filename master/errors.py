"""What can go wrong in the master, in its own words, and the one place that turns it into an HTTP answer.

The queue, the auth checks and the views raise the domain errors below; none of them knows an HTTP status.
:func:`init_app` registers the app-wide handlers: a domain error becomes its 4xx (:data:`STATUS`), an
``HTTPException`` (abort, werkzeug's 413, routing's 404/405) keeps its own, and anything else is a bug: its
traceback goes to the log under the request's id and the client gets ``{"error": "internal error", "status": 500,
"request_id": ...}`` and nothing more. Every answer carries ``X-Request-Id`` (a fresh one is this process's random
prefix
and a counter: no system call per request).
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("master.errors")

REQUEST_ID_HEADER = "X-Request-Id"
"""Header that carries the request's id, in and out; a 500's log entry and body name the same id."""

_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


class MasterError(Exception):
    """A request the master refuses for a reason it can name; ``message`` is what the client reads, ``extra`` more
    fields of the answer (``problems``: every problem of a body, when there are several)."""

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(MasterError):
    """A body or argument that cannot be used (400)."""


class Unauthenticated(MasterError):
    """No token, or one nobody holds (401)."""


class Forbidden(MasterError):
    """A valid token of a party that may not do this (403)."""


class NotFound(MasterError):
    """The job, node or campaign named does not exist (404)."""


class Conflict(MasterError):
    """Not possible in the current state (409)."""


class InvalidTransition(Conflict):
    """A job cannot move from its state to the one asked: cancel a finished job, retry a running one."""


class StaleResult(Conflict):
    """A result from an attempt or node that no longer holds the job; changes nothing."""


STATUS: dict[type[MasterError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
}
"""The HTTP status of each domain error (subclasses take their parent's)."""


def status_of(exc: MasterError) -> int:
    """The HTTP status ``exc`` answers with."""
    return next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)


def request_id() -> str:
    """This request's id: the client's ``X-Request-Id`` when it is short and plain, else a fresh one."""
    if "request_id" not in g:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _CLIENT_ID.fullmatch(given) else f"{_ID_PREFIX}-{next(_ID_COUNTER):x}"
    return g.request_id


def error_response(status: int, message: str, **extra) -> Response:
    """The JSON error every refusal answers with: ``{"error", "status", ...}``."""
    response = jsonify({"error": message, "status": status, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ffwatt"'
    return response


def _domain_error(exc: MasterError) -> Response:
    return error_response(status_of(exc), exc.message, **exc.extra)


def _http_error(exc: HTTPException) -> Response:
    response = error_response(exc.code or 500, exc.description or exc.name)
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value  # Allow on 405, Retry-After ...
    return response


def _unexpected(exc: Exception) -> Response:
    rid = request_id()
    log.error("request %s %s %s failed", rid, request.method, request.path, exc_info=exc)
    return error_response(500, "internal error", request_id=rid)


def _tag(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    return response


def init_app(app: Flask) -> None:
    """Register the handlers and the ``X-Request-Id`` header on ``app``."""
    app.register_error_handler(MasterError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.after_request(_tag)
