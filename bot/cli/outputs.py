"""Where a command may write its file, and how: one rule for ``export``, ``poster`` and
``backup``.

One letter can turn ``livredor.md`` into ``livredor.db``: no command writes over the bot's
database, its ``-wal`` / ``-shm`` / ``-journal`` files, or any other SQLite database (a backup),
links resolved. A file is written under a temporary name beside its target and renamed at the
end, so an interrupted or failed write leaves the old file as it was; it is private (0600),
like the database (exports hold names and words). A device (``/dev/stdout``) is written as it
is. Every failure is one sentence (``OutputError``), never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"
#: What SQLite keeps beside a database.
DATABASE_COMPANIONS = ("", "-wal", "-shm", "-journal")


class OutputError(Exception):
    """The file cannot be written there; the message is the sentence to print."""


def _resolved(path: Path) -> Path:
    """The path with links followed (as far as they exist)."""
    return Path(os.path.realpath(path))


def is_sqlite(path: Path) -> bool:
    """Whether ``path`` is an SQLite database file (by its header)."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def check_target(target: Path, database: Path, *, backup: bool = False) -> None:
    """Refuse a target that is the bot's database (or one of SQLite's files beside it) or,
    unless ``backup`` (a backup replaces the previous one), any SQLite database; refuse a
    folder where a file is expected and a folder that does not exist."""
    real = _resolved(target)
    real_database = _resolved(database)
    for suffix in DATABASE_COMPANIONS:
        if real == real_database.with_name(real_database.name + suffix):
            link = " (through a link)" if real != target.absolute() else ""
            raise OutputError(
                f"{target} is the bot's database{link}: writing there would destroy the event. "
                "Give another file name."
            )
    if not backup and is_sqlite(real):
        raise OutputError(
            f"{target} is an SQLite database (a backup?): livredor does not write over one. "
            "Give another file name."
        )
    if real.is_dir():
        raise OutputError(f"{target} is a folder: give a file name inside it.")
    if backup and real.exists() and not real.is_file():
        # A copy is renamed into place: never over a device or a pipe.
        raise OutputError(f"{target} is not a file (a device?): give a file name.")
    if not real.parent.is_dir():
        raise OutputError(f"the folder {real.parent} does not exist: create it first.")


def problem(path: Path, exc: OSError) -> str:
    """One sentence for a failed write."""
    reasons = {
        errno.ENOSPC: f"the disk holding {path} is full: nothing was written",
        errno.EDQUOT: f"the disk quota for {path} is used up: nothing was written",
        errno.EFBIG: f"{path} would be larger than this system allows: nothing was written",
        errno.EACCES: f"not allowed to write {path}: check the folder's owner and rights",
        errno.EPERM: f"not allowed to write {path}: check the folder's owner and rights",
        errno.EROFS: f"{path} is on a read-only file system",
        errno.ENOENT: f"the folder {path.parent} does not exist: create it first"
        if not path.parent.is_dir()
        else f"{path.parent} does not take new files ({exc.strerror})",
        errno.EISDIR: f"{path} is a folder: give a file name inside it",
        errno.ENOTDIR: f"{path.parent} is not a folder",
    }
    return reasons.get(exc.errno or 0, f"could not write {path}: {exc.strerror or exc}") + "."


@contextlib.contextmanager
def replacing(target: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield where to write ``target``'s new content: a private temporary file beside it,
    renamed over it once the block ends without error (or, for a device such as
    ``/dev/stdout``, the device itself). An existing file is replaced only with ``force``.
    Raise ``OutputError`` with one sentence for anything that fails."""
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(problem(target, exc)) from None
    if mode is not None and not stat.S_ISREG(mode):
        # A device or a pipe: no rename over it (``/dev/full`` must stay a device).
        try:
            yield target
        except OSError as exc:
            raise OutputError(problem(target, exc)) from None
        return
    if mode is not None and not force:
        raise OutputError(f"{target} exists: add --force to replace it.")
    # The suffix kept: a writer may choose its format by the file name (Pillow does).
    temporary = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    try:
        # Created private before anything is written into it.
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        yield temporary
        os.replace(temporary, target)
    except OSError as exc:
        raise OutputError(problem(target, exc)) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
