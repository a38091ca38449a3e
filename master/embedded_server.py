"""Serve the master app in-process with waitress, from a background thread: the embedded default and tests.

The master service (``python -m master``) is served by gunicorn instead: see master/service.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from waitress import wasyncore
from waitress.server import create_server

WSGI_THREADS = 16
"""Waitress worker threads: long-polling agents each hold one while they wait."""

SHUTDOWN_TIMEOUT_S = 5.0
"""Longest wait for request threads (a long-poll, say) when an in-thread server stops."""


@dataclass
class RunningServer:
    """A waitress server started by :func:`start_in_thread`."""

    server: object
    thread: threading.Thread
    url: str

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listening socket and every open connection (kept-alive ones included, from the serving thread
        itself), then wait for the serving thread and the request threads to end."""
        if self.thread.is_alive():
            close = lambda: wasyncore.close_all(self.server._map, ignore_all=True)  # noqa: E731
            try:
                self.server.trigger.pull_trigger(close)
            except OSError:  # the loop already closed its trigger while ending: close what is left from here
                close()
            self.thread.join(timeout=timeout)
        self.server.task_dispatcher.shutdown(timeout=min(timeout, SHUTDOWN_TIMEOUT_S))


def build(app, host: str, port: int, threads: int = WSGI_THREADS):
    """A waitress server bound to host:port (port 0 picks a free one); raises OSError if the port is busy."""
    return create_server(
        app, host=host, port=port, threads=threads, ident="ffwatt-master", channel_timeout=120, cleanup_interval=10
    )


def start_in_thread(app, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``app`` from a daemon thread; the returned handle knows the real URL."""
    server = build(app, host, port)
    thread = threading.Thread(target=server.run, name="ffwatt-master-http", daemon=True)
    thread.start()
    return RunningServer(server=server, thread=thread, url=f"http://{host}:{server.effective_port}")
