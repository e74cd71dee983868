"""Issue 21, items 3, 11, 12 and 13: what the attendee's phone shows. The fake Telegram keeps
each message as it is now (its text and buttons after every edit), so these tests read the
screen itself: a question asked again says what is kept and nothing is stored twice; no
bubble holds an out-of-date preview; a paragraph can be added at the preview; one live Done
button at a time."""

from __future__ import annotations

from typing import Any

from bot.services.pastes import Client, split
from storage.models import Step
from tests.support import Harness, Person

PREVIEW_EN = "exactly as it will appear in the channel"
PREVIEW_FR = "tel qu’il paraîtra sur le canal"
OUT_OF_DATE = "This message is out of date"

# A testimonial in French (the seed's tone), 1,110 characters.
LONG = (
    "Merci aux organisateurs pour cette journée riche en échanges. "
    + "Les ateliers ont permis de confronter nos pratiques et d’apprendre des autres. " * 13
    + "À l’année prochaine\u202f!"
)


def screen(p: Person) -> list[dict[str, Any]]:
    """The bot's messages in the chat as the phone shows them now, with their buttons."""
    h = p.h
    return [
        {**m, "buttons": [label for label, _ in h.fake.buttons(p.id, m["message_id"])]}
        for m in h.fake.messages(p.id)
    ]


def with_button(p: Person, label: str) -> list[int]:
    """The bot's messages that show a ``label`` button now."""
    return [m["message_id"] for m in screen(p) if label in m["buttons"]]


# -- 13: one live Done button ----------------------------------------------------------------


