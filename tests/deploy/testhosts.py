"""Loopback ssh test hosts for Ansible: one real sshd per address 127.0.0.11, 127.0.0.12, ..., and an inventory.

Why: the deploy tests run real playbooks over real ssh, and DESIGN.md allows traffic to loopback addresses only. Each
host has its own host key, port, pid file, log and install prefix (``ffwatt_prefix``), so hosts sharing this machine
share no ffwatt files; one user key logs in as root on all of them.

Each sshd runs in the foreground (``-D``) as a child of the test process, in a session of its own, and is killed by
the kernel if the test process dies first (PR_SET_PDEATHSIG): a daemonized sshd would be orphaned to a PID 1 that may
never reap it. ``stop()`` signals the pid in its PidFile and the pids of its connection processes (each sshd
connection runs in a session of its own), never a process name, and waits with a timeout before SIGKILL.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from tests.integration.procs import _die_with_parent, free_port, signal_pids, tree_pids

SSHD = Path("/usr/sbin/sshd")
"""The OpenSSH server (Debian package openssh-server, which ``make test`` installs)."""

PRIVSEP_DIR = Path("/run/sshd")
"""The privilege separation directory sshd refuses to start without."""

FIRST_HOST = 11
"""Host number i (0-based) listens on 127.0.0.(FIRST_HOST + i): 127.0.0.10 is the integration tests' master."""

START_TIMEOUT_S = 10.0
"""Longest wait for a started sshd to write its pid file and accept a TCP connection."""

STOP_TIMEOUT_S = 10.0
"""Longest wait for sshd and its connection processes to exit after SIGTERM before they are killed."""

START_ATTEMPTS = 3
"""How often a host's start is tried with a new port when another process took the chosen port meanwhile."""

SSH_COMMON_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
"""Host keys are new on every run: ssh neither checks nor records them."""

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
"""An inventory host name that is also safe as a directory name (each host's prefix)."""

SSHD_CONFIG = """\
ListenAddress {address}:{port}
HostKey {hostkey}
PidFile {pidfile}
AuthorizedKeysFile {authorized_keys}
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
Subsystem sftp internal-sftp
LogLevel VERBOSE
"""


class SshdMissing(RuntimeError):
    """No sshd binary: the test hosts cannot exist here (the fixture skips, naming the package)."""


class SshdFailed(RuntimeError):
    """An sshd did not come up in time or exited; the message quotes its log."""


