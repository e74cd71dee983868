"""``livredor poster``: the printable poster with the QR code of the bot's deep link.

The link needs the bot's username, which only Telegram knows for a token (``getMe``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.services.poster import FORMATS, PosterText, deep_link, write_poster
from bot.services.sessions import Session, Sessions, SessionsError
from bot.services.texts import Texts
from config.settings import Settings

EXIT_OK, EXIT_PROBLEM, EXIT_CONFIG = 0, 1, 2


async def bot_username(settings: Settings) -> str:
    """Ask Telegram who the bot is; raise ``PosterError`` with a plain sentence if it cannot."""
    request = HTTPXRequest(connect_timeout=10.0, read_timeout=15.0)
    bot = Bot(settings.token, base_url=settings.api_base_url, request=request)
    try:
        # Not ``bot.initialize()``: its InvalidToken message quotes the token.
        me = await bot.get_me()
    except InvalidToken:
        raise PosterError(
            "Telegram refused LIVREDOR_BOT_TOKEN: copy the token again from @BotFather "
            "(the poster needs the bot's username, which Telegram gives for the token)."
        ) from None
    except NetworkError:
        host = urlsplit(settings.api_base_url).netloc
        raise PosterError(
            f"Could not reach the Bot API at {host} to learn the bot's username: check this "
            "machine's internet access (or LIVREDOR_API_BASE_URL)."
        ) from None
    except TelegramError as exc:
        message = str(exc).replace(settings.token, "<token>")
        raise PosterError(f"Telegram answered: {message}") from None
    finally:
        await request.shutdown()
    if not me.username:
        raise PosterError("Telegram gave no username for this bot: set one with @BotFather.")
    return me.username


class PosterError(Exception):
    """The poster cannot be made; the message is the sentence to print."""


def _targets(
    sessions: Sessions, name: str | None, every: bool, output: Path, fmt: str
) -> list[tuple[Session | None, Path]]:
    """Which posters to write where."""
    if every:
        if not sessions:
            raise PosterError("--all-sessions: there are no sessions (set LIVREDOR_SESSIONS).")
        if output.exists() and not output.is_dir():
            raise PosterError(f"--all-sessions writes one file per session: {output} is a file.")
        output.mkdir(parents=True, exist_ok=True)
        return [(s, output / f"poster-{s.slug}.{fmt}") for s in sessions.items]
    if output.suffix.lower().lstrip(".") not in FORMATS:
        raise PosterError(f"{output}: the file name must end in .pdf, .png or .svg.")
    if name is None:
        return [(None, output)]
    session = sessions.match(name)
    if session is None:
        known = ", ".join(s.slug for s in sessions.items) or "none: LIVREDOR_SESSIONS is not set"
        raise PosterError(f"--session {name}: no such session (known: {known}).")
    return [(session, output)]


async def make_posters(
    settings: Settings,
    output: Path,
    *,
    session: str | None = None,
    language: str | None = None,
    every: bool = False,
    fmt: str = "pdf",
) -> int:
    """Write the poster(s); print what was written, or the one sentence that says why not."""
    try:
        sessions = Sessions.load(settings.sessions)
        targets = _targets(sessions, session, every, output, fmt)
        if settings.bot_token is None:
            raise PosterError(
                "LIVREDOR_BOT_TOKEN is not set: the poster's link needs the bot's username, "
                "which Telegram gives for the token (from @BotFather)."
            )
        username = await bot_username(settings)
    except (PosterError, SessionsError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG if isinstance(exc, SessionsError) else EXIT_PROBLEM
    lang = language or settings.default_language
    texts = Texts.load(settings.texts, settings.default_language)
    event = settings.event_name or texts.raw(lang, "poster.no_event")
    for target, path in targets:
        text = PosterText(
            event=event,
            sentence=texts.raw(lang, "poster.sentence"),
            link=deep_link(username, target),
            session=target.title(lang) if target else None,
        )
        write_poster(text, path)
        print(f"Wrote {path}: {text.link}", file=sys.stderr)
    return EXIT_OK
