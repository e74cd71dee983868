"""An attendee edited a message: it replaces the answer it gave, when that may still change."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.services.answers import quote_too_long, refusal, take_answer
from bot.services.container import Context
from bot.services.messages import button, reply
from bot.services.people import load_person
from bot.services.questions import ANSWER_SAVED, TEXT_STEPS, ask, prompt
from storage import fields
from storage.models import Answered, Step, Testimonial, join_quote
from storage.textlength import perceived_length

#: The steps at which an edit of the latest answer of each kind replaces it.
EDITABLE_AT = {
    "name": {Step.EDIT_NAME, Step.PREVIEW},
    "organisation": {Step.EDIT_ORGANISATION, Step.PREVIEW},
    "quote": {Step.QUOTE, Step.PREVIEW},
    "paste": {Step.QUOTE, Step.PREVIEW},
}


async def received_edit(update: Update, context: Context) -> None:
    """An attendee edited a message: it replaces the answer it gave, if that is their latest
    answer to the question now open (or the matching field at the preview, which is then
    shown again); anything else gets a short explanation and changes nothing."""
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
        sent_before = await svc.repo.list_for_user(tg_user.id)
        await reply(
            update, texts(lang, "intake.edit_after_send" if sent_before else "intake.no_draft")
        )
        return
    stored = draft.answer_messages.get(str(message.message_id))
    if stored is not None and Answered.parse(stored).kind == "refused":
        # Refused as too long, nothing of it kept: shortened, it is taken at the quote step.
        if draft.step in (Step.QUOTE, Step.EDIT_QUOTE):
            await take_answer(update, svc, lang, draft, message.text, message)
        else:
            await reply(update, texts(lang, "intake.edit_too_late"))
        return
    if stored is None:
        prompted = draft.prompt_message_id
        if prompted is not None and message.message_id > prompted and draft.step in TEXT_STEPS:
            # Sent after the open question and not taken (a name too long, say): the
            # step has not moved since, so the corrected message answers it.
            await take_answer(update, svc, lang, draft, message.text, message)
        else:
            await reply(update, texts(lang, "intake.edit_not_an_answer"))
        return
    answered = Answered.parse(stored)
    kind = answered.kind
    if draft.step not in EDITABLE_AT.get(kind, set()):
        await reply(update, texts(lang, "intake.edit_too_late"))
        return
    saved: Testimonial | None
    if kind in ("name", "organisation"):
        try:
            if kind == "name":
                name = fields.name(message.text)
                saved = await svc.repo.update_draft(draft, name=name, step=Step.PREVIEW)
                done_key = "intake.name_updated"
            else:
                organisation = fields.organisation(message.text)
                if not organisation:
                    await reply(update, texts(lang, "intake.organisation_empty"))
                    return
                saved = await svc.repo.update_draft(
                    draft, organisation=organisation, step=Step.PREVIEW
                )
                done_key = "intake.organisation_updated"
        except fields.FieldError as exc:
            await reply(update, refusal(svc, lang, exc))
            return
    else:
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
        new = fields.quote_part(message.text)
        if index >= len(parts) or not new:
            await reply(update, texts(lang, "intake.quote_empty_message"))
            return
        parts[index] = new
        quote = join_quote(parts)
        problem = quote_too_long(svc, lang, quote)
        if problem:
            await reply(update, problem)
            return
        saved = await svc.repo.update_draft(draft, quote_parts=parts)
        done_key = "intake.quote_updated"
    if saved is None:
        return
    ANSWER_SAVED.set(True)
    length = perceived_length(saved.quote)
    said = texts(lang, done_key, length=length, count=length)
    if saved.step is Step.PREVIEW:
        # The preview on screen is stale: show the new one, with live buttons.
        await ask(update, svc, lang, saved, said)
        return
    done = InlineKeyboardMarkup([[button(texts(lang, "intake.done"), f"in:done:{saved.id}")]])
    await prompt(update, svc, saved, said, done)
