"""A running bot with a hashtag and two sessions, for the wall's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import Harness, make_fake, make_settings

SESSIONS = """
[[session]]
slug = "atelier-3"
title = { fr = "Atelier 3 : l’open data", en = "Workshop 3: open data" }

[[session]]
slug = "keynote"
title = "Keynote"
"""


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot on a fresh database, posting with the event's hashtag."""
    sessions = tmp_path / "sessions.toml"
    sessions.write_text(SESSIONS, encoding="utf-8")
    fake = make_fake()
    harness = Harness(
        fake,
        make_settings(tmp_path / "livredor.db", event_hashtag="ROUMICS", sessions=sessions),
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        await fake.aclose()
    assert fake.unknown_methods == []
