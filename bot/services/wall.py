"""The live wall: the channel's testimonials on the venue's screen, as they are published.

An aiohttp server (like the webhook's) with five routes, all GET:

- ``/`` the page (``?lang=fr``, ``?session=<slug>``, ``?key=`` when ``LIVREDOR_WALL_KEY``);
- ``/wall.json`` what the page shows, with the same query: polled every
  ``POLL_SECONDS`` with ``If-None-Match`` (an unchanged wall costs a 304 and no query);
- ``/wall.css``, ``/wall.js``, ``/fonts/*.ttf``: everything the page needs, served from here
  (no CDN: the venue's network may have no internet; a strict CSP forbids anything else);
- ``/photo/<id>.jpg``: a published testimonial's photo (with the key, like the page).

What is shown is exactly the channel's post: the same functions of ``render`` make both (the
page gets the post's plain text, line by line, and sets it with ``textContent``). Only
published rows are read (``storage/stores/wall.py``). The database is read at most once a
``REFRESH_SECONDS`` whatever the number of screens, so 200 screens cost the bot one small
query a second; a withdrawn or forgotten testimonial is out of the next answer, and the page
drops whatever an answer no longer holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import reportlab
import segno
from aiohttp import web
from aiohttp.typedefs import Handler
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from bot.services.poster import deep_link
from bot.services.render import post_header_html, quote_paragraphs_html
from bot.services.sessions import Session, Sessions
from bot.services.signature import anonymous_name
from bot.services.texts import LANGUAGES, Texts
from storage.database import Database
from storage.models import WallEntry
from storage.portraits import PortraitFiles, portraits_dir
from storage.stores.wall import WallStore

log = logging.getLogger(__name__)

#: The oldest a snapshot of the published testimonials may be when a screen asks.
REFRESH_SECONDS = 1.0
#: How often the page asks; with REFRESH_SECONDS and the fade, news is on screen within 5 s.
POLL_SECONDS = 1.5
#: A wall's query is a language, a slug and a key: anything longer is not a wall's.
MAX_QUERY = 512
#: No script but ours, no style but ours, nothing from elsewhere, no DOM sink for strings.
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # The key travels in the URL: it must not leave in a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_ASSETS = resources.files("bot.services").joinpath("wall_assets")
_FONTS_DIR = Path(reportlab.__file__).parent / "fonts"
#: The page's fonts: Bitstream Vera, which ships inside reportlab (the poster uses it too).
FONTS = ("Vera.ttf", "VeraBd.ttf", "VeraIt.ttf")


@dataclass(frozen=True)
class WallSite:
    """What the wall shows besides the testimonials."""

    event_name: str
    default_language: str
    texts: Texts
    sessions: Sessions
    event_hashtag: str | None = None
    bot_username: str | None = None  # the QR code's bot; None: no corner
    key: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The published testimonials at one moment."""

    fingerprint: tuple[tuple[int, int], ...]
    entries: tuple[WallEntry, ...]


