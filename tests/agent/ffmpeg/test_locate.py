"""Tests for agent.ffmpeg.locate: detection order, version parsing, the not-found message and the cache."""

from __future__ import annotations

import os

import pytest

from agent.ffmpeg import locate
from agent.ffmpeg.locate import FFmpegNotFound, find_ffmpeg, parse_configuration, parse_version
from tests.conftest import SYSTEM_FFMPEG

from .conftest import DATA, write_fake_ffmpeg

OLD_44 = """ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers
built with gcc 11 (Ubuntu 11.2.0-19ubuntu1)
configuration: --prefix=/usr --enable-gpl
libavutil      56. 70.100 / 56. 70.100
libavcodec     58.134.100 / 58.134.100"""

GIT_OLD = """ffmpeg version N-100000-gabcdef0 Copyright (c) 2000-2020 the FFmpeg developers
configuration: --enable-gpl
libavcodec     58. 91.100 / 58. 91.100"""

GIT_NEW = """ffmpeg version 2024-03-01-git-0123456789 Copyright (c) 2000-2024 the FFmpeg developers
configuration: --enable-gpl --enable-libx264
libavcodec     61.  1.100 / 61.  1.100"""


@pytest.mark.parametrize(
    "line, version, major",
    [
        ("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026", "5.1.9-0+deb12u1", 5),
        ("ffmpeg version n7.1 Copyright (c) 2000-2024", "n7.1", 7),
        ("ffmpeg version 6.0 Copyright", "6.0", 6),
        ("ffmpeg version N-113911-g3e9d2d6 Copyright", "N-113911-g3e9d2d6", None),
        ("ffmpeg version 2024-01-01-git-1234567 Copyright", "2024-01-01-git-1234567", None),
        ("ffmpeg version git-2024-05-06-abc Copyright", "git-2024-05-06-abc", None),
    ],
)
def test_parse_version_forms(line, version, major):
    """Release, n-prefixed and git-snapshot version strings give the right version and major."""
    assert parse_version(line + "\nbuilt with gcc\n") == (version, major)


def test_parse_version_on_saved_real_output():
    """The saved -version outputs of both real binaries parse to their versions and configurations."""
    debian = (DATA / "version_debian_5.1.txt").read_text()
    static = (DATA / "version_static_9.0.txt").read_text()
    assert parse_version(debian) == ("5.1.9-0+deb12u1", 5)
    assert parse_version(static)[1] == 9
    assert "--enable-libx264" in parse_configuration(debian).split()
    assert locate.libavcodec_major(debian) == 59


def test_parse_version_rejects_non_ffmpeg():
    """Output without an 'ffmpeg version' line gives no version."""
    assert parse_version("usage: true [ignored]\n") == (None, None)


def test_system_ffmpeg_found_first(system_ffmpeg):
    """With /usr/bin on PATH and no FFWATT_FFMPEG, the system ffmpeg (>= 5) is chosen."""
    found = find_ffmpeg({"PATH": os.path.dirname(SYSTEM_FFMPEG)})
    assert (found.path, found.source, found.major) == (SYSTEM_FFMPEG, "system", 5)
    assert "--enable-libx264" in found.configure_flags


def test_env_variable_wins(system_ffmpeg, wheel_ffmpeg):
    """FFWATT_FFMPEG is used even when a good system ffmpeg is on PATH."""
    found = find_ffmpeg({"PATH": "/usr/bin", locate.ENV_VAR: wheel_ffmpeg.path})
    assert (found.path, found.source) == (wheel_ffmpeg.path, "env")


def test_env_variable_accepts_old_version(tmp_path):
    """An explicit FFWATT_FFMPEG is taken whatever its version."""
    fake = write_fake_ffmpeg(tmp_path / "old", OLD_44)
    found = find_ffmpeg({"PATH": "", locate.ENV_VAR: str(fake)})
    assert (found.source, found.major) == ("env", 4)


def test_env_variable_broken_is_an_error(tmp_path, wheel_ffmpeg):
    """A FFWATT_FFMPEG that does not exist raises instead of falling back silently."""
    with pytest.raises(FFmpegNotFound, match="FFWATT_FFMPEG"):
        find_ffmpeg({"PATH": "/usr/bin", locate.ENV_VAR: str(tmp_path / "missing")})


def test_no_ffmpeg_on_path_falls_back_to_wheel(tmp_path, wheel_ffmpeg):
    """A PATH without ffmpeg gives the imageio-ffmpeg wheel's binary."""
    found = find_ffmpeg({"PATH": str(tmp_path)})
    assert (found.path, found.source) == (wheel_ffmpeg.path, "imageio-ffmpeg")
    assert found.major is not None and found.major >= 5


def test_old_ffmpeg_on_path_is_skipped_for_wheel(tmp_path, wheel_ffmpeg):
    """An ffmpeg 4.4 first on PATH is passed over in favour of the wheel."""
    write_fake_ffmpeg(tmp_path / "bin", OLD_44)
    found = find_ffmpeg({"PATH": f"{tmp_path / 'bin'}:/usr/bin"})
    assert found.source == "imageio-ffmpeg"


def test_git_build_judged_by_libavcodec(tmp_path, wheel_ffmpeg):
    """A git build with no version number counts as new only when its libavcodec is >= 59."""
    write_fake_ffmpeg(tmp_path / "old", GIT_OLD)
    write_fake_ffmpeg(tmp_path / "new", GIT_NEW)
    assert find_ffmpeg({"PATH": str(tmp_path / "old")}).source == "imageio-ffmpeg"
    new = find_ffmpeg({"PATH": str(tmp_path / "new")})
    assert (new.source, new.major, new.version) == ("system", None, "2024-03-01-git-0123456789")


def test_nothing_usable_says_what_was_tried(tmp_path, monkeypatch):
    """With an old ffmpeg on PATH and an old wheel binary, the error lists both and every fix."""
    old = write_fake_ffmpeg(tmp_path / "bin", OLD_44)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(old))
    with pytest.raises(FFmpegNotFound) as caught:
        find_ffmpeg({"PATH": str(tmp_path / "bin")})
    message = str(caught.value)
    assert f"system {old}: version 4.4.2-0ubuntu0.22.04.1 is older than 5" in message
    assert f"imageio-ffmpeg {old}" in message
    for fix in ("apt install ffmpeg", "pip install imageio-ffmpeg", "FFWATT_FFMPEG"):
        assert fix in message


def test_detection_is_cached_and_clearable(tmp_path, wheel_ffmpeg):
    """A second call returns the cached object; after clearing, detection runs again."""
    env = {"PATH": str(tmp_path)}
    first = find_ffmpeg(env)
    assert find_ffmpeg(env) is first
    find_ffmpeg.cache_clear()
    again = find_ffmpeg(env)
    assert again is not first and again == first
