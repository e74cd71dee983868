"""The SQLite connection: pragmas, migrations, and serialised write transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrations import MIGRATIONS, SCHEMA_VERSION

# WAL with synchronous=NORMAL: a commit survives the process being killed (kill -9, a crash,
# an OOM) because it is in the WAL file; only a power cut or OS crash can lose the last few
# commits. That is the right trade for a bot at an event: FULL would fsync on every step of
# every attendee's conversation.
PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)


class _ProbeDone(Exception):
    """Raised inside the probe's transaction to roll it back."""


def inspect_copy(path: Path) -> tuple[list[str], int, int]:
    """Read a database copy without changing it (no -wal/-shm created beside it): return
    SQLite's integrity-check lines, its schema version and how many testimonials it holds."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        count = 0
        if version:
            count = int(conn.execute("SELECT count(*) FROM testimonials").fetchone()[0])
        return problems, version, count
    finally:
        conn.close()


async def _with_retry(conn: aiosqlite.Connection, pragma: str) -> None:
    """Run a pragma, retrying while the file is locked.

    Switching a fresh file to WAL needs the write lock, and SQLite answers SQLITE_BUSY at
    once for that (the busy handler is not used): a second process starting while the first
    creates the file must wait and try again.
    """
    for attempt in range(200):
        try:
            await conn.execute(pragma)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            await asyncio.sleep(0.05)


class Database:
    """One aiosqlite connection shared by the whole process.

    Every transaction takes ``self._lock`` first: asyncio tasks share the connection, and
    without the lock one task's statements would land inside another's transaction.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        """Open (creating if needed) and migrate the database at ``path``."""
        path = Path(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            for pragma in PRAGMAS:
                await _with_retry(conn, pragma)
            db = cls(conn, path)
            if migrate:
                await db.migrate()
        except BaseException:
            # aiosqlite's worker thread is not a daemon: an unclosed connection would keep
            # the process alive after the error (e.g. LIVREDOR_DATABASE is not SQLite).
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connection (waiting for a transaction in progress)."""
        async with self._lock:
            await self._conn.close()

    async def schema_version(self) -> int:
        """Return ``PRAGMA user_version``."""
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    async def migrate(self) -> int:
        """Apply every migration above the current version, each in its own transaction."""
        async with self._lock:
            while True:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    cursor = await self._conn.execute("PRAGMA user_version")
                    row = await cursor.fetchone()
                    version = int(row[0]) if row else 0
                    if version >= SCHEMA_VERSION:
                        await self._conn.execute("COMMIT")
                        return version
                    for statement in MIGRATIONS[version]:
                        await self._conn.execute(statement)
                    # PRAGMA takes no placeholders; the value is our own integer.
                    await self._conn.execute(f"PRAGMA user_version = {version + 1}")
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await self._conn.execute("ROLLBACK")
                    raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block's statements in one ``BEGIN IMMEDIATE ... COMMIT``."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    # A single write statement runs as its own transaction (autocommit): SQLite takes the
    # write lock when the statement starts (OP_Transaction), before it reads anything, exactly
    # as BEGIN IMMEDIATE would, and commits when it ends. One thread hop instead of three on
    # the hot path (every step of every conversation).

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one write statement as its own transaction; return the row count."""
        async with self._lock:
            cursor = await self._conn.execute(sql, tuple(params))
            count = cursor.rowcount
            await cursor.close()
            return count

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """Run a read and return its first row."""
        async with self._lock:
            cursor = await self._conn.execute(sql, tuple(params))
            row: sqlite3.Row | None = await cursor.fetchone()
            await cursor.close()
            return row

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a read and return all its rows."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
            return list(rows)

    async def write_returning(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run one ``... RETURNING`` write as its own transaction and return its rows."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
            return list(rows)

    async def probe_write(self) -> None:
        """Make a write and roll it back: file permissions can lie (ACLs, read-only mounts,
        root), a real write cannot. Raises ``sqlite3.Error`` if the database is not writable."""
        try:
            async with self.transaction() as conn:
                await conn.execute("CREATE TABLE livredor_write_probe (x)")
                raise _ProbeDone
        except _ProbeDone:
            pass

    async def backup_to(self, target: str | Path) -> None:
        """Write a consistent copy of the live database to ``target`` (``VACUUM INTO``)."""
        async with self._lock:
            await self._conn.execute("VACUUM INTO ?", (str(target),))
