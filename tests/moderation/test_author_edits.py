"""An organiser's edit waits for its author (LIVREDOR_EDITS_NEED_AUTHOR, on by default): the
author reads a before/after with the changed words marked and approves it, keeps their own
words, withdraws, or never answers (issue 26 item 2)."""

from __future__ import annotations

from bot.services.render import TELEGRAM_LIMIT, plain_length
from storage.models import Status, utcnow
from tests.moderation.test_moderation import answer_prompt, card_of, press, submit, wait_status
from tests.support import GROUP_ID, ORGANISER_ID, Harness, Person

JSON = dict[str, object]


async def edit(h: Harness, tid: int, field: str, text: str) -> None:
    """An organiser corrects ``field`` through the card's Edit button and the prompt."""
    card_id = (await card_of(h, tid)).card_message_ids[-1]  # the part with the buttons
    await press(h, ORGANISER_ID, card_id, f"mod:edit:{tid}")
    await press(h, ORGANISER_ID, card_id, f"mod:field:{tid}:{field}")
    await answer_prompt(h, text)


def card_text(h: Harness, tid_card: int) -> str:
    return str(h.fake.message(GROUP_ID, tid_card)["text"])


def last_html(h: Harness, p: Person) -> str:
    return str(h.fake.messages(p.id)[-1]["html"])


async def test_the_author_approves_the_change(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p, quote="A fine dya in <Lille> & Roubaix.")
    card_id = (await card_of(harness, tid)).card_message_ids[0]
    await edit(harness, tid, "quote", "A fine day in <Lille> & Roubaix!")
    waiting = await harness.repo.get(tid)
    assert waiting is not None and waiting.status is Status.PENDING
    # The row keeps the author's words; the edit waits beside them.
    assert waiting.quote == "A fine dya in <Lille> & Roubaix."
    assert waiting.proposal is not None
    assert waiting.proposal.fields == {"quote": "A fine day in <Lille> & Roubaix!"}
    assert waiting.proposal_message_id == harness.fake.messages(p.id)[-1]["message_id"]
    # Only the changed words are marked, the author's own « < » and « & » escaped.
    shown = last_html(harness, p)
    assert "A fine <s>dya</s> in &lt;Lille&gt; &amp; <s>Roubaix.</s>" in shown
    assert "A fine <b>day</b> in &lt;Lille&gt; &amp; <b>Roubaix!</b>" in shown
    assert [label for label, _ in harness.fake.buttons(p.id)] == [
        "✅ Approve the change",
        "↩️ Keep my words",
        "🗑 Withdraw",
    ]
    card = card_text(harness, card_id)
    assert "Changed by Olga Organiser (quote): waiting for the author's answer" in card
    assert "A fine dya in <Lille>" in card  # what Approve would publish now

    # A second correction (the name) while the first waits: one new message with both; the
    # first message's buttons no longer act.
    first_message = harness.fake.messages(p.id)[-1]["message_id"]
    await edit(harness, tid, "name", "Ada L.")
    both = last_html(harness, p)
    assert "Ada <b>L.</b>" in both and "<b>day</b>" in both
    assert not harness.fake.buttons(p.id, first_message)  # replaced: its buttons are gone
    stale = await p.press_data(first_message, f"aut:ok:{tid}:1", forge=True)
    assert not stale[1:] and p.last_answer is not None and p.last_answer["show_alert"]
    assert "no longer applies" in str(p.last_answer["text"])

    replies = await p.press("Approve the change")
    assert any("will be published with the change" in str(m["text"]) for m in replies)
    agreed = await harness.repo.get(tid)
    assert agreed is not None and agreed.proposal is None
    assert (agreed.name, agreed.quote) == ("Ada L.", "A fine day in <Lille> & Roubaix!")
    # The words the author agreed to are the ones that will be published.
    assert agreed.words_version == agreed.agreed_words_version == 2
    await harness.settle()
    card = card_text(harness, card_id)
    assert "The author approved the change." in card and "A fine day in <Lille>" in card
    await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    [post] = harness.channel_messages()
    assert (
        post["text"].startswith("Ada L.\n") and "A fine day in <Lille> & Roubaix!" in post["text"]
    )


