"""Sessions (LIVREDOR_SESSIONS): the deep link tags the testimonial, or the attendee picks one
in an optional step; the card, the channel post, the book, the CSV/JSON and /stats show it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.book.files import TEXT_FORMATS, render_book, write_book_file
from bot.book.parse import parse_book
from bot.services.sessions import Sessions, SessionsError
from storage.models import Status, Step
from tests.e2e.cli_process import cli_env, run_cli
from tests.moderation.test_moderation import card_of, press, wait_status
from tests.support import (
    CHANNEL_USERNAME,
    GROUP_ID,
    ORGANISER_ID,
    Harness,
    Person,
    running_bot,
)

SESSIONS_TOML = """
[[session]]
slug = "keynote"
title = "Keynote"

[[session]]
slug = "atelier-3"
title = { en = "Workshop 3: open data", fr = "Atelier 3 : données ouvertes" }
"""


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot with two sessions and an event hashtag."""
    sessions = tmp_path / "sessions.toml"
    sessions.write_text(SESSIONS_TOML, encoding="utf-8")
    async with running_bot(tmp_path, sessions=sessions, event_hashtag="ROUMICS2012") as harness:
        yield harness


async def _write(p: Person, name: str, start: str | None = "/start") -> None:
    if start:
        await p.send(start)
    await p.send(name)
    await p.press("Skip")
    await p.send(f"Words of {name}.")
    await p.press("Done")
    await p.press("Skip")  # no photo
    await p.press("Yes, I agree")
    await p.press("Send")


async def _approve(h: Harness, p: Person) -> int:
    [t] = await h.repo.list_for_user(p.id)
    card = await card_of(h, t.id)
    await press(h, ORGANISER_ID, card.card_message_ids[0], f"mod:approve:{t.id}")
    await wait_status(h, t.id, Status.PUBLISHED)
    return t.id


async def test_deep_link_tags_card_post_book_and_stats(h: Harness, tmp_path: Path) -> None:
    ada = h.person("Ada")
    greeting = await ada.send("/start session-atelier-3")
    assert "What name" in greeting[-1]["text"]  # no session question: the link named one
    await _write(ada, "Ada", start=None)
    tid = await _approve(h, ada)
    t = await h.repo.get(tid)
    assert t is not None and t.start_payload == "session-atelier-3"

    card = h.fake.message(GROUP_ID, t.card_message_ids[0])["text"]
    assert "Session: Workshop 3: open data" in card
    [post] = h.channel_messages()
    assert post["text"].endswith("\n\n#ROUMICS2012 #atelier3")

    # Another, with no session: the book puts the session's group first, the rest last.
    bob = h.person("Bob")
    await bob.send("/start")
    await bob.press("Skip")  # the optional session step
    await _write(bob, "Bob", start=None)
    await _approve(h, bob)
    posts = h.channel_messages()
    assert posts[-1]["text"].endswith("\n\n#ROUMICS2012")

    book = await h.repo.list_for_book("name")  # Ada, Bob by name...
    md = render_book(list(reversed(book)), "md", h.settings)  # ...and given Bob first
    assert md.index("### Workshop 3: open data") < md.index("**Ada**")
    assert md.index("**Ada**") < md.index("### Other testimonials") < md.index("**Bob**")
    entries = parse_book(md).entries  # the headings are not part of any entry
    assert [(e.name, e.quote) for e in entries] == [
        ("Ada", "Words of Ada."),
        ("Bob", "Words of Bob."),
    ]
    html = render_book(book, "html", h.settings)
    assert '<h2 class="session">Workshop 3: open data</h2>' in html
    rows = list(csv.DictReader(io.StringIO(render_book(book, "csv", h.settings).lstrip("\ufeff"))))
    assert {r["name"]: r["session"] for r in rows} == {"Ada": "Workshop 3: open data", "Bob": ""}
    items = json.loads(render_book(book, "json", h.settings))["testimonials"]
    assert [i["session"] for i in items] == ["Workshop 3: open data", None]

    # /export's file, read in batches on its own connection, is the same book.
    for fmt in TEXT_FORMATS:  # the zip is the JSON and the CSV (tests/portrait)
        written = write_book_file(h.settings, fmt, tmp_path, order="name")
        assert (written.count, written.fits) == (2, True)
        text = written.path.read_bytes().decode("utf-8")
        expected = render_book(book, fmt, h.settings, channel_username=CHANNEL_USERNAME)
        if fmt == "json":  # exported_at differs
            assert json.loads(text)["testimonials"] == json.loads(expected)["testimonials"]
        else:
            assert text == expected

    h.fake.user_sends(ORGANISER_ID, "/stats", chat_id=GROUP_ID)
    await h.settle()
    stats = h.fake.last_message(GROUP_ID)["text"]
    assert "By session" in stats
    assert "Keynote: 0\nWorkshop 3: open data: 1\nno session: 1" in stats


