"""The buttons of the attendee conversation (``in:<action>:<draft id>``): one live prompt
per draft, each button acting only at its steps; the press is answered on the message that
carries the buttons, with the next question when it fits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram import User as TgUser
from telegram.error import BadRequest

from bot.services.answers import quote_too_long
from bot.services.container import Context, Services
from bot.services.messages import answer_query, drop_buttons, edit_text, profile_name, reply
from bot.services.people import load_person
from bot.services.portraits import PORTRAIT_STEPS, after_portrait
from bot.services.questions import (
    ANSWER_SAVED,
    ask,
    compose_question,
    confirm_cancel,
    delete_lead,
    keyboard,
    offer_resume,
    open_draft,
    opened_by,
    prompt,
    send_question,
    signature_choices,
    thanks,
    usable_profile_name,
)
from bot.services.render import DEFAULT_LIMIT
from bot.services.signature import byline
from bot.services.telegram_errors import Refusal, classify
from storage.models import Signature, Status, Step, SubmitResult, Testimonial, join_quote
from storage.textlength import telegram_length

log = logging.getLogger(__name__)

INTAKE_PATTERN = (
    r"^in:(profile|skip|done|agree|decline|send|edit_name|edit_org|edit_quote|add|addyes"
    r"|addno|cancel|cancel_yes|cancel_no|continue|restart|session\.\d{1,4}|nosession|signature"
    r"|sign\.(?:full|initial|anonymous|anonymous_org)|another(?:\.\d{1,4})?"
    r"|portrait|noportrait|keepportrait|replace|keepfirst):(\d{1,18})$"
)


async def pressed(update: Update, context: Context) -> None:
    """Handle the buttons of the conversation (``in:<action>:<draft id>``)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    svc, lang, draft, _ = await load_person(update, context)
    match = context.match  # INTAKE_PATTERN's, matched by PTB
    assert match is not None
    action, draft_id = match.group(1), int(match.group(2))
    pressed_on = query.message.message_id if query.message is not None else None
    if opened_by(draft, update):
        # This press opened the open draft (Start again, Write another one) and comes again
        # after a crash that kept its answer from Telegram: answer as the first time.
        assert draft is not None
        await answer_query(query)
        await _opened(update, svc, lang, draft, action)
        return
    if action.startswith("another"):
        # Offered at /start while a testimonial waits for review: there is no draft yet.
        await _another(update, svc, lang, draft, action, pressed_on)
        return
    if draft is None or draft.id != draft_id:
        testimonial = await svc.repo.get(draft_id)
        if action == "send" and _sent_unconfirmed(update, testimonial):
            # Sent, but the bot stopped before Telegram confirmed the thanks: this press (the
            # same one handled again, or the attendee trying again) answers as the first time.
            assert testimonial is not None
            await answer_query(query)
            await confirm_sent(update, svc, lang, testimonial)
            return
        told = None
        if testimonial is not None and _theirs(update, testimonial):
            told = svc.desk.told_author(testimonial, lang)
        if testimonial is not None and told is not None:
            # An old preview's button, pressed once the organisers decided (or it was
            # withdrawn): what the author was told then, again, on the pressed message.
            await answer_query(query)
            await _tell_outcome(update, svc, lang, testimonial, told)
            return
        await answer_query(query, _not_the_draft(svc, lang, update, draft, testimonial, pressed_on))
        return
    if draft.prompt_message_id is not None and pressed_on != draft.prompt_message_id:
        # One live prompt: a superseded one (an older /start offer, an old preview, the
        # second tap of a double tap) changes nothing; a destructive choice asks again.
        await answer_query(query, svc.texts(lang, "intake.out_of_date"))
        if action == "restart":
            await offer_resume(update, svc, lang, draft)
        elif action == "cancel_yes":
            await confirm_cancel(update, svc, lang, draft)
        return
    button = BUTTONS[action.split(".")[0]]
    if button.steps is not None and draft.step not in button.steps:
        # A button of a step the draft has left, pressed on the live message: the second
        # tap of a double tap (the first put the next question on this very message), or a
        # press replayed after a crash that saved the step but never showed what follows.
        if draft.question_delivered:
            await answer_query(query, svc.texts(lang, "intake.out_of_date"))
            return
        await answer_query(query)
        await drop_buttons(query)
        await ask(update, svc, lang, draft)
        return
    await answer_query(query)
    tg_user = update.effective_user
    assert tg_user is not None
    label = _label(query)
    said = svc.texts(lang, "intake.chosen", choice=label) if label else None
    await button.act(Press(update, query, svc, lang, draft, tg_user, action, said))


