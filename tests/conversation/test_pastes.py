"""Long pastes through the conversation: each part the client sends is joined back as the
attendee typed it, and a paste is kept whole or not at all (issue 21, items 1 and 2).

The parts are made by the clients' own rules (bot/services/pastes.py, checked on their own in
tests/test_pastes.py) from the seed book, and sent at once, as the apps send them.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.book.parse import parse_book
from bot.services.pastes import Client, split
from storage.models import Answered, Step
from tests.support import Harness, Person, VirtualClock, running_bot

JSON = dict[str, Any]


async def paste(h: Harness, p: Person, parts: list[str]) -> list[JSON]:
    """Send ``parts`` one after the other without waiting, as a client sends a cut text;
    return the bot's answers once it has handled them all."""
    before = len(h.fake.messages(p.id))
    for part in parts:
        h.fake.user_sends(p.id, part)
    await h.settle()
    return h.fake.messages(p.id)[before:]


def francois(seed_text: str) -> str:
    [entry] = [e for e in parse_book(seed_text).entries if e.name == "François MOREAU"]
    return entry.quote


async def stored_quote(h: Harness, p: Person) -> str:
    draft = await h.repo.get_draft(p.id)
    assert draft is not None
    return draft.quote


@pytest.mark.parametrize("client", [Client.DESKTOP, Client.ANDROID])
async def test_francois_cut_at_his_paragraph_break_is_stored_with_it(
    harness: Harness, seed_text: str, client: Client
) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    quote = francois(seed_text)
    parts = split(quote, client)
    assert [len(part) for part in parts] == [3871, 457]
    replies = await paste(h, p, parts)
    assert "4,330 characters so far" in replies[-1]["text"]
    assert "gratuitement sur internet.\n\nLe crowdfunding" in await stored_quote(h, p)
    assert await stored_quote(h, p) == quote
    # The preview (the channel post) is long enough to be in two messages: at that break.
    await p.press("Done")
    await p.press("Skip")  # no photo
    previews = [r["text"] for r in await p.press("Yes, I agree")]
    assert any(t.endswith("gratuitement sur internet.\n\n(1/2)") for t in previews)
    assert any(t.startswith("Le crowdfunding") for t in previews)


async def test_each_cut_rule_is_joined_back_from_the_seed(harness: Harness, seed_text: str) -> None:
    """One attendee per rule: a line break, a space, a hard cut in the middle of a word."""
    h = harness
    quote = francois(seed_text)
    bare = quote.replace(".", "").replace("\n\n", " ")
    while bare[4095].isspace() or bare[4096].isspace():  # a cut in the middle of a word
        bare = "x" + bare
    cases = [
        (quote.replace("\n\n", "\n"), Client.DESKTOP, "\n"),
        (quote.replace("\n\n", " "), Client.DESKTOP, " "),
        (quote, Client.IOS, " "),
        (bare, Client.IOS, ""),
    ]
    for text, client, dropped in cases:
        p = h.person()
        await p.reach_quote()
        first, second = split(text, client)
        assert text == f"{first}{dropped}{second}"
        await paste(h, p, [first, second])
        assert await stored_quote(h, p) == text, (client, dropped)


async def test_an_afterthought_is_a_new_paragraph(harness: Harness, seed_text: str) -> None:
    h = harness
    quote = francois(seed_text)
    # Right after a cut paste: its last part is short, so this is not one of its parts.
    p = h.person()
    await p.reach_quote()
    await paste(h, p, split(quote, Client.DESKTOP))
    await p.send("Merci encore !")
    assert await stored_quote(h, p) == f"{quote}\n\nMerci encore !"
    # Within seconds of a long message that fits in one (no client cuts it).
    p = h.person()
    await p.reach_quote()
    long_one = quote[:3871]
    await paste(h, p, [long_one, "Merci encore !"])
    assert await stored_quote(h, p) == f"{long_one}\n\nMerci encore !"
    # A full-size part, then after a pause a text that would fit its cut: typed apart.
    p = h.person()
    await p.reach_quote()
    flat = quote.replace("\n\n", " ")
    first, second = split(flat, Client.DESKTOP)
    await p.send(first)
    h.pause()
    await p.send(second)
    assert await stored_quote(h, p) == f"{first}\n\n{second}"


