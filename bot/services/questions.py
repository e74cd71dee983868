"""Asking an attendee: the open step's question with its buttons, the offers that stand
in for one (continue or restart, confirm cancelling), and asking again after a restart.

Every handler of the conversation, the account's /language, /review's refusal and the error
handler ask through here; a question counts as asked once Telegram has accepted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from markupsafe import Markup, escape
from telegram import Bot, InlineKeyboardMarkup, Update
from telegram import User as TgUser
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.services.container import Services
from bot.services.inbox import InboxUpdateProcessor
from bot.services.messages import (
    button,
    edit_buttons,
    edit_text,
    profile_name,
    reply,
    reply_text,
    send_text,
)
from bot.services.render import DEFAULT_LIMIT, render_post_parts
from bot.services.signature import anonymous_name, byline
from storage import fields
from storage.fields import initial_form
from storage.models import Signature, Status, Step, Testimonial, User, utcnow
from storage.textlength import perceived_length, shorten, shorten_start, telegram_length

log = logging.getLogger(__name__)

PREVIEW_MARKER = "({i}/{n})"
# Perceived characters of the profile name on its button: with "Use “…”" around it, the
# label still fits across a phone; a longer name is cut at a word, with an ellipsis.
PROFILE_BUTTON_WIDTH = 28

TEXT_STEPS = {Step.NAME, Step.ORGANISATION, Step.QUOTE, Step.EDIT_NAME}
TEXT_STEPS |= {Step.EDIT_ORGANISATION, Step.EDIT_QUOTE}
# Which question each step asks, for re-asking after a wrong kind of answer.
QUESTION = {
    Step.SESSION: "intake.ask_session",
    Step.NAME: "intake.ask_name",
    Step.EDIT_NAME: "intake.ask_name",
    Step.ORGANISATION: "intake.ask_organisation",
    Step.EDIT_ORGANISATION: "intake.ask_organisation_edit",  # its button is "No organisation"
    Step.QUOTE: "intake.ask_quote",
    Step.EDIT_QUOTE: "intake.edit_quote_prompt",
    Step.PORTRAIT: "intake.ask_portrait",
    Step.CONSENT: "intake.ask_consent",
    Step.PREVIEW: "intake.preview_actions",
    Step.SIGNATURE: "intake.ask_signature",
}
# Perceived characters of a signature on its button (a name can be 100).
SIGNATURE_BUTTON_WIDTH = 40


#: What a live prompt shows (the draft's ``prompt_kind``), for when a newer one supersedes it:
#: RETIRE: buttons that would stay on screen looking live (Done, a correction's, the
#: preview's confirmations) are removed; PREVIEW: the preview is folded to one line, so that
#: no bubble shows an out-of-date testimonial (a preview too long for one message is stored
#: as ``preview:<id>,<id>``: the messages before the one with the buttons, deleted then).
#: None: left as it is (the first questions' buttons answer "out of date" if pressed later:
#: no call spent on them).
RETIRE = "retire"
PREVIEW = "preview"
RETIRED_AT = frozenset({Step.QUOTE, Step.PREVIEW, Step.EDIT_NAME})
RETIRED_AT |= {Step.EDIT_ORGANISATION, Step.EDIT_QUOTE, Step.SIGNATURE, Step.PORTRAIT}

#: What a question asked again at the testimonial step quotes of what is kept: the whole
#: quote up to WHOLE_UP_TO perceived characters, else its start and end, EXCERPT each.
WHOLE_UP_TO = 100
EXCERPT = 40


def prompt_kind(step: Step | None, markup: InlineKeyboardMarkup | None) -> str | None:
    """Return what a prompt with ``markup`` sent at ``step`` shows (``RETIRE``, None)."""
    return RETIRE if markup is not None and step in RETIRED_AT else None


async def retire(
    bot: Bot, chat_id: int, svc: Services, lang: str, draft: Testimonial, handled: int | None
) -> None:
    """A newer prompt supersedes the draft's live one: remove its buttons, fold it if it is a
    preview (``handled``: a message already answered in this update, left alone)."""
    message_id, stored = draft.prompt_message_id, draft.prompt_kind
    if message_id is None or message_id == handled or stored is None:
        return
    kind = stored.partition(":")[0]
    try:
        if kind == PREVIEW:
            await edit_text(
                bot, chat_id, message_id, svc.texts(lang, "intake.preview_replaced"), None
            )
        else:
            await edit_buttons(bot, chat_id, message_id, None)
    except BadRequest as exc:  # deleted by the attendee, or already without buttons
        log.info("could not retire an earlier prompt: %s", exc.message)
    await delete_lead(bot, chat_id, draft)


async def delete_lead(bot: Bot, chat_id: int, draft: Testimonial) -> None:
    """Delete the messages before the live prompt of a preview too long for one message
    (its parts, out of date once the prompt is retired or folded)."""
    _, _, lead = (draft.prompt_kind or "").partition(":")
    for part in filter(None, lead.split(",")):
        try:
            await bot.delete_message(chat_id, int(part))
        except BadRequest as exc:  # deleted already, or too old to delete
            log.info("could not delete an earlier preview: %s", exc.message)


def pressed_message(update: Update) -> int | None:
    """Return the message whose button this update pressed (answered in place), if any."""
    query = update.callback_query
    message = query.message if query is not None else None
    return message.message_id if message is not None else None


def quote_ends(quote: str) -> tuple[int, str, str | None]:
    """Return how a quote is shown when it is quoted back: its perceived length, then the
    whole of it on one line (and None) up to ``WHOLE_UP_TO`` characters, else its start and
    its end (``EXCERPT`` characters each, cut at a word, with an ellipsis)."""
    length = perceived_length(quote)
    if length <= WHOLE_UP_TO:
        return length, shorten(quote, WHOLE_UP_TO), None
    return length, shorten(quote, EXCERPT), shorten_start(quote, EXCERPT)


def quote_kept(svc: Services, lang: str, quote: str) -> str:
    """Say what the testimonial step already holds (how long, how it starts and ends)."""
    length, start, end = quote_ends(quote)
    if end is None:
        return svc.texts(lang, "intake.kept_quote_whole", length=length, count=length, whole=start)
    return svc.texts(
        lang, "intake.kept_quote_ends", length=length, count=length, start=start, end=end
    )


def usable_profile_name(tg_user: TgUser) -> str | None:
    """Return the Telegram profile name if it passes the name rules, else None."""
    try:
        return fields.name(profile_name(tg_user))
    except fields.FieldError:
        return None


def keyboard(
    svc: Services, lang: str, draft: Testimonial, tg_user: TgUser
) -> InlineKeyboardMarkup | None:
    """Return the buttons that go with the question of the draft's step."""
    texts = svc.texts
    d = draft.id
    step = draft.step
    if step is Step.SESSION:
        rows = [
            [button(escape(s.title(lang)), f"in:session.{i}:{d}")]
            for i, s in enumerate(svc.sessions.items)
        ]
        return InlineKeyboardMarkup(
            [*rows, [button(texts(lang, "intake.skip"), f"in:nosession:{d}")]]
        )
    if step in (Step.NAME, Step.EDIT_NAME):
        name = usable_profile_name(tg_user)
        if name:
            label = texts(lang, "intake.use_profile_name", name=shorten(name, PROFILE_BUTTON_WIDTH))
            return InlineKeyboardMarkup([[button(label, f"in:profile:{d}")]])
    if step is Step.ORGANISATION:
        return InlineKeyboardMarkup([[button(texts(lang, "intake.skip"), f"in:skip:{d}")]])
    if step is Step.EDIT_ORGANISATION:
        label = texts(lang, "intake.clear_organisation")
        return InlineKeyboardMarkup([[button(label, f"in:skip:{d}")]])
    if step in (Step.QUOTE, Step.EDIT_QUOTE) and draft.quote:
        return InlineKeyboardMarkup([[button(texts(lang, "intake.done"), f"in:done:{d}")]])
    if step is Step.PORTRAIT:
        if draft.portrait:
            keep = button(texts(lang, "intake.portrait_keep"), f"in:keepportrait:{d}")
            return InlineKeyboardMarkup(
                [[keep, button(texts(lang, "intake.portrait_none"), f"in:noportrait:{d}")]]
            )
        return InlineKeyboardMarkup([[button(texts(lang, "intake.skip"), f"in:noportrait:{d}")]])
    if step is Step.CONSENT:
        return InlineKeyboardMarkup(
            [
                [
                    button(texts(lang, "intake.consent_yes"), f"in:agree:{d}"),
                    button(texts(lang, "intake.consent_no"), f"in:decline:{d}"),
                ]
            ]
        )
    if step is Step.SIGNATURE:
        return InlineKeyboardMarkup(
            [
                [button(label, f"in:sign.{signature.value}:{d}")]
                for signature, label in signature_choices(svc, lang, draft)
            ]
        )
    if step is Step.PREVIEW:
        return InlineKeyboardMarkup(
            [
                [button(texts(lang, "intake.send"), f"in:send:{d}")],
                [button(texts(lang, "intake.sign_differently"), f"in:signature:{d}")],
                [
                    button(texts(lang, "intake.edit_name"), f"in:edit_name:{d}"),
                    button(texts(lang, "intake.edit_organisation"), f"in:edit_org:{d}"),
                ],
                [
                    button(texts(lang, "intake.add_paragraph"), f"in:add:{d}"),
                    button(texts(lang, "intake.edit_quote"), f"in:edit_quote:{d}"),
                ],
                [
                    button(texts(lang, "intake.portrait_button"), f"in:portrait:{d}"),
                    button(texts(lang, "intake.cancel"), f"in:cancel:{d}"),
                ],
            ]
        )
    return None