def _theirs(update: Update, testimonial: Testimonial | None) -> bool:
    """Whether ``testimonial`` exists and is the sender's."""
    tg_user = update.effective_user
    return testimonial is not None and tg_user is not None and testimonial.user_id == tg_user.id


def _sent_unconfirmed(update: Update, testimonial: Testimonial | None) -> bool:
    """Whether ``testimonial`` is the sender's, sent for review, and its "Sent, thank you"
    never confirmed by Telegram."""
    return (
        _theirs(update, testimonial)
        and testimonial is not None
        and testimonial.status is Status.PENDING
        and not testimonial.submission_confirmed
    )


async def _tell_outcome(
    update: Update,
    svc: Services,
    lang: str,
    testimonial: Testimonial,
    told: tuple[str, dict[str, str]],
) -> None:
    """Say again what the author was told of ``testimonial``'s outcome (``told``, from
    ``CardDesk.told_author``), in place of the pressed buttons: none of them acts any more."""
    assert testimonial.user_id is not None
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message) and message.reply_markup is None:
        return  # the second tap of a double tap: the first one said it there already
    numbers = await svc.repo.own_numbers(testimonial.user_id)
    key, params = told
    text = svc.texts(lang, key, number=numbers.get(testimonial.id, testimonial.id), **params)
    await answer_in_place(update, svc, lang, None, tail=text)


def _not_the_draft(
    svc: Services,
    lang: str,
    update: Update,
    draft: Testimonial | None,
    pressed: Testimonial | None,
    pressed_on: int | None,
) -> str:
    """Say why a button of another testimonial (``pressed``: None if erased) than the open
    draft does nothing: most often the second tap of a double tap on the newest message,
    whose first tap sent the draft (Send), erased it (Yes, discard it) or started a new one
    (Start again). (One the organisers decided, or withdrawn, is answered with its outcome
    before this.)"""
    if pressed is not None and _theirs(update, pressed):
        if pressed.status is Status.PENDING:
            return svc.texts(lang, "intake.already_sent")
        if pressed.status is not Status.DRAFT:  # approved: on its way to the channel
            status = svc.texts(lang, f"status.{pressed.status.value}")
            return svc.texts(lang, "intake.already_sent_status", status=status)
    elif pressed is None:
        if draft is not None and pressed_on == draft.prompt_message_id:
            # Start again: the first tap put the new draft's question on this very message.
            return svc.texts(lang, "intake.already_done")
        return svc.texts(lang, "intake.already_erased")
    return svc.texts(lang, "intake.stale_button")


def _label(query: CallbackQuery) -> str | None:
    """The text of the button that was pressed, as the message showed it."""
    message = query.message if isinstance(query.message, Message) else None
    markup = message.reply_markup if message is not None else None
    for row in markup.inline_keyboard if markup is not None else ():
        for key in row:
            if key.callback_data == query.data:
                return key.text
    return None


@dataclass(frozen=True, slots=True)
class Press:
    """A press on a live button of the conversation, with what every action works with."""

    update: Update
    query: CallbackQuery
    svc: Services
    lang: str
    draft: Testimonial
    tg_user: TgUser
    action: str  # as in the callback data: "skip", "session.2"...
    said: str | None  # the choice, as the pressed message will show it (the button's label)


#: Steps whose message is folded when a button of it is pressed: the preview (and the
#: corrections it opens) would otherwise pile up in one bubble, out of date (issue 21).
FOLD_AT = frozenset(
    {Step.PREVIEW, Step.EDIT_NAME, Step.EDIT_ORGANISATION, Step.EDIT_QUOTE, Step.SIGNATURE}
)


async def _moved(press: Press, saved: Testimonial | None, said: str | None = None) -> None:
    """The draft moved on (``saved``; None: a replay found it moved already): answer the
    press in place with the choice (``said``, by default the button's label) and the next
    question."""
    if saved is not None:
        ANSWER_SAVED.set(True)
        await answer_in_place(
            press.update,
            press.svc,
            press.lang,
            said or press.said,
            then=saved,
            fold=press.draft.step in FOLD_AT,
        )
        if press.draft.step in FOLD_AT:
            await delete_lead(press.update.get_bot(), press.tg_user.id, press.draft)


async def _ask_again(press: Press) -> None:
    """The button no longer fits the draft (the sessions file changed, the profile name
    became unusable): drop it and ask the open question again."""
    await drop_buttons(press.query)
    await ask(press.update, press.svc, press.lang, press.draft)


