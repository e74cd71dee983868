"""The "/" menus and the description: registered at start-up, once per scope and language,
only when Telegram's differ; the fake refuses what Telegram refuses; `livredor check` says."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.sandbox import FakeRequest, FakeTelegram
from bot.services import menus
from bot.services.texts import Texts
from tests.e2e.test_check import _check
from tests.support import GROUP_ID, TOKEN, make_fake, make_settings, running_bot

SETTERS = ("setMyCommands", "setMyDescription", "setMyShortDescription")
PRIVATE = {"type": "all_private_chats"}
GROUP = {"type": "chat", "chat_id": GROUP_ID}


def _sets(fake: FakeTelegram) -> list[tuple[str, str, str]]:
    """(method, scope type, language_code) of every set* call so far."""
    found = []
    for method in SETTERS:
        for call in fake.calls(method):
            scope = call.params.get("scope")
            kind = scope["type"] if isinstance(scope, dict) else ("-" if scope is None else scope)
            found.append((method, str(kind), str(call.params.get("language_code") or "")))
    return found


async def test_registered_once_per_scope_and_language_and_not_again(tmp_path: Path) -> None:
    fake = make_fake()
    async with running_bot(tmp_path, fake) as h:
        sets = _sets(fake)
        assert len(sets) == len(set(sets)) == 12, sets
        for language in ("en", "fr", ""):
            assert [c["command"] for c in fake.my_commands(PRIVATE, language)] == [
                "start",
                "help",
                "mine",
                "language",
                "forget",
                "cancel",
            ]
            assert [c["command"] for c in fake.my_commands(GROUP, language)] == [
                "review",
                "pending",
                "stats",
                "export",
                "ban",
                "unban",
            ]
            assert "ROUMICS 2012" in fake.descriptions[language]
            assert "ROUMICS 2012" in fake.short_descriptions[language]
        assert fake.my_commands(PRIVATE, "fr")[0]["description"].startswith("Écrire")
        assert "livre d’or" in fake.short_descriptions["fr"]
        assert fake.descriptions[""] == fake.descriptions["en"]  # default language: en

        await h.restart()
        assert len(_sets(fake)) == 12, "a restart with nothing changed registered again"
        assert len(fake.calls("getMyDescription")) == 6  # it did look


async def test_a_change_registers_only_what_changed(tmp_path: Path) -> None:
    fake = make_fake()
    async with running_bot(tmp_path, fake) as h:
        await h.stop()
        group_fr = next(k for k in fake.commands if '"chat"' in k[0] and k[1] == "fr")
        del fake.commands[group_fr]
        h.settings = make_settings(h.settings.database, event_name="ROUMICS 2013")
        before = Counter(_sets(fake))
        await h.start()
        new = list((Counter(_sets(fake)) - before).elements())
        # Every description names the event (6), plus the one group menu that went missing.
        assert sorted(new) == sorted(
            [(m, "-", code) for m in SETTERS[1:] for code in ("en", "fr", "")]
            + [("setMyCommands", "chat", "fr")]
        )
        assert "ROUMICS 2013" in fake.short_descriptions["fr"]


def test_event_name_too_long_falls_back_within_telegram_limits(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "db.sqlite", event_name="E" * 200)
    for m in menus.wanted(Texts.load(), settings):
        assert len(m.description) <= 512 and len(m.short_description) <= 120
        assert "E" * 200 in m.description  # the description has room for it
        assert "E" * 200 not in m.short_description


async def test_fake_keeps_telegram_limits() -> None:
    fake = FakeTelegram(token=TOKEN)
    request = FakeRequest(fake)
    bot = Bot(TOKEN, request=request, get_updates_request=request)
    await bot.initialize()
    try:
        assert await bot.set_my_description("x" * 512, language_code="fr")
        assert (await bot.get_my_description("fr")).description == "x" * 512
        assert (await bot.get_my_description("en")).description == ""
        assert await bot.set_my_short_description("y" * 120)
        assert (await bot.get_my_short_description()).short_description == "y" * 120
        for call in (
            bot.set_my_description("x" * 513),
            bot.set_my_short_description("y" * 121),
            bot.set_my_description("ok", language_code="french"),
        ):
            with pytest.raises(BadRequest, match=r"(?i)invalid"):
                await call
        assert await bot.set_my_description("", language_code="fr")  # removes it
        assert (await bot.get_my_description("fr")).description == ""
    finally:
        await bot.shutdown()
        await fake.aclose()
    assert fake.unknown_methods == []


async def test_check_reports_menus(tmp_path: Path) -> None:
    code, out = await _check(tmp_path)
    assert code == 0, out
    assert "ok    menus and description: not set or out of date: commands of the private" in out
    assert "`livredor run` sets them at start" in out


async def test_check_reports_sessions(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.toml"
    sessions.write_text('[[session]]\nslug = "atelier-3"\ntitle = "Atelier 3"\n', "utf-8")
    code, out = await _check(tmp_path, sessions=str(sessions))
    assert code == 0 and "ok    sessions: 1 (atelier-3)" in out, out
    sessions.write_text('[[session]]\nslug = "atelier 3"\ntitle = "Atelier 3"\n', "utf-8")
    code, out = await _check(tmp_path, sessions=str(sessions))
    assert code == 1 and "FAIL  sessions:" in out and "slug must be" in out, out