async def test_the_author_keeps_their_words(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p, name="ada")
    card_id = (await card_of(harness, tid)).card_message_ids[0]
    await edit(harness, tid, "name", "Ada")
    replies = await p.press("Keep my words")
    assert any("keeps your own words" in str(m["text"]) for m in replies)
    kept = await harness.repo.get(tid)
    assert kept is not None and kept.name == "ada" and kept.proposal is None
    assert kept.words_version == kept.agreed_words_version == 1
    await harness.settle()
    assert "The author kept their own words" in card_text(harness, card_id)
    answered = next(m for m in harness.fake.messages(p.id) if "suggest a change" in str(m["text"]))
    assert not harness.fake.buttons(p.id, answered["message_id"])  # answered: buttons gone
    await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    await wait_status(harness, tid, Status.PUBLISHED)
    assert harness.channel_messages()[0]["text"].startswith("ada\n")


async def test_the_author_never_answers_and_the_organisers_publish_their_own_words(
    harness: Harness,
) -> None:
    p = harness.person()
    tid = await submit(harness, p, quote="Merci pour tout.")
    card_id = (await card_of(harness, tid)).card_message_ids[0]
    await edit(harness, tid, "quote", "Merci pour tout !")
    assert "Approve now publishes the author's own words" in card_text(harness, card_id)
    # Decided alone, never in a bulk list of /review.
    assert await harness.repo.count_short(ORGANISER_ID, now=utcnow(), max_chars=280) == 0
    answer = await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    # The toast says which words, as the card did.
    assert answer["text"].startswith("Approved with the author's own words; the change")
    published = await wait_status(harness, tid, Status.PUBLISHED)
    assert published.quote == "Merci pour tout." and published.proposal is None
    assert "Merci pour tout.\u00a0»" in harness.channel_messages()[0]["text"]
    # The author's message no longer offers to answer; a press from an old copy of its
    # buttons changes nothing and says why.
    edit_message = next(
        m for m in harness.fake.messages(p.id) if "suggest a change" in str(m["text"])
    )
    assert not harness.fake.buttons(p.id, edit_message["message_id"])
    await p.press_data(edit_message["message_id"], f"aut:ok:{tid}:1", forge=True)
    assert p.last_answer is not None and "no longer applies" in str(p.last_answer["text"])
    after = await harness.repo.get(tid)
    assert after is not None and after.quote == "Merci pour tout."
    assert after.words_version == after.agreed_words_version == 1


async def test_the_author_withdraws_from_the_edit(harness: Harness) -> None:
    p = harness.person()
    tid = await submit(harness, p)
    card_id = (await card_of(harness, tid)).card_message_ids[0]
    await edit(harness, tid, "organisation", "Analytical Engine Society (London)")
    await p.press("Withdraw")  # asks first
    assert [label for label, _ in harness.fake.buttons(p.id)] == ["Yes, withdraw it", "No"]
    await p.press("No")
    assert "✅ Approve the change" in [label for label, _ in harness.fake.buttons(p.id)]
    await p.press("Withdraw")
    replies = await p.press("Yes, withdraw it")
    assert any("is withdrawn" in str(m["text"]) for m in replies)
    await wait_status(harness, tid, Status.WITHDRAWN)
    assert "Withdrawn by its author" in card_text(harness, card_id)
    assert not harness.channel_messages()


async def test_a_long_testimonial_shows_its_changed_passages_within_the_limit(
    harness: Harness,
) -> None:
    words = [f"mot{i}" for i in range(550)]
    original = " ".join(words)
    changed = list(words)
    for i in (10, 270, 540):
        changed[i] = f"MOT{i}"
    p = harness.person()
    tid = await submit(harness, p, quote=original)
    await edit(harness, tid, "quote", " ".join(changed))
    message = harness.fake.messages(p.id)[-1]
    assert plain_length(str(message["html"])) <= TELEGRAM_LIMIT
    for i in (10, 270, 540):
        assert f"<s>mot{i}</s>" in message["html"] and f"<b>MOT{i}</b>" in message["html"]
    assert "…" in message["text"] and "mot200 " not in message["text"]
    # A short context around each change: the word next to it is there.
    assert "mot269 <b>MOT270</b> mot271" in message["html"]


async def test_edits_apply_at_once_when_the_setting_is_off(harness: Harness) -> None:
    harness.settings.edits_need_author = False
    p = harness.person()
    tid = await submit(harness, p, name="ada lovelace")
    await edit(harness, tid, "name", "Ada LOVELACE")
    edited = await harness.repo.get(tid)
    assert edited is not None and edited.name == "Ada LOVELACE" and edited.proposal is None
    # The record says the author did not agree to these words.
    assert (edited.words_version, edited.agreed_words_version) == (2, 1)
    assert not any("suggest a change" in text for text in p.texts())
