"""Names of the environment variables both sides read (each one also a command-line flag)."""

from __future__ import annotations

ENROLLMENT_TOKEN_ENV = "FFWATT_ENROLLMENT_TOKEN"
"""The token an agent registers with (``--enrollment-token``): the master checks it, the agent sends it."""

ADMIN_TOKEN_ENV = "FFWATT_ADMIN_TOKEN"
"""The admin token (``--admin-token`` of the master, ``--token`` of the ``campaign`` command): submit, cancel, drain."""
