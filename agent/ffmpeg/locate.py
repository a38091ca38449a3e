"""Find the FFmpeg binary the agent runs, and say where it came from.

Order (first usable wins, and the choice is recorded in :attr:`FFmpegBinary.source`):

1. ``FFWATT_FFMPEG`` (a path, or a name looked up on ``PATH``): explicit, so it is used whatever its version, and an
   unusable one is an error rather than a silent fallback.
2. ``ffmpeg`` on ``PATH`` when it is FFmpeg 5 or newer (a git build whose version has no number counts when its
   libavcodec is 59 or newer, the FFmpeg 5.0 one).
3. The static binary shipped in the ``imageio-ffmpeg`` wheel, with the same version rule.

Detection is cached per (``FFWATT_FFMPEG``, ``PATH``); :func:`clear_ffmpeg_cache` forgets it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from agent.process import run_process

ENV_VAR = "FFWATT_FFMPEG"
"""Environment variable naming the FFmpeg binary to use, bypassing detection."""

MIN_MAJOR = 5
"""Oldest FFmpeg major version picked up from PATH or the wheel."""

MIN_LIBAVCODEC_MAJOR = 59
"""libavcodec major of FFmpeg 5.0: the version rule for builds whose version string carries no number."""

VERSION_TIMEOUT_S = 15.0
"""Seconds ``ffmpeg -version`` may take before the binary counts as unusable."""

FIX_HINT = (
    "install one (Debian/Ubuntu: apt install ffmpeg), or pip install imageio-ffmpeg, "
    f"or point {ENV_VAR} at an ffmpeg binary"
)

_VERSION_LINE = re.compile(r"^\S*ffmpeg version (\S+)", re.MULTILINE)
_MAJOR = re.compile(r"^n?(\d+)\.\d+")
_LIBAVCODEC = re.compile(r"^libavcodec\s+(\d+)\.", re.MULTILINE)


class FFmpegNotFound(RuntimeError):
    """No usable FFmpeg: the message lists every candidate tried and how to get one."""


@dataclass(frozen=True)
class FFmpegBinary:
    """One FFmpeg executable and what it reported about itself."""

    path: str
    version: str
    major: int | None
    source: str
    """Where it was found: "env", "system" or "imageio-ffmpeg"."""
    configuration: str
    """The raw ``configuration:`` line of ``ffmpeg -version`` (the ./configure arguments)."""

    @property
    def configure_flags(self) -> list[str]:
        """The configuration as a list of flags, e.g. ``["--enable-gpl", "--enable-libx264", ...]``."""
        try:
            return shlex.split(self.configuration)
        except ValueError:
            return self.configuration.split()

    def as_dict(self) -> dict:
        """Plain data for inventories and results."""
        return {
            "path": self.path,
            "version": self.version,
            "major": self.major,
            "source": self.source,
            "configuration": self.configure_flags,
        }


def parse_version(text: str) -> tuple[str | None, int | None]:
    """From ``ffmpeg -version`` output: (version string, major).

    "5.1.9-0+deb12u1" -> 5, "n7.1" -> 7, "n9.0.2-17-g2a..." -> 9; git snapshots ("N-113911-g...", "2024-01-01-git-...",
    "git-2024-...") -> major None.
    """
    match = _VERSION_LINE.search(text)
    if match is None:
        return None, None
    version = match.group(1)
    major = _MAJOR.match(version)
    return version, int(major.group(1)) if major else None


def parse_configuration(text: str) -> str:
    """The text after ``configuration:`` in ``ffmpeg -version`` output ("" when absent)."""
    for line in text.splitlines():
        if line.startswith("configuration:"):
            return line.partition(":")[2].strip()
    return ""


def libavcodec_major(text: str) -> int | None:
    """libavcodec's major version from ``ffmpeg -version`` output (59 is FFmpeg 5.x, 60 is 6.x, ...)."""
    match = _LIBAVCODEC.search(text)
    return int(match.group(1)) if match else None


def capture_stdout(argv: list[str], timeout_s: float) -> tuple[int | None, str, list[str]]:
    """Run a short query (``-version``, ``-encoders``) through the process-group runner.

    Returns (exit code or None when it could not run / timed out, stdout text, stderr tail).
    """
    lines: list[str] = []
    try:
        outcome = run_process(argv, timeout_s=timeout_s, on_stdout_line=lines.append)
    except OSError as exc:
        return None, "", [str(exc)]
    code = None if outcome.timed_out else outcome.returncode
    return code, "\n".join(lines), outcome.stderr_tail


