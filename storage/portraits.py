"""The portraits' files: kept beside the database, in a folder of its own, with its modes.

A portrait is a JPEG the bot made (bot/services/portraits.py: resized, no metadata) under a
random name that says nothing of its author; the database holds the name. A file is written
whole under a temporary name and renamed, before the row that names it is committed: a crash
in between leaves a file no row names, which ``sweep`` removes at start (the update that
brought it is replayed and downloads the photo again). Erasing a row's portrait deletes the
file after the commit; a crash in between leaves, again, only what ``sweep`` removes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from storage.database import FILE_MODE

log = logging.getLogger(__name__)

DIR_MODE = 0o700
SUFFIX = ".jpg"
# What ``write`` names a file: 22 random URL-safe characters. Nothing else is ever deleted.
_NAME = re.compile(r"[A-Za-z0-9_-]{22}\.jpg")
_TEMPORARY = re.compile(r"\.[A-Za-z0-9_-]{22}\.jpg\.tmp")


def portraits_dir(database: Path) -> Path:
    """The folder of a database's portraits: beside it, named after it (two databases in one
    folder keep theirs apart)."""
    return database.with_name(f"{database.name}.portraits")


class PortraitFiles:
    """The portraits of one database, by name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @staticmethod
    def is_name(name: str) -> bool:
        """Whether ``name`` is one ``write`` gives (never a path)."""
        return _NAME.fullmatch(name) is not None

    def path(self, name: str) -> Path:
        """The file of a portrait (``ValueError`` for a name ``write`` never gives)."""
        if not self.is_name(name):
            raise ValueError("not a portrait's name")
        return self.folder / name

    def read(self, name: str) -> bytes | None:
        """The portrait's bytes, or None if its file is gone."""
        try:
            return self.path(name).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def write(self, content: bytes) -> str:
        """Store ``content`` durably under a new random name (0600, in a 0700 folder);
        return the name."""
        self._make_folder()
        name = secrets.token_urlsafe(16) + SUFFIX
        temporary = self.folder / f".{name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.folder / name)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        self._sync_folder()
        return name

    def delete(self, names: Iterable[str | None]) -> int:
        """Delete these portraits' files (None and unknown names are skipped); return how
        many were there."""
        deleted = 0
        for name in names:
            if name is None or not self.is_name(name):
                continue
            try:
                (self.folder / name).unlink()
                deleted += 1
            except FileNotFoundError:
                pass
        if deleted:
            self._sync_folder()
        return deleted

    def names(self) -> set[str]:
        """Every portrait's name in the folder."""
        if not self.folder.is_dir():
            return set()
        return {p.name for p in self.folder.iterdir() if _NAME.fullmatch(p.name)}

    def sweep(self, kept: Iterable[str]) -> int:
        """Delete every file of the folder that ``write`` made and no row names (``kept``):
        what a crash left between writing a file and committing its row, or between
        erasing a row and deleting its file. Call it before the bot handles updates."""
        if not self.folder.is_dir():
            return 0
        keep = set(kept)
        removed = 0
        for path in self.folder.iterdir():
            orphan = _NAME.fullmatch(path.name) and path.name not in keep
            if orphan or _TEMPORARY.fullmatch(path.name):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        if removed:
            log.info("removed %d portrait file(s) no testimonial names", removed)
            self._sync_folder()
        return removed

    def copy_into(self, names: Iterable[str], folder: Path) -> int:
        """Put these portraits into ``folder`` (created 0700; a backup's): a hard link where
        the disk allows it (a portrait is never rewritten, only deleted), else a copy, 0600
        either way (no folder for none). Return how many were there to copy."""
        names = [name for name in names if self.is_name(name)]
        if not names:
            return 0
        target = PortraitFiles(folder)
        target._make_folder()
        copied = 0
        for name in names:
            source = self.folder / name
            try:
                os.link(source, folder / name)
            except FileNotFoundError:
                continue
            except OSError:
                shutil.copyfile(source, folder / name)
                (folder / name).chmod(FILE_MODE)
            copied += 1
        target._sync_folder()
        return copied

    def _make_folder(self) -> None:
        self.folder.mkdir(mode=DIR_MODE, exist_ok=True)
        mode = self.folder.stat().st_mode & 0o777
        if mode & 0o077:
            self.folder.chmod(mode & 0o700)

    def _sync_folder(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def names_in_copy(database: Path) -> set[str]:
    """The portraits a database copy (a backup) names, read without changing it."""
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(testimonials)")}
        if "portrait" not in columns:
            return set()  # written before portraits were kept
        rows = conn.execute(
            "SELECT portrait FROM testimonials WHERE portrait IS NOT NULL"
            " UNION SELECT portrait_offer FROM testimonials WHERE portrait_offer IS NOT NULL"
        )
        return {str(row[0]) for row in rows}
    finally:
        conn.close()


def install_folder(staging: Path, target: Path) -> None:
    """Put a backup's portraits folder in place of the one its previous copy had (if any)."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    if staging.exists():
        staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def remove_folder(folder: Path) -> None:
    """Delete a portraits folder (a backup's, with its copy), whatever it holds."""
    shutil.rmtree(folder, ignore_errors=True)