async def test_each_paragraph_moves_the_one_done_button(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    got: list[int] = []
    for text in ("First paragraph.", "Second paragraph.", "Third paragraph."):
        [reply] = await p.send(text)
        got.append(reply["message_id"])
        # Only the newest "Got it" carries Done; the earlier ones lost theirs.
        assert with_button(p, "Done") == [reply["message_id"]]
    assert "Got it: 53 characters so far" in h.fake.message(p.id, got[-1])["text"]
    # The earlier messages keep their text (the conversation reads as it happened).
    assert "Got it: 16 characters so far" in h.fake.message(p.id, got[0])["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.prompt_message_id == got[-1]
    # A press on an old Done that was still on its way (a race) changes nothing.
    await p.press_data(got[0], f"in:done:{draft.id}", forge=True)
    assert p.last_answer is not None and OUT_OF_DATE in p.last_answer["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.QUOTE
    [photo] = await p.press("Done")
    assert photo["message_id"] == got[-1] and "add a photo?" in photo["text"]
    [consent] = await p.press("Skip")
    assert consent["message_id"] == got[-1] and "Do you agree" in consent["text"]


async def test_refusals_at_the_quote_step_also_move_the_done_button(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("A wonderful day.")
    [again] = await p.send("A wonderful day.")  # sent twice: one copy, and said so
    assert "already in your testimonial" in again["text"]
    assert with_button(p, "Done") == [again["message_id"]]
    [refused] = await p.send(kind="sticker")
    assert with_button(p, "Done") == [refused["message_id"]]


# -- 11: one clear screen --------------------------------------------------------------------


async def test_two_corrections_leave_one_current_preview_in_french(harness: Harness) -> None:
    h = harness
    p = h.person("Jean", last_name="DUPOND", language_code="fr")
    await p.send("/start")
    await p.send("Jeanne MARTIN")
    await p.send("Université de Lille")
    await p.send("Une belle journée, merci.")
    await p.press("Terminé")
    await p.press("Passer")  # pas de photo
    await p.press("Oui, j’accepte")
    # Correct the name with the profile button, then drop the organisation: both answered
    # on the pressed message (no new message), as before the change.
    sent_before = len(h.fake.calls("sendMessage"))
    await p.press("Modifier le nom")
    await p.press("Utiliser")
    await p.press("Modifier l’organisation")
    [shown] = await p.press("Pas d’organisation")
    assert len(h.fake.calls("sendMessage")) == sent_before
    # That message now holds one line per correction and the current preview, no other.
    assert shown["text"].startswith("✅ Organisation\u00a0: aucune\n\nVoici votre témoignage")
    assert shown["text"].count(PREVIEW_FR) == 1
    assert "Jean DUPOND\n\n«\u00a0Une belle journée, merci.\u00a0»" in shown["text"]
    assert len(shown["text"]) < 400, len(shown["text"])
    # The whole screen: one preview, the current one, last, with its buttons.
    previews = [m for m in screen(p) if PREVIEW_FR in m["text"]]
    assert [m["message_id"] for m in previews] == [shown["message_id"]]
    assert screen(p)[-1]["message_id"] == shown["message_id"]
    assert "Envoyer" in screen(p)[-1]["buttons"]
    assert not any("Jeanne MARTIN" in m["text"] for m in screen(p)[1:])
    assert not any("Université de Lille\n\n«" in m["text"] for m in screen(p))


async def test_a_typed_correction_folds_the_old_preview(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview()
    first = screen(p)[-1]["message_id"]
    [asked] = await p.press("Edit name")
    assert asked["message_id"] == first
    assert asked["text"].startswith("✅ Edit name\n\nWhat name should appear")
    assert "Wonderful day" not in asked["text"]  # the preview went with the press
    [preview] = await p.send("Jean DUPOND")
    assert PREVIEW_EN in preview["text"] and "Jean DUPOND" in preview["text"]
    # The question's button ("Use …") went: the new preview is the one live message.
    assert h.fake.buttons(p.id, first) == []
    await p.send("/cancel")
    [_, kept] = await p.press("No, keep it")
    # /cancel's confirmation superseded that preview: it was folded to one line.
    assert h.fake.message(p.id, preview["message_id"])["text"] == (
        "(An earlier preview: the current one is further down.)"
    )
    previews = [m["message_id"] for m in screen(p) if PREVIEW_EN in m["text"]]
    assert previews == [kept["message_id"]] == [screen(p)[-1]["message_id"]]


# -- 12: adding a paragraph at the preview ---------------------------------------------------


async def test_add_a_paragraph_at_the_preview(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview("A wonderful day.")
    [asked] = await p.press("Add a paragraph")
    assert asked["text"].startswith("✅ Add a paragraph\n\nI already have your testimonial")
    assert "“A wonderful day.”" in asked["text"]
    assert [b for b, _ in h.fake.buttons(p.id, asked["message_id"])] == ["Done"]
    [got] = await p.send("See you next year.")
    assert "Got it: 36 characters so far" in got["text"]
    assert with_button(p, "Done") == [got["message_id"]]
    [preview] = await p.press("Done")  # consent was given: straight back to the preview
    assert "«\u00a0A wonderful day.\n\nSee you next year.\u00a0»" in preview["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.PREVIEW
    assert draft.quote_parts == ("A wonderful day.", "See you next year.")


async def test_text_typed_at_the_preview_is_kept_after_asking(harness: Harness) -> None:
    h = harness
    p = h.person(language_code="fr")
    await p.send("/start")
    await p.send("Ada LOVELACE")
    await p.press("Passer")
    await p.send("Une belle journée.")
    await p.press("Terminé")
    await p.press("Passer")  # pas de photo
    await p.press("Oui, j’accepte")
    [asked] = await p.send("Et merci pour le café.")
    assert asked["text"] == (
        "Ajouter ce que vous venez d’écrire (22 caractères) à la fin de votre"
        " témoignage, comme nouveau paragraphe\u202f?"
    )
    assert [b for b, _ in h.fake.buttons(p.id, asked["message_id"])] == ["Oui, l’ajouter", "Non"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.pending_addition == "Et merci pour le café."
    assert draft.quote == "Une belle journée."  # not in the testimonial before the answer
    [added] = await p.press("Oui, l’ajouter")
    assert added["message_id"] == asked["message_id"]
    assert added["text"].startswith("✅ Ajouté à la fin de votre témoignage.\n\nVoici")
    assert "Une belle journée.\n\nEt merci pour le café." in added["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.pending_addition is None
    assert draft.quote == "Une belle journée.\n\nEt merci pour le café."
    # Said "no" this time: nothing added, the preview again.
    await p.send("Bonne soirée")
    [declined] = await p.press("Non")
    assert declined["text"].startswith("✖️ Pas ajouté.\n\nVoici")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.pending_addition is None
    assert draft.quote == "Une belle journée.\n\nEt merci pour le café."
    # Text already in the testimonial is not asked about.
    [already] = await p.send("Une belle journée.")
    assert already["text"].startswith("Ce texte est déjà dans votre témoignage")
    assert [m["message_id"] for m in screen(p) if PREVIEW_FR in m["text"]] == [
        declined["message_id"]
    ]


# -- 3: a question asked again says what is kept ---------------------------------------------


async def test_continue_says_what_is_kept_and_a_resent_text_is_not_stored(
    harness: Harness,
) -> None:
    h = harness
    p = h.person(language_code="fr")
    await p.send("/start")
    await p.send("Ada LOVELACE")
    await p.press("Passer")
    await p.send(LONG)
    await p.send("/start")
    [_, asked] = await p.press("Continuer")
    # Babel's plural and the French number (a narrow no-break space between thousands).
    assert asked["text"] == (
        "J’ai déjà 1\u202f110 caractères de votre témoignage, qui commence par"
        " «\u00a0Merci aux organisateurs pour cette…\u00a0» et finit par"
        " «\u00a0…des autres. À l’année prochaine\u202f!\u00a0»."
        " Inutile de le renvoyer\u00a0: envoyez une suite si vous le souhaitez (elle formera"
        " un nouveau paragraphe), ou touchez Terminé."
    )
    assert [b for b, _ in h.fake.buttons(p.id, asked["message_id"])] == ["Terminé"]
    # Pasted again anyway: recognised, not stored twice, and said so.
    [again] = await p.send(LONG)
    assert again["text"].startswith("Ce texte est déjà dans votre témoignage")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == LONG


async def test_every_way_of_asking_again_says_what_is_kept(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("A wonderful day.")
    kept = "I already have your testimonial (16 characters): “A wonderful day.”"
    await p.send("/cancel")
    [_, asked] = await p.press("No, keep it")
    assert kept in asked["text"]
    await p.send("/nonsense")
    assert kept in screen(p)[-1]["text"] and screen(p)[-1]["buttons"] == ["Done"]
    await p.send("/language")
    [asked] = await p.press("English")
    assert kept in asked["text"] and with_button(p, "Done") == [asked["message_id"]]
    await h.restart()  # a clean restart: the question was delivered, nothing re-sent
    await p.send("/start")
    [_, asked] = await p.press("Continue")
    assert kept in asked["text"]


async def test_a_paste_sent_again_is_recognised_part_by_part(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    typed = "word " * 850 + "for our team and we will come back next year."
    part_1, part_2 = split(typed, Client.DESKTOP)  # as Telegram Desktop sends it
    await p.send(part_1)
    await p.send(part_2)
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == typed
    quote = draft.quote
    await p.send("A short afterthought.")
    # Much later, after a question asked again, the same paste comes again.
    [first] = await p.send(part_1)
    [second] = await p.send(part_2)
    for reply in (first, second):
        assert "already in your testimonial" in reply["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == f"{quote}\n\nA short afterthought."
    # A new paragraph that merely shares a few words is kept.
    await p.send("for our team")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote_parts[-1] == "for our team"


async def test_a_long_preview_is_replaced_whole_when_a_paragraph_is_added(
    harness: Harness,
) -> None:
    # 5,000 characters: the preview comes as several messages (the line, the parts, the
    # buttons). Adding a sentence leaves one preview on screen, the current one.
    h = harness
    p = h.person()
    first, second = "Day one. " * 278, "Day two. " * 278
    await p.reach_quote()
    await p.send(first.strip())
    await p.send(second.strip())
    await p.press("Done")
    await p.press("Skip")  # no photo
    await p.press("Yes, I agree")
    parts_before = [m["message_id"] for m in screen(p) if "(1/2)" in m["text"]]
    assert len(parts_before) == 1
    [asked] = await p.press("Add a paragraph")
    assert asked["text"].startswith("✅ Add a paragraph\n\nI already have 5,004 characters")
    assert not any("(1/2)" in m["text"] or "(2/2)" in m["text"] for m in screen(p))
    await p.send("One more sentence.")
    await p.press("Done")
    shown = screen(p)
    assert sum("(1/2)" in m["text"] for m in shown) == 1
    assert sum("(2/2)" in m["text"] for m in shown) == 1
    assert "One more sentence." in next(m for m in shown if "(2/2)" in m["text"])["text"]
    assert shown[-1]["buttons"][0] == "Send"
    # Superseded in turn (a typed addition asked about): the parts go, the buttons' message
    # is folded to one line.
    await p.send("And thanks.")
    shown = screen(p)
    assert not any("(1/2)" in m["text"] for m in shown)
    assert shown[-2]["text"] == "(An earlier preview: the current one is further down.)"
    assert shown[-1]["buttons"] == ["Yes, add it", "No"]


async def test_signing_differently_folds_like_a_correction(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview()
    [asked] = await p.press("Sign differently")
    assert asked["text"].startswith("✅ ✍️ Sign differently\n\nHow should your testimonial")
    [signed] = await p.press("A participant, without organisation")
    assert signed["message_id"] == asked["message_id"]
    assert signed["text"].startswith("✅ Signed: ") and signed["text"].count(PREVIEW_EN) == 1
    assert [m["message_id"] for m in screen(p) if PREVIEW_EN in m["text"]] == [signed["message_id"]]