def version_text(path: str) -> str:
    """Stdout of ``path -version``; raises ValueError with a short reason when it cannot run or fails."""
    code, text, tail = capture_stdout([path, "-version"], VERSION_TIMEOUT_S)
    if code is None:
        raise ValueError(f"could not run it ({tail[-1] if tail else 'timed out'})")
    if code != 0:
        raise ValueError(f"'-version' exited with code {code}")
    return text


def binary_from_version_text(path: str, source: str, text: str) -> FFmpegBinary:
    """Describe the binary from its ``-version`` output; ValueError when the output is not FFmpeg's."""
    version, major = parse_version(text)
    if version is None:
        raise ValueError("'-version' printed no 'ffmpeg version' line")
    return FFmpegBinary(path, version, major, source, parse_configuration(text))


def probe_binary(path: str, source: str) -> FFmpegBinary:
    """Run ``path -version`` and describe the binary; ValueError with a short reason when it is not a usable FFmpeg."""
    return binary_from_version_text(path, source, version_text(path))


def is_recent(binary: FFmpegBinary, text: str) -> bool:
    """True when ``binary`` is FFmpeg >= :data:`MIN_MAJOR`; a build without a version number is judged by the
    libavcodec major in its ``-version`` output ``text`` (and accepted when even that is missing)."""
    if binary.major is not None:
        return binary.major >= MIN_MAJOR
    lavc = libavcodec_major(text)
    return lavc is None or lavc >= MIN_LIBAVCODEC_MAJOR


def _from_env(value: str, env: Mapping[str, str]) -> FFmpegBinary:
    path = value if os.sep in value else shutil.which(value, path=env.get("PATH", ""))
    if path is None or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise FFmpegNotFound(f"{ENV_VAR}={value!r} is not an executable file; fix or unset {ENV_VAR}")
    try:
        return probe_binary(path, "env")
    except ValueError as exc:
        raise FFmpegNotFound(f"{ENV_VAR}={value!r} is not usable: {exc}; fix or unset {ENV_VAR}") from None


def _candidate(path: str, source: str, tried: list[str]) -> FFmpegBinary | None:
    try:
        text = version_text(path)
        binary = binary_from_version_text(path, source, text)
    except ValueError as exc:
        tried.append(f"{source} {path}: {exc}")
        return None
    if not is_recent(binary, text):
        tried.append(f"{source} {path}: version {binary.version} is older than {MIN_MAJOR}")
        return None
    return binary


def _wheel_path(env: Mapping[str, str], tried: list[str]) -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        tried.append("imageio-ffmpeg: the package is not installed")
        return None
    try:
        path = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        tried.append(f"imageio-ffmpeg: no binary ({exc})")
        return None
    # Without its own binary the wheel falls back to a bare "ffmpeg": resolve it on *our* PATH, not the process's.
    resolved = path if os.sep in path else shutil.which(path, path=env.get("PATH", ""))
    if resolved is None:
        tried.append(f"imageio-ffmpeg: it named {path!r}, which is not on PATH")
    return resolved


def _detect(env: Mapping[str, str]) -> FFmpegBinary:
    tried: list[str] = []
    explicit = env.get(ENV_VAR)
    if explicit:
        return _from_env(explicit, env)
    system = shutil.which("ffmpeg", path=env.get("PATH", ""))
    if system is None:
        tried.append("system: no 'ffmpeg' on PATH")
    elif (found := _candidate(system, "system", tried)) is not None:
        return found
    wheel = _wheel_path(env, tried)
    if wheel is not None and (found := _candidate(wheel, "imageio-ffmpeg", tried)) is not None:
        return found
    raise FFmpegNotFound(f"no usable FFmpeg >= {MIN_MAJOR}; tried: " + "; ".join(tried) + f". To fix: {FIX_HINT}.")


_cache: dict[tuple[str | None, str | None], FFmpegBinary] = {}
_cache_lock = threading.Lock()


def find_ffmpeg(env: Mapping[str, str] = os.environ) -> FFmpegBinary:
    """The FFmpeg to use, detected once per (``FFWATT_FFMPEG``, ``PATH``). Raises :class:`FFmpegNotFound`."""
    key = (env.get(ENV_VAR), env.get("PATH"))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _detect(env)
        return _cache[key]


def clear_ffmpeg_cache() -> None:
    """Forget every detection, so the next :func:`find_ffmpeg` looks again."""
    with _cache_lock:
        _cache.clear()


find_ffmpeg.cache_clear = clear_ffmpeg_cache  # type: ignore[attr-defined]