async def _session(press: Press) -> None:
    svc, lang = press.svc, press.lang
    index = int(press.action.removeprefix("session."))
    if index >= len(svc.sessions):
        await _ask_again(press)
        return
    session = svc.sessions.items[index]
    saved = await svc.repo.update_draft(press.draft, start_payload=session.payload, step=Step.NAME)
    await _moved(press, saved, svc.texts(lang, "intake.chosen", choice=session.title(lang)))


async def _no_session(press: Press) -> None:
    await _moved(press, await press.svc.repo.update_draft(press.draft, step=Step.NAME))


async def _profile(press: Press) -> None:
    name = usable_profile_name(press.tg_user)
    if name is None:
        await _ask_again(press)
        return
    texts, lang = press.svc.texts, press.lang
    if press.draft.step is Step.NAME:
        next_step, said = Step.ORGANISATION, texts(lang, "intake.chosen", choice=name)
    else:  # a correction: the folded message says which field it was
        next_step, said = Step.PREVIEW, texts(lang, "intake.chosen_name", name=name)
    saved = await press.svc.repo.update_draft(press.draft, name=name, step=next_step)
    await _moved(press, saved, said)


async def _skip(press: Press) -> None:
    first = press.draft.step is Step.ORGANISATION
    next_step = Step.QUOTE if first else Step.PREVIEW
    said = None if first else press.svc.texts(press.lang, "intake.chosen_no_organisation")
    saved = await press.svc.repo.update_draft(press.draft, organisation="", step=next_step)
    await _moved(press, saved, said)


async def _done(press: Press) -> None:
    if not press.draft.quote:
        await reply(press.update, press.svc.texts(press.lang, "intake.quote_needed"))
        return
    # The words first, then the photo they may go with; once past consent (the words
    # edited from the preview), straight back to the preview.
    next_step = Step.PREVIEW if press.draft.consent_at else Step.PORTRAIT
    await _moved(press, await press.svc.repo.update_draft(press.draft, step=next_step))


async def _agree(press: Press) -> None:
    texts, lang = press.svc.texts, press.lang
    consent = texts.raw(lang, "intake.ask_consent")
    saved = await press.svc.repo.update_draft(press.draft, consent_text=consent, step=Step.PREVIEW)
    await _moved(press, saved, texts(lang, "intake.agreed"))


async def _decline(press: Press) -> None:
    # The step stays: the question comes again in a new message, so that a second "No" is
    # not piled onto this one.
    update, svc, lang, draft = press.update, press.svc, press.lang, press.draft
    await answer_in_place(update, svc, lang, svc.texts(lang, "intake.declined"))
    markup = keyboard(svc, lang, draft, press.tg_user)
    await prompt(update, svc, draft, svc.texts(lang, "intake.consent_refused"), markup)


#: The step each edit button of the preview opens.
EDIT_STEP = {
    "edit_name": Step.EDIT_NAME,
    "edit_org": Step.EDIT_ORGANISATION,
    "edit_quote": Step.EDIT_QUOTE,
    "portrait": Step.PORTRAIT,
}


async def _no_portrait(press: Press) -> None:
    # Skip, or take the photo off (its file goes once the row no longer names it).
    draft = press.draft
    saved = await press.svc.repo.update_draft(draft, portrait=None, step=after_portrait(draft))
    await _moved(press, saved)


async def _keep_portrait(press: Press) -> None:
    draft = press.draft
    await _moved(press, await press.svc.repo.update_draft(draft, step=after_portrait(draft)))


async def _answer_offer(press: Press) -> None:
    """Replace the photo with the second one, or keep the first; the open question again."""
    svc, lang, draft = press.svc, press.lang, press.draft
    if draft.portrait_offer is None:
        await _ask_again(press)
        return
    if press.action == "replace":
        saved = await svc.repo.update_draft(
            draft, portrait=draft.portrait_offer, portrait_offer=None
        )
        said = svc.texts(lang, "intake.portrait_replaced")
    else:
        saved = await svc.repo.update_draft(draft, portrait_offer=None)
        said = svc.texts(lang, "intake.portrait_kept_first")
    await _moved(press, saved, said)


async def _edit_field(press: Press) -> None:
    step = EDIT_STEP[press.action]
    await _moved(press, await press.svc.repo.update_draft(press.draft, step=step))


