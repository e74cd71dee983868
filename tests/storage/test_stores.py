"""The repository's shape: one object made of per-aggregate stores that do not overlap."""

from __future__ import annotations

import inspect
from pathlib import Path

from storage.stores.base import Store
from storage.stores.state import StateStore
from storage.testimonials import Repository
from tests.support import open_new_database

STORES_DIR = Path(__file__).resolve().parents[2] / "storage" / "stores"


def _own_names(store: type) -> set[str]:
    return {name for name in vars(store) if not name.startswith("__")}


def test_no_two_stores_define_the_same_name() -> None:
    # Inheritance would let a later store's method silently shadow an earlier one's.
    stores = Repository.__bases__
    assert all(issubclass(store, Store) for store in stores)
    seen: dict[str, str] = {}
    for store in stores:
        for name in _own_names(store):
            assert name not in seen, f"{name} is in {seen.get(name)} and {store.__name__}"
            seen[name] = store.__name__
    assert _own_names(Repository) == set()  # everything comes from a store


def test_every_store_module_is_part_of_the_repository() -> None:
    modules = {store.__module__.rsplit(".", 1)[-1] for store in Repository.__bases__}
    files = {path.stem for path in STORES_DIR.glob("*.py")} - {"__init__", "base"}
    assert modules == files


def test_each_store_module_reads_at_once() -> None:
    # The point of the split: every module of the repository fits on a screen or two.
    for path in STORES_DIR.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 200, path.name


def test_every_method_is_async_and_documented() -> None:
    for store in Repository.__bases__:
        for name, member in vars(store).items():
            if name.startswith("_"):
                continue
            assert inspect.iscoroutinefunction(member), f"{store.__name__}.{name}"
            assert member.__doc__, f"{store.__name__}.{name} has no docstring"


async def test_a_store_works_alone(tmp_path: Path) -> None:
    db = await open_new_database(tmp_path / "alone.sqlite3")
    try:
        state = StateStore(db)
        await state.set_state("k", "v")
        assert await state.get_state("k") == "v"
        assert await Repository(db).get_state("k") == "v"
    finally:
        await db.close()
