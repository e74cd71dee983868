"""The texts files: complete in both languages, overridable, and escaped when filled in."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import Markup

from bot.sandbox.html_check import parse_telegram_html
from bot.services.texts import LANGUAGES, Texts, TextsError, placeholders
from bot.services.typography import check_french, french_violations


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
    assert "<i>x</i>" in texts("en", "help.text", event_part=Markup("<i>x</i>"))


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
    from tests.support import running_bot

    custom = tmp_path / "texts.toml"
    custom.write_text(
        '[en.intake]\nask_name = "Who is speaking? (As it should appear in the book.)"\n',
        encoding="utf-8",
    )
    async with running_bot(tmp_path, texts=custom) as h:
        replies = await h.person().send("/start")
        assert "Who is speaking? (As it should appear in the book.)" in replies[0]["text"]


def test_every_french_text_follows_the_house_typography() -> None:
    texts = Texts.load()
    broken = check_french({key: texts.raw("fr", key) for key in texts.keys("fr")})
    assert broken == {}, "\n".join(f"fr.{k}: {p}" for k, ps in broken.items() for p in ps)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Bonjour !", "U+202F wanted before '!'"),
        ("Bonjour!", "U+202F wanted before '!'"),
        ("Bonjour\u00a0?", "U+202F wanted before '?'"),
        ("Oui ; non", "U+202F wanted before ';'"),
        ("Motif : {reason}", "U+00A0 wanted before ':'"),
        ("Motif\u202f: x", "U+00A0 wanted before ':'"),
        ("« {excerpt}\u00a0»", "U+00A0 wanted after '«'"),
        ("«\u00a0{excerpt} »", "U+00A0 wanted before '»'"),
        ("l'organisation", "apostrophe"),
    ],
)
def test_the_checker_finds_each_kind_of_break(text: str, wanted: str) -> None:
    problems = french_violations(text)
    assert len(problems) == 1 and wanted in problems[0], problems


@pytest.mark.parametrize(
    "text",
    [
        "Il est 14:05\u202f!",
        "Voir https://t.me/livredor/12?x=1;y, ou http://exemple.fr",
        '<a href="tg://user?id={user_id}">{name}</a> (@{username})',
        "Quoi\u202f?! Vraiment…\u202f?",
        "<b>Témoignages</b>\nen attente\u00a0: {pending}",
        "Utiliser «\u00a0{name}\u00a0»",
        "l’organisation, &lt;b&gt;",
        "{question}",
    ],
)
def test_the_checker_leaves_markup_urls_times_and_placeholders_alone(text: str) -> None:
    assert french_violations(text) == []


def test_a_french_override_breaking_the_rule_loads_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    custom = tmp_path / "texts.toml"
    custom.write_text(
        '[fr.intake]\ngreeting = "Bienvenue ! C\'est parti."\n'
        '[en.intake]\ngreeting = "Welcome! Let\'s go."\n',
        encoding="utf-8",
    )
    with caplog.at_level("WARNING", logger="bot.services.texts"):
        texts = Texts.load(custom)
    assert texts("fr", "intake.greeting") == "Bienvenue ! C'est parti."
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("fr.intake.greeting" in w for w in warnings), warnings
    assert "'!'" in warnings[0] and "apostrophe" in warnings[1]
    caplog.clear()
    custom.write_text('[fr.intake]\ngreeting = "Bienvenue\u202f!"\n', encoding="utf-8")
    with caplog.at_level("WARNING", logger="bot.services.texts"):
        Texts.load(custom)
    assert caplog.records == []