def signature_choices(svc: Services, lang: str, draft: Testimonial) -> list[tuple[Signature, str]]:
    """Return the ways the draft can be signed, each with its button's label (HTML): the
    name as given, first name and initial (unless the same), "a participant" with the
    organisation (if there is one), without; the current one is ticked."""
    texts = svc.texts
    anonymous = anonymous_name(texts, draft.language)
    shown = {
        Signature.FULL: escape(shorten(draft.name, SIGNATURE_BUTTON_WIDTH)),
        Signature.INITIAL: escape(shorten(initial_form(draft.name), SIGNATURE_BUTTON_WIDTH)),
        Signature.ANONYMOUS_ORG: texts(lang, "intake.sign_anonymous_org", anonymous=anonymous),
        Signature.ANONYMOUS: texts(lang, "intake.sign_anonymous", anonymous=anonymous)
        if draft.organisation
        else escape(anonymous),
    }
    if initial_form(draft.name) == draft.name:
        del shown[Signature.INITIAL]  # "Florence": the same as the name
    if not draft.organisation:
        del shown[Signature.ANONYMOUS_ORG]
    return [
        (signature, texts(lang, "intake.sign_current", label=Markup(label)))
        if signature is draft.signature
        else (signature, label)
        for signature, label in shown.items()
    ]