async def test_optional_step_offers_the_sessions_as_buttons(h: Harness) -> None:
    cleo = h.person("Cléo", language_code="fr")
    [greeting] = await cleo.send("/start")
    assert "De quelle session" in greeting["text"]
    labels = [text for text, _ in h.fake.buttons(cleo.id, greeting["message_id"])]
    assert labels == ["Keynote", "Atelier 3 : données ouvertes", "Passer"]
    draft = await h.repo.get_draft(cleo.id)
    assert draft is not None and draft.step is Step.SESSION
    # Text is not an answer here: the buttons are asked again, nothing changes.
    await cleo.send("atelier")
    draft = await h.repo.get_draft(cleo.id)
    assert draft is not None and draft.step is Step.SESSION and draft.start_payload is None
    await cleo.press("Atelier 3")
    draft = await h.repo.get_draft(cleo.id)
    assert draft is not None and draft.step is Step.NAME
    assert draft.start_payload == "session-atelier-3"


async def test_slug_alone_and_unknown_payload(h: Harness) -> None:
    dan = h.person("Dan")
    await dan.send("/start keynote")
    draft = await h.repo.get_draft(dan.id)
    assert draft is not None and draft.step is Step.NAME
    assert h.services.sessions.title(draft.start_payload, "en") == "Keynote"

    eve = h.person("Eve")
    await _write(eve, "Eve", start="/start poster-b")
    [t] = await h.repo.list_for_user(eve.id)
    assert t.start_payload == "poster-b"  # kept, as before sessions
    card = await card_of(h, t.id)
    text = h.fake.message(GROUP_ID, card.card_message_ids[0])["text"]
    assert "Session" not in text and "poster-b" not in text


async def test_another_one_keeps_the_session_its_link_named(h: Harness) -> None:
    # While one waits for review, /start offers another one: the new link's session goes
    # with the offer (no link: the session step, as for anyone).
    ada = h.person("Ada")
    await _write(ada, "Ada", start="/start session-atelier-3")
    for start, step, payload in (
        ("/start keynote", Step.NAME, "session-keynote"),
        ("/start", Step.SESSION, None),
    ):
        [offer] = await ada.send(start)
        assert "Would you like to write another one?" in offer["text"]
        [answered] = await ada.press("Write another one")
        assert ("Which session" if payload is None else "What name") in answered["text"]
        draft = await h.repo.get_draft(ada.id)
        assert draft is not None and (draft.step, draft.start_payload) == (step, payload)
        await ada.send("/cancel")
        await ada.press("Yes, discard it")


async def test_another_one_keeps_a_link_that_names_no_session(h: Harness) -> None:
    # A poster's own link ("poster-b") is no session: a plain /start keeps it on the new
    # testimonial and asks no session. While one waits for review, the same: the button's
    # 64 bytes cannot carry it, so it is kept with the offer's message, across a restart.
    ada = h.person("Ada")
    await _write(ada, "Ada", start="/start poster-a")
    [sent] = await h.repo.list_for_user(ada.id)
    assert sent.start_payload == "poster-a"
    offers = {}
    for start in ("/start poster-b", "/start", "/start poster-c"):
        [offers[start]] = await ada.send(start)
        assert h.fake.buttons(ada.id, offers[start]["message_id"]) == [
            ("Write another one", f"in:another:{sent.id}")
        ]
    await h.restart()
    for start, step, payload in (
        ("/start poster-b", Step.NAME, "poster-b"),
        ("/start", Step.SESSION, None),
        ("/start poster-c", Step.NAME, "poster-c"),
    ):
        # Each offer opens with its own link, an older one as well as the latest.
        offer = offers[start]["message_id"]
        [data] = [d for _, d in h.fake.buttons(ada.id, offer) if d is not None]
        [answered] = await ada.press_data(offer, data)
        assert ("Which session" if payload is None else "What name") in answered["text"]
        draft = await h.repo.get_draft(ada.id)
        assert draft is not None and (draft.step, draft.start_payload) == (step, payload)
        await ada.send("/cancel")
        await ada.press("Yes, discard it")
    # /forget erases the links kept with the offers too.
    await ada.send("/forget")
    await ada.press("Yes")
    assert await h.repo.offered_link(ada.id, offers["/start poster-b"]["message_id"]) is None


