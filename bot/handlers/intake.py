"""The attendee conversation, in private chats: name, organisation, quote, consent, preview.

The draft row is the state: every handler reads the draft, writes the answer and the next
step in one committed statement, and only then replies. A restart between two messages
loses nothing; a replayed update finds the draft moved on and changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from markupsafe import Markup
from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import MessageLimit
from telegram.error import BadRequest

from bot.services.container import Context, Services
from bot.services.messages import (
    answer_query,
    button,
    drop_buttons,
    edit_text,
    profile_name,
    reply,
)
from bot.services.people import load_person
from bot.services.questions import (
    ANSWER_SAVED,
    QUESTION,
    TEXT_STEPS,
    ask,
    compose_question,
    confirm_cancel,
    keyboard,
    offer_resume,
    prompt,
    send_question,
    usable_profile_name,
)
from bot.services.render import DEFAULT_LIMIT
from bot.services.telegram_errors import Refusal, classify
from storage import fields
from storage.models import Step, SubmitResult, Testimonial, join_quote, utcnow
from storage.textlength import perceived_length, telegram_length

log = logging.getLogger(__name__)

# -- commands ------------------------------------------------------------------------------


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


# -- answers -------------------------------------------------------------------------------

#: A message repeating the last paragraph within this time is a retry, not a new paragraph.
REPEAT_WINDOW = timedelta(minutes=5)
#: Telegram cuts a paste over 4,096 UTF-16 units into several messages, at a space or a line
#: break near the limit, sent within a second or two: a message at least this long followed
#: by one within ``PASTE_WINDOW`` is taken for one paste.
PASTE_CUT = 3800
MESSAGE_MAX = MessageLimit.MAX_TEXT_LENGTH  # no part of a cut paste is longer
PASTE_WINDOW = timedelta(seconds=10)


async def received_text(update: Update, context: Context) -> None:
    """Take a text answer for the open step."""
    svc, lang, draft, _ = await load_person(update, context)
    message = update.effective_message
    assert message is not None and message.text is not None
    if draft is None or draft.step is None:
        await reply(update, svc.texts(lang, "intake.no_draft"))
        return
    if str(message.message_id) in draft.answer_messages:
        # Telegram delivers at least once: after a crash the same message can come again.
        log.info(
            "message %d of user %d already applied: ignored", message.message_id, draft.user_id
        )
        return
    await _answer(update, svc, lang, draft, message.text, message)


async def _saved_then_ask(
    update: Update, svc: Services, lang: str, saved: Testimonial | None
) -> None:
    if saved is None:
        return  # the draft moved on meanwhile (a replayed update): nothing to say
    ANSWER_SAVED.set(True)
    await ask(update, svc, lang, saved)


def _latest(answers: dict[str, str], role: str) -> dict[str, str]:
    """The answering messages without those of ``role`` (a new answer replaces them: only
    the latest answer to a question can be edited)."""
    return {k: v for k, v in answers.items() if v.split(":")[0] != role}


async def _answer(
    update: Update, svc: Services, lang: str, draft: Testimonial, text: str, message: Message
) -> None:
    t = svc.texts
    step = draft.step
    key = str(message.message_id)
    if step in (Step.NAME, Step.EDIT_NAME):
        try:
            name = fields.name(text)
        except fields.FieldError as exc:
            if exc.problem == "name_empty":
                # Blank, or only invisible characters: fields.name counts those as empty.
                await ask(update, svc, lang, draft, t(lang, "intake.name_empty"))
            else:
                await reply(update, _refusal(svc, lang, exc))
            return
        next_step = Step.ORGANISATION if step is Step.NAME else Step.PREVIEW
        answers = {**_latest(draft.answer_messages, "name"), key: "name"}
        saved = await svc.repo.update_draft(
            draft, name=name, step=next_step, answer_messages=answers
        )
    elif step in (Step.ORGANISATION, Step.EDIT_ORGANISATION):
        try:
            lines = fields.organisation_lines(text)
        except fields.FieldError as exc:
            await reply(update, _refusal(svc, lang, exc))
            return
        if not lines:
            await ask(update, svc, lang, draft, t(lang, "intake.organisation_empty"))
            return
        next_step = Step.QUOTE if step is Step.ORGANISATION else Step.PREVIEW
        answers = {**_latest(draft.answer_messages, "organisation"), key: "organisation"}
        saved = await svc.repo.update_draft(
            draft, organisation="\n".join(lines), step=next_step, answer_messages=answers
        )
    elif step in (Step.QUOTE, Step.EDIT_QUOTE):
        await _add_quote(update, svc, lang, draft, text, message)
        return
    else:
        # At consent or preview the live buttons are on screen: one line, not the preview.
        await reply(update, t(lang, "intake.use_buttons"))
        return
    await _saved_then_ask(update, svc, lang, saved)


def _last_part(draft: Testimonial) -> tuple[int, str] | None:
    """The latest message added to the quote: (its Telegram date, its role)."""
    quote_roles = [
        (int(k), v) for k, v in draft.answer_messages.items() if v.split(":")[0] in QUOTE_ROLES
    ]
    if not quote_roles:
        return None
    _, role = max(quote_roles)
    parts = role.split(":")
    return (int(parts[2]), role) if len(parts) >= 4 else None


def _joins_paste(draft: Testimonial, raw: str, date: int) -> str | None:
    """If ``raw`` continues a paste Telegram cut, the separator to join it with (a space, or
    a paragraph break when the cut fell between paragraphs); None otherwise."""
    last = _last_part(draft)
    if last is None or draft.step is not Step.QUOTE or not draft.quote_parts:
        return None
    last_date, role = last
    last_length = int(role.split(":")[3])
    if (
        not PASTE_CUT <= last_length <= MESSAGE_MAX
        or date - last_date > PASTE_WINDOW.total_seconds()
    ):
        return None
    # Telegram usually trims the parts; where a line break survived, the cut was there.
    return "\n\n" if role.endswith(":nl") or raw[:1] == "\n" else " "


def _refusal(svc: Services, lang: str, exc: fields.FieldError) -> str:
    """Say why a field was refused; explain Telegram's count only when it is not the reader's
    (emoji count as several characters, so "30 characters" could otherwise be "330")."""
    text = svc.texts(lang, f"intake.{exc.problem}", **exc.values)
    if exc.counts_differ:
        text += " " + svc.texts(lang, "intake.counted_by_telegram")
    return text


async def _add_quote(
    update: Update,
    svc: Services,
    lang: str,
    draft: Testimonial,
    text: str,
    message: Message,
    *,
    note: str = "intake.quote_received",
) -> None:
    """Append a message to the quote as a paragraph (EDIT_QUOTE: replace the quote first);
    the continuation of a cut paste joins the paragraph it continues."""
    t = svc.texts
    part = fields.quote_part(text)
    if not part:
        await reply(update, t(lang, "intake.quote_empty_message"))
        return
    tg_user = update.effective_user
    assert tg_user is not None
    key = str(message.message_id)
    date = int(message.date.timestamp())
    replacing = draft.step is Step.EDIT_QUOTE
    parts = list(draft.quote_parts)
    recent = utcnow() - draft.updated_at <= REPEAT_WINDOW
    if not replacing and parts and part == parts[-1] and recent:
        # The same paragraph again, soon after: a retry (say after a slow reply), not new.
        done = keyboard(svc, lang, draft, tg_user)
        text_ = t(lang, "intake.repeated_paragraph", length=perceived_length(draft.quote))
        await prompt(update, svc, draft, text_, done)
        return
    joiner = None if replacing else _joins_paste(draft, text, date)
    if replacing:
        parts = [part]
    elif joiner == "\n\n" or joiner is None:
        parts.append(part)
    else:
        parts[-1] = f"{parts[-1]}{joiner}{part}"
    quote = join_quote(parts)
    problem = _quote_too_long(svc, lang, quote)
    if problem:
        markup = keyboard(svc, lang, draft, tg_user) if draft.quote else None
        await prompt(update, svc, draft, problem, markup)
        return
    answers = draft.answer_messages
    if replacing:
        answers = {k: v for k, v in answers.items() if v.split(":")[0] not in QUOTE_ROLES}
    role = "paste" if joiner == " " else "quote"
    cut_between_paragraphs = ":nl" if text.endswith("\n") else ""
    answers = {
        **answers,
        key: f"{role}:{len(parts) - 1}:{date}:{telegram_length(text)}{cut_between_paragraphs}",
    }
    saved = await svc.repo.update_draft(
        draft, quote_parts=parts, step=Step.QUOTE, answer_messages=answers
    )
    if saved is None:
        return
    ANSWER_SAVED.set(True)
    done = InlineKeyboardMarkup([[button(t(lang, "intake.done"), f"in:done:{saved.id}")]])
    length = perceived_length(saved.quote)
    await prompt(update, svc, saved, t(lang, note, length=length), done)


def _quote_too_long(svc: Services, lang: str, quote: str) -> str | None:
    """Say how far over the limit a quote would be (in Telegram's count), or None if it fits."""
    limit = svc.settings.quote_max_chars
    try:
        fields.check_length("quote_too_long", quote, limit)
    except fields.FieldError as exc:
        total = exc.values["length"]
        text = svc.texts(
            lang, "intake.quote_too_long", total=total, over=total - limit, limit=limit
        )
        if exc.counts_differ:
            text += " " + svc.texts(lang, "intake.counted_by_telegram")
        return text
    return None


#: The steps at which an edit of the latest answer of each kind replaces it.
EDITABLE_AT = {
    "name": {Step.EDIT_NAME, Step.PREVIEW},
    "organisation": {Step.EDIT_ORGANISATION, Step.PREVIEW},
    "quote": {Step.QUOTE, Step.PREVIEW},
    "paste": {Step.QUOTE, Step.PREVIEW},
}
QUOTE_ROLES = ("quote", "paste")


async def received_edit(update: Update, context: Context) -> None:
    """An attendee edited a message: it replaces the answer it gave, if that is their latest
    answer to the question now open (or the matching field at the preview, which is then
    shown again); anything else gets a short explanation and changes nothing."""
    svc, lang, draft, _ = await load_person(update, context)
    message = update.edited_message
    tg_user = update.effective_user
    if message is None or message.text is None or tg_user is None:
        return
    t = svc.texts
    if message.text.startswith("/"):
        await reply(update, t(lang, "intake.edit_command"))
        return
    if draft is None or draft.step is None:
        sent_before = await svc.repo.list_for_user(tg_user.id)
        await reply(update, t(lang, "intake.edit_after_send" if sent_before else "intake.no_draft"))
        return
    role = draft.answer_messages.get(str(message.message_id))
    if role is None:
        prompted = draft.prompt_message_id
        if prompted is not None and message.message_id > prompted and draft.step in TEXT_STEPS:
            # Sent after the open question and not taken (a name too long, say): the
            # step has not moved since, so the corrected message answers it.
            await _answer(update, svc, lang, draft, message.text, message)
        else:
            await reply(update, t(lang, "intake.edit_not_an_answer"))
        return
    kind = role.split(":")[0]
    if draft.step not in EDITABLE_AT.get(kind, set()):
        await reply(update, t(lang, "intake.edit_too_late"))
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
                    await reply(update, t(lang, "intake.organisation_empty"))
                    return
                saved = await svc.repo.update_draft(
                    draft, organisation=organisation, step=Step.PREVIEW
                )
                done_key = "intake.organisation_updated"
        except fields.FieldError as exc:
            await reply(update, _refusal(svc, lang, exc))
            return
    else:
        index = int(role.split(":")[1])
        joined = any(
            v.split(":")[:2] == ["paste", str(index)] for v in draft.answer_messages.values()
        )
        if joined:
            await reply(update, t(lang, "intake.edit_joined"))
            return
        parts = list(draft.quote_parts)
        new = fields.quote_part(message.text)
        if index >= len(parts) or not new:
            await reply(update, t(lang, "intake.quote_empty_message"))
            return
        parts[index] = new
        quote = join_quote(parts)
        problem = _quote_too_long(svc, lang, quote)
        if problem:
            await reply(update, problem)
            return
        saved = await svc.repo.update_draft(draft, quote_parts=parts)
        done_key = "intake.quote_updated"
    if saved is None:
        return
    ANSWER_SAVED.set(True)
    said = t(lang, done_key, length=perceived_length(saved.quote))
    if saved.step is Step.PREVIEW:
        # The preview on screen is stale: show the new one, with live buttons.
        await ask(update, svc, lang, saved, said)
        return
    done = InlineKeyboardMarkup([[button(t(lang, "intake.done"), f"in:done:{saved.id}")]])
    await prompt(update, svc, saved, said, done)


async def received_other(update: Update, context: Context) -> None:
    """A sticker, photo, voice note, location...: say what is expected; change nothing."""
    svc, lang, draft, _ = await load_person(update, context)
    if draft is None or draft.step is None:
        await reply(update, svc.texts(lang, "intake.no_draft"))
        return
    message = update.effective_message
    caption = message.caption if message is not None else None
    if message is not None and caption and draft.step in (Step.QUOTE, Step.EDIT_QUOTE):
        # A photo with words at the testimonial step: the words are kept, and it says so.
        if str(message.message_id) not in draft.answer_messages:
            await _add_quote(update, svc, lang, draft, caption, message, note="intake.caption_kept")
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


# -- buttons -------------------------------------------------------------------------------

INTAKE_PATTERN = (
    r"^in:(profile|skip|done|agree|decline|send|edit_name|edit_org|edit_quote|cancel"
    r"|cancel_yes|cancel_no|continue|restart|session\.\d{1,4}|nosession):(\d{1,18})$"
)

#: The steps at which a button acts (the others act at any step: cancel, continue...).
ACTS_AT: dict[str, frozenset[Step]] = {
    "session": frozenset({Step.SESSION}),
    "nosession": frozenset({Step.SESSION}),
    "profile": frozenset({Step.NAME, Step.EDIT_NAME}),
    "skip": frozenset({Step.ORGANISATION, Step.EDIT_ORGANISATION}),
    "done": frozenset({Step.QUOTE, Step.EDIT_QUOTE}),
    "agree": frozenset({Step.CONSENT}),
    "decline": frozenset({Step.CONSENT}),
    "send": frozenset({Step.PREVIEW}),
    "edit_name": frozenset({Step.PREVIEW}),
    "edit_org": frozenset({Step.PREVIEW}),
    "edit_quote": frozenset({Step.PREVIEW}),
}


def acts_at(action: str, step: Step | None) -> bool:
    """Whether the button ``action`` acts at ``step``."""
    steps = ACTS_AT.get(action.split(".")[0])
    return steps is None or step in steps


async def pressed(update: Update, context: Context) -> None:
    """Handle the buttons of the conversation (``in:<action>:<draft id>``)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    svc, lang, draft, _ = await load_person(update, context)
    match = context.match  # INTAKE_PATTERN's, matched by PTB
    assert match is not None
    action, draft_id = match.group(1), int(match.group(2))
    if draft is None or draft.id != draft_id:
        await answer_query(query, svc.texts(lang, "intake.stale_button"))
        return
    pressed_on = query.message.message_id if query.message is not None else None
    if draft.prompt_message_id is not None and pressed_on != draft.prompt_message_id:
        # One live prompt: a superseded one (an older /start offer, an old preview, the
        # second tap of a double tap) changes nothing; a destructive choice asks again.
        await answer_query(query, svc.texts(lang, "intake.out_of_date"))
        if action == "restart":
            await offer_resume(update, svc, lang, draft)
        elif action == "cancel_yes":
            await confirm_cancel(update, svc, lang, draft)
        return
    if not acts_at(action, draft.step):
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
    await _press(update, svc, lang, draft, action)


def _label(query: CallbackQuery) -> str | None:
    """The text of the button that was pressed, as the message showed it."""
    message = query.message if isinstance(query.message, Message) else None
    markup = message.reply_markup if message is not None else None
    for row in markup.inline_keyboard if markup is not None else ():
        for key in row:
            if key.callback_data == query.data:
                return key.text
    return None


async def _press(update: Update, svc: Services, lang: str, draft: Testimonial, action: str) -> None:
    t = svc.texts
    tg_user = update.effective_user
    query = update.callback_query
    assert tg_user is not None and query is not None
    label = _label(query)
    said = t(lang, "intake.chosen", choice=label) if label else None
    saved: Testimonial | None = None
    if action.startswith("session."):
        index = int(action.removeprefix("session."))
        if index >= len(svc.sessions):
            await drop_buttons(query)
            await ask(update, svc, lang, draft)  # the sessions file changed meanwhile
            return
        session = svc.sessions.items[index]
        saved = await svc.repo.update_draft(draft, start_payload=session.payload, step=Step.NAME)
        said = t(lang, "intake.chosen", choice=session.title(lang))
    elif action == "nosession":
        saved = await svc.repo.update_draft(draft, step=Step.NAME)
    elif action == "profile":
        name = usable_profile_name(tg_user)
        if name is None:
            await drop_buttons(query)
            await ask(update, svc, lang, draft)
            return
        next_step = Step.ORGANISATION if draft.step is Step.NAME else Step.PREVIEW
        saved = await svc.repo.update_draft(draft, name=name, step=next_step)
        said = t(lang, "intake.chosen", choice=name)
    elif action == "skip":
        next_step = Step.QUOTE if draft.step is Step.ORGANISATION else Step.PREVIEW
        saved = await svc.repo.update_draft(draft, organisation="", step=next_step)
    elif action == "done":
        if not draft.quote:
            await reply(update, t(lang, "intake.quote_needed"))
            return
        next_step = Step.PREVIEW if draft.consent_at else Step.CONSENT
        saved = await svc.repo.update_draft(draft, step=next_step)
    elif action == "agree":
        saved = await svc.repo.update_draft(
            draft, consent_text=t.raw(lang, "intake.ask_consent"), step=Step.PREVIEW
        )
        said = t(lang, "intake.agreed")
    elif action == "decline":
        # The step stays: the question comes again in a new message, so that a second "No"
        # is not piled onto this one.
        await answer_in_place(update, svc, lang, t(lang, "intake.declined"))
        markup = keyboard(svc, lang, draft, tg_user)
        await prompt(update, svc, draft, t(lang, "intake.consent_refused"), markup)
        return
    elif action == "send":
        await _submit(update, svc, lang, draft)
        return
    elif action in ("edit_name", "edit_org", "edit_quote"):
        target = {
            "edit_name": Step.EDIT_NAME,
            "edit_org": Step.EDIT_ORGANISATION,
            "edit_quote": Step.EDIT_QUOTE,
        }[action]
        saved = await svc.repo.update_draft(draft, step=target)
    elif action == "cancel":
        await answer_in_place(update, svc, lang, said)
        await confirm_cancel(update, svc, lang, draft)
        return
    elif action == "cancel_yes":
        await svc.repo.discard_draft(draft.id)
        ANSWER_SAVED.set(True)
        await answer_in_place(update, svc, lang, said, tail=t(lang, "intake.cancelled"))
        return
    elif action in ("cancel_no", "continue"):
        # Buttons that act at any step: the question comes in a new message (on this one, a
        # second tap would find them live again and repeat it).
        await answer_in_place(update, svc, lang, said)
        prefix = t(lang, "intake.kept") if action == "cancel_no" else ""
        await ask(update, svc, lang, draft, prefix)
        return
    else:  # restart (a new draft: the old one's buttons all go stale)
        saved = await svc.repo.start_draft(tg_user.id, lang, draft.start_payload)
    if saved is not None:
        ANSWER_SAVED.set(True)
        await answer_in_place(update, svc, lang, said, then=saved)


def _fits(*texts: str) -> bool:
    """Whether texts joined by blank lines fit in one message (HTML counted: an upper bound)."""
    return sum(telegram_length(text) + 2 for text in texts) <= DEFAULT_LIMIT


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
) -> None:
    """Answer a press on the message that carries the buttons: its text stays, ``said``
    (the choice) takes the buttons' place, and the question of ``then``'s open step with
    its buttons, or ``tail``, follows in the same edit when it fits in the message; else
    they come in new messages. The question counts as asked once Telegram accepted it."""
    query = update.callback_query
    tg_user = update.effective_user
    chat = update.effective_chat
    assert query is not None and tg_user is not None and chat is not None
    question = compose_question(svc, lang, then, tg_user) if then is not None else None
    message = query.message if isinstance(query.message, Message) else None
    placed = False
    if message is not None and message.text:
        shown = f"{message.text_html}\n\n{said}" if said else message.text_html
        follow = tail if question is None else None if question.lead else question.text
        if follow is not None and _fits(message.text, said or "", follow):
            markup = question.markup if question is not None else None
            if await _edit(message, f"{shown}\n\n{follow}", markup):
                if then is not None:
                    await svc.repo.mark_asked(then, message.message_id)
                return
        placed = await _edit(message, shown, None)
    if not placed:
        await drop_buttons(query)
    if then is not None and question is not None:
        await send_question(update.get_bot(), chat.id, tg_user, svc, lang, then, composed=question)
    elif tail is not None:
        await reply(update, tail)


async def _submit(update: Update, svc: Services, lang: str, draft: Testimonial) -> None:
    tg_user = update.effective_user
    query = update.callback_query
    assert tg_user is not None and query is not None
    result, testimonial = await svc.repo.submit(
        draft.id,
        max_pending=svc.settings.max_pending,
        author_name=profile_name(tg_user),
        author_username=tg_user.username,
    )
    t = svc.texts
    if result is SubmitResult.SUBMITTED and testimonial is not None:
        log.info("submission received: testimonial #%d from user %d", testimonial.id, tg_user.id)
        ANSWER_SAVED.set(True)
        await answer_in_place(
            update, svc, lang, t(lang, "intake.sent"), tail=t(lang, "intake.submitted")
        )
        svc.desk.submitted(testimonial.id)
        return
    await drop_buttons(query)
    if result is SubmitResult.TOO_MANY_PENDING:
        await prompt(
            update,
            svc,
            draft,
            t(lang, "intake.too_many_pending", count=svc.settings.max_pending),
            keyboard(svc, lang, draft, tg_user),
        )
    elif testimonial is not None and testimonial.step is not None:
        await ask(update, svc, lang, testimonial)