async def test_every_seed_entry_cut_by_every_client_is_stored_as_typed(
    tmp_path: Any, seed_text: str
) -> None:
    entries = [e.quote for e in parse_book(seed_text).entries]
    # A hundred-odd messages from each person at once: the flood guard's waits are virtual.
    async with running_bot(tmp_path, clock=VirtualClock(), quote_max_chars=100_000) as h:
        people = {client: h.person() for client in Client}
        for p in people.values():
            await p.reach_quote()
        for quote in entries:
            h.pause()  # each entry is a paste of its own, the three apps at once
            for client, p in people.items():
                for part in split(quote, client):
                    h.fake.user_sends(p.id, part)
        await h.settle()
        for client, p in people.items():
            assert await stored_quote(h, p) == "\n\n".join(entries), client


async def test_a_refused_middle_part_takes_the_whole_paste_away(
    harness: Harness, seed_text: str
) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("Quelle belle journée !")
    h.pause()
    # The whole seed book pasted at once: 9,876 characters, three parts (limit 6,000).
    parts = split(seed_text, Client.ANDROID)
    assert len(parts) == 3
    replies = await paste(h, p, parts)
    texts = [r["text"] for r in replies]
    assert texts[0].startswith("Got it: ")  # part 1 fits: kept for now
    refusal = texts[1]
    assert "would make your testimonial at least" in refusal and "limit of 6,000" in refusal
    assert "I have kept none of it" in refusal
    assert "What I have of your testimonial: “Quelle belle journée !”." in refusal
    assert "Shorten it to 5,976 characters or fewer" in refusal
    assert texts[2] == "The rest of that long text is not kept either."
    assert len(texts) == 3
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "Quelle belle journée !"
    assert draft.step is Step.QUOTE
    kinds = sorted(Answered.parse(v).kind for v in draft.answer_messages.values())
    assert kinds == ["name", "organisation", "quote", "refused", "refused"]
    # A shorter text sent afterwards is taken as usual, as a new paragraph.
    h.pause()
    await p.send("Et merci à l'équipe.")
    assert await stored_quote(h, p) == "Quelle belle journée !\n\nEt merci à l'équipe."


async def test_a_refused_first_part_does_not_let_the_next_one_in(
    harness: Harness, seed_text: str
) -> None:
    h = harness
    p = h.person("Camille", language_code="fr")
    await p.send("/start")
    await p.send("Camille DURAND")
    await p.send("ANIS")
    earlier = "Une très belle rencontre. " * 100  # 2,599 characters
    await p.send(earlier.strip())
    h.pause()
    first, second = split(francois(seed_text), Client.DESKTOP)  # 3,871 + 457: the first is over
    replies = await paste(h, p, [first, second])
    refusal, rest = (r["text"] for r in replies)
    assert refusal.startswith("Votre témoignage ferait alors 6\u202f472 caractères")
    assert "Votre témoignage compte 2\u202f599 caractères, de «\u00a0Une très belle" in refusal
    assert refusal.endswith("rencontre.\u00a0».")
    assert rest == "La suite de ce long texte n’est pas gardée non plus."
    assert await stored_quote(h, p) == earlier.strip()


async def test_an_edited_refused_part_is_taken_when_it_fits(
    harness: Harness, seed_text: str
) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("a " * 1500)
    h.pause()
    await p.send(francois(seed_text)[:3871])  # over the limit: refused
    refused = p.last_user_message_id()
    replies = await p.edit(refused, "Le crowdfunding (« financement par la foule »).")
    assert "characters so far" in replies[-1]["text"]
    assert (await stored_quote(h, p)).endswith(
        "a\n\nLe crowdfunding (« financement par la foule »)."
    )
