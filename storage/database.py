"""The SQLite connection: pragmas, migrations, and serialised write transactions."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import math
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import aiosqlite

from storage.migrations import MIGRATIONS, SCHEMA_VERSION

# WAL with synchronous=NORMAL: a commit survives the process being killed (kill -9, a crash,
# an OOM) because it is in the WAL file; only a power cut or OS crash can lose the last few
# commits. That is the right trade for a bot at an event: FULL would fsync on every step of
# every attendee's conversation.
PRAGMAS = (
    # Deleted content is overwritten with zeros, not left in free pages (see /forget).
    "PRAGMA secure_delete = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)


# PRAGMA application_id: "LVOR". Marks a file as livredor's (``file`` shows it too).
APPLICATION_ID = 0x4C564F52
_SQLITE_HEADER = b"SQLite format 3\x00"
# Only the bot's user may read the database: it holds names, quotes and Telegram ids.
FILE_MODE = 0o600
#: The result codes of "database is locked" (another connection holds the lock) and "database
#: table is locked" (this one does): both mean "try again".
BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


#: Callers of ``execute_in_one_trip`` whose statements share one trip, at most.
SCRIPTS_A_TRIP = 64
#: A statement and its parameters.
Statement = tuple[str, tuple[Any, ...]]
#: The statements ``Database.execute_later`` leaves to its caller (see ``deferring``).
_DEFERRED: ContextVar[_Later | None] = ContextVar("deferred_writes", default=None)


class _Later(list[Statement]):
    """The statements left for the end of a ``deferring`` block; closed once it ends (a task
    started inside the block shares the context, and must not write into a list that no
    one will run any more)."""

    open = True
    checkpoint = False  # ``checkpoint_later`` was called in the block


def _literal(value: Any) -> str | None:
    """``value`` as an SQLite literal, or None when it is not a kind ``_inline`` writes."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


@functools.lru_cache(maxsize=256)
def _segments(sql: str) -> tuple[str, ...] | None:
    """``sql`` cut at each ``?`` outside quotes (a handful of statements, cut once each);
    None for a ``?NNN`` placeholder or a quote left open."""
    segments: list[str] = []
    begin = 0
    quote = ""
    for index, char in enumerate(sql):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "?":
            if sql[index + 1 : index + 2].isdigit():
                return None
            segments.append(sql[begin:index])
            begin = index + 1
    if quote:
        return None
    segments.append(sql[begin:])
    return tuple(segments)


def _inline(sql: str, params: Sequence[Any]) -> str | None:
    """``sql`` with each ``?`` outside quotes replaced by its parameter as a literal; None
    when a parameter has no literal here or the counts differ."""
    segments = _segments(sql)
    if segments is None or len(segments) != len(params) + 1:
        return None
    out = [segments[0]]
    for value, segment in zip(params, segments[1:], strict=True):
        literal = _literal(value)
        if literal is None:
            return None
        out.append(literal)
        out.append(segment)
    return "".join(out)


def _settle(waiter: asyncio.Future[None], error: sqlite3.Error | None) -> None:
    """Tell a caller of ``execute_in_one_trip`` how its statements went (unless it left)."""
    if waiter.done():
        return
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)


class DatabaseFileError(Exception):
    """The database file cannot be used; the message is one sentence for the person running
    livredor (never a traceback)."""


