"""The fleet: which node is live, and which node may run which job (docs/DISTRIBUTED.md "Scheduling").

A node's stored ``status`` is what it last declared (online, draining once drained, or offline when its agent said it
is stopping); whether it is still there is otherwise a matter of time: it is offline once ``missed_heartbeats`` of
its heartbeat intervals pass without a heartbeat, and online again at the next one (or at registration). A job's
``requirements`` (``encoder``, ``gpu``, ``labels``, ``targets``) are matched against the node's probed inventory and
labels; :func:`unmet` says in words what a node lacks, so a waiting job can say why it waits.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wire.states import NodeStatus

LIVENESS_COLUMNS = "id, hostname, status, last_heartbeat, current_watts, heartbeat_interval_s"
"""Columns of ``nodes`` that say whether a node is live (what :class:`Liveness` reads): never the (large) inventory."""

WILDCARD_TARGETS = frozenset({"local", "all", "any"})
"""Campaign targets that match every node."""


@dataclass(frozen=True)
class Liveness:
    """When a node counts as offline: ``missed_heartbeats`` intervals without a heartbeat."""

    heartbeat_interval_s: float = 30.0
    """Interval assumed for nodes that did not say theirs at registration."""
    missed_heartbeats: int = 3

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Liveness:
        """The app's HEARTBEAT_INTERVAL_S and MISSED_HEARTBEATS_OFFLINE."""
        return cls(float(config["HEARTBEAT_INTERVAL_S"]), int(config["MISSED_HEARTBEATS_OFFLINE"]))

    def offline_after_s(self, node: Mapping[str, Any]) -> float:
        """Seconds without a heartbeat after which ``node`` is offline."""
        own = node["heartbeat_interval_s"] if "heartbeat_interval_s" in node.keys() else None
        return self.missed_heartbeats * (own if own and own > 0 else self.heartbeat_interval_s)

    def status(self, node: Mapping[str, Any], now: float | None = None) -> NodeStatus:
        """Offline when the node said it is going offline, or its last heartbeat is too old (or never came); else the
        stored status."""
        now = time.time() if now is None else now
        last = node["last_heartbeat"]
        if node["status"] == NodeStatus.OFFLINE.value or last is None or now - last > self.offline_after_s(node):
            return NodeStatus.OFFLINE
        return NodeStatus.DRAINING if node["status"] == NodeStatus.DRAINING.value else NodeStatus.ONLINE

    def takes_work(self, node: Mapping[str, Any], now: float | None = None) -> bool:
        """Online and not draining."""
        return self.status(node, now) is NodeStatus.ONLINE


@dataclass(frozen=True)
class Capabilities:
    """What a node offers a job: usable encoders (with the probe's reason for the others), GPUs, labels."""

    hostname: str
    encoders: Mapping[str, Mapping[str, Any]]
    gpu: bool
    labels: Mapping[str, str]

    def usable(self, encoder: str) -> bool:
        entry = self.encoders.get(encoder)
        return isinstance(entry, Mapping) and entry.get("usable") is True

    def encoder_reason(self, encoder: str) -> str:
        """Why ``encoder`` is not usable here, as the node's probe said."""
        entry = self.encoders.get(encoder)
        if not isinstance(entry, Mapping):
            return "not in the node's inventory"
        return str(entry.get("reason") or "probe failed")

    def label_values(self, key: str) -> set[str]:
        """The values of label ``key``: one, or several for a label given more than once (``group=a,b``)."""
        value = self.labels.get(key)
        return {value, *value.split(",")} if isinstance(value, str) else set()

    def names(self) -> set[str]:
        """What ``targets`` may name: the hostname, its first DNS label, and every label value."""
        return {self.hostname, self.hostname.split(".", 1)[0], *(v for k in self.labels for v in self.label_values(k))}


@functools.lru_cache(maxsize=4096)
def _capabilities(hostname: str, inventory: str | None, labels: str | None) -> Capabilities:
    inv = json.loads(inventory) if inventory else {}
    inv = inv if isinstance(inv, dict) else {}
    encoders = inv.get("encoders") if isinstance(inv.get("encoders"), dict) else {}
    lab = json.loads(labels) if labels else {}
    return Capabilities(hostname, encoders, bool(inv.get("gpus")), lab if isinstance(lab, dict) else {})


def capabilities(node: Mapping[str, Any]) -> Capabilities:
    """The node row's capabilities (parsed once per distinct inventory)."""
    return _capabilities(node["hostname"], node["inventory"], node["labels"])


def online(conn, liveness: Liveness, now: float | None = None) -> list[Capabilities]:
    """Capabilities of every node that takes work now (online, not draining), by hostname."""
    now = time.time() if now is None else now
    return [
        capabilities(n) for n in conn.execute("SELECT * FROM nodes ORDER BY hostname") if liveness.takes_work(n, now)
    ]


@functools.lru_cache(maxsize=4096)
def parse_requirements(text: str | None) -> dict[str, Any]:
    """A job's ``requirements`` column as a dict (cached: the column holds few distinct values)."""
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {}


def canonical(requirements: Mapping[str, Any] | None) -> str:
    """Requirements as stored: sorted keys, so equal sets share one index key."""
    return json.dumps(dict(requirements or {}), sort_keys=True, separators=(",", ":"))


def unmet(requirements: Mapping[str, Any], caps: Capabilities) -> list[str]:
    """What the node lacks, each as the end of "no online node ...": [] when it can run the job."""
    lacks = []
    encoder = requirements.get("encoder")
    if encoder and not caps.usable(encoder):
        lacks.append(f"has usable encoder {encoder}")
    if requirements.get("gpu") and not caps.gpu:
        lacks.append("has a GPU")
    labels = requirements.get("labels")
    for key, value in sorted(labels.items() if isinstance(labels, Mapping) else ()):
        if value not in caps.label_values(key):
            lacks.append(f"has label {key}={value}")
    targets = requirements.get("targets")
    targets = [str(t) for t in targets] if isinstance(targets, list) else []
    if targets and not WILDCARD_TARGETS.intersection(targets) and not caps.names().intersection(targets):
        lacks.append(f"matches targets {', '.join(targets)}")
    return lacks


def can_run(requirements: Mapping[str, Any], caps: Capabilities) -> bool:
    """True when the node meets every requirement."""
    return not unmet(requirements, caps)


def waiting_reason(requirements: Mapping[str, Any], fleet: Iterable[Capabilities]) -> str | None:
    """Why no node of ``fleet`` (the online ones) can run a job with these requirements; None if one can."""
    fleet = list(fleet)
    if not fleet:
        return "no node is online"
    lacks = [unmet(requirements, caps) for caps in fleet]
    if any(not lack for lack in lacks):
        return None
    common = [item for item in lacks[0] if all(item in lack for lack in lacks[1:])]
    if common:
        return "no online node " + " or ".join(common)
    detail = "; ".join(f"{caps.hostname} lacks: {', '.join(lack)}" for caps, lack in zip(fleet, lacks))
    return f"no online node meets every requirement ({detail})"


def failure_message(requirements: Mapping[str, Any], fleet: Iterable[Capabilities]) -> str:
    """The error of a job failed because no online node can run it (the FAIL_UNRUNNABLE policy)."""
    fleet = list(fleet)
    encoder = requirements.get("encoder")
    if encoder and fleet and not any(caps.usable(encoder) for caps in fleet):
        why = "; ".join(f"{caps.hostname}: {caps.encoder_reason(encoder)}" for caps in fleet[:3])
        return f"encoder unavailable: {encoder} ({why})"
    return f"unrunnable: {waiting_reason(requirements, fleet)}"
