"""The layers point one way (DESIGN.md): read from the source with ``ast``, nothing imported.

No module of bot/handlers imports another module of bot/handlers (what two handlers need is
a service), and the project's modules import each other without a cycle. Imports under
``if TYPE_CHECKING:`` count as edges like any other: a cycle for the type checker is a
cycle in the design too.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Mapping, Set
from pathlib import Path
from types import MappingProxyType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage", "config")


def module_name(path: Path) -> str:
    """``bot/handlers/review.py`` -> ``bot.handlers.review`` (a package: its ``__init__``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def imported(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules ``name`` imports (``from a import b``: ``a.b`` if it is a module,
    else ``a``), relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # ``import a.b.c`` depends on a.b.c; keep the longest prefix that is ours.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


@functools.cache
def import_graph() -> Mapping[str, frozenset[str]]:
    """Who imports whom among the project's modules (read once per process: parsing every
    module takes ~0.3 s, and the tests below only read it)."""
    modules = project_modules()
    return MappingProxyType(
        {name: frozenset(imported(name, path, modules)) for name, path in modules.items()}
    )


def test_the_graph_is_read() -> None:
    """The walk finds the edges it must (or the other tests would pass on nothing)."""
    graph = import_graph()
    assert "bot.handlers.intake.buttons" in graph["bot.app"]
    assert "bot.services.questions" in graph["bot.handlers.account"]
    assert "storage.models" in graph["bot.services.questions"]


def test_handlers_never_import_handlers() -> None:
    graph = import_graph()
    handler = "bot.handlers."
    found = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if name.startswith(handler)
        for target in targets
        if target.startswith(handler)
    )
    assert found == [], "what two handlers need is a service (bot/services/): " + str(found)


def find_cycle(graph: Mapping[str, Set[str]]) -> list[str] | None:
    """Return one import cycle (a list of modules, the first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph.get(name, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)) is not None:
            return cycle
    return None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"b2"}, "b2": {"b"}}, ["b", "b2", "b"]),
    ],
)
def test_find_cycle(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle
