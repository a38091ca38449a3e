"""What a client of the master makes of a failed call, one vocabulary for the agent (agent/client.py) and the
``campaign`` CLI (master/cli/api.py): :class:`RequestFailed` holds the HTTP status (0 when no answer came), the
master's ``error`` text and its ``problems`` (a 400 names every problem of a body), and says whether trying again
may help (:attr:`RequestFailed.unreachable`) or the token is refused (:attr:`RequestFailed.auth`); :func:`error_of`
reads an error answer's body, whatever its shape.
"""

from __future__ import annotations

from typing import Any

ERROR_TEXT_MAX = 200
"""Characters of a non-JSON error body kept as the error's text."""


class RequestFailed(Exception):
    """A call to the master failed: ``status`` is the answer's HTTP status, 0 when none came; ``message`` says why;
    ``problems`` lists the master's problems with the request's body, when it named them."""

    def __init__(self, message: str, status: int = 0, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.problems = list(problems or [])

    @property
    def unreachable(self) -> bool:
        """No answer, or a server-side error: trying again later may help."""
        return self.status == 0 or self.status >= 500

    @property
    def auth(self) -> bool:
        """The master does not accept the token (unknown, rotated, or another party's)."""
        return self.status in (401, 403)


def error_of(body: Any, text: str, reason: str) -> tuple[str, list[str]]:
    """(error text, problems) of an error answer: its JSON ``error`` and ``problems`` when ``body`` is an object,
    else the start of its raw ``text``, else the HTTP ``reason``."""
    if isinstance(body, dict):
        problems = body.get("problems")
        return str(body.get("error") or reason or "error"), [str(p) for p in problems] if isinstance(
            problems, list
        ) else []
    return (text or "").strip()[:ERROR_TEXT_MAX] or reason or "error", []