async def ask(
    update: Update, svc: Services, lang: str, draft: Testimonial, prefix: str = ""
) -> None:
    """Send the question of the draft's open step (with ``prefix`` before it)."""
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
    bot = update.get_bot()
    await send_question(
        bot, chat.id, tg_user, svc, lang, draft, prefix, handled=pressed_message(update)
    )


@dataclass(frozen=True)
class Question:
    """The open step's question as messages: the draft's ``photo`` first (its file's name,
    with ``caption``: a preview, or the photo step when there is one), ``lead`` before the
    one carrying the buttons (only a preview too long for one message has any), then
    ``text`` with ``markup``, which shows ``kind`` (``prompt_kind``)."""

    lead: tuple[str, ...]
    text: str
    markup: InlineKeyboardMarkup | None
    kind: str | None = None
    photo: str | None = None
    caption: str | None = None


def compose_question(
    svc: Services, lang: str, draft: Testimonial, tg_user: TgUser, prefix: str = ""
) -> Question:
    """Return the open step's question (with ``prefix`` before it)."""
    assert draft.step is not None
    markup = keyboard(svc, lang, draft, tg_user)
    kind = prompt_kind(draft.step, markup)
    # The photo as it will be published, above the preview (and the photo step's choice).
    shown = draft.portrait if draft.step in (Step.PREVIEW, Step.PORTRAIT) else None
    caption = svc.texts(lang, "intake.portrait_shown") if shown else None
    if draft.step is not Step.PREVIEW:
        if draft.step is Step.QUOTE and draft.quote:
            # Asked again (a restart, Continue, /language...) or to add a paragraph: say what
            # is kept, so that nobody pastes it all again.
            question = quote_kept(svc, lang, draft.quote)
        elif draft.step is Step.PORTRAIT and draft.portrait:
            question = svc.texts(lang, "intake.ask_portrait_change")
        else:
            question = svc.texts(lang, QUESTION[draft.step])
        text = f"{prefix}\n\n{question}" if prefix else question
        return Question((), text, markup, kind, shown, caption)
    intro = svc.texts(lang, "intake.preview_intro")
    session = svc.sessions.title(draft.start_payload, lang)
    if session is not None:
        # Which session it goes to: a link scanned later may have moved it.
        intro = f"{svc.texts(lang, 'intake.preview_session', session=session)}\n{intro}"
    intro = f"{prefix}\n\n{intro}" if prefix else intro
    name, organisation = byline(draft, svc.texts)
    parts = render_post_parts(
        name,
        organisation,
        draft.quote,
        hashtag=svc.sessions.hashtags(svc.settings.event_hashtag, draft.start_payload),
        marker=PREVIEW_MARKER,
    )
    actions = svc.texts(lang, "intake.preview_actions")
    text = f"{intro}\n\n{parts[0]}\n\n{actions}"
    if len(parts) > 1 or telegram_length(text) > DEFAULT_LIMIT:
        # A long testimonial: the preview as the channel will show it, message by message.
        # Otherwise one message (the line, the preview, its buttons): 2 calls fewer.
        return Question((intro, *parts), actions, markup, PREVIEW, shown, caption)
    return Question((), text, markup, PREVIEW, shown, caption)


