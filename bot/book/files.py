"""The livre d'or as a file, in one of ``FORMATS`` (``livredor export`` and ``/export``): the
event's settings and sessions applied to the writers of ``bot.book.formats``."""

from __future__ import annotations

import base64
import os
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from telegram.constants import FileSizeLimit

from bot.book import formats
from bot.book.formats import PortraitOf
from bot.services.images import book_image
from bot.services.links import USERNAME_KEY
from bot.services.sessions import Sessions
from bot.services.texts import Texts
from config.settings import Settings
from storage.models import Testimonial
from storage.portraits import PortraitFiles, portraits_dir
from storage.snapshot import BookSnapshot

FORMATS = ("md", "html", "csv", "json", "zip")
#: The text formats (``zip`` is a file of files: the JSON, the CSV and the photos).
TEXT_FORMATS = ("md", "html", "csv", "json")
#: Where the zip format keeps the photos, and what its JSON and CSV say.
ZIP_PORTRAITS = "portraits"


#: Telegram's upload limit for a bot's document (the cloud Bot API): above it, the book is
#: zipped, and if even that is too big the organisers are told to use ``livredor export``.
UPLOAD_LIMIT = FileSizeLimit.FILESIZE_UPLOAD


def render_book(
    testimonials: Sequence[Testimonial],
    fmt: str,
    settings: Settings,
    *,
    with_identity: bool = False,
    channel_username: str | None = None,
) -> str:
    """Return the book in one of ``FORMATS``. With sessions (``LIVREDOR_SESSIONS``), the
    book is grouped by session in the file's order, the rest last (each group keeps the
    requested order), and CSV/JSON have the session's title in a ``session`` column.
    ``channel_username``: the channel's public username (the posts' public links)."""
    sessions = Sessions.load(settings.sessions)
    ordered = sorted(testimonials, key=lambda testimonial: sessions.rank(testimonial.start_payload))
    grouped = any(sessions.match(testimonial.start_payload) for testimonial in ordered)
    chunks = _chunks(
        ordered, len(ordered), grouped, fmt, settings, sessions, with_identity, channel_username
    )
    return "".join(chunks)


def portraits_of(settings: Settings) -> PortraitFiles:
    """The portraits' folder of the event's database."""
    return PortraitFiles(portraits_dir(settings.database))


def _data_uri(files: PortraitFiles) -> PortraitOf:
    """A testimonial's photo at the book's size, inline (``data:``), for the HTML book."""

    def of(testimonial: Testimonial) -> str | None:
        content = files.read(testimonial.portrait) if testimonial.portrait else None
        if content is None:
            return None
        return "data:image/jpeg;base64," + base64.b64encode(book_image(content)).decode("ascii")

    return of


def _zip_path(testimonial: Testimonial) -> str | None:
    """Where the zip format keeps a testimonial's photo (its number, not its author)."""
    return f"{ZIP_PORTRAITS}/{testimonial.id}.jpg" if testimonial.portrait else None


def write_zip(
    testimonials: Sequence[Testimonial],
    settings: Settings,
    path: Path,
    *,
    with_identity: bool = False,
    channel_username: str | None = None,
) -> None:
    """Write the zip format to ``path``: ``livre-dor.json`` and ``livre-dor.csv``, whose
    ``portrait`` says where each photo is, and the photos under ``portraits/``."""
    sessions = Sessions.load(settings.sessions)
    ordered = sorted(testimonials, key=lambda testimonial: sessions.rank(testimonial.start_payload))
    files = portraits_of(settings)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for fmt in ("json", "csv"):
            chunks = _chunks(
                ordered,
                len(ordered),
                False,
                fmt,
                settings,
                sessions,
                with_identity,
                channel_username=channel_username,
                portrait_path=_zip_path,
            )
            archive.writestr(book_filename(fmt), "".join(chunks))
        for testimonial in ordered:
            where = _zip_path(testimonial)
            content = files.read(testimonial.portrait) if testimonial.portrait else None
            if where is not None and content is not None:
                # A JPEG is compressed already.
                archive.writestr(where, content, compress_type=zipfile.ZIP_STORED)


