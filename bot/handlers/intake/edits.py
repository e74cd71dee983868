"""An attendee edited a message: it replaces the answer it gave, whatever step is open, as
long as the testimonial is not sent."""

from __future__ import annotations

from telegram import Message, Update

from bot.services.answers import (
    REOPENED_BY,
    answered_earlier,
    carry_on,
    correct_field,
    offer_addition,
    quote_too_long,
    take_answer,
)
from bot.services.container import Context, Services
from bot.services.messages import reply
from bot.services.people import load_person
from bot.services.questions import ANSWER_SAVED, TEXT_STEPS
from storage import fields
from storage.models import Answered, Step, Testimonial, join_quote
from storage.textlength import perceived_length


async def received_edit(update: Update, context: Context) -> None:
    """An attendee edited a message: if it is their latest answer to a question (the name,
    the organisation, a paragraph of the testimonial), the field takes the new text at
    whatever step is open, and they are told so (at the preview, with a fresh preview);
    anything else gets a short explanation and changes nothing."""
    svc, lang, draft, _ = await load_person(update, context)
    message = update.edited_message
    tg_user = update.effective_user
    if message is None or message.text is None or tg_user is None:
        return
    texts = svc.texts
    if message.text.startswith("/"):
        await reply(update, texts(lang, "intake.edit_command"))
        return
    if draft is None or draft.step is None:
        sent = await svc.repo.list_for_user(tg_user.id)
        await reply(update, texts(lang, "intake.edit_after_send" if sent else "intake.no_draft"))
        return
    stored = draft.answer_messages.get(str(message.message_id))
    if stored is not None and Answered.parse(stored).kind == "refused":
        # Refused as too long, nothing of it kept: shortened, it is taken at the quote step.
        if draft.step in (Step.QUOTE, Step.EDIT_QUOTE):
            await take_answer(update, svc, lang, draft, message.text, message)
        elif draft.step is Step.PREVIEW:
            await offer_addition(update, svc, lang, draft, message.text)  # asked about
        else:
            await reply(update, texts(lang, "intake.edit_too_late"))
        return
    if stored is None:
        if await answered_earlier(update, svc, lang, draft, message.text, message):
            return  # a reply to an earlier question, not taken the first time
        prompted = draft.prompt_message_id
        if prompted is not None and message.message_id > prompted and draft.step in TEXT_STEPS:
            # Sent after the open question and not taken (a name too long, say): the
            # step has not moved since, so the corrected message answers it.
            await take_answer(update, svc, lang, draft, message.text, message)
        elif await _of_a_sent_testimonial(svc, message, tg_user.id):
            await reply(update, texts(lang, "intake.edit_after_send"))
        else:
            await reply(update, texts(lang, "intake.edit_not_an_answer"))
        return
    answered = Answered.parse(stored)
    if answered.kind in ("name", "organisation"):
        await correct_field(update, svc, lang, draft, answered.kind, message.text, message)
    else:
        await _correct_paragraph(update, svc, lang, draft, answered, message.text)


async def _of_a_sent_testimonial(svc: Services, message: Message, user_id: int) -> bool:
    """Whether the edited message was sent before the attendee's latest Send (it answered a
    testimonial now with the organisers, while a new one is open)."""
    sent = await svc.repo.list_for_user(user_id)
    return any(t.submitted_at is not None and message.date <= t.submitted_at for t in sent)


async def _correct_paragraph(
    update: Update, svc: Services, lang: str, draft: Testimonial, answered: Answered, text: str
) -> None:
    """Replace the paragraph of the testimonial an edited message gave."""
    texts = svc.texts
    index = answered.part
    joined = any(
        (other := Answered.parse(v)).kind == "paste" and other.part == index
        for v in draft.answer_messages.values()
    )
    # (No index: a paragraph kept before they were numbered, which cannot be placed.)
    if index is None or joined:
        await reply(update, texts(lang, "intake.edit_joined"))
        return
    parts = list(draft.quote_parts)
    new = fields.quote_part(text)
    if index >= len(parts) or not new:
        await reply(update, texts(lang, "intake.quote_empty_message"))
        return
    parts[index] = new
    problem = quote_too_long(svc, lang, join_quote(parts))
    if problem:
        await reply(update, problem)
        return
    step = Step.PREVIEW if draft.step is REOPENED_BY["quote"] else draft.step
    saved = await svc.repo.update_draft(draft, quote_parts=parts, step=step)
    if saved is None:
        return  # the draft moved on meanwhile (a replayed update)
    ANSWER_SAVED.set(True)
    length = perceived_length(saved.quote)
    await carry_on(
        update, svc, lang, saved, texts(lang, "intake.quote_updated", length=length, count=length)
    )
