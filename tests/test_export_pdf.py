"""The HTML book printed to PDF by a real headless Chromium (skipped where none is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.book.formats import to_html
from tests.support import CHROMIUM_ARGS
from tests.test_book import seed_entries
from tests.test_export import EVENT, seed_testimonials

INSTALL = "apt-get install chromium poppler-utils"


def chromium() -> str:
    """Return the browser's path, or skip."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip(f"chromium not installed: {INSTALL}")


def print_to_pdf(html: str, tmp_path: Path) -> Path:
    """Print the page to A4 PDF with Chromium, offline and without a profile."""
    page, pdf = tmp_path / "book.html", tmp_path / "book.pdf"
    page.write_text(html, encoding="utf-8")
    command = [
        chromium(),
        *CHROMIUM_ARGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert pdf.is_file() and pdf.stat().st_size > 0, done.stderr[-2000:]
    return pdf


def poppler(tool: str) -> str:
    if path := shutil.which(tool):
        return path
    pytest.skip(f"{tool} not installed (poppler-utils): {INSTALL}")


def test_seed_book_prints_every_name(tmp_path: Path) -> None:
    pdf = print_to_pdf(to_html(seed_testimonials(), EVENT), tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(
        [poppler("pdfinfo"), str(pdf)], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    pages = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert pages and 5 <= int(pages[1]) <= 40, info
    assert re.search(r"^Page size:\s+59[45]\.\d+ x 84[12]\.\d+ pts", info, re.MULTILINE), info
    text = subprocess.run(
        [poppler("pdftotext"), "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    # Names are short and never hyphenated or wrapped: each must appear whole.
    flat = " ".join(text.split())
    for entry in seed_entries():
        assert entry.name in flat, entry.name
    assert "Livre d’or" in flat and "ROUMICS 2012 « Innovation sociale et numérique »" in flat
    assert flat.count("☺") == 3