def ansible_command(name: str = "ansible") -> str:
    """The path of an Ansible command (ansible, ansible-playbook, ...) installed beside this Python (the venv)."""
    return str(Path(sys.executable).parent / name)


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Ansible against test hosts: no host key checking, no colours in captured output."""
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.update(extra or {})
    return env


def port_bindable(address: str, port: int) -> bool:
    """Whether this process could listen on ``address:port`` now (sshd sets SO_REUSEADDR, so this check does too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def accepts(address: str, port: int) -> bool:
    """Whether a TCP connection to ``address:port`` is accepted now."""
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for a parent that may never reap it counts as dead)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def keygen(path: Path, comment: str) -> Path:
    """A new ed25519 key pair without passphrase at ``path`` and ``path.pub``; returns ``path``."""
    subprocess.run(
        ["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path


@dataclass
class TestHost:
    """One loopback host: its sshd's address, port, files and process."""

    __test__ = False  # a helper, not a pytest test class

    index: int
    address: str
    port: int
    dir: Path
    sshd: Path = SSHD
    popen: subprocess.Popen | None = None

    @property
    def config(self) -> Path:
        return self.dir / "sshd_config"

    @property
    def pidfile(self) -> Path:
        return self.dir / "sshd.pid"

    @property
    def logfile(self) -> Path:
        return self.dir / "sshd.log"

    @property
    def hostkey(self) -> Path:
        return self.dir / "ssh_host_ed25519_key"

    def prepare(self, authorized_keys: Path) -> None:
        """Write this host's key (once) and its sshd config for its current port."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.hostkey.exists():
            keygen(self.hostkey, f"host {self.address}")
        self.config.write_text(
            SSHD_CONFIG.format(
                address=self.address,
                port=self.port,
                hostkey=self.hostkey,
                pidfile=self.pidfile,
                authorized_keys=authorized_keys,
            )
        )

    def start(self) -> None:
        """Start sshd in the foreground, in its own session, dying with this process."""
        self.pidfile.unlink(missing_ok=True)
        self.popen = subprocess.Popen(
            [str(self.sshd), "-D", "-f", str(self.config), "-E", str(self.logfile)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def pid(self) -> int | None:
        """The pid sshd wrote to its PidFile (written once it listens), or None before that."""
        try:
            return int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def ready(self) -> bool:
        """Whether our sshd wrote its pid file and its port accepts connections; SshdFailed once it exited."""
        if self.popen is None or self.popen.poll() is not None:
            code = None if self.popen is None else self.popen.returncode
            raise SshdFailed(f"sshd for {self.address}:{self.port} exited with {code}\n{self.log()}")
        return self.pid() == self.popen.pid and accepts(self.address, self.port)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Wait until ``ready()``; SshdFailed quoting the log on exit or timeout."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise SshdFailed(
                    f"sshd for {self.address}:{self.port} not accepting connections after "
                    f"{timeout:g} s (log {self.logfile})\n{self.log()}"
                )
            time.sleep(0.05)

    def bind_failed(self) -> bool:
        """Whether sshd exited because its port was taken (another process won the race after our check)."""
        exited = self.popen is not None and self.popen.poll() is not None
        return exited and ("Cannot bind any address" in self.log() or "Address already in use" in self.log())

    def pids(self) -> list[int]:
        """Live pids of this host: the listening sshd (the pid in its PidFile) and its connection processes.

        Only a pid file naming our own unreaped child counts, so a stale file never names someone else's process.
        """
        if self.popen is None or self.popen.poll() is not None:
            return []
        pid = self.pid() or self.popen.pid
        return [p for p in tree_pids(pid) if alive(p)] if pid == self.popen.pid else [self.popen.pid]

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM sshd (by its PidFile) and its connection processes, wait up to ``timeout``, SIGKILL what is left."""
        pids = self.pids()
        signal_pids(pids, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        signal_pids([p for p in pids if alive(p)], signal.SIGKILL)
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
        if self.popen is not None:
            self.popen.wait(timeout=timeout)

    def log(self, tail: int = 4000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return "(no sshd log)"


class TestHosts:
    """``count`` loopback ssh hosts under ``root`` (a new temp dir, removed on stop, when None); a context manager.

    ``write_inventory`` maps inventory names to hosts, ``add_host`` starts one more (scale-out) and rewrites the
    inventory; ``stop`` may be called any number of times.
    """

    __test__ = False  # a helper, not a pytest test class

    def __init__(
        self,
        count: int,
        root: Path | None = None,
        sshd: Path = SSHD,
        start_timeout: float = START_TIMEOUT_S,
        stop_timeout: float = STOP_TIMEOUT_S,
    ) -> None:
        if count < 0 or FIRST_HOST + count > 255:
            raise ValueError(f"{count} test hosts do not fit in 127.0.0.{FIRST_HOST}..127.0.0.254")
        self.count = count
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="ffwatt-hosts-")) if root is None else Path(root)
        self.sshd = Path(sshd)
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.hosts: list[TestHost] = []
        self.names: dict[str, TestHost] = {}
        self.inventory: Path | None = None
        self._groups: dict[str, list[str]] = {}
        self._extra_vars: dict = {}

    def __enter__(self) -> TestHosts:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def user_key(self) -> Path:
        """The private key that logs in as root on every host."""
        return self.root / "ssh" / "id_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.root / "ssh" / "authorized_keys"

    def start(self) -> TestHosts:
        """Check for sshd, make the user key, start ``count`` hosts and wait until each accepts connections."""
        if not (self.sshd.is_file() and os.access(self.sshd, os.X_OK)):
            raise SshdMissing(f"{self.sshd} not found: the ssh test hosts need the Debian package openssh-server")
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.authorized_keys.parent.mkdir(parents=True, exist_ok=True)
        if not self.user_key.exists():
            keygen(self.user_key, "ffwatt test hosts")
            shutil.copyfile(self.user_key.with_suffix(".pub"), self.authorized_keys)
        while len(self.hosts) < self.count:
            self._start_next()
        return self

    def _start_next(self) -> TestHost:
        """Start the host on the next address: port 22 when free there, else a free port; retried on a lost race."""
        index = len(self.hosts)
        address = f"127.0.0.{FIRST_HOST + index}"
        host = TestHost(index, address, 22, self.root / "sshd" / address, self.sshd)
        self.hosts.append(host)  # so that stop() reaches it whatever happens below
        for attempt in range(START_ATTEMPTS):
            host.port = 22 if attempt == 0 and port_bindable(address, 22) else free_port(address)
            host.prepare(self.authorized_keys)
            host.start()
            try:
                host.wait_ready(self.start_timeout)
                return host
            except SshdFailed:
                if not host.bind_failed() or attempt == START_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def add_host(self, group: str | None = None, name: str | None = None) -> TestHost:
        """Start one more host (scale-out); with ``name``, add it to ``group`` and rewrite the inventory if written."""
        if FIRST_HOST + len(self.hosts) + 1 > 255:
            raise ValueError("no loopback address left for another test host")
        self.count = len(self.hosts) + 1
        host = self._start_next()
        if name is not None:
            _check_name(name)
            if name in self.names:
                raise ValueError(f"inventory host name {name!r} is already {self.names[name].address}")
            self.names[name] = host
            self._groups.setdefault(group or "ungrouped", []).append(name)
            if self.inventory is not None:
                self.write_inventory(self._groups, self._extra_vars, self.inventory)
        return host

    def prefix(self, name: str) -> Path:
        """The install prefix (``ffwatt_prefix``) of the host named ``name``: its own directory under root."""
        return self.root / "hosts" / name

    def host_vars(self, name: str) -> dict:
        """The inventory variables that reach host ``name`` over ssh as root with the test user key."""
        host = self.names[name]
        return {
            "ansible_host": host.address,
            "ansible_port": host.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.user_key),
            "ansible_ssh_common_args": SSH_COMMON_ARGS,
            "ansible_python_interpreter": "/usr/bin/python3",
            "ffwatt_prefix": str(self.prefix(name)),
        }

    def write_inventory(
        self, groups: dict[str, list[str]], extra_vars: dict | None = None, path: Path | None = None
    ) -> Path:
        """Write a YAML inventory: ``groups`` of host names, ``extra_vars`` for all; returns its path.

        A name keeps the host it was given before; a new name takes the first host no name has, in order.
        """
        self._assign([name for members in groups.values() for name in members])
        self._groups = {group: list(members) for group, members in groups.items()}
        self._extra_vars = dict(extra_vars or {})
        used = list(dict.fromkeys(name for members in groups.values() for name in members))
        document = {
            "all": {
                "vars": self._extra_vars,
                "hosts": {name: self.host_vars(name) for name in used},
                "children": {group: {"hosts": {name: {} for name in members}} for group, members in groups.items()},
            }
        }
        self.inventory = Path(path) if path is not None else self.root / "inventory.yml"
        self.inventory.write_text(yaml.safe_dump(document, sort_keys=False))
        return self.inventory

    def _assign(self, names: list[str]) -> None:
        """Give each new name the first host that has no name yet; ValueError when hosts run out."""
        free = [host for host in self.hosts if host not in self.names.values()]
        for name in dict.fromkeys(names):
            _check_name(name)
            if name in self.names:
                continue
            if not free:
                raise ValueError(
                    f"no test host left for {name!r}: {len(self.hosts)} started, names taken: "
                    f"{', '.join(self.names)}; start more or use add_host()"
                )
            self.names[name] = free.pop(0)

    def pids(self) -> list[int]:
        """Live pids of every host's sshd and connection processes."""
        return [pid for host in self.hosts for pid in host.pids()]

    def stop(self) -> None:
        """Stop every sshd (see ``TestHost.stop``); safe to call again; removes root only if it made it."""
        for host in self.hosts:
            host.stop(self.stop_timeout)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a usable inventory host name (letters, digits, '_', '.', '-')")
