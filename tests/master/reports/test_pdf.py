"""Tests of master.reports.pdf: report.pdf printed by real headless Chromium, and the error without it."""

import shutil

import pytest

from master.reports.pdf import PdfError, find_chromium, print_argv, write_pdf


def test_argv_prints_the_file_without_network(tmp_path):
    """The command line points at the file's URL, the PDF path and a private profile, with networking features off."""
    argv = print_argv("/usr/bin/chromium", tmp_path / "index.html", tmp_path / "x.pdf", "/tmp/p")
    assert argv[-1] == (tmp_path / "index.html").as_uri() and f"--print-to-pdf={tmp_path / 'x.pdf'}" in argv
    assert "--headless" in argv and "--disable-background-networking" in argv and "--user-data-dir=/tmp/p" in argv


def test_missing_chromium_is_a_clear_error(monkeypatch, tmp_path):
    """No Chromium on PATH: PdfError saying what is needed."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PdfError, match="--pdf needs headless Chromium"):
        find_chromium()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_writes_report_pdf_beside_the_page(report_dir):
    """A real print: report.pdf beside index.html, a PDF file with pages, no temp file left."""
    pdf = write_pdf(report_dir / "index.html")
    assert pdf == report_dir / "report.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.count(b"/Type /Page") >= 2
    assert not (report_dir / ".report.pdf.tmp").exists()
