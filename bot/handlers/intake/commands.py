"""The attendee's commands: /start, /cancel, /help, and any command the bot does not have."""

from __future__ import annotations

from dataclasses import replace

from markupsafe import Markup
from telegram import Update
from telegram.constants import MessageLimit

from bot.services.container import Context
from bot.services.messages import reply
from bot.services.people import load_person
from bot.services.questions import (
    ask,
    confirm_cancel,
    greet,
    offer_another,
    offer_resume,
    open_draft,
    opened_by,
    say_no_draft,
    waiting_for_review,
)


async def start(update: Update, context: Context) -> None:
    """Greet and ask the first question, or offer to continue an open draft, or (one of
    theirs waits for review) say so and offer to write another one."""
    svc, lang, draft, user = await load_person(update, context)
    tg_user = update.effective_user
    assert tg_user is not None
    if user is None:
        await svc.repo.upsert_user(
            tg_user.id, tg_user.first_name, tg_user.last_name, tg_user.username
        )
    payload = context.args[0][: MessageLimit.DEEP_LINK_LENGTH] if context.args else None
    if draft is not None:
        if opened_by(draft, update):
            # This very /start opened the draft, and comes again after a crash that kept
            # its answer from Telegram: answer as the first time (the greeting, once).
            await greet(update, svc, lang, draft)
            return
        if payload is not None and payload != draft.link_payload:
            # A link opened on an open draft (another session's poster, say): kept until
            # the attendee continues (the draft moves to it) or starts again (it has it).
            await svc.repo.offer_link(draft, payload)
            draft = replace(draft, link_payload=payload)
        await offer_resume(update, svc, lang, draft)
        return
    waiting = await waiting_for_review(svc, tg_user.id) if user is not None else []
    if waiting:
        await offer_another(update, svc, lang, waiting, payload)
        return
    await greet(update, svc, lang, await open_draft(update, svc, lang, payload))


async def cancel(update: Update, context: Context) -> None:
    """Ask to confirm discarding the open draft."""
    svc, lang, draft, _ = await load_person(update, context)
    if draft is None:
        # What they may mean is the one they sent: say where it is (/mine withdraws it).
        await say_no_draft(update, svc, lang, otherwise="intake.nothing_to_cancel")
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