async def send_question(
    bot: Bot,
    chat_id: int,
    tg_user: TgUser,
    svc: Services,
    lang: str,
    draft: Testimonial,
    prefix: str = "",
    *,
    composed: Question | None = None,
    handled: int | None = None,
) -> None:
    """Send the open step's question to ``chat_id``; once Telegram has accepted it, retire
    the prompt it supersedes (``retire``) and record that this version of the draft was
    asked and which message holds the live buttons."""
    question = composed or compose_question(svc, lang, draft, tg_user, prefix)
    if question.photo is not None:
        image = await svc.repo.read_portrait(question.photo)
        if image is not None:
            await bot.send_photo(chat_id, image, caption=question.caption)
    lead = [await send_text(bot, chat_id, text) for text in question.lead]
    sent = await send_text(bot, chat_id, question.text, question.markup)
    await retire(bot, chat_id, svc, lang, draft, handled)
    kind = question.kind
    if kind is not None and lead:
        kind = f"{kind}:{','.join(map(str, lead))}"
    await svc.repo.mark_asked(draft, sent, kind=kind)


def opened_by(draft: Testimonial | None, update: Update) -> bool:
    """Whether ``update`` opened ``draft`` and is handled again (the process stopped before
    its answer was confirmed): it then answers as it did the first time. (The question it
    asked was never confirmed: that is why the update was not done either.)"""
    return (
        draft is not None
        and draft.created_by_update == update.update_id
        and not draft.question_delivered
    )


async def open_draft(update: Update, svc: Services, lang: str, payload: str | None) -> Testimonial:
    """Open a new testimonial for the sender, recording that this update opened it; one
    that came without a link naming a session is first offered the sessions (if any)."""
    tg_user = update.effective_user
    assert tg_user is not None
    # Offered once, skippable. (A payload we do not know is kept as it is, not replaced.)
    step = Step.SESSION if svc.sessions and payload is None else Step.NAME
    return await svc.repo.start_draft(
        tg_user.id, lang, payload, step=step, update_id=update.update_id
    )


async def greet(update: Update, svc: Services, lang: str, draft: Testimonial) -> None:
    """Greet the author of a new testimonial and ask its first question."""
    event = svc.settings.event_name
    hello = (
        svc.texts(lang, "intake.greeting_event", event=event)
        if event
        else svc.texts(lang, "intake.greeting")
    )
    await ask(update, svc, lang, draft, f"{hello}\n{svc.texts(lang, 'intake.how_it_works')}")


