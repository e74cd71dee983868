"""The documentation matches the code.

The code map of docs/design.md lists every module and nothing that is not there; every
``LIVREDOR_`` setting, ``livredor`` command and option, ``python -m`` module, repository path,
test and link that the README and docs/*.md name exists; every setting is described in
docs/operations.md. CHANGELOG.md is history and may name what is gone: it is not checked.
Each failure names the document, the line and what to fix.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from pathlib import Path

import pytest

from bot.cli.main import main
from config.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DESIGN = ROOT / "docs" / "design.md"
OPERATIONS = ROOT / "docs" / "operations.md"

#: Paths the reader creates: named in the docs, never in the repository.
NOT_IN_REPO = {"deploy/.env", "deploy/bot_token"}

TOP = r"(?:bot|storage|config|tests|deploy|docs)/[\w./*<>-]*"
FILES = r"README\.md|CHANGELOG\.md|LICENSE|pyproject\.toml"
PATH = re.compile(rf"(?<![\w./-])({TOP}|{FILES})")
TEST_ID = re.compile(r"(?<![\w./-])(tests/[\w/]+\.py)::(\w+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
SETTING = re.compile(rf"{ENV_PREFIX}[A-Z0-9_]*[A-Z0-9]")
# `livredor CMD`, `bash deploy/run.sh CMD`: the word after it, if it is one (not a path).
COMMAND = re.compile(r"(?:(?<![\w.-])livredor|deploy/run\.sh)[ \t]+(?=([a-z][a-z-]*)(?:[\s`]|$))")
MODULE = re.compile(r"python3? -m ([\w.]+)")


def where(doc: Path, text: str, index: int) -> str:
    """``docs/x.md:12``: the document and line of a match, for failure messages."""
    return f"{doc.relative_to(ROOT)}:{text.count(chr(10), 0, index) + 1}"


def code_parts(text: str) -> list[tuple[int, str]]:
    """The code of a Markdown text, with its offsets: fenced blocks and `spans`."""
    parts = [(m.start(1), m.group(1)) for m in re.finditer(r"```[^\n]*\n(.*?)```", text, re.S)]
    prose = re.sub(r"```.*?```", lambda m: " " * len(m.group(0)), text, flags=re.S)
    parts += [(m.start(1), m.group(1)) for m in re.finditer(r"`([^`\n]+)`", prose)]
    return parts


# --- the code map ---------------------------------------------------------------------------


def mapped_paths() -> set[str]:
    """The paths the map lists (its first column; ``a.toml, b.toml`` lists both)."""
    text = DESIGN.read_text(encoding="utf-8")
    section = text.split("## Code map", 1)[1]
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
    assert missing == [], f"add these modules to the code map in docs/design.md: {missing}"


def test_everything_on_the_map_exists() -> None:
    gone = sorted(p for p in mapped_paths() if not (ROOT / p).exists())
    assert gone == [], f"the code map in docs/design.md lists what is not there: {gone}"


# --- settings ---------------------------------------------------------------------------------


SETTINGS = {ENV_PREFIX + name.upper() for name in Settings.model_fields}


def test_every_setting_named_exists() -> None:
    unknown = [
        f"{where(doc, text, m.start())}: {m.group(0)}"
        for doc in DOCS
        for text in [doc.read_text(encoding="utf-8")]
        for m in SETTING.finditer(text)
        if m.group(0) not in SETTINGS
    ]
    assert unknown == [], "no such setting in config/settings.py:\n" + "\n".join(unknown)


def test_every_setting_is_in_the_operations_table() -> None:
    rows = set(re.findall(rf"^\| `({ENV_PREFIX}\w+)` \|", OPERATIONS.read_text(), re.M))
    missing = sorted(SETTINGS - rows)
    assert missing == [], f"describe these settings in docs/operations.md#settings: {missing}"


# --- commands and modules ---------------------------------------------------------------------


def help_of(command: str) -> str | None:
    """``livredor COMMAND --help`` as printed, or None if there is no such command."""
    out = io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(io.StringIO()),
        pytest.raises(SystemExit) as stop,
    ):
        main([command, "--help"])
    return out.getvalue() if stop.value.code == 0 else None


def test_every_command_and_option_named_exists() -> None:
    helps: dict[str, str | None] = {}
    problems = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for start, code in code_parts(text):
            for m in COMMAND.finditer(code):
                command = m.group(1)
                if command == "livredor":  # `exec livredor livredor backup`: the service's name
                    continue
                if command not in helps:
                    helps[command] = help_of(command)
                at = where(doc, text, start + m.start())
                help_text = helps[command]
                if help_text is None:
                    problems.append(f"{at}: `livredor {command}`: no such command")
                    continue
                line = code[m.end() :].split("\n", 1)[0].split(" #", 1)[0].split("`", 1)[0]
                for option in re.findall(r"(?<!\S)(--?[a-z][\w-]*)", line):
                    if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text):
                        problems.append(f"{at}: `livredor {command} {option}`: no such option")
    assert problems == [], "\n".join(problems)


def test_every_python_module_named_exists() -> None:
    missing = [
        f"{where(doc, text, m.start())}: python -m {m.group(1)}"
        for doc in DOCS
        for text in [doc.read_text(encoding="utf-8")]
        for m in MODULE.finditer(text)
        if importlib.util.find_spec(m.group(1)) is None
    ]
    assert missing == [], "no such module:\n" + "\n".join(missing)


# --- paths, tests and links -------------------------------------------------------------------


def exists(path: str) -> bool:
    """Whether a path named in the docs is in the repository (``*`` is a glob)."""
    if "*" in path:
        return any(ROOT.glob(path))
    return (ROOT / path).exists()


def test_every_path_named_exists() -> None:
    missing = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in PATH.finditer(text):
            path = m.group(1).rstrip(".,:;")
            if "<" in path or path in NOT_IN_REPO:  # a pattern: posters/poster-<slug>.pdf
                continue
            if not exists(path):
                missing.append(f"{where(doc, text, m.start())}: {path}")
    assert missing == [], (
        "these paths are named in the docs but not in the repository (moved? update the docs):\n"
        + "\n".join(missing)
    )


def test_every_test_named_exists() -> None:
    missing = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in TEST_ID.finditer(text):
            path, name = m.groups()
            source = ROOT / path
            if not source.exists() or not re.search(rf"def {name}\(", source.read_text()):
                missing.append(f"{where(doc, text, m.start())}: {path}::{name}")
    assert missing == [], "no such test:\n" + "\n".join(missing)


def anchors(doc: Path) -> set[str]:
    """The anchors GitHub gives a document's headings (``## Set up (once)``: set-up-once)."""
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_link_leads_somewhere() -> None:
    broken = []
    for doc in [*DOCS, ROOT / "CHANGELOG.md"]:
        text = doc.read_text(encoding="utf-8")
        for m in LINK.finditer(text):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            file_part, _, anchor = target.partition("#")
            linked = (doc.parent / file_part).resolve() if file_part else doc
            at = where(doc, text, m.start())
            if not linked.exists():
                broken.append(f"{at}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{at}: {target} (no such heading)")
    assert broken == [], "broken links:\n" + "\n".join(broken)
