"""``livredor backup PATH``: an online copy of the database, verified before it is kept.

Safe while the bot runs: ``VACUUM INTO`` reads one consistent snapshot through a second
connection (WAL lets the bot keep writing meanwhile). The copy is written under a temporary
name beside the target, checked (``PRAGMA integrity_check``, schema version, row counts) and
only then renamed into place, so PATH is always either the previous good backup or the new one.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.outputs import OutputError, check_target, problem
from bot.cli.wording import counted
from config.settings import Settings
from storage.database import Database, inspect_copy
from storage.portraits import (
    PortraitFiles,
    install_folder,
    names_in_copy,
    portraits_dir,
    remove_folder,
)

# The names target_path() gives dated copies: retention deletes only these.
_DATED = re.compile(r"livredor-\d{8}-\d{6}\.db")


class BackupError(Exception):
    """The backup could not be made or did not verify; the message says why, plainly."""


@dataclass(frozen=True)
class BackupReport:
    """What the verified copy holds."""

    path: Path
    schema: int
    testimonials: int
    size: int
    photos: int = 0  # the portraits it names, copied beside it (``<copy>.portraits``)


def target_path(path: Path, now: datetime | None = None) -> Path:
    """Where the copy goes: ``path`` itself, or, for a folder, a dated file inside it (so a
    scheduled ``livredor backup /backups`` keeps a history)."""
    if path.is_dir():
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        return path / f"livredor-{stamp}.db"
    return path


def verify_copy(path: Path, schema: int) -> int:
    """Check a copy: SQLite's integrity check passes and the schema is ``schema``; return the
    number of testimonials it holds."""
    try:
        problems, version, count = inspect_copy(path)
    except sqlite3.Error as exc:
        raise BackupError(f"the copy cannot be read back ({exc})") from exc
    if problems != ["ok"]:
        raise BackupError(f"the copy fails SQLite's integrity check: {'; '.join(problems[:5])}")
    if version != schema:
        raise BackupError(f"the copy is at schema {version}, the database at {schema}")
    return count


def _fsync(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return  # some systems cannot open a folder; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _prepare(source: Path, path: Path) -> tuple[Path, Path]:
    """Check the paths; return (target, temporary file beside it)."""
    if not source.is_file():
        raise BackupError(
            f"there is no database at {source} (LIVREDOR_DATABASE): nothing to back up"
        )
    target = target_path(path)
    try:
        # The database and SQLite's files beside it are refused; a previous backup is not.
        check_target(target, source, backup=True)
    except OutputError as exc:
        raise BackupError(str(exc).rstrip(".")) from None
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    return target, temporary


def _install(temporary: Path, target: Path, schema: int, photos: int) -> BackupReport:
    """Verify the temporary copy, make it durable, then rename it over the target; its
    portraits' folder takes the place of the previous copy's."""
    count = verify_copy(temporary, schema)
    _fsync(temporary)
    os.replace(temporary, target)
    install_folder(portraits_dir(temporary), portraits_dir(target))
    _fsync(target.parent, directory=True)
    return BackupReport(target, schema, count, target.stat().st_size, photos)


async def make_backup(source: Path, path: Path) -> BackupReport:
    """Copy the database at ``source`` to ``path`` (a file, or a folder for a dated file),
    verified; raise ``BackupError`` with a plain reason if anything is wrong."""
    target, temporary = _prepare(source, path)
    try:
        # migrate=False: a backup never changes the schema under a running bot.
        db = await Database.open(source, migrate=False)
        try:
            schema = await db.schema_version()
            await db.backup_to(temporary)
        finally:
            await db.close()
        # The photos the copy names go with it, and only as long as it (same retention).
        photos = PortraitFiles(portraits_dir(source)).copy_into(
            names_in_copy(temporary), portraits_dir(temporary)
        )
        return _install(temporary, target, schema, photos)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy the database ({exc})") from exc
    except OSError as exc:
        raise BackupError(problem(target, exc).rstrip(".")) from exc
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        remove_folder(portraits_dir(temporary))


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest dated copies (``livredor-YYYYMMDD-HHMMSS.db``) in
    ``folder``, each with its photos (``<copy>.portraits``); return the deleted ones. Only our
    own dated names are ever touched."""
    dated = sorted(p for p in folder.iterdir() if _DATED.fullmatch(p.name) and p.is_file())
    old = dated[:-keep] if keep > 0 else dated
    for path in old:
        path.unlink(missing_ok=True)
        remove_folder(portraits_dir(path))  # its photos go with it
    return old


async def backup(settings: Settings, path: Path, keep: int | None = None) -> int:
    """``livredor backup PATH [--keep N]``: print where the verified copy is (and what
    retention deleted); return 0, or 1 on failure."""
    try:
        report = await make_backup(settings.database, path)
    except BackupError as exc:
        print(f"Backup failed: {exc}.", file=sys.stderr)
        return 1
    photos = f", {counted(report.photos, 'photo')} beside it" if report.photos else ""
    print(
        f"Backup written to {report.path} ({report.size / 1024:.0f} KiB): "
        f"{counted(report.testimonials, 'testimonial')}{photos}, schema {report.schema}, "
        "integrity check ok."
    )
    if keep is not None and path.is_dir():  # noqa: ASYNC240 - a CLI
        deleted = prune(path, keep)
        older = counted(len(deleted), "older one")
        print(f"Kept the {keep} newest dated copies; deleted {older}.")
    return 0
