"""How a testimonial is signed in public, as every reader sees it: the channel post, the
preview of it, the wall, the book. The rule is ``storage.fields.signed``; this adds the
words "a participant" (``signature.anonymous`` in the texts, overridable), in the
testimonial's own language, so that a quote and its signature read in one language.
"""

from __future__ import annotations

import html
from functools import lru_cache

from bot.services.texts import Texts
from storage.fields import signed
from storage.models import Signature, Testimonial


@lru_cache(maxsize=1)
def _builtin() -> Texts:
    return Texts.load()


def anonymous_name(texts: Texts | None, language: str) -> str:
    """Return "a participant" as plain text, in ``language`` (the built-in texts if None)."""
    texts = texts or _builtin()
    return html.unescape(texts.raw(texts.language(language), "signature.anonymous"))


def byline(testimonial: Testimonial, texts: Texts | None = None) -> tuple[str, str]:
    """Return the name and organisation the testimonial shows in public (plain text)."""
    anonymous = anonymous_name(texts, testimonial.language)
    return signed(testimonial.name, testimonial.organisation, testimonial.signature, anonymous)


def signed_line(texts: Texts, lang: str, testimonial: Testimonial) -> str:
    """Tell organisers how a testimonial is signed in public when that is not the name
    given (a line and its line break; empty when it is the name), with what it hides."""
    if testimonial.signature is Signature.FULL:
        return ""
    name, organisation = byline(testimonial, texts)
    given = testimonial.name
    if organisation != testimonial.organisation:  # hidden too: say which it was
        given += " · " + ", ".join(testimonial.organisation_lines)
    return texts(lang, "card.signed", signature=name, name=given) + "\n"
