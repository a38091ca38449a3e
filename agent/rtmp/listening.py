"""When a child is ready: it listens on its loopback port (read from the OS, never by connecting), and free ports."""

from __future__ import annotations

import socket
import threading
import time

import psutil

from agent.process import Child

START_TIMEOUT_S = 10.0
"""Longest wait for an ingest or a listener to listen (nginx alone retries a busy port for 2.5 s)."""

LISTEN_ADDRESSES = ("127.0.0.1", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1")
"""Local addresses a loopback listener may be bound to (IPv4 and IPv6)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` itself holds a TCP socket listening on ``port`` at a loopback or wildcard address,
    IPv4 or IPv6 (``psutil.Process.net_connections``); None when the OS cannot tell (no /proc, access denied)."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    except (psutil.Error, OSError, NotImplementedError):
        return None
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.laddr.ip in LISTEN_ADDRESSES
        for c in connections
    )


def wait_listening(
    child: Child, port: int, timeout_s: float = START_TIMEOUT_S, cancel: threading.Event | None = None
) -> str | None:
    """Wait until ``child`` itself listens on loopback ``port`` (IPv4 or IPv6). None when it does; else why not
    ("exited",
    "timeout" or "cancelled").

    Readiness is read from the OS (:func:`listens_on`: the child's own listening socket), never by connecting:
    FFmpeg's ``-listen`` server takes exactly one connection, and a port another process holds would answer a probe.
    Where the OS cannot tell, the child being alive 0.5 s after start is taken as ready.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if child.exited():
            return "exited"
        listening = listens_on(child.pid, port)
        if listening is None:
            if time.monotonic() - child.started >= 0.5:
                return None
        elif listening:
            return None
        if cancel is not None and cancel.is_set():
            return "cancelled"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(0.02)
