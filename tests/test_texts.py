"""The texts files: complete in both languages, overridable, and escaped when filled in."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from markupsafe import Markup

from bot.sandbox.html_check import parse_telegram_html
from bot.services.text_checks import CAPTION_KEYS, TOAST_KEYS, override_problem
from bot.services.texts import IDENTIFIERS, LANGUAGES, Texts, TextsError, placeholders
from bot.services.typography import (
    check_french,
    french_violations,
    number_violations,
    shortcut_violations,
)


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


def test_plural_texts_have_the_forms_each_language_needs() -> None:
    """Every text with plural forms has ``other``, and only CLDR categories of its language;
    the English and French tables have the same plural texts."""
    from babel import Locale

    texts = Texts.load()
    plural = texts.plural_keys("en")
    assert "forget.done_posts" in plural and plural == texts.plural_keys("fr")
    for language in LANGUAGES:
        categories = {*Locale.parse(language).plural_form.tags, "other"}
        for key in plural:
            forms = {k.removeprefix(f"{key}.") for k in texts.keys(language) if k.startswith(key)}
            assert "other" in forms and forms <= categories, (language, key, forms)


@pytest.mark.parametrize(
    ("language", "count", "wanted"),
    [
        ("fr", 0, "0 publication va être retirée du canal."),
        ("fr", 1, "1 publication va être retirée du canal."),
        ("fr", 2, "2 publications vont être retirées du canal."),
        ("fr", 1500, "1\u202f500 publications vont être retirées du canal."),
        ("en", 0, "0 posts are being removed from the channel."),
        ("en", 1, "1 post is being removed from the channel."),
        ("en", 2, "2 posts are being removed from the channel."),
        ("en", 1500, "1,500 posts are being removed from the channel."),
    ],
)
def test_a_plural_text_takes_the_form_of_its_count(language: str, count: int, wanted: str) -> None:
    assert Texts.load()(language, "forget.done_posts", count=count) == wanted


def test_a_plural_text_needs_its_count() -> None:
    with pytest.raises(TypeError, match="count"):
        Texts.load()("fr", "forget.done_posts")


def test_numbers_are_written_the_languages_way_but_identifiers_are_not() -> None:
    texts = Texts.load()
    values = {"total": 8193, "over": 2193, "limit": 6000}
    french = texts("fr", "intake.quote_too_long", **values)
    assert "8\u202f193 caractères" in french and "2\u202f193" in french and "6\u202f000" in french
    assert "8,193 characters" in texts("en", "intake.quote_too_long", **values)
    header = texts("fr", "card.header", id=12345, author="A", language="fr", time="10:00")
    assert "n°\u00a012345" in header
    link = texts("fr", "card.author_link", user_id=123456789, name="A")
    assert 'id=123456789"' in link
    assert texts.number("fr", 6000) == "6\u202f000" and texts.number("en", 6000) == "6,000"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_leaves_a_plural_or_a_gender_to_the_reader(language: str) -> None:
    """The issue's check: no sentence says "(s)" or "(e)", in any form of any text, and a
    French number from 1,000 up is grouped with a narrow no-break space (identifiers such as
    "n° 8193" stay bare digits)."""
    texts = Texts.load()
    for key in sorted(texts.keys(language) | texts.plural_keys(language)):
        template = texts.raw(language, key if key in texts.keys(language) else f"{key}.other")
        names = placeholders(template) | {"count"}
        for count in (0, 1, 2, 8193):
            values = {name: 7 if name in IDENTIFIERS else count for name in names}
            shown = parse_telegram_html(texts(language, key, **values))
            assert shortcut_violations(shown) == [], f"{language}.{key}: {shown!r}"
            if language == "fr":
                assert number_violations(shown) == [], f"fr.{key}: {shown!r}"
                quantities = placeholders(template) - IDENTIFIERS
                assert count < 1000 or not quantities or "8\u202f193" in shown, key


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


def test_organisers_override_a_plural_text_form_by_form_or_whole(tmp_path: Path) -> None:
    custom = tmp_path / "texts.toml"
    custom.write_text(
        "[fr.forget.done_posts]\n"
        'one = "{count} message va quitter le canal."\n'
        'many = "{count} de messages vont quitter le canal."\n'
        "[en.forget]\n"
        'done_posts = "Posts being removed: {count}."\n',
        encoding="utf-8",
    )
    texts = Texts.load(custom)
    assert texts("fr", "forget.done_posts", count=1) == "1 message va quitter le canal."
    # The built-in "other" form stays; "many" (a million, in French) is the organisers'.
    assert (
        texts("fr", "forget.done_posts", count=3) == "3 publications vont être retirées du canal."
    )
    million = texts("fr", "forget.done_posts", count=1_000_000)
    assert million == "1\u202f000\u202f000 de messages vont quitter le canal."
    # One string for a plural text: every count.
    assert texts("en", "forget.done_posts", count=1) == "Posts being removed: 1."
    assert texts("en", "forget.done_posts", count=2) == "Posts being removed: 2."
    for wrong, problem in [
        ('[fr.forget.done_posts]\nfew = "{count}"\n', "unknown text key fr.forget.done_posts.few"),
        ('[fr.forget.done_posts]\none = "{total}"\n', "placeholder"),
        ('[en.forget]\ndone_posts = "{total}"\n', "placeholder"),
    ]:
        custom.write_text(wrong, encoding="utf-8")
        with pytest.raises(TextsError, match=problem):
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


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('ask_name = "<b>Who is speaking?"', "is HTML Telegram refuses"),
        ('ask_name = "Fish & chips?"', "is HTML Telegram refuses"),
        ('ask_name = "<script>alert(1)</script>"', 'Unsupported start tag "script"'),
        ('ask_name = ""', "is empty"),
        ('ask_name = "   "', "is empty"),
        ("ask_name = 42", "must be text in quotes, not int 42"),
        ('ask_name = "Who {are} you"', "placeholder"),
        ('ask_name = "Who } you"', "braces that are not a placeholder"),
        ('out_of_date = "' + "x" * 300 + '"', "toast, at most 200 characters: 300 here"),
        ('ask_name = "' + "é" * 4_097 + '"', "Telegram's limit is 4,096"),
    ],
)
def test_an_override_telegram_would_refuse_is_refused_with_its_key(
    tmp_path: Path, line: str, problem: str
) -> None:
    """Issue 22, item 11: checked at load as Telegram will take it; one sentence naming
    the key and the problem."""
    custom = tmp_path / "texts.toml"
    custom.write_text(f"[en.intake]\n{line}\n", encoding="utf-8")
    with pytest.raises(TextsError) as refused:
        Texts.load(custom)
    message = str(refused.value)
    assert "en.intake." in message and problem in message, message


def test_a_caption_override_is_checked_against_telegrams_1024(tmp_path: Path) -> None:
    """What replaces a photo the bot can no longer delete is its caption: 1,024 at most."""
    custom = tmp_path / "texts.toml"
    custom.write_text('[en.channel]\nwithdrawn = "' + "x" * 1_025 + '"\n', encoding="utf-8")
    with pytest.raises(TextsError, match=r"en\.channel\.withdrawn is shown as a photo's caption"):
        Texts.load(custom)
    custom.write_text('[en.channel]\nwithdrawn = "' + "x" * 1_024 + '"\n', encoding="utf-8")
    assert Texts.load(custom)("en", "channel.withdrawn") == "x" * 1_024
    builtin = Texts.load()
    for key in CAPTION_KEYS:
        for language in LANGUAGES:
            assert override_problem(key, builtin.raw(language, key)) is None, (language, key)


def test_a_card_button_label_cannot_be_emptied(tmp_path: Path) -> None:
    custom = tmp_path / "texts.toml"
    custom.write_text('[fr.card]\napprove = ""\n', encoding="utf-8")
    with pytest.raises(TextsError, match=r"fr\.card\.approve is empty"):
        Texts.load(custom)


def test_every_toast_the_code_shows_is_checked_as_a_toast() -> None:
    """The literal keys passed to answer_query are in TOAST_KEYS (a new toast whose key
    is missing there would not get the 200-character check)."""
    root = Path(__file__).resolve().parents[1] / "bot"
    found: set[str] = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "answer_query":
                found |= {
                    inner.value
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Constant)
                    and isinstance(inner.value, str)
                    and re.fullmatch(r"[a-z_]+\.[a-z_]+", inner.value)
                }
    assert found, "no answer_query call found: the scan is broken"
    assert found <= TOAST_KEYS, sorted(found - TOAST_KEYS)
    builtin = Texts.load()
    for key in TOAST_KEYS:
        for language in LANGUAGES:
            assert override_problem(key, builtin.raw(language, key)) is None, (language, key)