async def _add_paragraph(press: Press) -> None:
    # Back to the testimonial step, whose question says what is kept: what is sent now
    # joins the end (Done, with consent given, comes back to the preview).
    await _moved(press, await press.svc.repo.update_draft(press.draft, step=Step.QUOTE))


async def _add_typed(press: Press) -> None:
    """Add the text typed at the preview (``pending_addition``) as a new paragraph."""
    svc, lang, draft = press.svc, press.lang, press.draft
    pending = draft.pending_addition
    if not pending:  # a replay after the addition was made: show the preview
        await answer_in_place(press.update, svc, lang, press.said, then=draft, fold=True)
        return
    parts = [*draft.quote_parts, pending]
    problem = quote_too_long(svc, lang, join_quote(parts))
    if problem:
        saved = await svc.repo.update_draft(draft, pending_addition=None)
        await _moved(press, saved, f"{svc.texts(lang, 'intake.not_added')} {problem}")
        return
    saved = await svc.repo.update_draft(draft, quote_parts=parts, pending_addition=None)
    await _moved(press, saved, svc.texts(lang, "intake.added"))


async def _drop_typed(press: Press) -> None:
    saved = await press.svc.repo.update_draft(press.draft, pending_addition=None)
    await _moved(press, saved, press.svc.texts(press.lang, "intake.not_added"))


async def _signature(press: Press) -> None:
    await _moved(press, await press.svc.repo.update_draft(press.draft, step=Step.SIGNATURE))


#: The signatures that do not name the author.
ANONYMOUS = frozenset({Signature.ANONYMOUS, Signature.ANONYMOUS_ORG})


async def _sign(press: Press) -> None:
    """Sign as chosen, then the preview again, signed so."""
    svc, lang, draft = press.svc, press.lang, press.draft
    signature = Signature(press.action.removeprefix("sign."))
    if signature not in dict(signature_choices(svc, lang, draft)):
        await _ask_again(press)  # a choice the draft no longer offers (organisation gone)
        return
    saved = await svc.repo.update_draft(draft, signature=signature, step=Step.PREVIEW)
    if saved is not None:
        name, _ = byline(saved, svc.texts)
        said = svc.texts(lang, "intake.signed_as", signature=name)
        if saved.portrait is not None and signature in ANONYMOUS:
            # Their face would sign for them: say so, where they can still take it off.
            said += "\n" + svc.texts(lang, "intake.signed_with_photo")
        await _moved(press, saved, said)


async def _cancel(press: Press) -> None:
    fold = press.draft.step in FOLD_AT
    await answer_in_place(press.update, press.svc, press.lang, press.said, fold=fold)
    if fold:
        await delete_lead(press.update.get_bot(), press.tg_user.id, press.draft)
    await confirm_cancel(press.update, press.svc, press.lang, press.draft)


async def _cancel_yes(press: Press) -> None:
    await press.svc.repo.discard_draft(press.draft.id)
    ANSWER_SAVED.set(True)
    tail = press.svc.texts(press.lang, "intake.cancelled")
    await answer_in_place(press.update, press.svc, press.lang, press.said, tail=tail)


async def _keep_going(press: Press) -> None:
    # Buttons that act at any step: the question comes in a new message (on this one, a
    # second tap would find them live again and repeat it).
    update, svc, lang, draft = press.update, press.svc, press.lang, press.draft
    prefix = svc.texts(lang, "intake.kept") if press.action == "cancel_no" else ""
    if press.action == "continue" and draft.link_payload is not None:
        # A link opened since the draft began: the one scanned last wins.
        moved = await _follow_link(press)
        if moved is None:
            return  # the draft changed meanwhile (a replayed press)
        if moved.start_payload != draft.start_payload:
            title = svc.sessions.title(moved.start_payload, lang)
            prefix = svc.texts(lang, "intake.session_moved", session=title) if title else ""
        draft = moved
    await answer_in_place(update, svc, lang, press.said)
    await ask(update, svc, lang, draft, prefix)


async def _follow_link(press: Press) -> Testimonial | None:
    """Continue a draft on which a link was opened: it takes the link's session (and leaves
    the session question, if that was open); the link is used up."""
    draft, sessions = press.draft, press.svc.sessions
    payload = sessions.continued(draft.start_payload, draft.link_payload)
    if payload is None:
        return await press.svc.repo.update_draft(draft, link_payload=None)
    step = Step.NAME if draft.step is Step.SESSION and sessions.match(payload) else draft.step
    saved = await press.svc.repo.update_draft(
        draft, start_payload=payload, link_payload=None, step=step
    )
    if saved is not None:
        ANSWER_SAVED.set(True)
    return saved


