"""Every sentence the bot says, from ``en.toml`` and ``fr.toml`` (and the organisers' own
overrides in ``LIVREDOR_TEXTS``).

Placeholders use ``str.format`` syntax. Values passed in are HTML-escaped (``markupsafe``),
because every text is sent with ``parse_mode=HTML``; wrap a value that is already HTML in
``markupsafe.Markup``. Numbers are written the language's way (Babel, CLDR): ``8,193`` in
English, ``8 193`` (a narrow no-break space) in French; identifiers (``IDENTIFIERS``) stay bare
digits.

A text that depends on a number is a table of CLDR plural categories instead of a string::

    done_posts = { one = "{count} publication retirée.", other = "{count} publications retirées." }

``texts(lang, key, count=n)`` picks the form Babel's plural rules give ``n`` in that language
(French: 0 and 1 are ``one``; English: only 1), or ``other`` when the table has no such form.
Each form is a text of its own, ``key.one``, ``key.other``, for the checks and the overrides.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from markupsafe import Markup

from bot.services.text_checks import override_problem, placeholders
from bot.services.typography import french_violations

__all__ = ["LANGUAGES", "Texts", "TextsError", "placeholders"]

log = logging.getLogger(__name__)

LANGUAGES = ("en", "fr")
#: CLDR's plural categories: the keys of a text that depends on a number.
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
#: Placeholders that name something rather than count it: a testimonial's number, a Telegram
#: id (inside a link). Written as bare digits ("n° 1234"), never grouped like a quantity.
IDENTIFIERS = frozenset({"id", "number", "user_id"})


class TextsError(Exception):
    """The texts files are inconsistent (a missing key or a placeholder mismatch)."""


def _load_builtin(language: str) -> dict[str, str]:
    """The built-in texts of ``language``: a copy, which the organisers' overrides change."""
    return dict(_parse_builtin(language))


@functools.cache
def _parse_builtin(language: str) -> dict[str, str]:
    # Read once per process: a bot loads its texts once, but the tests build hundreds of bots
    # (9 ms of TOML each).
    raw = resources.files("bot.texts").joinpath(f"{language}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(raw))


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Turn nested TOML tables into dotted keys: ``[intake] ask_name`` -> ``intake.ask_name``."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value  # a string; an organiser's override is checked on load
    return flat


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def plural_category(language: str, count: int) -> str:
    """Return the CLDR plural category of ``count`` in ``language`` (``one``, ``other``...)."""
    return str(_locale(language).plural_form(count))


def format_number(language: str, value: int | float) -> str:
    """Write a number the language's way: ``8,193`` (en), ``8\u202f193`` (fr)."""
    return str(format_decimal(value, locale=_locale(language)))


class Texts:
    """All sentences, by language and dotted key."""

    def __init__(self, tables: dict[str, dict[str, str]], default_language: str = "en") -> None:
        self._tables = tables
        self.default_language = default_language

    @classmethod
    def load(cls, override: Path | None = None, default_language: str = "en") -> Texts:
        """Load the built-in texts, then the organisers' overrides (``[en]`` / ``[fr]``
        tables of dotted or nested keys; unknown keys or placeholders are refused).

        A text with plural forms is overridden form by form (``[fr.forget.done_posts]``
        ``one = "…"``), or with one string for every count. A French override that breaks the
        house typography still loads (the wording is the organisers' call), with a warning
        naming the key and what to fix."""
        tables = {language: _load_builtin(language) for language in LANGUAGES}
        if override is not None:
            with override.open("rb") as handle:
                custom = tomllib.load(handle)
            for language, table in custom.items():
                if language not in tables or not isinstance(table, dict):
                    raise TextsError(f"{override}: top-level tables must be one of {LANGUAGES}")
                for key, value in _flatten(table).items():
                    targets = _override_targets(tables[language], language, key)
                    if not targets:
                        raise TextsError(f"{override}: unknown text key {language}.{key}")
                    problem = override_problem(key, value)
                    if problem is not None:
                        raise TextsError(f"{override}: {language}.{key} {problem}.")
                    for target, builtin in targets:
                        if placeholders(value) - placeholders(builtin):
                            raise TextsError(
                                f"{override}: {language}.{key} uses a placeholder the bot does"
                                f" not provide (allowed: {sorted(placeholders(builtin))})"
                            )
                        tables[language][target] = value
                    if language == "fr":
                        for problem in french_violations(value):
                            log.warning("%s: fr.%s: %s", override, key, problem)
        return cls(tables, default_language)

    def language(self, code: str | None) -> str:
        """Map a Telegram ``language_code`` (``fr-BE``) or a stored choice to en/fr."""
        if code:
            short = code.split("-")[0].lower()
            if short in self._tables:
                return short
        return self.default_language

    def raw(self, language: str, key: str) -> str:
        """Return a template unformatted (a plural text: one of its forms, ``key.other``)."""
        return self._tables[language][key]

    def __call__(self, language: str, key: str, /, **params: Any) -> str:
        """Format a text; values are HTML-escaped unless they are ``Markup``, numbers are
        written the language's way; a plural text takes its form from ``count``."""
        if language not in self._tables:
            language = self.default_language
        table = self._tables[language]
        template = table.get(key)
        if template is None:
            if f"{key}.other" not in table:
                raise KeyError(key)
            count = params.get("count")
            if not isinstance(count, int):
                raise TypeError(f"{key} has plural forms: pass count=<a number>")
            form = f"{key}.{plural_category(language, count)}"
            template = table.get(form, table[f"{key}.other"])
        values = {
            name: format_number(language, value) if _is_quantity(name, value) else value
            for name, value in params.items()
        }
        # The template is the texts' own HTML; Markup.format escapes what goes into it. A plain
        # str comes out: HTML callers join with other HTML (Markup would escape that again).
        return str(Markup(template).format(**values))

    def number(self, language: str, value: int | float) -> str:
        """Write a number for a text in ``language`` (what ``__call__`` does to its values)."""
        return format_number(language if language in self._tables else self.default_language, value)

    def keys(self, language: str) -> set[str]:
        """Return every key of a language (each form of a plural text: ``key.one``...)."""
        return set(self._tables[language])

    def plural_keys(self, language: str) -> set[str]:
        """Return the keys of the texts that have plural forms (``key``, not ``key.one``)."""
        return {
            key.removesuffix(".other")
            for key in self._tables[language]
            if _is_form(key, self._tables[language])
        }


def _is_form(key: str, table: dict[str, str]) -> bool:
    """Whether ``key`` is the ``other`` form of a plural text (``forget.done_posts.other``)."""
    base, _, category = key.rpartition(".")
    return category == "other" and base not in table


def _is_quantity(name: str, value: object) -> bool:
    """Whether a value is a number to write the language's way (not a bool, not an id)."""
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and name not in IDENTIFIERS
    )


def _override_targets(table: dict[str, str], language: str, key: str) -> list[tuple[str, str]]:
    """Where an override of ``key`` goes, with the built-in text it replaces (for its
    placeholders): the key itself; every form of a plural text given as one string; a form
    the built-in text lacks but the language has (a French ``many``)."""
    if key in table:
        return [(key, table[key])]
    if f"{key}.other" in table:
        prefix = f"{key}."
        return [
            (k, v) for k, v in table.items() if k.startswith(prefix) and k.rpartition(".")[0] == key
        ]
    base, _, category = key.rpartition(".")
    tags = {*_locale(language).plural_form.tags, "other"}
    if f"{base}.other" in table and category in tags:
        return [(key, table[f"{base}.other"])]
    return []
