"""nginx with the RTMP module: finding it (:func:`find_nginx`) and running it as the agent's ingest
(:class:`NginxIngest`)."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from agent.process import Child, run_process, start_process
from agent.rtmp.ingest import APPLICATION, IngestError, PullingIngest
from agent.rtmp.listening import START_TIMEOUT_S, free_port, wait_listening

ENV_NGINX = "FFWATT_NGINX"
ENV_RTMP_MODULE = "FFWATT_NGINX_RTMP_MODULE"

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
"""Where nginx is looked for when it is not on PATH."""

RTMP_MODULE_CANDIDATES = (
    "/usr/lib/nginx/modules/ngx_rtmp_module.so",  # Debian, Ubuntu (libnginx-mod-rtmp)
    "/usr/lib64/nginx/modules/ngx_rtmp_module.so",  # Fedora, RHEL
    "/usr/share/nginx/modules/ngx_rtmp_module.so",
    "/usr/lib/nginx/modules/ngx_rtmp_module.so.0",
    "/usr/local/nginx/modules/ngx_rtmp_module.so",
    "/usr/local/lib/nginx/modules/ngx_rtmp_module.so",
)
"""Where the dynamic RTMP module is looked for (after nginx's own ``--modules-path``)."""

STOP_GRACE_S = 3.0
"""Seconds between SIGTERM and SIGKILL when an ingest is stopped."""


@dataclass(frozen=True)
class NginxInstall:
    """An nginx binary and its RTMP module (``module`` None: built in, no ``load_module`` needed)."""

    binary: str
    module: str | None


def _nginx_build_info(binary: str) -> str:
    """``nginx -V``'s output (its configure arguments), empty when it cannot run."""
    lines: list[str] = []
    try:
        outcome = run_process([binary, "-V"], timeout_s=10, on_stdout_line=lines.append)
    except OSError:
        return ""
    return "\n".join(lines + outcome.stderr_tail)


def find_nginx(binary: str | None = None, module: str | None = None) -> tuple[NginxInstall | None, str | None]:
    """The nginx to run and its RTMP module, or None and why not.

    ``binary``/``module`` (else ``$FFWATT_NGINX``/``$FFWATT_NGINX_RTMP_MODULE``) are taken as given: a named module
    that does not load makes nginx fail to start, with nginx's own reason. Otherwise nginx is looked up on PATH and in
    :data:`NGINX_CANDIDATES`, and the module in nginx's ``--modules-path`` and :data:`RTMP_MODULE_CANDIDATES`; an
    nginx built with the module (``--add-module=...rtmp...``) needs none.
    """
    binary = (
        binary
        or os.environ.get(ENV_NGINX)
        or shutil.which("nginx")
        or next((c for c in NGINX_CANDIDATES if os.access(c, os.X_OK)), None)
    )
    if not binary or not os.access(binary, os.X_OK):
        return None, f"nginx is not installed ({binary or 'not on PATH nor in ' + ', '.join(NGINX_CANDIDATES)})"
    module = module or os.environ.get(ENV_RTMP_MODULE)
    if module:
        if not os.path.exists(module):
            return None, f"nginx RTMP module not found at {module}"
        return NginxInstall(binary, module), None
    info = _nginx_build_info(binary)
    if re.search(r"--add-module=\S*rtmp", info):
        return NginxInstall(binary, None), None
    candidates = list(RTMP_MODULE_CANDIDATES)
    match = re.search(r"--modules-path=(\S+)", info)
    if match:
        candidates.insert(0, os.path.join(match.group(1), "ngx_rtmp_module.so"))
    found = next((c for c in candidates if os.path.isfile(c)), None)
    if found is None:
        return None, f"nginx has no RTMP module (looked for {', '.join(candidates)}; Debian: libnginx-mod-rtmp)"
    return NginxInstall(binary, found), None


class NginxIngest(PullingIngest):
    """nginx-rtmp started by the agent on a loopback port (see the module docstring). Use as a context manager."""

    kind = "nginx"

    def __init__(
        self,
        ffmpeg_path: str,
        workdir: Path,
        install: NginxInstall,
        port: int | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
        cancel: threading.Event | None = None,
    ) -> None:
        super().__init__(ffmpeg_path)
        self.install = install
        self.port = port or free_port()
        self.dir = Path(workdir).absolute() / f"nginx-rtmp-{self.port}-{os.getpid()}-{time.monotonic_ns()}"
        self.conf = self.dir / "nginx.conf"
        self.error_log = self.dir / "error.log"
        self.base_url = f"rtmp://127.0.0.1:{self.port}/{APPLICATION}"
        self.child: Child | None = None
        self._start(start_timeout_s, cancel)
        self.notes.append(
            f"ingest: nginx-rtmp ({install.binary}, module {install.module or 'built in'}) on "
            f"127.0.0.1:{self.port}, started by the agent"
        )

    def config(self) -> str:
        """The nginx config: everything nginx writes lives in :attr:`dir`."""
        d = self.dir
        load = f"load_module {self.install.module};\n" if self.install.module else ""
        return (
            f"{load}daemon off;\nmaster_process on;\nworker_processes 1;\npid {d / 'nginx.pid'};\n"
            f"error_log {self.error_log} warn;\n"
            "events { worker_connections 1024; }\n"
            "rtmp {\n  server {\n"
            f"    listen 127.0.0.1:{self.port};\n    chunk_size 4096;\n"
            f"    application {APPLICATION} {{\n      live on;\n      record off;\n"
            "      allow publish 127.0.0.1;\n      deny publish all;\n      allow play 127.0.0.1;\n"
            "      deny play all;\n    }\n  }\n}\n"
        )

    def _start(self, timeout_s: float, cancel: threading.Event | None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.config())
        argv = [self.install.binary, "-p", f"{self.dir}/", "-c", str(self.conf), "-e", str(self.error_log)]
        try:
            self.child = start_process(argv, cwd=str(self.dir))
        except OSError as exc:
            raise IngestError(f"nginx failed to start: {exc}") from exc
        why = wait_listening(self.child, self.port, timeout_s, cancel)
        if why is None:
            return
        self.close()
        if why == "cancelled":
            raise IngestError("cancelled while nginx was starting")
        detail = self._error_lines() or "no error logged"
        if why == "timeout":
            raise IngestError(f"nginx did not listen on 127.0.0.1:{self.port} within {timeout_s:g} s: {detail}")
        raise IngestError(f"nginx failed to start on 127.0.0.1:{self.port}: {detail}")

    def _error_lines(self) -> str:
        lines: list[str] = []
        try:
            lines += self.error_log.read_text(errors="replace").splitlines()
        except OSError:
            pass
        if self.child is not None:
            lines += self.child.tail
        seen: list[str] = []
        for line in lines:
            if not re.search(r"\[(emerg|alert|crit|error)\]", line):
                continue
            line = re.sub(r"^.*?\[(emerg|alert|crit|error)\] (\d+#\d+: )?", "", line).strip()
            if line and line not in seen:
                seen.append(line)
        return "; ".join(seen[-3:])

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None

    def close(self) -> None:
        """Stop nginx by its process group (SIGTERM, SIGKILL after a grace period) and reap it."""
        if self.child is not None:
            self.child.stop(grace_s=STOP_GRACE_S)
            self.child.finish()