def _check_header(path: Path) -> None:
    """Refuse a non-empty file that is not SQLite before SQLite touches it."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DatabaseFileError(f"{path} cannot be read ({exc.strerror}).") from None
    if head and head != _SQLITE_HEADER:
        raise DatabaseFileError(
            f"{path} is not a SQLite database: check LIVREDOR_DATABASE (nothing was changed)."
        )


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite does (SQLite gives its -wal and -shm the database's
    mode), and bring an existing file and its companions back to 0600, whatever the umask."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            mode = file.stat().st_mode & 0o777
            if mode & 0o077:
                # Only take rights away: a file made read-only on purpose stays read-only.
                file.chmod(mode & 0o700)


def sqlite_code(exc: sqlite3.Error) -> int | None:
    """Return SQLite's primary result code for an error (``sqlite3.SQLITE_BUSY``...), None
    for one Python raised itself."""
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF  # extended codes keep the primary in 8 bits


#: OS errors that mean "no room left to write" (a full disk, a quota, a file-size limit).
OUT_OF_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_out_of_space(exc: BaseException) -> bool:
    """Whether a write failed for want of space (SQLite's "database or disk is full", or
    the OS's), rather than for a bug: such a write can succeed later, unchanged."""
    if isinstance(exc, sqlite3.Error):
        return sqlite_code(exc) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in OUT_OF_SPACE_ERRNOS


def _sentence(path: Path, exc: sqlite3.Error) -> DatabaseFileError:
    """Say in one sentence why SQLite refused the file."""
    code = sqlite_code(exc)
    if code == sqlite3.SQLITE_READONLY:
        why = "is read-only for this user: livredor needs to write to it and to its folder"
    elif code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        why = "is not a SQLite database, or is damaged"
    elif code == sqlite3.SQLITE_CANTOPEN:
        why = "cannot be opened: check that its folder exists and is writable"
    else:
        why = f"cannot be used ({exc})"
    return DatabaseFileError(f"{path} {why}.")


class InstanceLock:
    """An exclusive lock on the database for one ``livredor run``: a second one on the same
    file would poll Telegram too (409 Conflict) and run a second publisher.

    ``flock`` on the database file itself (no lock file to create or leave behind): on Linux
    it is independent of the POSIX locks SQLite takes, and the kernel drops it if the process
    dies. The descriptor stays open until the connection is closed, so no SQLite lock is lost
    by closing another descriptor of the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`DatabaseFileError` if another instance holds it."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise DatabaseFileError(f"{self.path} cannot be opened ({exc.strerror}).") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatabaseFileError(
                f"Another livredor run is already using {self.path} (one instance per"
                " database: two would both poll Telegram): stop it first."
            ) from None
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (after the database connection is closed)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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
            if sqlite_code(exc) not in BUSY or attempt == 199:
                raise
            await asyncio.sleep(0.05)


class Database:
    """One aiosqlite connection shared by the whole process.

    Every transaction takes ``self._lock`` first: asyncio tasks share the connection, and
    without the lock one task's statements would land inside another's transaction. So do
    single statements, one after the other, except ``write_returning_first``.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        #: Scripts waiting for the next trip of ``execute_in_one_trip`` (a group commit),
        #: each with the future its caller waits on; and whether a caller is running trips.
        self._scripts: list[tuple[str, asyncio.Future[None]]] = []
        self._tripping = False
        #: Clear while a holder of the lock may have a transaction open on the connection
        #: (``_exclusive``): what ``write_returning_first`` waits for.
        self._no_transaction = asyncio.Event()
        self._no_transaction.set()

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Self:
        """Open (creating if needed, 0600) and migrate the database at ``path``.

        Raises :class:`DatabaseFileError` for a file that is not SQLite, another program's
        database, one from a newer livredor, or one this user cannot write.
        """
        path = Path(path)
        _check_header(path)
        if migrate:
            try:
                _create_private(path)
            except OSError as exc:
                raise DatabaseFileError(f"{path} cannot be created ({exc.strerror}).") from None
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise _sentence(path, exc) from None
        conn.row_factory = sqlite3.Row
        try:
            for pragma in PRAGMAS:
                await _with_retry(conn, pragma)
            db = cls(conn, path)
            await db._check_ownership(migrate)
            if migrate:
                await db.migrate()
        except sqlite3.Error as exc:
            await conn.close()
            raise _sentence(path, exc) from None
        except BaseException:
            # aiosqlite's worker thread is not a daemon: an unclosed connection would keep
            # the process alive after the error (e.g. LIVREDOR_DATABASE is not SQLite).
            await conn.close()
            raise
        return db

    async def _check_ownership(self, claim: bool) -> None:
        """Accept an empty file or livredor's own, at a schema this code knows; with ``claim``,
        mark an empty file (or one made before the mark existed) as livredor's."""
        app_id = int(await self._value("PRAGMA application_id"))
        version = int(await self._value("PRAGMA user_version"))
        tables = {
            row[0]
            for row in await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        ours = app_id == APPLICATION_ID or (
            app_id == 0 and (not tables or (version > 0 and "testimonials" in tables))
        )
        if not ours:
            raise DatabaseFileError(
                f"{self.path} belongs to another program (it is not a livredor database):"
                " check LIVREDOR_DATABASE (nothing was changed)."
            )
        if version > SCHEMA_VERSION:
            raise DatabaseFileError(
                f"{self.path} was written by a newer livredor (schema {version}, newer than"
                f" this livredor knows ({SCHEMA_VERSION})): upgrade livredor, or restore a"
                " backup made with this version (nothing was changed)."
            )
        if claim and app_id != APPLICATION_ID:
            await self.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    async def _value(self, sql: str) -> Any:
        row = await self.fetchone(sql)
        return row[0] if row is not None else 0

    async def checkpoint(self) -> None:
        """Copy the WAL into the database and empty it: after an erasure, the erased text
        must not stay readable in ``-wal`` (secure_delete zeroes it in the database)."""
        async with self._lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        """Close the connection (waiting for a transaction in progress)."""
        async with self._exclusive():
            await self._conn.close()

    async def schema_version(self) -> int:
        """Return ``PRAGMA user_version``."""
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    async def migrate(self) -> int:
        """Apply every migration above the current version, each in its own transaction."""
        async with self._exclusive():
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
    async def _exclusive(self) -> AsyncIterator[None]:
        """Hold the lock for trips that may leave a transaction open until a later trip (a
        ``BEGIN``, a script that fails before its ``COMMIT``): ``write_returning_first``
        waits for these, not for single statements."""
        async with self._lock:
            self._no_transaction.clear()
            try:
                yield
            finally:
                self._no_transaction.set()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block's statements in one ``BEGIN IMMEDIATE ... COMMIT``."""
        async with self._exclusive():
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    # A single write statement runs as its own transaction (autocommit): SQLite takes the
    # write lock when the statement starts (OP_Transaction), before it reads anything, exactly
    # as BEGIN IMMEDIATE would, and commits when it ends. One round trip to aiosqlite's thread
    # (a wake-up of that thread, then of the event loop) instead of three on the hot path.
    # The row count and the row id are attributes of the cursor aiosqlite returns, read
    # without a trip; the cursor is not closed (another trip): a finished statement holds no
    # lock, and sqlite3 releases it with the cursor.

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one write statement as its own transaction; return the row count."""
        async with self._lock:
            cursor = await self._conn.execute(sql, tuple(params))
            return cursor.rowcount

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """Run a read of at most one row (by key, ``LIMIT 1``, an aggregate) and return it.

        ``execute_fetchall`` is one round trip where execute, fetchone and close are three;
        it reads every row, hence "at most one"."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    @contextlib.contextmanager
    def deferring(self) -> Iterator[list[Statement]]:
        """Within the block (in this task), ``execute_later`` collects its statements in
        the list it yields instead of running them: the caller runs them with its own."""
        pending = _Later()
        token = _DEFERRED.set(pending)
        try:
            yield pending
        finally:
            pending.open = False
            _DEFERRED.reset(token)

    async def execute_later(self, sql: str, params: Iterable[Any] = ()) -> None:
        """Run a write statement, or inside ``deferring`` leave it to be run with others."""
        pending = _DEFERRED.get()
        if pending is None or not pending.open:
            await self.execute(sql, params)
        else:
            pending.append((sql, tuple(params)))

    async def checkpoint_later(self) -> None:
        """``checkpoint``, or inside ``deferring`` once the block's writes are committed (an
        erasure's own update is blanked in the inbox only then, see ``run_deferred``)."""
        pending = _DEFERRED.get()
        if pending is None or not pending.open:
            await self.checkpoint()
        else:
            pending.checkpoint = True

    async def run_deferred(self, later: Sequence[Statement], *statements: Statement) -> None:
        """Run what a ``deferring`` block left with ``statements``, in one transaction (with
        other callers' that come meanwhile: ``execute_in_one_trip``), then the checkpoint the
        block asked for."""
        batch = [*later, *statements]
        if batch:
            await self.execute_in_one_trip(batch)
        if isinstance(later, _Later) and later.checkpoint:
            await self.checkpoint()

    async def execute_together(self, statements: Sequence[Statement]) -> list[int]:
        """Run write statements in one transaction; return their row counts. A single
        statement needs no BEGIN and COMMIT of its own (see ``execute``)."""
        if len(statements) == 1:
            return [await self.execute(*statements[0])]
        async with self.transaction() as conn:
            return [(await conn.execute(sql, params)).rowcount for sql, params in statements]

    async def execute_in_one_trip(self, statements: Sequence[Statement]) -> None:
        """Run write statements in one transaction and one round trip to aiosqlite's thread.

        ``execute_together`` costs a trip per statement plus BEGIN and COMMIT (an update's
        done mark with its "asked" mark: 4 trips, ~0.14 ms); aiosqlite's public API has one
        call that runs several statements, ``executescript``, which takes no parameters. So
        the parameters are written into the script as SQL literals, for the values our
        statements carry (integers, finite floats, texts without NUL, NULL: quoted as SQLite
        reads them, never a way into the SQL); anything else goes the slower way.

        Callers that come while a trip is under way share the next one, in one transaction
        (a group commit: updates handled at once are marked done together). If it fails,
        each of them is run again alone, so that one caller's error is only theirs."""
        script = [_inline(sql, params) for sql, params in statements]
        if any(part is None for part in script):
            await self.execute_together(statements)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._scripts.append(("".join(f"{part};\n" for part in script), waiter))
        if not self._tripping:
            await self._run_scripts(waiter)
        await waiter

    async def _run_scripts(self, own: asyncio.Future[None]) -> None:
        """Run the waiting scripts, a batch a trip, until none waits (``own``: the caller's)."""
        self._tripping = True
        try:
            while self._scripts:
                batch = self._scripts[:SCRIPTS_A_TRIP]
                del self._scripts[:SCRIPTS_A_TRIP]
                try:
                    await self._run_script("".join(script for script, _ in batch))
                except sqlite3.Error as exc:
                    if len(batch) == 1:
                        _settle(batch[0][1], exc)
                        continue
                    for script, waiter in batch:  # again alone: whose statement failed
                        try:
                            await self._run_script(script)
                        except sqlite3.Error as error:
                            _settle(waiter, error)
                        else:
                            _settle(waiter, None)
                except BaseException:
                    # Cancelled (the bot stops): the others are told it was interrupted.
                    own.cancel()
                    for _, waiter in batch:
                        _settle(waiter, sqlite3.OperationalError("write interrupted"))
                    raise
                else:
                    for _, waiter in batch:
                        _settle(waiter, None)
        finally:
            self._tripping = False
            for _, waiter in self._scripts:  # left by an interrupted caller
                _settle(waiter, sqlite3.OperationalError("write interrupted"))
            self._scripts.clear()

    async def _run_script(self, script: str) -> None:
        """One trip: ``script``'s statements in one ``BEGIN IMMEDIATE ... COMMIT``."""
        async with self._exclusive():
            try:
                await self._conn.executescript(f"BEGIN IMMEDIATE;\n{script}COMMIT;")
            except BaseException:
                # A statement failed (a full disk) with the transaction open; or it was all
                # committed (cancelled while it ran), and there is nothing to roll back.
                with contextlib.suppress(sqlite3.Error):
                    await self._conn.execute("ROLLBACK")
                raise

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

    async def write_returning_first(
        self, sql: str, params: Iterable[Any] = ()
    ) -> list[sqlite3.Row]:
        """``write_returning``, ahead of the single statements waiting for the lock.

        For a commit someone outside waits for (a webhook's update, before the 200: Telegram
        sends the next one only then). Behind the lock, it would wait for every statement
        queued before it, each one handed the lock by the event loop after the previous
        one's trip (the benchmark's POSTs one at a time: the commit in 2.0 ms at the median
        behind them, 0.7 ahead). It waits only while a transaction may be open
        (``_exclusive``), so it never runs inside one; then it goes straight into
        aiosqlite's queue, where the statements already sent run first, in order, and
        whatever is sent next runs after it.
        """
        while not self._no_transaction.is_set():
            await self._no_transaction.wait()
        rows = await self._conn.execute_fetchall(sql, tuple(params))
        return list(rows)

    async def probe_commit(self) -> None:
        """Commit one small real write (a rolled-back one may never reach the disk): after
        running out of space, says whether writes work again."""
        await self.execute(
            "INSERT INTO bot_state (key, value) VALUES ('storage_probe', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (datetime.now(UTC).isoformat(),),
        )

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
        """Write a consistent copy of the live database to ``target`` (``VACUUM INTO``),
        readable by this user only."""
        target = Path(target)
        with contextlib.suppress(FileExistsError):
            # VACUUM INTO writes into an existing empty file, keeping its 0600 mode.
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        target.chmod(FILE_MODE)
        async with self._lock:
            await self._conn.execute("VACUUM INTO ?", (str(target),))