async def _restart(press: Press) -> None:
    # A new draft: the old one's buttons all go stale. It has the link opened last, and
    # records this press, so that the press handled again after a crash answers as the
    # first time (``_opened``).
    draft = press.draft
    saved = await press.svc.repo.start_draft(
        press.tg_user.id,
        press.lang,
        draft.link_payload or draft.start_payload,
        update_id=press.update.update_id,
    )
    await _moved(press, saved)


@dataclass(frozen=True, slots=True)
class Button:
    """What a button of the conversation does, and the steps at which it acts (None: at
    any step, like cancel or continue)."""

    act: Callable[[Press], Awaitable[None]]
    steps: frozenset[Step] | None = None


async def _send(press: Press) -> None:
    """Submit the draft for review (or say why not: too many waiting, a field now wrong)."""
    svc, lang, draft, tg_user = press.svc, press.lang, press.draft, press.tg_user
    update = press.update
    result, testimonial = await svc.repo.submit(
        draft.id,
        max_pending=svc.settings.max_pending,
        author_name=profile_name(tg_user),
        author_username=tg_user.username,
    )
    texts = svc.texts
    if result is SubmitResult.SUBMITTED and testimonial is not None:
        log.info("submission received: testimonial #%d from user %d", testimonial.id, tg_user.id)
        await confirm_sent(update, svc, lang, testimonial)
        return
    await drop_buttons(press.query)
    if result is SubmitResult.TOO_MANY_PENDING:
        await prompt(
            update,
            svc,
            draft,
            texts(lang, "intake.too_many_pending", count=svc.settings.max_pending),
            keyboard(svc, lang, draft, tg_user),
            lang=lang,
        )
    elif testimonial is not None and testimonial.step is not None:
        await ask(update, svc, lang, testimonial)


async def confirm_sent(update: Update, svc: Services, lang: str, testimonial: Testimonial) -> None:
    """Tell the author their testimonial is sent, on the pressed message, and record that
    Telegram accepted it (until then, a restart tells them again)."""
    ANSWER_SAVED.set(True)
    try:
        # The group refuses the bot (removed from it): the card waits; ``thanks`` says so.
        await answer_in_place(
            update, svc, lang, svc.texts(lang, "intake.sent"), tail=thanks(svc, lang)
        )
    finally:
        # After the thanks (the attendee first), but even if it failed: the card must not
        # wait for the next start. (The card goes in the background, at the group's pace.)
        svc.desk.submitted(testimonial.id)
    await svc.repo.confirm_submission(testimonial.id)


async def _another(
    update: Update,
    svc: Services,
    lang: str,
    draft: Testimonial | None,
    action: str,
    pressed_on: int | None,
) -> None:
    """Write another one (offered at /start while one waits for review): open a new
    testimonial, with the session the link named, and greet."""
    query = update.callback_query
    assert query is not None
    if draft is not None:
        # The second tap of a double tap (its first opened the draft), or an older offer.
        done = pressed_on == draft.prompt_message_id
        key = "intake.already_done" if done else "intake.out_of_date"
        await answer_query(query, svc.texts(lang, key))
        return
    await answer_query(query)
    index = action.partition(".")[2]
    sessions = svc.sessions.items
    session = sessions[int(index)] if index and int(index) < len(sessions) else None
    payload = session.payload if session else None
    tg_user = update.effective_user
    if not index and pressed_on is not None and tg_user is not None:
        # A link that names no session (a poster's "poster-b") was kept with the offer.
        payload = await svc.repo.offered_link(tg_user.id, pressed_on)
    opened = await open_draft(update, svc, lang, payload)
    ANSWER_SAVED.set(True)
    await _opened(update, svc, lang, opened, action)


async def _opened(
    update: Update, svc: Services, lang: str, draft: Testimonial, action: str
) -> None:
    """Answer the press that opened ``draft`` (Start again, Write another one): the choice
    and the first question take the buttons' place, on the pressed message (so that a
    second tap there finds it done). Someone starting again or writing another one has
    been greeted before: no greeting."""
    query = update.callback_query
    assert query is not None
    label = _label(query)
    said = svc.texts(lang, "intake.chosen", choice=label) if label else None
    await answer_in_place(update, svc, lang, said, then=draft)


