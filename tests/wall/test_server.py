"""The wall's server: exactly what the channel shows, nothing else, and nothing to attack."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from bot.services.wall import REFRESH_SECONDS
from storage.models import Status
from tests.support import Harness
from tests.wall.support import Clock, channel_text, press_card, publish, running_wall, submit

QUOTE = "Des rencontres « formidables » !\n\nMerci à tous ☺ https://example.org/slides"


async def get(url: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
    """GET the URL as written (no dot-segment clean-up by the client)."""
    raw = URL(url, encoded=True)
    async with aiohttp.ClientSession() as session, session.get(raw, headers=headers) as r:
        return r.status, CIMultiDict(r.headers), await r.read()


def entry_text(entry: dict[str, Any]) -> str:
    """An entry of wall.json as the channel post's plain text."""
    signature = [entry["name"], *entry["organisation"]]
    body = [*entry["paragraphs"], *([entry["tags"]] if entry["tags"] else [])]
    return "\n".join(signature) + "\n\n" + "\n\n".join(body)


async def entries(base: str, query: str = "") -> list[dict[str, Any]]:
    status, _, body = await get(f"{base}/wall.json{query}")
    assert status == 200, body
    found: list[dict[str, Any]] = json.loads(body)["entries"]
    return found


async def test_only_published_and_word_for_word_the_channel(h: Harness) -> None:
    published = await publish(h, h.person(), QUOTE)
    pending = await submit(h, h.person("Bob"), "Still waiting for a decision.", name="Bob")
    rejected = await submit(h, h.person("Eve"), "Not for the channel.", name="Eve")
    await press_card(h, rejected, "reject")
    draft = h.person("Dan")
    await draft.send("/start")
    await draft.send("Dan the drafter")
    async with running_wall(h) as base:
        _, headers, body = await get(f"{base}/wall.json")
        [entry] = json.loads(body)["entries"]
        assert entry["key"] == str(published)
        assert entry_text(entry) == await channel_text(h, published)
        assert entry["tags"] == "#ROUMICS"
        text = body.decode()
        for secret in ("Still waiting", "Not for the channel", "Dan the drafter", "Olga"):
            assert secret not in text
        assert str(h.person("x").id - 1) not in text  # no Telegram id
        assert "Set-Cookie" not in headers
        assert (await h.repo.get(pending)) is not None


async def test_withdrawn_and_forgotten_leave_the_next_answer(h: Harness) -> None:
    ada, bob = h.person(), h.person("Bob")
    first = await publish(h, ada, "First words.")
    second = await publish(h, bob, "Second words.", name="Bob")
    clock = Clock()
    async with running_wall(h, clock=clock) as base:
        assert await _keys(base) == [str(second), str(first)]
        await press_card(h, first, "unpublish")
        await press_card(h, first, "unpublish_yes")
        assert (await h.repo.get(first)).status is Status.WITHDRAWN  # type: ignore[union-attr]
        # The database is read again once the snapshot is a REFRESH_SECONDS old.
        clock.now += REFRESH_SECONDS
        assert await _keys(base) == [str(second)]
        await bob.send("/forget")
        await bob.press("Yes, erase everything")
        clock.now += REFRESH_SECONDS
        assert await _keys(base) == []


async def _keys(base: str) -> list[str]:
    return [e["key"] for e in await entries(base)]


async def test_an_unchanged_wall_costs_a_304(h: Harness) -> None:
    await publish(h, h.person(), "Short.")
    async with running_wall(h) as base:
        status, headers, _ = await get(f"{base}/wall.json?lang=fr")
        assert status == 200 and headers["Cache-Control"] == "no-cache"
        again, _, body = await get(
            f"{base}/wall.json?lang=fr", **{"If-None-Match": headers["ETag"]}
        )
        assert (again, body) == (304, b"")


async def test_a_session_wall_shows_its_session_and_links_to_it(h: Harness) -> None:
    await publish(h, h.person(), "Everyone's words.")
    tid = await publish(
        h, h.person("Zoé"), "Un atelier passionnant.", "Zoé", "/start session-atelier-3"
    )
    async with running_wall(h) as base:
        [entry] = await entries(base, "?session=atelier-3&lang=fr")
        assert entry["session"] == "Atelier 3 : l’open data"
        assert entry["tags"] == "#ROUMICS #atelier3"
        assert entry_text(entry) == await channel_text(h, tid)
        assert len(await entries(base)) == 2
        status, _, page = await get(f"{base}/?session=atelier-3&lang=fr")
        html = page.decode()
        assert status == 200 and '<html lang="fr">' in html
        assert "t.me/livredor_test_bot?start=session-atelier-3" in html
        assert "Laissez le vôtre" in html and "Atelier 3 : l’open data" in html
        assert "<svg" in html  # the QR code, inline


async def test_strict_headers_and_nothing_inline(h: Harness) -> None:
    async with running_wall(h) as base:
        for path in ("/", "/wall.json", "/wall.css", "/wall.js", "/nothing-here"):
            _, headers, _ = await get(base + path)
            csp = headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "script-src 'self'" in csp
            assert "unsafe" not in csp
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "no-referrer"
            assert "Set-Cookie" not in headers
        _, _, page = await get(base + "/")
        html = page.decode()
        assert "<script>" not in html and "style=" not in html and "<form" not in html
        assert 'src="/wall.js"' in html and "http" not in html.split("<body")[0].replace(
            "http-equiv", ""
        )


async def test_ids_traversal_and_huge_queries_are_refused(h: Harness) -> None:
    pending = await submit(h, h.person(), "Pending words.")
    async with running_wall(h) as base:
        for path in (
            f"/{pending}",
            f"/entries/{pending}",
            f"/wall.json/{pending}",
            "/../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/fonts/../../wall.js",
            "/fonts/..%2f..%2fwall.js",
            "/fonts/Vera.ttf/..%2f..%2fstorage",
            "/wall_assets/wall.html",
        ):
            status, _, body = await get(base + path)
            assert status in (400, 404), (path, status)
            assert b"Pending words" not in body and b"root:" not in body
        for query in ("?lang=de", "?" + "x" * 600, "?session=" + "a" * 100):
            status, _, _ = await get(f"{base}/wall.json{query}")
            assert status in (400, 404), query
        status, _, _ = await get(f"{base}/wall.json?session=nope")
        assert status == 404
        status, _, _ = await get(f"{base}/?" + "q=1&" * 3000)
        assert status == 400
        async with aiohttp.ClientSession() as session, session.post(base + "/") as r:
            assert r.status == 405


async def test_the_key_keeps_the_wall_to_those_given_the_link(h: Harness) -> None:
    await publish(h, h.person(), "Behind a key.")
    keyed = h.settings.model_copy(update={"wall_key": _secret("s3cret-wall-key")})
    h.settings = keyed
    async with running_wall(h) as base:
        for path in ("/", "/wall.json", "/?key=wrong", "/wall.json?key=s3cret"):
            status, _, body = await get(base + path)
            assert status == 403 and b"Behind a key" not in body, path
        status, _, page = await get(f"{base}/?key=s3cret-wall-key")
        assert status == 200
        assert "/wall.json?lang=en&amp;key=s3cret-wall-key" in page.decode()
        assert len(await entries(base, "?key=s3cret-wall-key")) == 1
        status, _, _ = await get(f"{base}/wall.css")
        assert status == 200  # the same for every wall: no key needed


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)
