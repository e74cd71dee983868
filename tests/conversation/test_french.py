"""French that a French reader would write, as the attendee reads it (issue 21, items 14-16):
real plural forms, numbers grouped with a narrow no-break space, no "(s)"."""

from __future__ import annotations

from bot.services.typography import number_violations, shortcut_violations
from storage.models import Status
from tests.support import GROUP_ID, ORGANISER_ID, Harness, Person

FR = ("Utiliser «", "Passer", "Terminé", "Oui, j’accepte", "Envoyer")
NNBSP = "\u202f"


async def submit_fr(h: Harness, p: Person, quote: str) -> int:
    """Take a French attendee through the conversation; return the testimonial's id."""
    use_name, skip, done, agree, send = FR
    await p.start()
    await p.press(use_name)
    await p.press(skip)
    await p.send(quote)
    await p.press(done)
    await p.press(skip)  # pas de photo
    await p.press(agree)
    await p.press(send)
    t = max(await h.repo.list_for_user(p.id), key=lambda t: t.id)
    assert t.status is Status.PENDING
    return t.id


async def publish(h: Harness, tid: int) -> None:
    """Approve a testimonial on its card and wait until it is in the channel."""
    await h.settle()
    t = await h.repo.get(tid)
    assert t is not None and t.card_message_ids
    h.fake.user_presses(ORGANISER_ID, GROUP_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await h.wait_async(lambda: h.repo.get(tid), lambda t: t.status is Status.PUBLISHED)


def french_slips(texts: list[str]) -> list[str]:
    """Every "(s)" and every ungrouped number from 1,000 up in what the bot said."""
    return [p for text in texts for p in shortcut_violations(text) + number_violations(text)]


async def test_forget_counts_in_real_plurals_and_not_a_post_already_withdrawn(
    harness: Harness,
) -> None:
    p = harness.person("Camille", last_name="Durand", language_code="fr")
    first = await submit_fr(harness, p, "Merci pour l’accueil.")
    second = await submit_fr(harness, p, "Une belle journée.")
    await publish(harness, first)
    await publish(harness, second)
    # The author withdraws the first: its post leaves the channel then and there.
    await p.send("/mine")
    await p.press("Retirer le n°\u00a02")
    await p.press("Oui, le retirer")
    await harness.settle()
    assert len(harness.channel_messages()) == 1

    await p.send("/forget")
    [done] = (await p.press("Oui, tout effacer"))[-1:]
    lines = done["text"].split("\n")
    assert lines[0] == "C’est fait\u00a0: je ne garde plus rien sur vous."
    assert "2 témoignages effacés." in lines
    # Only the post still on the channel is being removed: the withdrawn one left already.
    assert "1 publication va être retirée du canal." in lines
    assert "2 messages supprimés dans le groupe des organisateurs." in lines
    assert french_slips(lines) == []
    await harness.wait(lambda: harness.channel_messages() == [])

    # One testimonial: singular, and no post line at all.
    q = harness.person("Lou", last_name=None, language_code="fr")
    await submit_fr(harness, q, "Bravo.")
    await q.send("/forget")
    [done] = (await q.press("Oui, tout effacer"))[-1:]
    assert "1 témoignage effacé." in done["text"].split("\n")
    assert "publication" not in done["text"] and french_slips([done["text"]]) == []


async def test_counts_are_singular_for_one_and_grouped_from_a_thousand(harness: Harness) -> None:
    use_name, skip, _, _, _ = FR
    p = harness.person("Camille", last_name="Durand", language_code="fr")
    await p.send("/start")
    await p.press(use_name)
    await p.press(skip)
    [got] = await p.send("A")
    assert got["text"].startswith("Bien reçu\u00a0: 1 caractère pour l’instant.")
    await p.send("/cancel")
    await p.press("Oui, l’effacer")

    await p.send("/start")
    await p.press(use_name)
    await p.press(skip)
    [got] = await p.send("a" * 3000)
    assert got["text"].startswith(f"Bien reçu\u00a0: 3{NNBSP}000 caractères pour l’instant.")
    harness.pause()  # a message of its own, not the rest of a paste
    [refused] = await p.send("b" * 3500)
    assert refused["text"].startswith(
        f"Votre témoignage ferait alors 6{NNBSP}502 caractères, soit 502 de plus que la limite"
        f" de 6{NNBSP}000."
    )
    assert french_slips(p.texts()) == []

    # English: one character, 3,000 characters.
    e = harness.person("Ada")
    await e.send("/start")
    await e.press("Use “")
    await e.press("Skip")
    [got] = await e.send("A")
    assert got["text"].startswith("Got it: 1 character so far.")
    [got] = await e.send("a" * 3000)
    assert got["text"].startswith("Got it: 3,003 characters so far.")


async def test_a_quote_typed_in_guillemets_is_shown_in_one_pair_everywhere(
    harness: Harness,
) -> None:
    h = harness
    use_name, skip, done, agree, send = FR
    p = h.person("Camille", last_name="Durand", language_code="fr")
    typed = "« Merci pour l’accueil ! »"
    once = "«\u00a0Merci pour l’accueil !\u00a0»"
    await p.send("/start")
    await p.press(use_name)
    await p.press(skip)
    await p.send(typed)
    await p.press(done)
    await p.press(skip)  # pas de photo
    [preview] = (await p.press(agree))[-1:]
    assert once in preview["text"] and "« «" not in preview["text"]
    await p.press(send)
    [t] = await h.repo.list_for_user(p.id)
    assert t.quote == typed  # stored as typed: only what is shown changes
    await h.settle()
    [card] = [m for m in h.group_messages() if "Merci pour" in m["text"]]
    assert once in card["text"] and "« «" not in card["text"]
    await publish(h, t.id)
    [post] = h.channel_messages()
    assert post["text"] == f"Camille Durand\n\n{once}"
    listing = (await p.send("/mine"))[-1]
    assert listing["text"].startswith("Vos témoignages") and listing["text"].endswith(f"· {once}")
    h.fake.user_sends(ORGANISER_ID, "/export", chat_id=GROUP_ID)
    await h.settle()
    markdown = h.group_messages()[-1]["document"]["content"].decode("utf-8")
    assert f"\n{once}\n" in markdown and "« «" not in markdown
    h.fake.user_sends(ORGANISER_ID, "/export html", chat_id=GROUP_ID)
    await h.settle()
    page = h.group_messages()[-1]["document"]["content"].decode("utf-8")
    assert "«&nbsp;Merci pour l’accueil !&nbsp;»" in page and "« «" not in page


async def double_tap(h: Harness, p: Person, label: str) -> tuple[str | None, str | None]:
    """Tap the button ``label`` of the bot's newest message twice, both taps sent before the
    bot answers either (as a quick double tap does); return what each tap was answered."""
    message = h.fake.messages(p.id)[-1]
    [data] = [d for text, d in h.fake.buttons(p.id, message["message_id"]) if label in text]
    assert data is not None
    taps = [h.fake.user_presses(p.id, p.id, message["message_id"], data) for _ in range(2)]
    await h.settle()
    first, second = (h.fake.callback_answers[tap].get("text") for tap in taps)
    return first, second


async def test_a_double_tap_on_the_newest_message_is_answered_for_what_it_is(
    harness: Harness,
) -> None:
    h = harness
    use_name, skip, done, agree, send = FR
    p = h.person("Camille", last_name="Durand", language_code="fr")
    await p.send("/start")
    await p.press(use_name)
    await p.press(skip)
    await p.send("Une belle journée.")
    await p.press(done)
    await p.press(skip)  # pas de photo
    await p.press(agree)
    # Send, twice: the second tap finds the testimonial sent, not "an older message".
    _, second = await double_tap(h, p, send)
    assert second == (
        "Ce témoignage est déjà envoyé\u00a0: il est entre les mains des organisateurs."
        " /mine montre où il en est."
    )
    [t] = await h.repo.list_for_user(p.id)
    assert t.status is Status.PENDING

    # Write another one (offered while the first waits for review), twice: the first
    # opened the new draft on this very message.
    await p.send("/start")
    _, second = await double_tap(h, p, "En écrire un autre")
    assert second == "C’est déjà fait."
    # Yes, discard it, twice: the second finds it discarded.
    await p.press(use_name)
    await p.send("/cancel")
    _, second = await double_tap(h, p, "Oui, l’effacer")
    assert second == "Ce témoignage est déjà effacé."
    assert await h.repo.get_draft(p.id) is None

    # Start again, twice: the first started a new draft on this very message.
    await p.start()
    await p.press(use_name)
    await p.send("/start")
    first_draft = await h.repo.get_draft(p.id)
    _, second = await double_tap(h, p, "Recommencer")
    assert second == "C’est déjà fait."
    fresh = await h.repo.get_draft(p.id)
    assert fresh is not None and first_draft is not None and fresh.id != first_draft.id
