"""The SQLite connection: pragmas, migrations keyed by ``user_version``, several writers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

import storage.database as database_module
from storage.database import Database, DatabaseFileError, sqlite_code
from storage.inbox import Inbox
from storage.migrations import MIGRATIONS, SCHEMA_VERSION
from tests.support import wait_until

TABLES = {
    "users",
    "testimonials",
    "outbox",
    "moderator_prompts",
    "inbox",
    "bot_state",
    "review_messages",
    "bulk_lists",
    "bulk_items",
    "author_messages",
    "asked_messages",
    "offered_links",
    "group_exports",
}
INDEXES = {
    "testimonials_one_draft",
    "testimonials_status",
    "testimonials_user",
    "outbox_open",
    "inbox_open",
}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "livredor.db")
    yield database
    await database.close()


def schema_of(path: Path) -> list[tuple[str, str, str | None]]:
    """Return the schema as a plain, independent connection sees it."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            " ORDER BY type, name"
        ).fetchall()
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]
    finally:
        conn.close()


def user_version_of(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def names(schema: list[tuple[str, str, str | None]], kind: str) -> set[str]:
    return {name for type_, name, _ in schema if type_ == kind}


def leaked_connections(exc: BaseException) -> list[aiosqlite.Connection]:
    """Return the aiosqlite connections still referenced by the frames ``exc`` went through."""
    found: list[aiosqlite.Connection] = []
    tb = exc.__traceback__
    while tb is not None:
        found.extend(
            v for v in tb.tb_frame.f_locals.values() if isinstance(v, aiosqlite.Connection)
        )
        tb = tb.tb_next
    return found


async def close_leaked_connections(exc: BaseException) -> None:
    """Close what a failed ``Database.open`` left open: its worker thread would keep the test
    process alive at exit."""
    for conn in leaked_connections(exc):
        await conn.close()


# -- pragmas ----------------------------------------------------------------------------------


async def pragma(db: Database, name: str) -> object:
    row = await db.fetchone(f"PRAGMA {name}")
    assert row is not None
    return row[0]


async def test_journal_mode_is_wal(db: Database) -> None:
    assert str(await pragma(db, "journal_mode")).lower() == "wal"


async def test_foreign_keys_are_on_and_enforced(db: Database) -> None:
    assert await pragma(db, "foreign_keys") == 1
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute(
            "INSERT INTO testimonials (user_id, status, language, created_at, updated_at)"
            " VALUES (424242, 'draft', 'en', 'x', 'x')"
        )
    row = await db.fetchone("SELECT count(*) FROM testimonials")
    assert row is not None and row[0] == 0


async def test_busy_timeout_is_long_enough_to_queue_writers(db: Database) -> None:
    timeout = await pragma(db, "busy_timeout")
    assert isinstance(timeout, int)
    assert timeout >= 5000


async def test_synchronous_is_normal(db: Database) -> None:
    assert await pragma(db, "synchronous") == 1  # NORMAL


async def test_wal_is_persistent_in_the_file(db: Database) -> None:
    conn = sqlite3.connect(db.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


# -- migrations -------------------------------------------------------------------------------


async def test_migrations_create_the_schema_and_set_user_version(db: Database) -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2
    assert await db.schema_version() == SCHEMA_VERSION
    assert user_version_of(db.path) == SCHEMA_VERSION
    schema = schema_of(db.path)
    assert names(schema, "table") == TABLES
    assert names(schema, "index") >= INDEXES


async def test_schema_has_the_columns_the_repository_uses(db: Database) -> None:
    rows = await db.fetchall("PRAGMA table_info(testimonials)")
    columns = {row["name"] for row in rows}
    assert {
        "id",
        "user_id",
        "status",
        "step",
        "consent_at",
        "consent_text",
        "approved_seq",
        "channel_message_ids",
        "import_key",
        "quote_parts",
        "answer_messages",
    } <= columns


async def test_status_check_constraint_refuses_unknown_status(db: Database) -> None:
    await db.execute(
        "INSERT INTO users (user_id, created_at, updated_at) VALUES (1, 'x', 'x')",
    )
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute(
            "INSERT INTO testimonials (user_id, status, language, created_at, updated_at)"
            " VALUES (1, 'lost', 'en', 'x', 'x')"
        )


async def test_one_open_draft_per_user_is_enforced(db: Database) -> None:
    await db.execute("INSERT INTO users (user_id, created_at, updated_at) VALUES (1, 'x', 'x')")
    insert = (
        "INSERT INTO testimonials (user_id, status, language, created_at, updated_at)"
        " VALUES (1, ?, 'en', 'x', 'x')"
    )
    await db.execute(insert, ("draft",))
    await db.execute(insert, ("pending",))
    await db.execute(insert, ("pending",))
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute(insert, ("draft",))


async def test_migrating_twice_is_safe_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    db = await Database.open(path)
    await db.execute("INSERT INTO users (user_id, created_at, updated_at) VALUES (7, 'a', 'b')")
    before = schema_of(path)
    assert await db.migrate() == SCHEMA_VERSION
    assert await db.migrate() == SCHEMA_VERSION
    await db.close()

    again = await Database.open(path)
    try:
        assert await again.schema_version() == SCHEMA_VERSION
        assert await again.migrate() == SCHEMA_VERSION
        rows = await again.fetchall("SELECT user_id FROM users")
        assert [r[0] for r in rows] == [7]
    finally:
        await again.close()
    assert schema_of(path) == before
    assert user_version_of(path) == SCHEMA_VERSION


async def test_open_without_migrate_leaves_a_fresh_file_empty(tmp_path: Path) -> None:
    path = tmp_path / "bare.db"
    db = await Database.open(path, migrate=False)
    try:
        assert await db.schema_version() == 0
        assert names(schema_of(path), "table") == set()
        assert await db.migrate() == SCHEMA_VERSION
        assert names(schema_of(path), "table") == TABLES
    finally:
        await db.close()


async def test_an_old_database_is_upgraded_step_by_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    with monkeypatch.context() as patch:
        patch.setattr(database_module, "MIGRATIONS", MIGRATIONS[:1])
        patch.setattr(database_module, "SCHEMA_VERSION", 1)
        old = await Database.open(path)
        await old.execute(
            "INSERT INTO users (user_id, created_at, updated_at) VALUES (3, 'a', 'b')"
        )
        await old.close()
    assert user_version_of(path) == 1
    assert "moderator_prompts" not in names(schema_of(path), "table")

    db = await Database.open(path)
    try:
        assert await db.schema_version() == SCHEMA_VERSION
        assert names(schema_of(path), "table") == TABLES
        row = await db.fetchone("SELECT count(*) FROM users")
        assert row is not None and row[0] == 1
    finally:
        await db.close()


BROKEN_STATEMENTS = {
    "syntax": "THIS IS NOT SQL",
    "constraint": "INSERT INTO half_done (id, label) VALUES (1, NULL)",
}


@pytest.mark.parametrize("failure", sorted(BROKEN_STATEMENTS))
async def test_a_failing_first_migration_rolls_back_entirely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    broken = [
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY, label TEXT NOT NULL)",
        "CREATE INDEX half_done_label ON half_done(label)",
        "INSERT INTO half_done (id, label) VALUES (0, 'written before the failure')",
        BROKEN_STATEMENTS[failure],
        "CREATE TABLE never_reached (id INTEGER)",
    ]
    monkeypatch.setattr(database_module, "MIGRATIONS", [broken])
    monkeypatch.setattr(database_module, "SCHEMA_VERSION", 1)
    path = tmp_path / "broken.db"
    db = await Database.open(path, migrate=False)
    try:
        with pytest.raises(sqlite3.Error):
            await db.migrate()
        assert await db.schema_version() == 0
        # The connection is not left inside a transaction: it still works.
        await db.execute("CREATE TABLE probe (id INTEGER)")
        await db.execute("DROP TABLE probe")
    finally:
        await db.close()
    assert user_version_of(path) == 0
    assert schema_of(path) == []


async def test_a_failing_later_migration_keeps_earlier_steps_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = [
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY)",
        "ALTER TABLE users ADD COLUMN half_done_column TEXT",
        "INSERT INTO no_such_table VALUES (1)",
    ]
    monkeypatch.setattr(database_module, "MIGRATIONS", [*MIGRATIONS, broken])
    monkeypatch.setattr(database_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    path = tmp_path / "later.db"
    db = await Database.open(path, migrate=False)
    try:
        with pytest.raises(sqlite3.OperationalError):
            await db.migrate()
        assert await db.schema_version() == SCHEMA_VERSION
        columns = {row["name"] for row in await db.fetchall("PRAGMA table_info(users)")}
        assert "half_done_column" not in columns
    finally:
        await db.close()
    assert user_version_of(path) == SCHEMA_VERSION
    assert names(schema_of(path), "table") == TABLES

    # Once the step is fixed, the next start applies it.
    fixed = ["CREATE TABLE half_done (id INTEGER PRIMARY KEY)"]
    monkeypatch.setattr(database_module, "MIGRATIONS", [*MIGRATIONS, fixed])
    db = await Database.open(path)
    try:
        assert await db.schema_version() == SCHEMA_VERSION + 1
    finally:
        await db.close()
    assert names(schema_of(path), "table") == TABLES | {"half_done"}


def fresh_wal_file(path: Path) -> None:
    """Create an empty database already in WAL mode, as a first start would leave it."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    finally:
        conn.close()


async def open_all(path: Path, count: int) -> list[Database]:
    """Open ``count`` connections at once; fail (after closing them) if any open failed."""
    results = await asyncio.gather(
        *(Database.open(path) for _ in range(count)), return_exceptions=True
    )
    opened = [r for r in results if isinstance(r, Database)]
    errors = [f"{type(r).__name__}: {r}" for r in results if not isinstance(r, Database)]
    for result in results:
        if isinstance(result, BaseException):
            await close_leaked_connections(result)
    if errors:
        for db in opened:
            await db.close()
    assert errors == []
    return opened


async def test_three_processes_migrating_at_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    fresh_wal_file(path)
    assert user_version_of(path) == 0
    opened = await open_all(path, 3)
    try:
        for db in opened:
            assert await db.schema_version() == SCHEMA_VERSION
    finally:
        for db in opened:
            await db.close()
    assert names(schema_of(path), "table") == TABLES


async def test_processes_opening_an_existing_database_at_once(tmp_path: Path) -> None:
    path = tmp_path / "existing.db"
    first = await Database.open(path)
    await first.execute("INSERT INTO users (user_id, created_at, updated_at) VALUES (1, 'a', 'b')")
    opened = await open_all(path, 3)
    try:
        for db in opened:
            row = await db.fetchone("SELECT count(*) FROM users")
            assert row is not None and row[0] == 1
    finally:
        for db in [first, *opened]:
            await db.close()


async def test_open_waits_for_another_writer_on_a_fresh_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fresh.db"
    refused: list[int | None] = []

    def seen(exc: sqlite3.Error) -> int | None:
        """``sqlite_code``, noting each code the opening was refused with."""
        refused.append(sqlite_code(exc))
        return refused[-1]

    monkeypatch.setattr(database_module, "sqlite_code", seen)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process is writing the brand-new file
        opening = asyncio.create_task(Database.open(path))
        # The opening has been told "busy" at least once: it is waiting, not failing.
        await wait_until(lambda: sqlite3.SQLITE_BUSY in refused, what="a busy answer")
        assert not opening.done()
        other.execute("COMMIT")
        try:
            db = await opening
        except sqlite3.Error as exc:
            await close_leaked_connections(exc)
            raise
        try:
            assert await db.schema_version() == SCHEMA_VERSION
        finally:
            await db.close()
    finally:
        other.close()


async def test_a_failed_open_closes_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.db"
    # SQLite's header, then garbage: the header check lets it through, SQLite refuses it.
    path.write_bytes(b"SQLite format 3\x00" + b"This is a text file, not SQLite. " * 64)
    before = set(threading.enumerate())
    with pytest.raises(DatabaseFileError, match="not a SQLite database") as caught:
        await Database.open(path)
    leaked = leaked_connections(caught.value)
    try:
        started = [t for t in threading.enumerate() if t not in before]
        for thread in started:
            thread.join(timeout=1)
        assert [t.name for t in started if t.is_alive()] == []
    finally:
        for conn in leaked:  # so that a failure here does not hang the test run at exit
            await conn.close()


# -- transactions and several connections -----------------------------------------------------


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (user_id, created_at, updated_at) VALUES (1, 'a', 'b')"
            )
            raise Boom
    row = await db.fetchone("SELECT count(*) FROM users")
    assert row is not None and row[0] == 0
    # And the connection is usable afterwards.
    assert (
        await db.execute("INSERT INTO users (user_id, created_at, updated_at) VALUES (1, 'a', 'b')")
        == 1
    )


async def test_two_database_objects_on_one_file_can_both_write(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    one = await Database.open(path)
    two = await Database.open(path)
    insert = (
        "INSERT INTO users (user_id, first_name, created_at, updated_at) VALUES (?, ?, 'a', 'b')"
    )
    try:
        await asyncio.gather(
            *(
                (one if i % 2 else two).execute(insert, (i, f"writer {i % 2}"))
                for i in range(1, 101)
            )
        )
        async with one.transaction() as conn:
            await conn.execute(insert, (1000, "one"))
        async with two.transaction() as conn:
            await conn.execute(insert, (2000, "two"))
        # Each sees the other's commits.
        for db in (one, two):
            rows = await db.fetchall("SELECT user_id FROM users ORDER BY user_id")
            assert [r[0] for r in rows] == [*range(1, 101), 1000, 2000]
    finally:
        await one.close()
        await two.close()


async def test_a_writer_waits_for_the_other_connections_transaction(tmp_path: Path) -> None:
    path = tmp_path / "wait.db"
    one = await Database.open(path)
    two = await Database.open(path)
    insert = "INSERT INTO users (user_id, created_at, updated_at) VALUES (?, 'a', 'b')"
    loop = asyncio.get_running_loop()
    trying = asyncio.Event()

    def traced(sql: str) -> None:  # in two's SQLite thread, as each statement starts
        if sql.startswith("INSERT"):
            loop.call_soon_threadsafe(trying.set)

    try:
        async with two.transaction() as conn:
            await conn.set_trace_callback(traced)
        async with one.transaction() as conn:
            await conn.execute(insert, (1,))
            # `two` must queue behind the open write transaction, not fail with "locked".
            waiting = asyncio.create_task(two.execute(insert, (2,)))
            await trying.wait()  # its INSERT has started: it meets the lock
            assert not waiting.done()
        assert await waiting == 1
        rows = await two.fetchall("SELECT user_id FROM users ORDER BY user_id")
        assert [r[0] for r in rows] == [1, 2]
    finally:
        await one.close()
        await two.close()


async def test_backup_to_writes_a_consistent_copy(db: Database, tmp_path: Path) -> None:
    await db.execute("INSERT INTO users (user_id, created_at, updated_at) VALUES (5, 'a', 'b')")
    target = tmp_path / "copy.db"
    await db.backup_to(target)
    assert user_version_of(target) == SCHEMA_VERSION
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("SELECT user_id FROM users").fetchall() == [(5,)]
    finally:
        conn.close()


async def _count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM bot_state")
    assert row is not None
    return int(row[0])


async def test_writes_left_for_later_run_together_or_not_at_all(db: Database) -> None:
    insert = "INSERT INTO bot_state (key, value) VALUES (?, ?)"
    with db.deferring() as later:
        await db.execute_later(insert, ("a", "1"))
        await db.execute_later(insert, ("b", "2"))
        # Left for the end: nothing written yet.
        assert await _count(db) == 0
    assert [sql for sql, _ in later] == [insert, insert]
    # One transaction: a failing statement (a duplicate key) takes the others back.
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute_together([*later, (insert, ("a", "again"))])
    assert await _count(db) == 0
    assert await db.execute_together(later) == [1, 1]
    rows = await db.fetchall("SELECT key, value FROM bot_state ORDER BY key")
    assert [tuple(r) for r in rows] == [("a", "1"), ("b", "2")]
    # A task started inside the block, writing after it ended, writes at once.
    with db.deferring():
        late = asyncio.get_running_loop().create_future()

        async def task() -> None:
            await late
            await db.execute_later(insert, ("c", "3"))

        started = asyncio.create_task(task())
    late.set_result(None)
    await started
    assert await _count(db) == 3
    await db.execute("DELETE FROM bot_state WHERE key = 'c'")
    # Outside ``deferring``, a write is made at once.
    await db.execute_later("DELETE FROM bot_state WHERE key = ?", ("a",))
    assert await _count(db) == 1


async def test_statements_report_their_rows_and_leave_nothing_open(db: Database) -> None:
    # aiosqlite's public API: a write's row count is its cursor's, a read of one row is
    # execute_fetchall's first; neither cursor is closed (a round trip each), so a finished
    # statement must hold no lock and no read snapshot that would keep another writer or a
    # checkpoint waiting.
    insert = "INSERT INTO bot_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
    assert await db.execute(insert, ("a", "1")) == 1
    assert await db.execute(insert, ("a", "again")) == 0
    assert await db.execute(insert, ("b", "2")) == 1
    assert await db.execute("UPDATE bot_state SET value = 'x'") == 2
    row = await db.fetchone("SELECT key FROM bot_state ORDER BY key")
    assert row is not None and row[0] == "a"
    assert await db.fetchone("SELECT key FROM bot_state WHERE key = 'none'") is None
    assert await db.execute_together([(insert, ("c", "3"))]) == [1]
    assert await db.execute_together([(insert, ("c", "3")), (insert, ("d", "4"))]) == [0, 1]
    other = sqlite3.connect(db.path, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")  # no lock left behind: raises "locked" otherwise
        other.execute("DELETE FROM bot_state WHERE key = 'd'")
        other.execute("COMMIT")
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0  # no reader left in an old snapshot
    finally:
        other.close()
    assert await _count(db) == 3


async def test_writes_in_one_trip_keep_every_value_and_roll_back_together(db: Database) -> None:
    # execute_in_one_trip writes the parameters into one script (aiosqlite's only call that
    # runs several statements takes none): every value must come back as given, a quote or a
    # "?" inside a text included, and a failing statement must take the others back.
    insert = "INSERT INTO bot_state (key, value) VALUES (?, ?)"
    tricky = ["it's a '?' -- not; COMMIT; DROP TABLE users;", "", "é « » \u202f", "x" * 5000]
    statements: list[tuple[str, tuple[object, ...]]] = [
        (insert, (f"k{i}", value)) for i, value in enumerate(tricky)
    ]
    statements.append(("UPDATE bot_state SET value = value || ? || ? WHERE key = 'k1'", (12, 0.5)))
    await db.execute_in_one_trip(statements)
    rows = await db.fetchall("SELECT key, value FROM bot_state ORDER BY key")
    assert [tuple(r) for r in rows] == [
        ("k0", tricky[0]),
        ("k1", "120.5"),
        ("k2", tricky[2]),
        ("k3", tricky[3]),
    ]
    assert await db.fetchone("SELECT count(*) FROM users") is not None  # still there
    # A duplicate key in the last statement: nothing of the batch stays, the connection works.
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute_in_one_trip([(insert, ("k9", None)), (insert, ("k0", "again"))])
    assert await _count(db) == 4
    # Values it does not write as literals (bytes, NUL) go the slower way, with the same result.
    await db.execute_in_one_trip([(insert, ("b", b"\x00\x01")), (insert, ("n", "a\x00b"))])
    row = await db.fetchone("SELECT value FROM bot_state WHERE key = 'n'")
    assert row is not None and row[0] == "a\x00b"
    assert await _count(db) == 6
    await db.execute("INSERT INTO bot_state (key, value) VALUES ('after', '1')")


class _CountingDatabase(Database):
    """The database, counting its trips of ``execute_in_one_trip``."""

    trips = 0

    async def _run_script(self, script: str) -> None:
        self.trips += 1
        await super()._run_script(script)


async def test_writes_in_one_trip_at_once_share_a_trip_and_fail_alone(tmp_path: Path) -> None:
    # Updates handled at once are marked done together (a group commit, issue 20): the
    # callers that come while a trip runs share the next one; if it fails, each is run
    # again alone, so that only the caller whose statement failed is told so.
    db = await _CountingDatabase.open(tmp_path / "livredor.db")
    try:
        insert = "INSERT INTO bot_state (key, value) VALUES (?, ?)"
        await asyncio.gather(
            *(db.execute_in_one_trip([(insert, (f"k{i}", "v"))]) for i in range(10))
        )
        assert await _count(db) == 10
        assert db.trips == 2  # the first caller's, then one for the nine that came meanwhile
        db.trips = 0
        results = await asyncio.gather(
            *(
                db.execute_in_one_trip([(insert, (key, "w")), (insert, (f"{key}+", "w"))])
                for key in ("a", "b", "k3", "c")  # k3 is taken: that caller fails
            ),
            return_exceptions=True,
        )
        assert [type(r) for r in results] == [
            type(None),
            type(None),
            sqlite3.IntegrityError,
            type(None),
        ]
        keys = {row[0] for row in await db.fetchall("SELECT key FROM bot_state")}
        assert {"a", "a+", "b", "b+", "c", "c+"} <= keys and "k3+" not in keys
        assert db.trips == 1 + 1 + 3  # the first alone; the three others together, then alone
    finally:
        await db.close()


async def test_an_updates_commit_goes_ahead_of_queued_statements_never_into_a_transaction(
    db: Database,
) -> None:
    # Telegram waits for an update's commit (the webhook's 200) before it sends the next:
    # the inbox's INSERT does not queue behind the statements waiting for the connection
    # (issue 20: one POST at a time, the commit in 2.0 ms behind them, 0.7 ahead)...
    inbox = Inbox(db)
    finished: list[str] = []

    async def read(name: str) -> None:
        await db.fetchone("SELECT count(*) FROM inbox")
        finished.append(name)

    readers = [asyncio.create_task(read(f"read {i}")) for i in range(5)]
    await asyncio.sleep(0)  # the first reader's trip is under way, the others wait for it
    assert await inbox.add_many({1: "{}"}, first=True) == {1}
    finished.append("update 1")
    await asyncio.gather(*readers)
    assert finished.index("update 1") <= 1, finished  # behind the lock: last
    # ... but never into a transaction another task has open: rolled back with it, it would
    # be lost after Telegram got its 200.
    adding: asyncio.Task[set[int]] | None = None
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO bot_state (key, value) VALUES ('t', '1')")
            adding = asyncio.create_task(inbox.add_many({2: "{}"}, first=True))
            await conn.execute("SELECT 1")  # a trip: the task has started, and waits
            assert not adding.done()
            raise RuntimeError("rolled back")
    assert adding is not None and await adding == {2}
    # Nor into a group commit's transaction that failed before its COMMIT (rolled back by
    # a second trip).
    insert = "INSERT INTO bot_state (key, value) VALUES (?, ?)"
    failing = asyncio.create_task(
        db.execute_in_one_trip([(insert, ("k", "1")), (insert, ("k", "2"))])
    )
    await asyncio.sleep(0)  # its script is under way
    assert await inbox.add_many({3: "{}"}, first=True) == {3}
    with pytest.raises(sqlite3.IntegrityError):
        await failing
    rows = await db.fetchall("SELECT update_id FROM inbox ORDER BY update_id")
    assert [row[0] for row in rows] == [1, 2, 3]
    assert await _count(db) == 0
