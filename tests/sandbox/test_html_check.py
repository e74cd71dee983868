"""Telegram's HTML parse mode: what passes, what is refused, with tdlib's wording."""

from __future__ import annotations

import pytest

from bot.sandbox import TelegramHTMLError, parse_entities, parse_telegram_html


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("plain text", "plain text"),
        ("<b>bold</b> <strong>strong</strong>", "bold strong"),
        (
            "<i>i</i><em>em</em><u>u</u><ins>ins</ins><s>s</s><strike>x</strike><del>d</del>",
            "iemuinssxd",
        ),
        ('<span class="tg-spoiler">spoiler</span> <tg-spoiler>too</tg-spoiler>', "spoiler too"),
        ('<a href="https://example.org/?a=1&amp;b=2">link</a>', "link"),
        ("<code>x &lt; y</code>", "x < y"),
        ('<pre><code class="language-python">print(1)</code></pre>', "print(1)"),
        ("<blockquote>quote</blockquote>", "quote"),
        ("<blockquote expandable>long quote</blockquote>", "long quote"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("&lt;&gt;&amp;&quot;&#39;&#x27;&#65;", "<>&\"''A"),
        ("« Quoted » ☺ and > alone", "« Quoted » ☺ and > alone"),
        ("<B>upper-case start tag</b>", "upper-case start tag"),
        ("<b>closed by</>", "closed by"),
        ("<b><i>nested</i> ok</b>", "nested ok"),
        ("<a href=example.org>unquoted name token</a>", "unquoted name token"),
    ],
)
def test_accepted(html: str, plain: str) -> None:
    assert parse_telegram_html(html) == plain


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("é <p>", 'Unsupported start tag "p" at byte offset 3'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("line<br/>", 'Unsupported start tag "br/" at byte offset 4'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x"', "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"),
        ('<a href=x"y">z</a>', "Unexpected end of name token at byte offset 8"),
        ('<b ="x">y</b>', 'Empty attribute name in the tag "b" at byte offset 0'),
        # tdlib lower-cases start tags only.
        ("<B>x</B>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</B>"'),
        ("<a href=https://x.org>x</a>", "Unexpected end of name token at byte offset 8"),
    ],
)
def test_refused_like_telegram(html: str, message: str) -> None:
    with pytest.raises(TelegramHTMLError) as caught:
        parse_telegram_html(html)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "html",
    ["Tom & Jerry", "a&nbsp;b", "&lt without semicolon", "&#xD800;", "&#0;", "&#X41;"],
)
def test_stray_ampersand_refused(html: str) -> None:
    """Stricter than Telegram (which keeps such an "&" literally): our output escapes all."""
    with pytest.raises(TelegramHTMLError, match="Unsupported HTML entity"):
        parse_telegram_html(html)


def test_link_needs_href() -> None:
    """Stricter than Telegram (which silently drops the link)."""
    with pytest.raises(TelegramHTMLError, match='Tag "a" must have a non-empty "href"'):
        parse_telegram_html("<a>x</a>")
    with pytest.raises(TelegramHTMLError, match="href"):
        parse_telegram_html('<a href="">x</a>')


def test_error_is_a_value_error() -> None:
    assert issubclass(TelegramHTMLError, ValueError)


def test_entities_in_utf16_units() -> None:
    plain, entities = parse_entities('😀 <b>gras</b> <a href="https://t.me">lien</a>')
    assert plain == "😀 gras lien"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 8, "length": 4, "url": "https://t.me"},
    ]


def test_pre_code_is_one_entity_with_language() -> None:
    _, entities = parse_entities('<pre><code class="language-python">x</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 1, "language": "python"}]


def test_empty_entities_are_dropped() -> None:
    assert parse_entities("<b></b>x") == ("x", [])
