"""Issue 24, item 2: at the preview the attendee chooses how the testimonial is signed (the
name as given, first name and initial, or "a participant"); the organisers still see who
sent it, and the channel, the wall and the book show only the chosen signature."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import aiohttp

from bot.book.files import write_book_file
from bot.book.imports import read_entries
from bot.book.parse import parse_book
from storage.fields import initial_form
from storage.models import Signature, Status, Step
from tests.moderation.test_bulk import open_list
from tests.moderation.test_moderation import card_of, press, wait_status
from tests.portrait.images import phone_photo
from tests.support import CHANNEL_ID, GROUP_ID, ORGANISER_ID, Harness, Person
from tests.wall.support import running_wall

NAME = "Marguerite YOURCENAR"
ORGANISATION = "Académie française\nVilla Mont-Noir"
#: What must not be seen anywhere in public once the author signed anonymously.
SECRETS = ("Marguerite", "YOURCENAR", "Académie", "Mont-Noir")
QUOTE = "Un « livre d’or » qui ressemble à ceux qui l’ont écrit."


async def at_preview(h: Harness, p: Person, name: str = NAME) -> None:
    """Write a testimonial up to its preview."""
    await p.send("/start")
    await p.send(name)
    await p.send(ORGANISATION)
    await p.send(QUOTE)
    await p.press("Done")
    await p.press("Skip")  # no photo
    await p.press("Yes, I agree")


async def sign(p: Person, choice: str) -> list[str]:
    """At the preview, sign as ``choice`` (a button's label); return the bot's answer."""
    await p.press("✍️ Sign differently")
    return [m["text"] for m in await p.press(choice)]


async def test_anonymous_survives_a_restart_and_is_nowhere_public_but_with_organisers(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    p = h.person("Ada", last_name="Lovelace", username="ada")
    await at_preview(h, p)
    await p.press("✍️ Sign differently")
    labels = [label for label, _ in h.fake.buttons(p.id)]
    assert labels == [
        f"✓ {NAME}",
        "Marguerite Y.",
        "A participant, with your organisation",
        "A participant, without organisation",
    ]
    # Typed text at this step changes nothing: the buttons are the answer.
    assert "buttons" in (await p.send("Anonyme svp"))[-1]["text"]
    [answer] = [m["text"] for m in await p.press("A participant, without organisation")]
    assert "✅ Signed: A participant" in answer
    preview = answer.rsplit("as it will appear in the channel:\n\n", 1)[1]
    assert preview.startswith(f"A participant\n\n«\u00a0{QUOTE}\u00a0»")
    assert not [s for s in SECRETS if s in preview]

    # The choice is in the database, and the bot restarted finds it there.
    await h.restart()
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.signature is Signature.ANONYMOUS
    assert draft.step is Step.PREVIEW and draft.name == NAME
    await p.press("Send")
    [tid] = [t.id for t in await h.repo.list_for_user(p.id)]

    # The organisers see who sent it: the Telegram profile, the name and organisation given.
    card = (await card_of(h, tid)).card_message_ids
    text = h.fake.message(GROUP_ID, card[0])["text"]
    assert "Ada Lovelace (@ada)" in text
    assert f"✍️ Signed in public: A participant · name given: {NAME} · Académie française," in text
    olga = Person(h, ORGANISER_ID)
    await olga.send("/review")
    assert f"name given: {NAME}" in h.fake.messages(ORGANISER_ID)[-1]["text"]

    await press(h, ORGANISER_ID, card[0], f"mod:approve:{tid}")
    done = await wait_status(h, tid, Status.PUBLISHED)
    post = h.fake.message(CHANNEL_ID, done.channel_message_ids[0])["text"]
    assert post == f"A participant\n\n«\u00a0{QUOTE}\u00a0»"

    # The wall: neither its JSON nor the page has the name.
    async with running_wall(h) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/wall.json") as response:
            wall = await response.text()
        async with session.get(f"{base}/?lang=fr") as response:
            page = await response.text()
    assert json.loads(wall)["entries"][0]["name"] == "A participant"  # the author's language
    assert not [s for s in SECRETS if s in wall or s in page]

    # The book shows the signature only; the organisers' CSV and JSON have both.
    books = {fmt: write_book_file(h.settings, fmt, tmp_path, "date").path for fmt in ("md", "html")}
    for fmt, path in books.items():
        book = path.read_text("utf-8")
        assert "A participant" in book and not [s for s in SECRETS if s in book], fmt
        path.unlink()
    rows = list(csv.DictReader(io.StringIO(h_read(h, tmp_path, "csv").lstrip("\ufeff"))))
    assert (rows[0]["name"], rows[0]["organisation"]) == (NAME, ORGANISATION)
    assert (rows[0]["signature"], rows[0]["signed_name"]) == ("anonymous", "A participant")
    assert rows[0]["signed_organisation"] == ""
    [item] = json.loads(h_read(h, tmp_path, "json"))["testimonials"]
    assert (item["name"], item["signature"], item["signed_name"]) == (
        NAME,
        "anonymous",
        "A participant",
    )

    # An export read back into a new book keeps the choice (CSV and JSON).
    for fmt in ("csv", "json"):
        [entry] = read_entries(write_book_file(h.settings, fmt, tmp_path, "date").path)
        assert (entry.name, entry.signature) == (NAME, Signature.ANONYMOUS), fmt


def h_read(h: Harness, folder: Path, fmt: str) -> str:
    """The book as /export writes it, in ``fmt``."""
    return write_book_file(h.settings, fmt, folder, "date").path.read_text("utf-8")


async def test_first_name_and_initial_in_french_and_the_organisation_kept(
    harness: Harness,
) -> None:
    h = harness
    p = h.person("Zoé", last_name="Martin", language_code="fr")
    await p.send("/start")
    await p.send("Sabine BLANC - Hélène GIRARD - Nathanaël SORIN RICHEZ")
    await p.send(ORGANISATION)
    await p.send(QUOTE)
    await p.press("Terminé")
    await p.press("Passer")  # pas de photo
    await p.press("Oui, j’accepte")
    await p.press("✍️ Signer autrement")
    labels = [label for label, _ in h.fake.buttons(p.id)]
    initials = "Sabine B. - Hélène G. - Nathanaël S."
    assert labels[1:] == [
        initials,
        "Anonyme, avec votre organisation",
        "Anonyme, sans organisation",
    ]
    answer = [m["text"] for m in await p.press(initials)]
    assert f"✅ Signature\u00a0: {initials}" in answer[0]
    assert f"{initials}\nAcadémie française\nVilla Mont-Noir\n\n«\u00a0" in answer[0]
    # Asked again, the current choice is ticked.
    await p.press("✍️ Signer autrement")
    assert f"✓ {initials}" in [label for label, _ in h.fake.buttons(p.id)]
    answer = [m["text"] for m in await p.press("Anonyme, avec votre organisation")]
    assert f"Anonyme\nAcadémie française\nVilla Mont-Noir\n\n«\u00a0{QUOTE}" in answer[0]
    await p.press("Envoyer")
    [t] = await h.repo.list_for_user(p.id)
    await press(
        h, ORGANISER_ID, (await card_of(h, t.id)).card_message_ids[0], f"mod:approve:{t.id}"
    )
    done = await wait_status(h, t.id, Status.PUBLISHED)
    post = h.fake.message(CHANNEL_ID, done.channel_message_ids[0])["text"]
    assert post.startswith("Anonyme\nAcadémie française\nVilla Mont-Noir\n\n«\u00a0")
    assert "BLANC" not in post and "Sabine" not in post


async def test_a_one_word_name_offers_no_initial_and_a_preview_follows_the_name(
    harness: Harness,
) -> None:
    """ "Florence" is its own initial form: no second button the same. The signature is a
    choice, not a copy: a corrected name is signed the chosen way."""
    h = harness
    p = h.person("Florence", last_name=None)
    await at_preview(h, p, "Florence")
    await p.press("✍️ Sign differently")
    labels = [label for label, _ in h.fake.buttons(p.id)]
    assert labels == [
        "✓ Florence",
        "A participant, with your organisation",
        "A participant, without organisation",
    ]
    await p.press("✓ Florence")
    await p.press("Edit name")
    await p.send("Florence DELORME")
    await sign(p, "Florence D.")
    await p.press("Edit name")
    answer = [m["text"] for m in await p.send("Florence DUMAS")]
    assert any("Florence D.\nAcadémie française" in text for text in answer)
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Florence DUMAS"
    assert draft.signature is Signature.INITIAL


def test_the_seed_names_keep_working_as_typed() -> None:
    """The initial forms of the 2012 book's signatures: one word stays itself, three names
    signed together each get theirs, and no family name shows beyond its initial."""
    assert initial_form("Florence") == "Florence"
    assert initial_form("Guillaume") == "Guillaume"
    assert initial_form("François MOREAU") == "François M."
    assert initial_form("Hugues DE DOMINGO") == "Hugues D."
    assert initial_form("Jean-François CAUCHE") == "Jean-François C."
    assert (
        initial_form("Sabine BLANC - Hélène GIRARD - Nathanaël SORIN RICHEZ")
        == "Sabine B. - Hélène G. - Nathanaël S."
    )
    assert initial_form("DUPONT Jean") == "Jean D."
    assert initial_form("Jeanne d'Arc") == "Jeanne A."
    assert initial_form("Ludwig van Beethoven") == "Ludwig B."
    assert initial_form("Marie DUPONT - MARTIN") == "Marie D. - M."
    assert initial_form("Sabine Blanc, Hélène Girard") == "Sabine B., Hélène G."


def test_no_family_name_of_the_seed_survives_the_initial_form(seed_text: str) -> None:
    for entry in parse_book(seed_text).entries:
        shown = initial_form(entry.name)
        family = [w for w in entry.name.replace(" - ", " ").split() if w.isupper() and len(w) > 1]
        assert not [w for w in family if w in shown.split()], (entry.name, shown)
        assert shown == entry.name or shown.endswith("."), (entry.name, shown)


async def test_a_bulk_list_says_how_each_is_signed(harness: Harness) -> None:
    """/review's "Approve all" list shows the name given, as every organiser's view does,
    and the signature the public will see when it is another: approving all of them is
    approving what will be published."""
    h = harness
    for i, choice in enumerate(("Marguerite Y.", None)):
        p = h.person(f"P{i}", user_id=47_000 + i)
        await at_preview(h, p)
        if choice:
            await sign(p, choice)
        await p.press("Send")
    shown = await open_list(h)
    assert shown["text"].count(NAME) == 3  # two entries, one "name given"
    assert shown["text"].count("✍️ Signed in public: Marguerite Y. · name given:") == 1


async def test_an_anonymous_signature_with_a_photo_is_told_the_photo_shows(
    harness: Harness,
) -> None:
    """An anonymous author who sent a portrait would be recognised by it: the choice says so
    where the photo can still be taken off; with the name, or without a photo, nothing."""
    p = harness.person("Ada")
    await p.reach_preview(photo=phone_photo())
    answer = "\n".join(await sign(p, "A participant, without organisation"))
    assert "Your photo will still be shown with your words" in answer
    assert "📷 Photo" in [label for label, _ in harness.fake.buttons(p.id)]
    answer = "\n".join(await sign(p, "Ada"))
    assert "still be shown" not in answer
    q = harness.person("Bob")
    await at_preview(harness, q)
    answer = "\n".join(await sign(q, "A participant, without organisation"))
    assert "still be shown" not in answer
