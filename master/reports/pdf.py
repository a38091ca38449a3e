"""report.pdf: the report page printed by headless Chromium (the page's print CSS lays it out).

Chromium is found on PATH (``chromium``, ``chromium-browser``, ``google-chrome``); without it the error says so. It runs
in its own process group with a fresh profile and a timeout; on timeout that group, and only it, is killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
"""Names of a Chromium executable looked up on PATH, in order."""

PDF_TIMEOUT_S = 90.0
"""Seconds Chromium gets to print the report before it is killed."""


class PdfError(RuntimeError):
    """The PDF could not be written (no Chromium, a timeout, or Chromium failed)."""


def find_chromium() -> str:
    """The path of a Chromium executable, or PdfError naming what was looked for."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise PdfError(f"--pdf needs headless Chromium: none of {', '.join(BROWSERS)} is on PATH (apt install chromium)")


def print_argv(chromium: str, index: Path, pdf: Path, profile: str) -> list[str]:
    """Chromium's command line that prints ``index`` to ``pdf`` without touching the network."""
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--no-pdf-header-footer",
        f"--user-data-dir={profile}",
        f"--print-to-pdf={pdf}",
        index.resolve().as_uri(),
    ]


def write_pdf(index: Path, timeout_s: float = PDF_TIMEOUT_S) -> Path:
    """Print the report's index.html to report.pdf beside it and return its path."""
    index = Path(index)
    pdf = index.with_name("report.pdf")
    tmp = index.with_name(".report.pdf.tmp")
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="ffwatt-pdf-") as profile:
        proc = subprocess.Popen(
            print_argv(chromium, index, tmp, profile),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            _, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PdfError(f"Chromium did not print {index} within {timeout_s:g} s; stopped it") from None
    if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise PdfError(f"Chromium could not print {index} (exit {proc.returncode}): {' | '.join(tail)}")
    os.replace(tmp, pdf)
    return pdf
