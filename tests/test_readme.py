"""The README's code map ("How it is built") matches the tree: every module is on it, and
everything on it exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mapped_paths() -> set[str]:
    """The paths the map lists (its first column; ``a.toml, b.toml`` lists both)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## How it is built", 1)[1]
    block = section.split("```", 2)[1]
    paths: set[str] = set()
    for line in block.splitlines():
        first = re.match(r"\s*([^\s,]+(?:, [^\s,]+)*)", line)
        if not first or "/" not in first.group(1):
            continue
        head, *rest = first.group(1).split(", ")
        paths.add(head)
        folder = head.rsplit("/", 1)[0]
        paths.update(f"{folder}/{name}" for name in rest)
    return paths


def test_every_module_is_on_the_map() -> None:
    mapped = mapped_paths()
    modules = {
        str(path.relative_to(ROOT))
        for top in ("bot", "storage", "config")
        for path in (ROOT / top).rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }
    # A module is on the map by its own line (bot/sandbox/ lists its modules too).
    missing = sorted(m for m in modules if m not in mapped)
    assert missing == [], f"add these modules to the README's code map: {missing}"


def test_everything_on_the_map_exists() -> None:
    gone = sorted(p for p in mapped_paths() if not (ROOT / p).exists())
    assert gone == [], f"the README's code map lists what is not there: {gone}"
