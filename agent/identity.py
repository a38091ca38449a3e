"""The agent's node identity (node id and token) kept in its state dir, so a restarted agent is the same node.

The master lets a hostname register again while its node is online only when the request carries that node's
current token (docs/DISTRIBUTED.md "Node identity"). The identity file holds it: ``STATE/node.json``, mode 0600,
replaced atomically after every registration. It records the master URL and hostname it belongs to and is presented
only to that master, for that hostname: a token is never sent anywhere else.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "node.json"
"""The identity file, in the agent's state dir."""

FILE_MODE = 0o600
"""Only the agent's user may read the node token."""


@dataclass(frozen=True)
class NodeIdentity:
    """Who this agent is at one master."""

    master: str
    hostname: str
    node_id: str
    node_token: str


class IdentityFile:
    """``STATE/node.json``: load the identity for a master and hostname, save it after each registration."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / FILE_NAME

    def load(self, master: str, hostname: str) -> NodeIdentity | None:
        """The saved identity when it belongs to ``master`` and ``hostname``; None otherwise (or unreadable)."""
        try:
            data = json.loads(self.path.read_text())
            found = NodeIdentity(**{key: str(data[key]) for key in ("master", "hostname", "node_id", "node_token")})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("node identity %s is unreadable (%s): registering without it", self.path, exc)
            return None
        if (found.master, found.hostname) != (master.rstrip("/"), hostname):
            log.info("node identity %s is for %s at %s: not presented here", self.path, found.hostname, found.master)
            return None
        return found

    def save(self, identity: NodeIdentity) -> None:
        """Write the identity durably (0600 temp file, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)  # an older temp file may have had another mode
            fh.write(json.dumps(asdict(identity)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
