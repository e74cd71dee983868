"""The .env that `livredor setup` writes: values read back exactly, the user's lines kept."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import envfile


def read(text: str) -> dict[str, str | None]:
    return dotenv_values(stream=io.StringIO(text))


# What a person can type at a prompt: any character but line breaks and NUL.
LINE_BREAKS = "\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
typed = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters=LINE_BREAKS), max_size=40
)


@given(typed)
def test_a_value_reads_back_exactly(value: str) -> None:
    assert read(f"LIVREDOR_EVENT_NAME={envfile.quote(value)}\n")["LIVREDOR_EVENT_NAME"] == value


def test_merge_keeps_every_line_and_sets_the_last_of_a_name() -> None:
    old = (
        "# notes\n"
        "LIVREDOR_EVENT_NAME=First\n"
        "export LIVREDOR_EVENT_NAME='Counts'\n"
        "OTHER=1\n"
        "LIVREDOR_DEFAULT_LANGUAGE=en\n"
    )
    new = envfile.merge(
        old,
        {
            "LIVREDOR_EVENT_NAME": "New one",
            "LIVREDOR_DEFAULT_LANGUAGE": "en",
            "LIVREDOR_CHANNEL_ID": "-1001",
        },
    )
    assert new.splitlines() == [
        "# notes",
        "LIVREDOR_EVENT_NAME=First",
        "LIVREDOR_EVENT_NAME='New one'",
        "OTHER=1",
        "LIVREDOR_DEFAULT_LANGUAGE=en",  # the same value: the user's line as it was
        "",
        envfile.SETUP_HEADER,
        "LIVREDOR_CHANNEL_ID=-1001",
    ]
    assert read(new)["LIVREDOR_EVENT_NAME"] == "New one"


def test_the_diff_never_shows_the_token() -> None:
    token = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    new = envfile.merge("A=1\n", {"LIVREDOR_BOT_TOKEN": token})
    shown = envfile.diff("A=1\n", new, ".env", token)
    assert token not in shown
    assert "+LIVREDOR_BOT_TOKEN=123456:…" in shown


def test_write_private_replaces_in_one_rename(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("OLD=1\n")
    path.chmod(0o644)
    envfile.write_private(path, "NEW=1\n")
    assert path.read_text() == "NEW=1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == [".env"]


def test_an_interrupted_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / ".env"
    path.write_text("OLD=1\n")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    # os.replace is the last step: Ctrl-C just before it.
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        envfile.write_private(path, "NEW=1\n")
    assert path.read_text() == "OLD=1\n"
    assert os.listdir(tmp_path) == [".env"]
