"""What the attendee reads: /mine lines, the profile-name button, character counts."""

from __future__ import annotations

from storage.models import Status
from tests.support import GROUP_ID, ORGANISER_ID, Harness, Person

EN = ("Use “", "Skip", "Done", "Yes, I agree", "Send")
FR = ("Utiliser «", "Passer", "Terminé", "Oui, j’accepte", "Envoyer")


async def _submit(p: Person, quote: str, labels: tuple[str, ...] = EN) -> None:
    use_name, skip, done, agree, send = labels
    await p.start()
    await p.press(use_name)
    await p.press(skip)
    await p.send(quote)
    await p.press(done)
    await p.press(skip)  # no photo
    await p.press(agree)
    await p.press(send)


async def test_mine_numbers_my_testimonials_with_status_first(harness: Harness) -> None:
    ada, bob = harness.person(), harness.person("Bob", last_name=None)
    await _submit(bob, "Someone else's words, taking id 1.")
    await _submit(ada, "Remember me, this was a wonderful and very long day in Lille.")
    await _submit(bob, "Another one, so that my ids are not 1 and 2.")
    await _submit(ada, "Short.")
    mine = await harness.repo.list_for_user(ada.id)
    assert sorted(t.id for t in mine) == [2, 4]  # the database's ids are global

    [listing] = await ada.send("/mine")
    lines = listing["text"].split("\n")
    assert lines == [
        "Your testimonials:",
        "2. Waiting for review · “Short.”",
        "1. Waiting for review · “Remember me, this was a…”",
    ]
    assert "::" not in listing["text"].replace(" ", "") and "#4" not in listing["text"]
    # The buttons say my numbers and carry the database ids.
    assert harness.fake.buttons(ada.id) == [
        ("Withdraw #2", "mine:ask:4"),
        ("Withdraw #1", "mine:ask:2"),
    ]
    [confirm] = await ada.press("Withdraw #1")
    assert confirm["text"].startswith("Withdraw testimonial #1?")
    replies = await ada.press("Yes, withdraw it")
    assert replies[-1]["text"] == "Testimonial #1 is withdrawn."
    first = await harness.repo.get(2)
    assert first is not None and first.status is Status.WITHDRAWN
    [listing] = await ada.send("/mine")
    assert listing["text"].split("\n")[1:] == [
        "2. Waiting for review · “Short.”",
        "1. Withdrawn · “Remember me, this was a…”",
    ]


async def test_mine_in_french_has_no_two_colons_and_shows_the_reason(harness: Harness) -> None:
    p = harness.person(language_code="fr")
    await _submit(p, "Formidable : merci !", FR)
    [t] = await harness.repo.list_for_user(p.id)
    await harness.repo.decide(t.id, Status.REJECTED, by=1, by_name="Org", reason="Hors sujet")
    [listing] = await p.send("/mine")
    assert listing["text"] == (
        "Vos témoignages\u00a0:\n1. Non retenu (Hors sujet) · «\u00a0Formidable : merci !\u00a0»"
    )
    assert harness.fake.buttons(p.id) == []


async def test_a_long_profile_name_is_shortened_on_its_button_only(harness: Harness) -> None:
    p = harness.person("Marie-Christine Anne-Sophie", last_name="de La Rochefoucauld-Liancourt")
    await p.send("/start")
    [(label, _)] = harness.fake.buttons(p.id)
    assert label == "Use “Marie-Christine Anne-Sophie…”"
    await p.press("Use “")
    draft = await harness.repo.get_draft(p.id)
    assert draft is not None
    assert draft.name == "Marie-Christine Anne-Sophie de La Rochefoucauld-Liancourt"


async def test_a_short_profile_name_is_shown_whole(harness: Harness) -> None:
    p = harness.person("Zoë", last_name="Ŵ👩‍🔬")
    await p.send("/start")
    assert [label for label, _ in harness.fake.buttons(p.id)] == ["Use “Zoë Ŵ👩‍🔬”"]