def _chunks(
    testimonials: Iterable[Testimonial],
    count: int,
    grouped: bool,
    fmt: str,
    settings: Settings,
    sessions: Sessions,
    with_identity: bool = False,
    channel_username: str | None = None,
    portrait_path: PortraitOf | None = None,
) -> Iterator[str]:
    """The book's text a piece at a time; ``grouped``: some testimonial has a session;
    ``with_identity``: the JSON keeps the authors' Telegram accounts; ``portrait_path``:
    where the CSV and the JSON say each photo is (the zip format)."""
    event = settings.event_name
    links = None
    if settings.channel_id is not None:
        links = formats.telegram_links(settings.channel_id, channel_username)
    lang = settings.default_language

    def title(testimonial: Testimonial) -> str | None:
        return sessions.title(testimonial.start_payload, lang)

    def heading(testimonial: Testimonial) -> str | None:
        return title(testimonial) or other

    # The organisers' texts: a session heading, and "a participant" for an anonymous entry.
    texts = Texts.load(settings.texts, lang)
    headings = None
    if grouped:
        other = texts.raw(lang, "book.other_sessions")
        headings = heading
    if fmt == "md":
        return formats.iter_markdown(testimonials, event, session_of=headings, texts=texts)
    if fmt == "html":
        portrait_of = _data_uri(portraits_of(settings))
        return formats.iter_html(
            testimonials,
            event,
            lang=lang,
            session_of=headings,
            texts=texts,
            portrait_of=portrait_of,
        )
    if fmt == "csv":
        return _bom(
            formats.iter_csv(
                testimonials,
                event,
                channel_links=links,
                session_of=title,
                texts=texts,
                portrait_path=portrait_path,
            )
        )
    if fmt == "json":
        return formats.iter_json(
            testimonials,
            count,
            event,
            channel_links=links,
            session_of=title,
            with_identity=with_identity,
            texts=texts,
            portrait_path=portrait_path,
        )
    raise ValueError(f"unknown format {fmt!r}")


def _bom(chunks: Iterator[str]) -> Iterator[str]:
    yield "\ufeff"  # lets Excel see UTF-8
    yield from chunks


@dataclass(frozen=True, slots=True)
class BookFile:
    """A book written to disk by :func:`write_book_file`."""

    path: Path
    count: int
    fits: bool  # within ``UPLOAD_LIMIT`` (zipped if it had to be)


def write_book_file(settings: Settings, fmt: str, directory: Path, order: str = "date") -> BookFile:
    """Write the book to a file in ``directory``, reading the database on a read-only
    connection of its own: blocking, run it in a thread (``asyncio.to_thread``). The rows are
    read and written in batches, never all in memory. Above ``UPLOAD_LIMIT`` it is zipped."""
    sessions = Sessions.load(settings.sessions)
    path = directory / book_filename(fmt)
    with BookSnapshot(settings.database) as snapshot:
        index = snapshot.index(order)
        index.sort(key=lambda row: sessions.rank(row[1]))  # stable: each group keeps the order
        grouped = any(sessions.match(payload) for _, payload in index)
        testimonials = snapshot.testimonials([testimonial_id for testimonial_id, _ in index])
        username = snapshot.state(USERNAME_KEY)
        # Private from the first byte (names and words); newline="" keeps the CSV's \r\n.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        if fmt == "zip":
            os.close(descriptor)
            write_zip(list(testimonials), settings, path)
            return BookFile(path, len(index), fits=path.stat().st_size <= UPLOAD_LIMIT)
        with open(descriptor, "w", encoding="utf-8", newline="") as out:
            out.writelines(
                _chunks(testimonials, len(index), grouped, fmt, settings, sessions, False, username)
            )
    if path.stat().st_size <= UPLOAD_LIMIT:
        return BookFile(path, len(index), fits=True)
    zipped = path.with_name(path.name + ".zip")
    os.close(os.open(zipped, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, path.name)
    path.unlink()
    return BookFile(zipped, len(index), fits=zipped.stat().st_size <= UPLOAD_LIMIT)


def book_filename(fmt: str) -> str:
    """Return the file name of an exported book."""
    return f"livre-dor.{fmt}"
