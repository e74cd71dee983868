"""Read a book file back into entries, for ``livredor import``: our CSV and JSON exports (or
any CSV/JSON with name and quote), the seed's plain text and our Markdown (``parse_book``)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Literal

from bot.book.parse import BookEntry, BookFormatError, make_entry, parse_book
from storage.models import Signature

Format = Literal["auto", "md", "txt", "csv", "json"]


def _signature(value: object, line: int) -> Signature:
    """Read how an entry is signed (``signature`` in our CSV and JSON; none: the name)."""
    if value in (None, ""):
        return Signature.FULL
    try:
        return Signature(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in Signature)
        raise BookFormatError(line, f"unknown signature {value!r} (one of {choices})") from None


def _uncell(text: str) -> str:
    """Undo the ``'`` the CSV writer puts before a cell that would run as a formula."""
    return text[1:] if text.startswith("'") else text


def entries_from_csv(text: str) -> list[BookEntry]:
    """Read the entries of a CSV file (ours, or any with ``name`` and ``quote`` columns).

    ``BookEntry.line`` is the physical line where the row starts. ``,``, ``;`` (a French
    Excel) and tab separators are accepted.
    """
    text = text.lstrip("\ufeff")
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "name" not in fields or "quote" not in fields:
        raise BookFormatError(1, "the CSV header has no 'name' and 'quote' columns")
    reader.fieldnames = fields
    entries: list[BookEntry] = []
    start = reader.line_num + 1
    for row in reader:
        entries.append(
            make_entry(
                _uncell(row.get("name") or ""),
                _uncell(row.get("organisation") or ""),
                _uncell(row.get("quote") or ""),
                start,
                _signature(row.get("signature"), start),
            )
        )
        start = reader.line_num + 1
    return entries


def entries_from_json(text: str) -> list[BookEntry]:
    """Read the entries of a JSON export (or a bare list of objects with name and quote).

    ``BookEntry.line`` is the 1-based position in the list.
    """
    try:
        document = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise BookFormatError(exc.lineno, f"invalid JSON: {exc.msg}") from exc
    except RecursionError:
        # json recurses once per nesting level: thousands of [ exhaust the stack.
        raise BookFormatError(1, "JSON nested too deeply to be a livre d'or") from None
    items = document.get("testimonials") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise BookFormatError(1, "expected a list of testimonials")
    entries: list[BookEntry] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BookFormatError(number, "a testimonial needs a 'name' string")
        organisation = item.get("organisation") or item.get("organisation_lines") or ""
        if not isinstance(organisation, str | list):
            raise BookFormatError(number, "'organisation' must be a string or a list")
        quote = item.get("quote")
        if not isinstance(quote, str):
            raise BookFormatError(number, "a testimonial needs a 'quote' string")
        if isinstance(organisation, list):
            organisation = [str(line) for line in organisation]
        signature = _signature(item.get("signature"), number)
        entries.append(make_entry(item["name"], organisation, quote, number, signature))
    return entries


def sniff_format(text: str, filename: str | None = None) -> Format:
    """Guess a file's format from its extension, else from its first characters."""
    suffix = Path(filename).suffix.lower() if filename else ""
    by_suffix: dict[str, Format] = {
        ".json": "json",
        ".csv": "csv",
        ".md": "md",
        ".markdown": "md",
        ".txt": "txt",
    }
    if suffix in by_suffix:
        return by_suffix[suffix]
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith(("{", "[")):
        return "json"
    header = start.split("\n", 1)[0].lower()
    if re.search(r"(^|[,;\t])\"?name\"?([,;\t]|$)", header) and "quote" in header:
        return "csv"
    return "md" if start.startswith(("#", "**")) else "txt"


def read_entries(source: Path | str, format: Format = "auto") -> list[BookEntry]:
    """Read entries from a file (a ``Path``) or from text (a ``str``) in any format above."""
    filename = None
    if isinstance(source, Path):
        filename = source.name
        raw = source.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Spreadsheets on Windows save CSV in the ANSI code page.
            text = raw.decode("cp1252")
    else:
        text = source
    kind = sniff_format(text, filename) if format == "auto" else format
    if kind == "csv":
        return entries_from_csv(text)
    if kind == "json":
        return entries_from_json(text)
    # A sniffed md/txt file may be either layout; parse_book tells them apart reliably.
    return parse_book(text, markdown=None if format == "auto" else kind == "md").entries
