"""The RTMP ingests on loopback: real nginx-rtmp started from a generated config, FFmpeg's own listener, receivers
counting frames, and how each fails (busy port, a module that does not load, missing nginx)."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from agent.ffmpeg.live import live_argv
from agent.rtmp import (
    ENV_NGINX,
    ENV_RTMP_MODULE,
    IngestError,
    ListenIngest,
    NginxIngest,
    find_nginx,
    free_port,
    open_ingest,
)

FFMPEG = "/usr/bin/ffmpeg"
NGINX, NO_NGINX = find_nginx()
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason=f"nginx-rtmp unavailable: {NO_NGINX} (Debian: apt-get install nginx libnginx-mod-rtmp)"
)
needs_ffmpeg = pytest.mark.skipif(not os.access(FFMPEG, os.X_OK), reason="no /usr/bin/ffmpeg")

PARAMS = {
    "input": {"type": "lavfi", "source": "testsrc2", "size": "320x180", "rate": 30},
    "encoder": "libx264",
    "preset": "ultrafast",
    "bitrate": "200k",
    "resolution": None,
    "fps": None,
    "duration": 1.5,
    "gop": 1,
    "audio": True,
}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie nobody reaped is gone too
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def _push(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(live_argv(FFMPEG, PARAMS, url), capture_output=True, text=True, timeout=30)


@pytest.fixture
def busy_port():
    """A loopback port some other socket listens on."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_find_nginx_reports_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_RTMP_MODULE, raising=False)
    install, why = find_nginx(binary=str(tmp_path / "no-nginx"))
    assert install is None and "nginx is not installed" in why
    if NGINX is not None:
        install, why = find_nginx(binary=NGINX.binary, module=str(tmp_path / "missing.so"))
        assert install is None and "RTMP module not found" in why


@needs_nginx
def test_find_nginx_finds_the_debian_module():
    assert NGINX.module is None or os.path.isfile(NGINX.module)
    assert os.access(NGINX.binary, os.X_OK)


@needs_nginx
@needs_ffmpeg
def test_nginx_ingest_receives_a_stream_and_stops(tmp_path):
    """nginx starts from a config in the work dir on a loopback port, a puller counts every frame pushed, and closing
    the ingest stops nginx's whole process group."""
    with open_ingest("nginx", FFMPEG, tmp_path) as ingest:
        assert isinstance(ingest, NginxIngest)
        pid = ingest.pid
        conf = ingest.conf.read_text()
        assert ingest.conf.parent.parent == tmp_path
        assert "daemon off;" in conf and f"listen 127.0.0.1:{ingest.port};" in conf
        assert f"pid {ingest.dir / 'nginx.pid'};" in conf and "load_module" in conf
        receiver = ingest.receiver("stream-a", PARAMS["duration"])
        assert receiver.publish_url == f"rtmp://127.0.0.1:{ingest.port}/live/stream-a"
        push = _push(receiver.publish_url)
        assert push.returncode == 0, push.stderr
        sent = int([line for line in push.stdout.splitlines() if line.startswith("frame=")][-1][6:])
        got = receiver.finish(sent)
        assert sent == 45 and got.frames == sent
        assert _alive(pid)
    assert not _alive(pid)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", ingest.port), timeout=2).close()


@needs_nginx
def test_nginx_on_a_busy_port_fails_with_the_reason(tmp_path, busy_port):
    t0 = time.monotonic()
    with pytest.raises(IngestError, match=r"nginx failed to start on 127.0.0.1:\d+: .*Address already in use"):
        with open_ingest("nginx", FFMPEG, tmp_path, port=busy_port):
            pass
    assert time.monotonic() - t0 < 15


@needs_nginx
def test_a_module_that_does_not_load_fails_nginx(tmp_path, monkeypatch):
    """A broken module path: nginx exits at once and its own error is the reason (no fallback: it is installed)."""
    broken = tmp_path / "ngx_rtmp_module.so"
    broken.write_text("not a shared object\n")
    monkeypatch.setenv(ENV_RTMP_MODULE, str(broken))
    with pytest.raises(IngestError, match=r"nginx failed to start .*dlopen\(\).*ngx_rtmp_module.so"):
        with open_ingest("auto", FFMPEG, tmp_path):
            pass


def test_missing_nginx_with_ingest_nginx_fails(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_NGINX, str(tmp_path / "nginx"))
    with pytest.raises(IngestError, match="ingest nginx asked for but unavailable: nginx is not installed"):
        with open_ingest("nginx", FFMPEG, tmp_path):
            pass


def test_missing_nginx_with_ingest_auto_uses_the_listener(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_NGINX, str(tmp_path / "nginx"))
    with open_ingest("auto", FFMPEG, tmp_path) as ingest:
        assert isinstance(ingest, ListenIngest)
        assert any("nginx is not installed" in note for note in ingest.notes)


def test_unknown_ingest_mode(tmp_path):
    with pytest.raises(IngestError, match="unknown ingest"):
        with open_ingest("srt", FFMPEG, tmp_path):
            pass


@needs_ffmpeg
def test_listener_receives_a_stream(tmp_path):
    """FFmpeg's own listener is ready (listening) before the pusher starts, and counts every frame itself."""
    with open_ingest("listen", FFMPEG, tmp_path) as ingest:
        receiver = ingest.receiver("k", PARAMS["duration"])
        push = _push(receiver.publish_url)
        assert push.returncode == 0, push.stderr
        got = receiver.finish(45)
        assert got.frames == 45


@needs_ffmpeg
def test_listener_on_a_busy_port_fails(busy_port):
    with pytest.raises(IngestError, match=r"listener failed to start on 127.0.0.1:\d+"):
        ListenIngest(FFMPEG, port=busy_port).receiver("k", 1.0)


@needs_ffmpeg
def test_receiver_that_gets_nothing_is_stopped(tmp_path):
    """A receiver whose pusher never comes is stopped after its grace period with 0 frames; nothing hangs."""
    with open_ingest("listen", FFMPEG, tmp_path) as ingest:
        receiver = ingest.receiver("k", 1.0)
        t0 = time.monotonic()
        got = receiver.finish(None, grace_s=0.3)
        assert got.frames == 0 and time.monotonic() - t0 < 5
        assert not _alive(receiver.child.pid)


def test_free_port_is_loopback_and_free():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


LISTENER = (
    "import socket, sys, time\ns = socket.socket(int(sys.argv[1]))\ns.bind((sys.argv[2], int(sys.argv[3])))\n"
    "s.listen()\ntime.sleep(30)\n"
)


@pytest.mark.parametrize("family, address", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_wait_listening_reads_the_childs_own_socket(family, address):
    """A child is ready once it listens on the port itself, on IPv4 or IPv6 loopback; one that never listens times
    out, and a port held by another process (this test) does not make the child ready."""
    import sys

    from agent.process import start_process
    from agent.rtmp import wait_listening

    try:
        with socket.socket(family) as probe:
            probe.bind((address, 0))
    except OSError:
        pytest.skip(f"no {address} on this host")
    port = free_port()
    listener = start_process([sys.executable, "-c", LISTENER, str(int(family)), address, str(port)])
    idle = start_process([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert wait_listening(listener, port, timeout_s=10) is None
        assert wait_listening(idle, port, timeout_s=0.3) == "timeout"
    finally:
        for child in (listener, idle):
            child.stop(grace_s=0.5)
            child.finish()
