"""The texts files: complete in both languages, overridable, and escaped when filled in."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.html_check import parse_telegram_html
from bot.services.texts import LANGUAGES, Html, Texts, TextsError, placeholders


def test_same_keys_and_placeholders_in_every_language() -> None:
    texts = Texts.load()
    english = texts.keys("en")
    for language in LANGUAGES:
        assert texts.keys(language) == english, language
        for key in english:
            assert placeholders(texts.raw(language, key)) == placeholders(texts.raw("en", key)), (
                f"{language}.{key}"
            )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_valid_telegram_html(language: str) -> None:
    texts = Texts.load()
    for key in texts.keys(language):
        filled = {name: "x" for name in placeholders(texts.raw(language, key))}
        parse_telegram_html(texts(language, key, **filled))


def test_values_are_escaped_unless_marked_html() -> None:
    texts = Texts.load()
    text = texts("en", "intake.name_too_long", length="<b>", limit="&")
    assert "&lt;b&gt;" in text and "&amp;" in text
    assert "<i>x</i>" in texts("en", "help.text", event_part=Html("<i>x</i>"))


def test_override_file_rewords_one_language(tmp_path: Path) -> None:
    custom = tmp_path / "texts.toml"
    custom.write_text('[en.intake]\nask_name = "Who are you, {nothing}?"\n', encoding="utf-8")
    with pytest.raises(TextsError, match="placeholder"):
        Texts.load(custom)
    custom.write_text('[en.intake]\nask_name = "Who are you?"\n', encoding="utf-8")
    texts = Texts.load(custom)
    assert texts("en", "intake.ask_name") == "Who are you?"
    assert texts("fr", "intake.ask_name").startswith("Quel nom")
    custom.write_text('[en]\n"intake.no_such_key" = "x"\n', encoding="utf-8")
    with pytest.raises(TextsError, match="unknown text key"):
        Texts.load(custom)


def test_language_from_telegram_code() -> None:
    texts = Texts.load(default_language="fr")
    assert texts.language("en-GB") == "en"
    assert texts.language("fr-BE") == "fr"
    assert texts.language("de") == "fr"
    assert texts.language(None) == "fr"


async def test_the_running_bot_uses_the_organisers_wording(tmp_path: Path) -> None:
    from tests.support import Harness, make_fake, make_settings

    custom = tmp_path / "texts.toml"
    custom.write_text(
        '[en.intake]\nask_name = "Who is speaking? (As it should appear in the book.)"\n',
        encoding="utf-8",
    )
    fake = make_fake()
    h = Harness(fake, make_settings(tmp_path / "t.db", texts=custom))
    await h.start()
    try:
        replies = await h.person().send("/start")
        assert "Who is speaking? (As it should appear in the book.)" in replies[0]["text"]
    finally:
        await h.stop()
        await fake.aclose()
