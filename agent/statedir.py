"""The agent's state directory: where it is by default, and the lock that keeps a second agent off it.

The state dir holds the node identity (node.json), the spool of unsent results and FFmpeg's work files; two agents
sharing one would take each other's node and results. By default it is per user and per node name:
``$XDG_STATE_HOME/ffwatt/agent-HOSTNAME``, else ``~/.local/state/ffwatt/agent-HOSTNAME``. An agent holds
``agent.lock`` in it exclusively for the life of its process (the pid of the holder is written in it), as the master
holds the lock next to its database.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO

LOCK_NAME = "agent.lock"
"""The lock file inside the state dir."""

DEFAULT_HELP = "$XDG_STATE_HOME/ffwatt/agent-HOSTNAME, else ~/.local/state/ffwatt/agent-HOSTNAME"
"""The default as ``--help`` shows it (HOSTNAME: --hostname)."""


class StateDirBusy(Exception):
    """Another agent holds the state dir; the message is the one line to show."""


def default_state_dir(hostname: str, environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/ffwatt/agent-<hostname>``, or under ``~/.local/state`` when XDG_STATE_HOME is unset (or not
    absolute, which the XDG spec says to ignore)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "ffwatt" / f"agent-{hostname}"


def lock_state_dir(state_dir: Path) -> IO:
    """Hold ``STATE_DIR/agent.lock`` exclusively for the life of this process, with our pid in it; StateDirBusy if
    another agent holds it. Keep the returned file open: closing it releases the lock."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    handle = open(path, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        pid = f"pid {holder}, " if holder.isdigit() else ""
        raise StateDirBusy(
            f"another agent is using state dir {state_dir} ({pid}it holds {path}); give this one its own --state-dir"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