#: Every button of the conversation, by the action in its callback data ("session.2" is
#: "session"); INTAKE_PATTERN lets no other reach ``pressed``.
BUTTONS: dict[str, Button] = {
    "session": Button(_session, frozenset({Step.SESSION})),
    "nosession": Button(_no_session, frozenset({Step.SESSION})),
    "profile": Button(_profile, frozenset({Step.NAME, Step.EDIT_NAME})),
    "skip": Button(_skip, frozenset({Step.ORGANISATION, Step.EDIT_ORGANISATION})),
    "done": Button(_done, frozenset({Step.QUOTE, Step.EDIT_QUOTE})),
    "agree": Button(_agree, frozenset({Step.CONSENT})),
    "decline": Button(_decline, frozenset({Step.CONSENT})),
    "send": Button(_send, frozenset({Step.PREVIEW})),
    "edit_name": Button(_edit_field, frozenset({Step.PREVIEW})),
    "edit_org": Button(_edit_field, frozenset({Step.PREVIEW})),
    "edit_quote": Button(_edit_field, frozenset({Step.PREVIEW})),
    "add": Button(_add_paragraph, frozenset({Step.PREVIEW})),
    "addyes": Button(_add_typed, frozenset({Step.PREVIEW})),
    "addno": Button(_drop_typed, frozenset({Step.PREVIEW})),
    "signature": Button(_signature, frozenset({Step.PREVIEW})),
    "sign": Button(_sign, frozenset({Step.SIGNATURE})),
    "portrait": Button(_edit_field, frozenset({Step.PREVIEW})),
    "noportrait": Button(_no_portrait, frozenset({Step.PORTRAIT})),
    "keepportrait": Button(_keep_portrait, frozenset({Step.PORTRAIT})),
    "replace": Button(_answer_offer, PORTRAIT_STEPS),
    "keepfirst": Button(_answer_offer, PORTRAIT_STEPS),
    "cancel": Button(_cancel),
    "cancel_yes": Button(_cancel_yes),
    "cancel_no": Button(_keep_going),
    "continue": Button(_keep_going),
    "restart": Button(_restart),
    # "another" (Write another one) is handled before the table: there is no draft yet.
}


def _fits(*parts: str) -> bool:
    """Whether texts joined by blank lines fit in one message (HTML counted: an upper bound)."""
    return sum(telegram_length(part) + 2 for part in parts) <= DEFAULT_LIMIT


async def _edit(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Edit the pressed message; False if Telegram refused (the caller sends instead)."""
    try:
        await edit_text(message.get_bot(), message.chat.id, message.message_id, text, markup)
    except BadRequest as exc:
        if classify(exc) is Refusal.NOT_MODIFIED:
            return True
        log.info("could not answer a press in place: %s", exc.message)
        return False
    return True


async def answer_in_place(
    update: Update,
    svc: Services,
    lang: str,
    said: str | None,
    *,
    then: Testimonial | None = None,
    tail: str | None = None,
    fold: bool = False,
) -> None:
    """Answer a press on the message that carries the buttons: its text stays (``fold``:
    it goes, a preview or a correction that is now done), ``said`` (the choice) takes the
    buttons' place, and the question of ``then``'s open step with its buttons, or ``tail``,
    follows in the same edit when it fits in the message; else they come in new messages.
    The question counts as asked once Telegram accepted it."""
    query = update.callback_query
    tg_user = update.effective_user
    chat = update.effective_chat
    assert query is not None and tg_user is not None and chat is not None
    question = compose_question(svc, lang, then, tg_user) if then is not None else None
    message = query.message if isinstance(query.message, Message) else None
    placed = False
    if message is not None and message.text:
        kept, kept_plain = ("", "") if fold else (message.text_html, message.text)
        shown = "\n\n".join(part for part in (kept, said or "") if part)
        # A question that comes with messages before it (a long preview, a photo) is sent.
        alone = question is not None and not question.lead and question.photo is None
        follow = tail if question is None else question.text if alone else None
        if follow is not None and _fits(kept_plain, said or "", follow):
            markup = question.markup if question is not None else None
            if await _edit(message, f"{shown}\n\n{follow}" if shown else follow, markup):
                if then is not None and question is not None:
                    await svc.repo.mark_asked(then, message.message_id, kind=question.kind)
                return
        placed = bool(shown) and await _edit(message, shown, None)
    if not placed:
        await drop_buttons(query)
    if then is not None and question is not None:
        await send_question(
            update.get_bot(),
            chat.id,
            tg_user,
            svc,
            lang,
            then,
            composed=question,
            handled=message.message_id if message is not None else None,
        )
    elif tail is not None:
        await reply(update, tail)
