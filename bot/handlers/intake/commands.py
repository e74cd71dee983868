"""The attendee's commands: /start, /cancel, /help, and any command the bot does not have."""

from __future__ import annotations

from markupsafe import Markup
from telegram import Update
from telegram.constants import MessageLimit

from bot.services.container import Context
from bot.services.messages import reply
from bot.services.people import load_person
from bot.services.questions import ask, confirm_cancel, offer_resume
from storage.models import Step


async def start(update: Update, context: Context) -> None:
    """Greet and ask the first question, or offer to continue an open draft."""
    svc, lang, draft, user = await load_person(update, context)
    tg_user = update.effective_user
    assert tg_user is not None
    if user is None:
        await svc.repo.upsert_user(
            tg_user.id, tg_user.first_name, tg_user.last_name, tg_user.username
        )
    if draft is not None:
        await offer_resume(update, svc, lang, draft)
        return
    payload = context.args[0][: MessageLimit.DEEP_LINK_LENGTH] if context.args else None
    draft = await svc.repo.start_draft(tg_user.id, lang, payload)
    if svc.sessions and payload is None:
        # Came without a link naming a session: offer them, once, skippable. (A payload we do
        # not know is kept as it is, so it is not replaced by a choice.)
        draft = await svc.repo.update_draft(draft, step=Step.SESSION) or draft
    event = svc.settings.event_name
    hello = (
        svc.texts(lang, "intake.greeting_event", event=event)
        if event
        else svc.texts(lang, "intake.greeting")
    )
    await ask(update, svc, lang, draft, f"{hello}\n{svc.texts(lang, 'intake.how_it_works')}")


async def cancel(update: Update, context: Context) -> None:
    """Ask to confirm discarding the open draft."""
    svc, lang, draft, _ = await load_person(update, context)
    if draft is None:
        await reply(update, svc.texts(lang, "intake.nothing_to_cancel"))
        return
    await confirm_cancel(update, svc, lang, draft)


async def help_command(update: Update, context: Context) -> None:
    """List the commands."""
    svc, lang, _, _ = await load_person(update, context)
    event = svc.settings.event_name
    part = Markup(svc.texts(lang, "help.event_part", event=event)) if event else ""
    text = svc.texts(lang, "help.text", event_part=part)
    if await svc.desk.is_organiser(update.effective_user):
        text += "\n\n" + svc.texts(lang, "help.organisers")
    await reply(update, text)


async def unknown_command(update: Update, context: Context) -> None:
    """Answer a command we do not have, then re-ask the open question."""
    svc, lang, draft, _ = await load_person(update, context)
    prefix = svc.texts(lang, "common.unknown_command")
    if draft is not None and draft.step is not None:
        await ask(update, svc, lang, draft, prefix)
    else:
        await reply(update, prefix)
