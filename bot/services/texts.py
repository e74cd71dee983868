"""Every sentence the bot says, from ``en.toml`` and ``fr.toml`` (and the organisers' own
overrides in ``LIVREDOR_TEXTS``).

Placeholders use ``str.format`` syntax. Values passed in are HTML-escaped (``markupsafe``),
because every text is sent with ``parse_mode=HTML``; wrap a value that is already HTML in
``markupsafe.Markup``.
"""

from __future__ import annotations

import logging
import string
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from bot.services.typography import french_violations

log = logging.getLogger(__name__)

LANGUAGES = ("en", "fr")


class TextsError(Exception):
    """The texts files are inconsistent (a missing key or a placeholder mismatch)."""


def _load_builtin(language: str) -> dict[str, str]:
    raw = resources.files("bot.texts").joinpath(f"{language}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(raw))


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Turn nested TOML tables into dotted keys: ``[intake] ask_name`` -> ``intake.ask_name``."""
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = "\n".join(str(v) for v in value)
        else:
            flat[name] = str(value)
    return flat


def placeholders(template: str) -> set[str]:
    """Return the names of the ``{placeholders}`` in a template."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class Texts:
    """All sentences, by language and dotted key."""

    def __init__(self, tables: dict[str, dict[str, str]], default_language: str = "en") -> None:
        self._tables = tables
        self.default_language = default_language

    @classmethod
    def load(cls, override: Path | None = None, default_language: str = "en") -> Texts:
        """Load the built-in texts, then the organisers' overrides (``[en]`` / ``[fr]``
        tables of dotted or nested keys; unknown keys or placeholders are refused).

        A French override that breaks the house typography still loads (the wording is the
        organisers' call), with a warning naming the key and what to fix."""
        tables = {language: _load_builtin(language) for language in LANGUAGES}
        if override is not None:
            with override.open("rb") as handle:
                custom = tomllib.load(handle)
            for language, table in custom.items():
                if language not in tables or not isinstance(table, dict):
                    raise TextsError(f"{override}: top-level tables must be one of {LANGUAGES}")
                for key, value in _flatten(table).items():
                    if key not in tables[language]:
                        raise TextsError(f"{override}: unknown text key {language}.{key}")
                    if placeholders(value) - placeholders(tables[language][key]):
                        raise TextsError(
                            f"{override}: {language}.{key} uses a placeholder the bot does not"
                            f" provide (allowed: {sorted(placeholders(tables[language][key]))})"
                        )
                    tables[language][key] = value
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
        """Return a template unformatted."""
        return self._tables[language][key]

    def __call__(self, language: str, key: str, /, **params: Any) -> str:
        """Format a text; values are HTML-escaped unless they are ``Markup``."""
        template = self._tables.get(language, self._tables[self.default_language])[key]
        # The template is the texts' own HTML; Markup.format escapes what goes into it. A plain
        # str comes out: HTML callers join with other HTML (Markup would escape that again).
        return str(Markup(template).format(**params))

    def keys(self, language: str) -> set[str]:
        """Return every key of a language."""
        return set(self._tables[language])
