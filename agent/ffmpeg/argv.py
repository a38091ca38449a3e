"""The start of an FFmpeg command line whose output is read from files and its log, not from progress stats."""

from __future__ import annotations


def quiet_argv(ffmpeg_path, loglevel: str) -> list[str]:
    """``ffmpeg -hide_banner -nostdin -nostats -loglevel LOGLEVEL``: no banner, no stdin, no progress stats."""
    return [str(ffmpeg_path), "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel]
