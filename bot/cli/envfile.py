"""The ``.env`` file that ``livredor setup`` writes: merged into the user's, never lost.

A line the user wrote stays as it was, in its place, except the value of a setting that setup
sets (the last line of that name, the one that counts). The file is written to a temporary
file beside it, flushed to disk and renamed over it, so an interruption leaves either the old
file or the new one, never half of one; it is readable by its owner only (it holds the token).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
# Values written bare: what every .env reader (python-dotenv, Docker, systemd) reads the same.
_BARE = re.compile(r"[A-Za-z0-9_@:.,/+-]*")
PRIVATE_MODE = 0o600
SETUP_HEADER = "# Written by `livredor setup`:"


def quote(value: str) -> str:
    """``value`` as a .env value that python-dotenv reads back exactly.

    Single quotes take everything literally (no ``$`` expansion); a value with a single quote
    in it goes in double quotes when it has nothing those would expand or unescape."""
    if _BARE.fullmatch(value):
        return value
    if not re.search(r"['\\\n]", value):
        return f"'{value}'"
    if not re.search(r'["$\\\n]', value):
        return f'"{value}"'
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def merge(old: str | None, values: Mapping[str, str], template: str | None = None) -> str:
    """The new file: ``old`` (or ``template`` when there is no file yet) with each of
    ``values`` set, on its last line if it has one, else appended at the end."""
    base = old if old is not None else (template or "")
    lines = base.splitlines()
    last: dict[str, int] = {}
    for n, line in enumerate(lines):
        found = _ASSIGNMENT.match(line)
        if found:
            last[found.group(1)] = n
    added: list[str] = []
    for name, value in values.items():
        line = f"{name}={quote(value)}"
        if name not in last:
            added.append(line)
        elif read_value(lines[last[name]]) != value:
            lines[last[name]] = line
    if added:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [SETUP_HEADER, *added]
    return "\n".join(lines) + "\n"


def read_value(line: str) -> str | None:
    """The value one ``NAME=value`` line gives, as the settings read it (python-dotenv)."""
    values = list(dotenv_values(stream=io.StringIO(line + "\n"), interpolate=False).values())
    return values[0] if values else None


def masked(text: str, secret: str) -> str:
    """``text`` with ``secret`` (the token) replaced by what can be shown of it."""
    if not secret:
        return text
    shown = secret.split(":", 1)[0] + ":…" if ":" in secret else "…"
    return text.replace(secret, shown)


def diff(old: str, new: str, name: str, secret: str) -> str:
    """A unified diff of the two versions, the token masked."""
    lines = difflib.unified_diff(
        masked(old, secret).splitlines(keepends=True),
        masked(new, secret).splitlines(keepends=True),
        f"{name} (now)",
        f"{name} (after setup)",
        n=1,
    )
    return "".join(lines)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename; mode 0600."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, PRIVATE_MODE)
        os.replace(temporary, path)
    except BaseException:
        # Ctrl-C included: the old file is untouched and no temporary file stays behind.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
