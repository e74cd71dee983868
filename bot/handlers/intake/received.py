"""A message from the attendee: a text answers the open step; a photo after the words is
the portrait; anything else (a sticker, a voice note, a file) is told what is expected,
except a photo's caption at the quote (a file's caption is not: it is about the file,
which the bot does not read)."""

from __future__ import annotations

import logging

from markupsafe import Markup
from telegram import Message, Update

from bot.services import relay
from bot.services.answers import add_quote, answered_earlier, take_answer
from bot.services.container import Context, Services
from bot.services.messages import reply
from bot.services.people import load_person
from bot.services.portraits import PORTRAIT_STEPS, ask_for_photo, received_photo
from bot.services.questions import QUESTION, TEXT_STEPS, keyboard, prompt, say_no_draft
from storage.models import Step, Testimonial

log = logging.getLogger(__name__)


async def received_text(update: Update, context: Context) -> None:
    """Take a text answer for the open step."""
    svc, lang, draft, _ = await load_person(update, context)
    message = update.effective_message
    assert message is not None and message.text is not None
    # A reply to the organisers' message goes to them: never an answer, nor a testimonial.
    if await relay.from_author(update, svc, context.bot, lang):
        return
    if draft is None or draft.step is None:
        await say_no_draft(update, svc, lang)
        return
    if str(message.message_id) in draft.answer_messages:
        # Telegram delivers at least once: after a crash the same message can come again.
        log.info(
            "message %d of user %d already applied: ignored", message.message_id, draft.user_id
        )
        return
    await take_answer(update, svc, lang, draft, message.text, message)


async def received_other(update: Update, context: Context) -> None:
    """A sticker, photo, voice note, location...: say what is expected; change nothing."""
    svc, lang, draft, _ = await load_person(update, context)
    if draft is None or draft.step is None:
        await say_no_draft(update, svc, lang)
        return
    message = update.effective_message
    if message is not None and draft.step in PORTRAIT_STEPS:
        if str(message.message_id) in draft.answer_messages:
            return  # delivered again after a crash: the photo was taken already
        if message.photo:
            await received_photo(update, svc, lang, draft, message)
            return
        if draft.step is Step.PORTRAIT:
            # A file (even an image sent as a file), a sticker, a voice note...
            key = "intake.portrait_document" if message.document else "intake.portrait_expected"
            await ask_for_photo(update, svc, lang, draft, key)
            return
    if message is not None and message.media_group_id is not None:
        # An album comes as one message per photo or file: answered once, at its first.
        saved = await _first_of_album(svc, draft, message)
        if saved is None:
            return
        draft = saved
    document = message is not None and message.document and not message.animation
    if document and draft.step in (Step.QUOTE, Step.EDIT_QUOTE):
        # A file (a .docx, a PDF...): its caption ("it's in the file") is not the testimonial,
        # and the file is not read. Say to paste the text.
        tg_user = update.effective_user
        assert tg_user is not None
        refused = svc.texts(lang, "intake.document_refused")
        await prompt(update, svc, draft, refused, keyboard(svc, lang, draft, tg_user))
        return
    caption = message.caption if message is not None else None
    taken = message is None or str(message.message_id) in draft.answer_messages
    # A photo replying to an earlier question: its caption answers that one.
    if (
        message is not None
        and caption
        and not taken
        and await answered_earlier(update, svc, lang, draft, caption, message)
    ):
        return
    if message is not None and caption and draft.step in (Step.QUOTE, Step.EDIT_QUOTE):
        # A photo with words at the testimonial step: the words are kept, and it says so.
        if str(message.message_id) not in draft.answer_messages:
            await add_quote(update, svc, lang, draft, caption, message, note="intake.caption_kept")
        return
    if draft.step in TEXT_STEPS:
        question = Markup(svc.texts(lang, QUESTION[draft.step]))
        tg_user = update.effective_user
        assert tg_user is not None
        await prompt(
            update,
            svc,
            draft,
            svc.texts(lang, "intake.expected_text", question=question),
            keyboard(svc, lang, draft, tg_user),
        )
    else:
        # At consent or preview the live buttons are on screen: one line, not the preview.
        await reply(update, svc.texts(lang, "intake.use_buttons"))


async def _first_of_album(
    svc: Services, draft: Testimonial, message: Message
) -> Testimonial | None:
    """The draft to answer ``message`` with when it is the first of its album to come (the
    album is then marked answered: ``album_answered``), or None for the album's other items,
    except one carrying a caption at the testimonial step (the caption is taken)."""
    group = message.media_group_id
    if draft.album_answered != group:
        return await svc.repo.update_draft(draft, album_answered=group)
    taken = message.caption and not message.document and draft.step in (Step.QUOTE, Step.EDIT_QUOTE)
    return draft if taken else None