def test_sessions_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    for body, problem in (
        ('[[session]]\nslug = "a b"\ntitle = "x"', "slug"),
        ('[[session]]\nslug = "a"', "title"),
        ('[[session]]\nslug = "a"\ntitle = { de = "x" }', "title.de"),
        ('[[session]]\nslug = "a"\ntitle = "x"\n[[session]]\nslug = "A"\ntitle = "y"', "twice"),
        ('[[session]]\nslug = "a"\ntitle = "x"\nroom = 3', "unknown"),
        ("[[session]\n", "s.toml"),
    ):
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(SessionsError, match=problem):
            Sessions.load(bad)
    assert not Sessions.load(None)


async def test_run_refuses_a_bad_sessions_file(tmp_path: Path) -> None:
    bad = tmp_path / "sessions.toml"
    bad.write_text('[[session]]\nslug = "a b"\ntitle = "x"\n', encoding="utf-8")
    env = cli_env(None, tmp_path / "db.sqlite", sessions=str(bad), bot_token="123456:T")
    env.update(LIVREDOR_ORGANISERS_CHAT_ID="-100123", LIVREDOR_CHANNEL_ID="@somechannel")
    code, _, err = await run_cli(tmp_path, "run", env=env)
    assert code == 2, err
    assert "LIVREDOR_SESSIONS is not valid:" in err and "slug must be" in err
    assert "Traceback" not in err


async def test_a_new_session_link_moves_the_open_draft_on_continue(h: Harness) -> None:
    cleo = h.person("Cléo", language_code="fr")
    await cleo.send("/start session-keynote")
    await cleo.send("Cléo")
    await cleo.press("Passer")
    await cleo.send("Bravo.")
    await cleo.press("Terminé")
    await cleo.press("Passer")
    await cleo.press("Oui, j’accepte")
    assert "Session\u00a0: Keynote\nVoici votre témoignage" in cleo.texts()[-1]
    # The attendee scans the workshop's poster: the offer says where the draft will go.
    [offer] = await cleo.send("/start session-atelier-3")
    assert "sur «\u00a0Keynote\u00a0»" in offer["text"]
    assert "portera sur «\u00a0Atelier 3 : données ouvertes\u00a0»" in offer["text"]
    draft = await h.repo.get_draft(cleo.id)
    assert draft is not None and draft.start_payload == "session-keynote"
    assert draft.link_payload == "session-atelier-3"
    # Across a restart (the link is in the database), Continue moves it, and says so.
    await h.restart()
    replies = await cleo.press("Continuer")
    said = replies[-1]["text"]
    atelier = "«\u00a0Atelier 3 : données ouvertes\u00a0»"
    assert said.startswith(f"Votre témoignage porte maintenant sur la session {atelier}.")
    assert "Session\u00a0: Atelier 3 : données ouvertes\nVoici" in said
    draft = await h.repo.get_draft(cleo.id)
    assert draft is not None and draft.step is Step.PREVIEW
    assert (draft.start_payload, draft.link_payload) == ("session-atelier-3", None)
    await cleo.press("Envoyer")
    [t] = await h.repo.list_for_user(cleo.id)
    card = await card_of(h, t.id)
    assert (
        "Session: Workshop 3: open data"
        in h.fake.message(GROUP_ID, card.card_message_ids[0])["text"]
    )


async def test_a_new_session_link_starts_clean_on_start_again(h: Harness) -> None:
    dan = h.person("Dan")
    await dan.send("/start session-keynote")
    await dan.send("Dan")
    [offer] = await dan.send("/start session-atelier-3")
    assert "about “Keynote”" in offer["text"] and "about “Workshop 3: open data”" in offer["text"]
    await dan.press("Start again")
    draft = await h.repo.get_draft(dan.id)
    assert draft is not None and draft.step is Step.NAME and draft.name == ""
    assert (draft.start_payload, draft.link_payload) == ("session-atelier-3", None)


async def test_a_session_link_while_the_session_question_is_open(h: Harness) -> None:
    eve = h.person("Eve")
    await eve.send("/start")  # no link: the session question is open
    [offer] = await eve.send("/start session-atelier-3")
    assert offer["text"].startswith("You have a testimonial in progress. Continue it")
    assert "about “Workshop 3: open data”, the session of the link" in offer["text"]
    replies = await eve.press("Continue")
    assert "now about the session “Workshop 3: open data”" in replies[-1]["text"]
    assert "What name" in replies[-1]["text"]  # the session question is answered
    draft = await h.repo.get_draft(eve.id)
    assert draft is not None and draft.step is Step.NAME
    assert draft.start_payload == "session-atelier-3"
    # A link naming no session never takes the place of a session.
    await eve.send("/start poster-b")
    replies = await eve.press("Continue")
    draft = await h.repo.get_draft(eve.id)
    assert draft is not None and draft.start_payload == "session-atelier-3"
    assert draft.link_payload is None and "now about" not in replies[-1]["text"]