class WallFeed:
    """The published testimonials, read from the database at most once a
    ``REFRESH_SECONDS`` however many screens ask (they share the snapshot and its JSON)."""

    def __init__(
        self,
        db: Database,
        refresh: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = WallStore(db)
        self.refresh = refresh
        self.clock = clock  # tests pass a fake one
        self._snapshot: Snapshot | None = None
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()
        #: Bodies already made for this snapshot, by (language, session slug).
        self.bodies: dict[tuple[str, str], tuple[bytes, str]] = {}

    async def snapshot(self) -> Snapshot:
        """Return the current snapshot (raises the database's error when it cannot read)."""
        if self._snapshot is not None and self.clock() - self._read_at < self.refresh:
            return self._snapshot
        async with self._lock:  # one read for every screen that asked meanwhile
            if self._snapshot is not None and self.clock() - self._read_at < self.refresh:
                return self._snapshot
            fingerprint = await self.store.wall_fingerprint()
            if self._snapshot is None or fingerprint != self._snapshot.fingerprint:
                entries = tuple(await self.store.wall_entries())
                self._snapshot = Snapshot(tuple((e.id, e.version) for e in entries), entries)
                self.bodies = {}
            self._read_at = self.clock()
            return self._snapshot


def entry_json(entry: WallEntry, site: WallSite, language: str) -> dict[str, object]:
    """One testimonial for the page: its channel post's plain text, in the post's parts."""
    hashtags = site.sessions.hashtags(site.event_hashtag, entry.start_payload)
    # The channel post's own HTML, taken apart: the same text, signature and typography.
    name = anonymous_name(site.texts, entry.language) if entry.anonymous else entry.name
    header = post_header_html(name, entry.organisation).split("\n")
    bold = [html.unescape(line[3:-4]) for line in header if line.startswith("<b>")]
    italic = [html.unescape(line[3:-4]) for line in header if line.startswith("<i>")]
    words = len(quote_paragraphs_html(entry.quote))
    paragraphs = [html.unescape(p) for p in quote_paragraphs_html(entry.quote, hashtag=hashtags)]
    return {
        "key": str(entry.id),
        "name": bold[0] if bold else "",
        "organisation": italic,
        "paragraphs": paragraphs[:words],
        "tags": " ".join(paragraphs[words:]),
        "session": site.sessions.title(entry.start_payload, language) or "",
        "photo": photo_url(entry, site),
    }


def photo_url(entry: WallEntry, site: WallSite) -> str:
    """Where the page gets a testimonial's photo ("" for none): by its id, never its file's
    name, with its version (a new photo is a new URL) and the wall's key."""
    if not entry.portrait:
        return ""
    query = {"v": str(entry.version), **({"key": site.key} if site.key else {})}
    return f"/photo/{entry.id}.jpg?" + "&".join(f"{k}={v}" for k, v in _quoted(query).items())


class WallServer:
    """The wall's HTTP server; read-only, no cookies, no forms."""

    def __init__(
        self,
        db: Database,
        site: WallSite,
        *,
        refresh: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.site = site
        self.feed = WallFeed(db, refresh, clock)
        self.portraits = PortraitFiles(portraits_dir(db.path))
        self._static = _static_files()
        env = Environment(autoescape=select_autoescape(default=True), keep_trailing_newline=True)
        self._page = env.from_string(_ASSETS.joinpath("wall.html").read_text("utf-8"))
        self._qr: dict[str, Markup] = {}
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._wall)
        app.router.add_get("/wall.json", self._json)
        for name in self._static:
            app.router.add_get("/" + name, self._file)
        app.router.add_get(r"/photo/{id:\d{1,18}}.jpg", self._photo)
        app.on_response_prepare.append(_secure)
        # No access log: 200 screens polling would write 100 lines a second.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self.port = 0

    async def start(self, listen: str, port: int) -> None:
        """Listen on ``listen:port`` (port 0: any free port, then in ``self.port``)."""
        await self._runner.setup()
        await web.TCPSite(self._runner, listen, port).start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else port

    async def stop(self) -> None:
        """Stop listening."""
        await self._runner.cleanup()

    # -- requests -------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse an oversized query, and anything but the files without the key."""
        if len(request.query_string) > MAX_QUERY:
            return _plain(HTTPStatus.BAD_REQUEST, "Bad request")
        keyed = request.path in ("/", "/wall.json") or request.path.startswith("/photo/")
        if self.site.key is not None and keyed:
            given = request.query.get("key", "")
            if not hmac.compare_digest(given.encode(), self.site.key.encode()):
                return _plain(HTTPStatus.FORBIDDEN, "This wall needs its key")
        return await handler(request)

    def _choice(self, request: web.Request) -> tuple[str, Session | None]:
        """The page's language and session, from the query; raise 400 or 404 otherwise."""
        language = request.query.get("lang", self.site.default_language)
        if language not in LANGUAGES:
            raise web.HTTPBadRequest(text="Unknown language")
        slug = request.query.get("session")
        if slug is None or slug == "":
            return language, None
        session = self.site.sessions.match(slug)
        if session is None or session.slug.lower() != slug.lower():
            raise web.HTTPNotFound(text="No such session")
        return language, session

    async def _wall(self, request: web.Request) -> web.StreamResponse:
        language, session = self._choice(request)
        texts, site = self.site.texts, self.site
        link = deep_link(site.bot_username, session) if site.bot_username else None
        query = {"lang": language}
        if session is not None:
            query["session"] = session.slug
        if site.key is not None:
            query["key"] = site.key
        page = self._page.render(
            lang=language,
            event=site.event_name or texts.raw(language, "poster.no_event"),
            session=session.title(language) if session else None,
            feed="/wall.json?" + "&".join(f"{k}={v}" for k, v in _quoted(query).items()),
            poll_ms=int(POLL_SECONDS * 1000),
            link=link,
            link_text=link.removeprefix("https://") if link else None,
            qr=self._qr_svg(link) if link else None,
            leave=texts.raw(language, "wall.leave_yours"),
            continued=texts.raw(language, "wall.continued"),
            empty=texts.raw(language, "wall.empty"),
            offline=texts.raw(language, "wall.offline"),
        )
        return web.Response(
            text=page,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )

    async def _json(self, request: web.Request) -> web.StreamResponse:
        language, session = self._choice(request)
        try:
            snapshot = await self.feed.snapshot()
        except Exception:  # the page keeps what it shows and asks again
            log.exception("the wall could not read the database")
            return _plain(HTTPStatus.SERVICE_UNAVAILABLE, "Try again")
        slot = (language, session.slug if session else "")
        made = self.feed.bodies.get(slot)
        if made is None:
            entries = [
                entry_json(e, self.site, language)
                for e in snapshot.entries
                if session is None or self.site.sessions.match(e.start_payload) == session
            ]
            body = json.dumps({"entries": entries}, ensure_ascii=False).encode()
            made = body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self.feed.bodies[slot] = made
        body, etag = made
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=HTTPStatus.NOT_MODIFIED, headers=headers)
        return web.Response(body=body, content_type="application/json", headers=headers)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        body, content_type = self._static[request.path.lstrip("/")]
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=HTTPStatus.NOT_MODIFIED, headers=headers)
        return web.Response(body=body, content_type=content_type, headers=headers)

    async def _photo(self, request: web.Request) -> web.StreamResponse:
        """A published testimonial's photo, found in the current snapshot (nothing else)."""
        wanted = int(request.match_info["id"])
        try:
            snapshot = await self.feed.snapshot()
        except Exception:
            log.exception("the wall could not read the database")
            return _plain(HTTPStatus.SERVICE_UNAVAILABLE, "Try again")
        entry = next((e for e in snapshot.entries if e.id == wanted), None)
        name = entry.portrait if entry is not None else None
        body = await asyncio.to_thread(self.portraits.read, name) if name else None
        if entry is None or body is None:
            return _plain(HTTPStatus.NOT_FOUND, "No such photo")
        etag = f'"{entry.id}-{entry.version}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=HTTPStatus.NOT_MODIFIED, headers=headers)
        return web.Response(body=body, content_type="image/jpeg", headers=headers)

    def _qr_svg(self, link: str) -> Markup:
        """The link's QR code as inline SVG (error correction H, as on the poster)."""
        if link not in self._qr:
            code = segno.make(link, error="h", micro=False, boost_error=False)
            svg = code.svg_inline(scale=1, border=4, omitsize=True, svgclass="qr", lineclass=None)
            self._qr[link] = Markup(svg)  # segno's own SVG: paths, no text
        return self._qr[link]


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every file the page loads, read once: name in the URL -> (bytes, content type)."""
    files = {
        "wall.css": (_ASSETS.joinpath("wall.css").read_bytes(), "text/css"),
        "wall.js": (_ASSETS.joinpath("wall.js").read_bytes(), "text/javascript"),
    }
    for font in FONTS:
        files[f"fonts/{font}"] = ((_FONTS_DIR / font).read_bytes(), "font/ttf")
    return files


def _quoted(query: Mapping[str, str]) -> dict[str, str]:
    return {k: quote(v, safe="") for k, v in query.items()}


def _plain(status: HTTPStatus, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers={"Cache-Control": "no-store"})


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer, errors included, carries the security headers."""
    response.headers.update(SECURITY_HEADERS)