async def waiting_for_review(svc: Services, user_id: int) -> list[Testimonial]:
    """The person's testimonials waiting for the organisers' review, newest first."""
    return [t for t in await svc.repo.list_for_user(user_id) if t.status is Status.PENDING]


async def say_no_draft(
    update: Update, svc: Services, lang: str, otherwise: str = "intake.no_draft"
) -> None:
    """Answer someone with no testimonial open: if theirs waits for review, say so (and
    where to see it: /mine withdraws it); else the text ``otherwise`` (by default, an offer
    of a new one)."""
    tg_user = update.effective_user
    waiting = await waiting_for_review(svc, tg_user.id) if tg_user is not None else []
    if waiting:
        await reply(update, svc.texts(lang, "intake.waiting_review", count=len(waiting)))
    else:
        await reply(update, svc.texts(lang, otherwise))


async def offer_another(
    update: Update, svc: Services, lang: str, waiting: list[Testimonial], payload: str | None
) -> None:
    """/start while testimonials wait for review: say so, and offer to write another one
    (a button, so that nobody opens a second testimonial thinking they reopen the first).
    A session named by the link goes with the button (its index: callback data is short);
    any other link is kept with the offer's message in the database, for the button to open
    the new testimonial with it as a plain /start would have (``offered_link``)."""
    session = svc.sessions.match(payload)
    action = f"another.{svc.sessions.items.index(session)}" if session else "another"
    markup = InlineKeyboardMarkup(
        [[button(svc.texts(lang, "intake.write_another"), f"in:{action}:{waiting[0].id}")]]
    )
    text = svc.texts(lang, "intake.start_waiting_review", count=len(waiting))
    offer = await reply_text(update, text, markup)
    tg_user = update.effective_user
    if payload and session is None and offer is not None and tg_user is not None:
        await svc.repo.keep_offered_link(tg_user.id, offer, payload)


def thanks(svc: Services, lang: str) -> str:
    """What follows "Sent" once a testimonial is submitted: with the organisers, or (the
    group refuses the bot) saved and on its way to them, truthfully."""
    away = svc.desk.unreachable is not None
    return svc.texts(lang, "intake.submitted_group_away" if away else "intake.submitted")


def resume_offer(svc: Services, lang: str, draft: Testimonial) -> str:
    """Say that a testimonial is in progress, and where a session link opened meanwhile
    takes it (``link_payload``): to that session either way."""
    sessions = svc.sessions
    link = draft.link_payload
    title = sessions.title(link, lang)
    if title is None or sessions.continued(draft.start_payload, link) is None:
        return svc.texts(lang, "intake.resume")
    current = sessions.title(draft.start_payload, lang)
    if current is None:
        return svc.texts(lang, "intake.resume_link", session=title)
    return svc.texts(lang, "intake.resume_link_moves", session=title, current=current)


async def offer_resume(update: Update, svc: Services, lang: str, draft: Testimonial) -> None:
    """Offer to continue the open draft or start again (its buttons become the live ones)."""
    markup = InlineKeyboardMarkup(
        [
            [
                button(svc.texts(lang, "intake.continue"), f"in:continue:{draft.id}"),
                button(svc.texts(lang, "intake.restart"), f"in:restart:{draft.id}"),
            ]
        ]
    )
    resume = resume_offer(svc, lang, draft)
    await prompt(update, svc, draft, resume, markup, asked=False, lang=lang)


async def prompt(
    update: Update,
    svc: Services,
    draft: Testimonial,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    asked: bool = True,
    lang: str | None = None,
) -> None:
    """Send a message with the draft's live buttons; the prompt it supersedes is retired
    (``retire``, in ``lang``, by default the draft's), older ones' buttons go out of date.
    ``asked``: it also asks the open step's question (False: a confirmation, an offer)."""
    sent = await reply_text(update, text, markup)
    if sent is not None and markup is not None:
        chat = update.effective_chat
        assert chat is not None
        lang = lang or draft.language
        await retire(update.get_bot(), chat.id, svc, lang, draft, pressed_message(update))
        kind = RETIRE if draft.step in RETIRED_AT else None
        await svc.repo.mark_asked(draft, sent, asked=asked, kind=kind)