async def test_a_button_label_is_plain_text(harness: Harness) -> None:
    """Labels are not HTML: a name's quote and ampersand show as typed, not as entities."""
    p = harness.person("Seán", last_name="O'Brien & Sons")
    await p.send("/start")
    assert [label for label, _ in harness.fake.buttons(p.id)] == ["Use “Seán O'Brien & Sons”"]


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦: 7 code points


async def test_counts_shown_are_the_characters_the_attendee_sees(harness: Harness) -> None:
    p = harness.person()
    await p.send("/start")
    await p.press("Use “")
    await p.press("Skip")
    replies = await p.send(FAMILY * 30)
    assert replies[0]["text"].startswith("Got it: 30 characters so far.")  # not 210
    # A thumbs-up with a skin tone, n + a combining diaeresis (no precomposed form): one each.
    replies = await p.send("Bravo ! 👍🏽 n\u0308")
    assert replies[0]["text"].startswith("Got it: 43 characters so far.")  # 30 + 2 + 11
    [message_id] = [
        m["message_id"]
        for m in harness.fake.messages(p.id, include_users=True)
        if not m["from_bot"] and m["text"] == FAMILY * 30
    ]
    replies = await p.edit(message_id, "é" * 3)
    assert (
        replies[0]["text"] == "I've updated that part of your testimonial (16 characters in all)."
    )


async def test_limits_are_telegram_counts_and_say_so_only_when_it_matters(
    harness: Harness,
) -> None:
    p = harness.person()
    await p.send("/start")
    replies = await p.send("a" * 101)
    assert replies[0]["text"] == (
        "That name is 101 characters long; the limit is 100. Please send a shorter one."
    )
    # 51 emoji: 51 characters on screen, 102 for Telegram, over the limit of 100.
    replies = await p.send("😀" * 51)
    assert replies[0]["text"] == (
        "That name is 102 characters long; the limit is 100. Please send a shorter one."
        " (Like Telegram, I count an emoji as 2 characters or more.)"
    )
    replies = await p.send("😀" * 50)  # exactly 100 for Telegram: accepted
    assert "organisation" in replies[-1]["text"]
    await p.press("Skip")
    await p.send("a" * 5000)
    replies = await p.send(FAMILY * 100)  # 1,100 more for Telegram, 100 more to the eye
    refusal, kept = replies[0]["text"].split("\n\n")
    assert "6,102 characters long, 102 over the limit of 6,000" in refusal
    assert refusal.endswith("(Like Telegram, I count an emoji as 2 characters or more.)")
    assert kept.startswith("Your testimonial has 5,000 characters")
    draft = await harness.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "a" * 5000


async def test_an_empty_name_is_not_asked_twice(harness: Harness) -> None:
    p = harness.person()
    await p.send("/start")
    replies = await p.send("\u200b")  # only an invisible character: an empty name
    [text] = [r["text"] for r in replies]
    assert text.startswith("The name can't be empty.\n\nWhat name should appear")
    assert text.count("What name") == 1


async def test_the_author_hears_of_a_decision_by_their_own_number(harness: Harness) -> None:
    ada, bob = harness.person(), harness.person("Bob", last_name=None, language_code="fr")
    await _submit(ada, "Ada's first.")
    await _submit(bob, "Le premier de Bob.", FR)
    [submitted] = await harness.repo.list_for_user(bob.id)
    assert submitted.id == 2
    await harness.settle()
    t = await harness.repo.get(submitted.id)
    assert t is not None and t.card_message_ids
    harness.fake.user_presses(ORGANISER_ID, GROUP_ID, t.card_message_ids[0], f"mod:approve:{t.id}")
    await harness.wait(lambda: any("🎉" in m for m in bob.texts()))
    [told] = [m for m in bob.texts() if "🎉" in m]
    assert told.startswith("🎉 Votre témoignage n°\u00a01 est publié\u00a0: https://t.me/")
