"""Issue 10 through the fake Telegram: what the attendee sees and what the database holds
when they edit old messages, press old buttons, tap twice, retry, paste a long text, or
change language mid-way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.sandbox import UploadedFile
from bot.services.pastes import Client, split
from storage.models import Status, Step
from tests.support import Harness, Person

OUT_OF_DATE = "This message is out of date"


def button_of(h: Harness, p: Person, label: str, nth_from_end: int = 0) -> tuple[int, str]:
    """(message id, data) of the ``nth_from_end`` message carrying a ``label`` button."""
    found = [
        (m["message_id"], data)
        for m in h.fake.messages(p.id)
        for text, data in h.fake.buttons(p.id, m["message_id"])
        if label in text and data is not None
    ]
    return found[-1 - nth_from_end]


# -- one live prompt -----------------------------------------------------------------------


async def test_start_again_on_an_older_offer_asks_again_and_wipes_nothing(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview()
    await p.send("/start")
    message_id, data = button_of(h, p, "Start again")
    await p.send("/start")  # the first offer loses its buttons: pressed anyway (a race)
    assert h.fake.buttons(p.id, message_id) == []
    replies = await p.press_data(message_id, data, forge=True)
    assert p.last_answer is not None and OUT_OF_DATE in p.last_answer["text"]
    # Destructive: not done, asked again with a fresh offer.
    assert [r["text"] for r in replies] == [
        "You have a testimonial in progress. Continue it, or start again?"
    ]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.PREVIEW and draft.quote == "Wonderful day."
    assert draft.prompt_message_id == replies[0]["message_id"]
    # The live offer works.
    await p.press("Start again")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.NAME and draft.quote == ""


async def test_double_tap_on_consent_sends_one_preview(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("Wonderful day.")
    await p.press("Done")
    await p.press("Skip")  # no photo
    message_id, data = button_of(h, p, "Yes, I agree")
    first = h.fake.user_presses(p.id, p.id, message_id, data)
    second = h.fake.user_presses(p.id, p.id, message_id, data, forge=True)
    await h.settle()
    assert sum("exactly as it will appear" in t for t in p.texts()) == 1
    assert h.fake.callback_answers[first].get("text") is None
    assert OUT_OF_DATE in h.fake.callback_answers[second]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.PREVIEW


async def test_double_tap_on_done_asks_for_the_photo_once_on_the_same_message(
    harness: Harness,
) -> None:
    # Done is answered on its own message (the photo question and its Skip take the place
    # of Done): the second tap finds that message live, but its step gone.
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("Wonderful day.")
    message_id, data = button_of(h, p, "Done")
    sent_before = len(h.fake.calls("sendMessage"))
    first = h.fake.user_presses(p.id, p.id, message_id, data)
    second = h.fake.user_presses(p.id, p.id, message_id, data, forge=True)
    await h.settle()
    assert len(h.fake.calls("sendMessage")) == sent_before
    assert sum("add a photo?" in t for t in p.texts()) == 1
    assert h.fake.callback_answers[first].get("text") is None
    assert OUT_OF_DATE in h.fake.callback_answers[second]["text"]
    assert [b for b, _ in h.fake.buttons(p.id, message_id)] == ["Skip"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.PORTRAIT
    assert draft.prompt_message_id == message_id and draft.question_delivered


async def test_a_press_that_cannot_be_answered_in_place_is_answered_anew(harness: Harness) -> None:
    # Telegram refuses the edits (say the message can no longer be edited): the next
    # question comes as a new message, which then carries the live buttons.
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("Wonderful day.")
    got_it, _ = button_of(h, p, "Done")
    refused = "Bad Request: message can't be edited"
    h.fake.fail("editMessageText", p.id, code=400, description=refused, times=2)
    [photo] = await p.press("Done")
    assert photo["message_id"] != got_it and "add a photo?" in photo["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.PORTRAIT
    assert draft.prompt_message_id == photo["message_id"] and draft.question_delivered
    # Done's message keeps its text; its button is removed (editMessageReplyMarkup).
    assert h.fake.buttons(p.id, got_it) == []
    [consent] = (await p.press("Skip"))[-1:]
    assert "Do you agree" in consent["text"]
    # Only the edit carrying the next question refused: the choice is shown in place, the
    # preview comes anew.
    h.fake.fail("editMessageText", p.id, code=400, description=refused, times=1)
    [agreed, preview] = await p.press("Yes, I agree")
    assert agreed["message_id"] == consent["message_id"]
    assert agreed["text"].endswith("/mine.\n\n✅ You agreed.")
    assert h.fake.buttons(p.id, agreed["message_id"]) == []
    assert preview["text"].startswith("Here is your testimonial exactly as it will appear")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.prompt_message_id == preview["message_id"]


async def test_choices_are_shown_in_place_in_french(harness: Harness) -> None:
    h = harness
    p = h.person(language_code="fr")
    await p.send("/start")
    await p.send("Ada LOVELACE")
    [skipped] = await p.press("Passer")
    assert "✅ Passer\n\nÀ vous maintenant\u00a0: écrivez votre témoignage" in skipped["text"]
    await p.send("Une belle journée.")
    await p.press("Terminé")
    await p.press("Passer")  # no photo
    [preview] = await p.press("Oui, j’accepte")
    assert "\n\n✅ Vous avez accepté.\n\nVoici votre témoignage" in preview["text"]
    [sent] = await p.press("Envoyer")
    assert sent["message_id"] == preview["message_id"]
    assert "\n\n✅ Envoyé.\n\nMerci\u202f!" in sent["text"]


async def test_discarding_is_answered_on_the_confirmation(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview()
    [preview, confirm] = await p.press("Cancel")
    assert preview["text"] == "✅ Cancel"  # the preview folded: no copy left behind
    assert h.fake.buttons(p.id, preview["message_id"]) == []
    assert (
        confirm["text"] == "Discard this testimonial? Everything you wrote in it will be deleted."
    )
    [discarded] = await p.press("Yes, discard it")
    assert discarded["message_id"] == confirm["message_id"]
    assert discarded["text"].endswith(
        "\n\n✅ Yes, discard it\n\nDiscarded. Send /start whenever you want to write a new one."
    )
    assert await h.repo.get_draft(p.id) is None


async def test_old_preview_send_button_is_out_of_date(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview()
    old_send = button_of(h, p, "Send")
    await p.send("/cancel")
    await p.press("No, keep it")  # a new preview; the old one was folded
    assert button_of(h, p, "Send") != old_send
    assert h.fake.message(p.id, old_send[0])["text"] == (
        "(An earlier preview: the current one is further down.)"
    )
    assert h.fake.buttons(p.id, old_send[0]) == []
    replies = await p.press_data(*old_send, forge=True)  # pressed in a race
    assert replies == [] and p.last_answer is not None
    assert OUT_OF_DATE in p.last_answer["text"]
    assert await h.repo.list_by_status(Status.PENDING) == []
    await p.press("Send")
    [pending] = await h.repo.list_by_status(Status.PENDING)
    assert pending.name == "Ada LOVELACE"


async def test_stray_sticker_at_preview_gets_one_line(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview()
    replies = await p.send(kind="sticker")
    assert [r["text"] for r in replies] == ["Please use the buttons of my last message."]


# -- idempotent retries --------------------------------------------------------------------


async def test_repeated_paragraph_is_stored_once(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("A wonderful day.")
    replies = await p.send("A wonderful day.")
    assert (
        "This text is already in your testimonial: I did not keep it a second time (16 characters"
        in replies[0]["text"]
    )
    assert h.fake.buttons(p.id, replies[0]["message_id"])[0][0] == "Done"
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote_parts == ("A wonderful day.",)


class FailNextReply:
    """The next sendMessage to ``chat_id`` fails (502) after Telegram... never got it."""

    def __init__(self, h: Harness, chat_id: int) -> None:
        self._handle = h.fake.handle
        self.chat_id = chat_id
        self.armed = True
        h.fake.handle = self.handle  # type: ignore[method-assign]

    async def handle(
        self,
        token: str,
        method: str,
        params: Mapping[str, object],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        if (
            self.armed
            and method == "sendMessage"
            and str(params.get("chat_id")) == str(self.chat_id)
        ):
            self.armed = False
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return await self._handle(token, method, params, files)


async def test_failed_reply_after_commit_says_it_was_saved(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    FailNextReply(h, p.id)
    replies = await p.send("A wonderful day.")
    texts = [r["text"] for r in replies]
    assert len(texts) == 1, texts
    assert texts[0].startswith("Sorry, I could not reply just now, but your answer is saved.")
    assert "something went wrong" not in texts[0]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "A wonderful day." and draft.question_delivered
    # The attendee retries anyway: not stored twice.
    replies = await p.send("A wonderful day.")
    assert "did not keep it a second time" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote_parts == ("A wonderful day.",)


# -- /language -----------------------------------------------------------------------------


async def test_language_mid_conversation_asks_the_open_question_again(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.send("/start")
    await p.send("Ada LOVELACE")
    await p.send("/language")
    replies = await p.press("Français")
    [reply] = replies
    assert "Je vous parlerai en français" in reply["text"]
    assert "Indiquez votre fonction et votre organisation" in reply["text"]
    assert [label for label, _ in h.fake.buttons(p.id, reply["message_id"])] == ["Passer"]
    replies = await p.send("Analytical Engine Society")
    assert "témoignage" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.organisation == "Analytical Engine Society"


# -- long pastes ---------------------------------------------------------------------------


async def test_a_paste_cut_by_telegram_is_joined_without_a_paragraph_break(
    harness: Harness,
) -> None:
    # More cases, built from the seed book, in tests/conversation/test_pastes.py.
    h = harness
    p = h.person()
    await p.reach_quote()
    typed = ("We loved every talk and we will come back next year. " * 80).strip()
    part_1, part_2 = split(typed, Client.DESKTOP)  # cut after a full stop, the space dropped
    await p.send(part_1)
    replies = await p.send(part_2)
    assert f"{len(typed):,} characters so far" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == typed and len(draft.quote_parts) == 1
    # A later, separate message is a new paragraph.
    await p.send("A second thought.")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == f"{typed}\n\nA second thought."
    await p.press("Done")
    await p.press("Skip")  # no photo
    replies = await p.press("Yes, I agree")
    assert any("we will come back next year." in r["text"] for r in replies)


async def test_a_short_message_then_another_stays_two_paragraphs(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("First.")
    await p.send("Second.")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "First.\n\nSecond."


# -- edits ---------------------------------------------------------------------------------


async def test_edits_of_commands_old_messages_and_after_send(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.send("/start session-3")
    start_message = p.last_user_message_id()
    replies = await p.edit(start_message, "/start session-4")
    assert "Editing a command does nothing" in replies[0]["text"]
    replies = await p.edit(start_message, "Ada")
    assert "not one of your current answers" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "" and draft.step is Step.NAME
    await p.send("Ada LOVELACE")
    name_message = p.last_user_message_id()
    await p.send("Org")
    await p.send("Old text.")
    old_paragraph = p.last_user_message_id()
    await p.press("Done")
    await p.press("Skip")  # no photo
    await p.press("Yes, I agree")
    replies = await p.edit(name_message, "   ")  # was "That name is 0 characters long"
    assert [r["text"] for r in replies] == ["The name can't be empty."]
    await p.press("Edit testimonial")
    await p.send("New text.")
    replies = await p.edit(old_paragraph, "Old text, edited.")
    assert "not one of your current answers" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "New text." and draft.name == "Ada LOVELACE"
    await p.press("Done")
    await p.press("Send")
    replies = await p.edit(name_message, "Ada KING")
    assert "already been sent" in replies[0]["text"] and "/mine" in replies[0]["text"]
    [pending] = await h.repo.list_by_status(Status.PENDING)
    assert pending.name == "Ada LOVELACE"


async def test_edit_of_a_joined_paste_points_to_edit_testimonial(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("x" * 4096)  # a text without a space: cut at the limit, nothing dropped
    await p.send("continued")
    replies = await p.edit(p.last_user_message_id(), "changed")
    assert "put together from a long paste" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "x" * 4096 + "continued"


# -- smaller items -------------------------------------------------------------------------


async def test_zero_width_name_is_refused(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.send("/start")
    replies = await p.send("\u200b\u200c\u2060\ufeff")
    # storage/fields.py (issue 11) counts invisible characters only as an empty name.
    assert replies[0]["text"].startswith("The name can't be empty.")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "" and draft.step is Step.NAME


async def test_whitespace_only_organisation_is_explained(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.send("/start")
    await p.send("Ada")
    replies = await p.send("   \n  ")
    assert replies[0]["text"].startswith("That message was empty.")
    assert "Your role and organisation" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.ORGANISATION


async def test_photo_caption_at_testimonial_step_is_kept(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    replies = await p.send("What a day we had.", kind="photo")
    assert "I kept the caption of your photo as text (18 characters" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "What a day we had."


async def test_refused_replacement_says_how_much_is_kept(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview("Short and kept.")
    await p.press("Edit testimonial")
    replies = await p.send("z" * 3000 + " " + "z" * 3100)
    # (It used to say "I kept what you sent before (0 characters)".)
    assert "What you sent before is kept" in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "Short and kept."


async def test_edit_organisation_question_names_its_button(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.reach_preview()
    replies = await p.press("Edit organisation")
    assert "tap No organisation" in replies[-1]["text"]
    assert [label for label, _ in h.fake.buttons(p.id, replies[-1]["message_id"])] == [
        "No organisation"
    ]