async def confirm_cancel(update: Update, svc: Services, lang: str, draft: Testimonial) -> None:
    """Ask whether to discard the open draft (its buttons become the live ones)."""
    texts = svc.texts
    markup = InlineKeyboardMarkup(
        [
            [
                button(texts(lang, "intake.cancel_yes"), f"in:cancel_yes:{draft.id}"),
                button(texts(lang, "intake.cancel_no"), f"in:cancel_no:{draft.id}"),
            ]
        ]
    )
    confirm = texts(lang, "intake.cancel_confirm")
    await prompt(update, svc, draft, confirm, markup, asked=False, lang=lang)


#: Set once the handler of the current update has committed its answer: if replying then
#: fails, the error handler says the answer is saved. (PTB runs a handler and the error
#: handler in the update's own task, so the variable is the update's.)
ANSWER_SAVED: ContextVar[bool] = ContextVar("answer_saved", default=False)


#: Drafts untouched for longer are not woken by a restart.
REASK_WITHIN = timedelta(hours=24)
#: How long re-asking waits for the replayed updates to be handled first.
REPLAY_WAIT = 60.0


async def reask_open_questions(bot: Bot, svc: Services, processor: InboxUpdateProcessor) -> int:
    """Once the replayed updates are handled, confirm each submission whose "Sent, thank
    you" Telegram never confirmed, then send again each open question Telegram never
    confirmed (in the last ``REASK_WITHIN``); return how many questions were sent."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(processor.replayed.wait(), REPLAY_WAIT)
    await confirm_submissions(bot, svc, processor)
    sent = 0
    for draft, user in await svc.repo.drafts_not_asked(utcnow() - REASK_WITHIN):
        if user.banned or user.blocked_bot:
            continue
        # In the person's turn: a message of theirs arriving now is handled before or after.
        async with processor.person(user.user_id):
            _, fresh = await svc.repo.get_user_and_draft(user.user_id)
            if fresh is None or fresh.id != draft.id or fresh.question_delivered:
                continue
            lang = user.language or fresh.language
            tg_user = TgUser(user.user_id, user.first_name, False, last_name=user.last_name)
            try:
                await send_question(
                    bot, user.user_id, tg_user, svc, lang, fresh, svc.texts(lang, "intake.reask")
                )
            except Forbidden:
                await svc.repo.set_blocked_bot(user.user_id, True)
                continue
            except TelegramError as exc:
                log.warning("could not ask user %d again: %s", user.user_id, exc)
                continue
            sent += 1
    log.info("asked %d open question(s) again after the restart", sent)
    return sent


async def confirm_submissions(bot: Bot, svc: Services, processor: InboxUpdateProcessor) -> int:
    """Tell each author whose Send was committed but whose "Sent, thank you" Telegram never
    confirmed (the process stopped in between, and no replay of the press told them) that
    it is sent; return how many were told."""
    told = 0
    for testimonial, user in await svc.repo.submissions_not_confirmed(utcnow() - REASK_WITHIN):
        if user.banned or user.blocked_bot:
            continue
        async with processor.person(user.user_id):
            fresh = await svc.repo.get(testimonial.id)
            if fresh is None or fresh.status is not Status.PENDING or fresh.submission_confirmed:
                continue
            if await _tell(bot, svc, user, _sent_again(svc, user.language or fresh.language)):
                await svc.repo.confirm_submission(fresh.id)
                told += 1
    log.info("confirmed %d submission(s) again after the restart", told)
    return told


def _sent_again(svc: Services, lang: str) -> str:
    texts = svc.texts
    return "\n\n".join((texts(lang, "intake.reask"), texts(lang, "intake.sent"), thanks(svc, lang)))


async def _tell(bot: Bot, svc: Services, user: User, text: str) -> bool:
    """Send ``text`` to a person out of any update; False if Telegram refused it."""
    try:
        await send_text(bot, user.user_id, text)
    except Forbidden:
        await svc.repo.set_blocked_bot(user.user_id, True)
        return False
    except TelegramError as exc:
        log.warning("could not tell user %d again: %s", user.user_id, exc)
        return False
    return True
