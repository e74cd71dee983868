"""Taking an attendee's typed answers into the draft: the rules of each field, a quote
made of paragraphs (one per message), and the continuation of a paste Telegram cut.

The draft row is the state: each answer is committed with the next step before the bot
replies (``ANSWER_SAVED`` then tells the error handler the answer is safe). Which message
answered what is kept in the draft's ``answer_messages`` (``storage.models.Answered``), so
that an edited message can replace its own answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from telegram import InlineKeyboardMarkup, Message, Update

from bot.services import pastes
from bot.services.container import Services
from bot.services.messages import button, reply
from bot.services.portraits import ask_for_photo
from bot.services.questions import ANSWER_SAVED, ask, keyboard, prompt, quote_ends
from storage import fields
from storage.models import Answered, Step, Testimonial, join_quote
from storage.textlength import perceived_length, telegram_length

#: A message whose text is already in the testimonial is not kept again, however late it
#: comes: when it is a whole paragraph, or a piece of the quote at least this long (perceived
#: characters; a part of a paste sent again, or the whole of it), or the end of a paragraph
#: long enough to have been a cut paste (its last, short, part: ``PASTE_CUT``).
REPEATED_PIECE = 80
PASTE_CUT = 3800
#: The clients cut a paste over 4,096 UTF-16 units into several messages sent at once
#: (bot/services/pastes.py): a message continues the previous one only if that one is long
#: enough to be a cut part, came at most this long before, and a client's rule explains the
#: cut. Parts are sent within a second or two; an attendee typing an afterthought is slower.
PASTE_WINDOW = timedelta(seconds=10)


async def saved_then_ask(
    update: Update, svc: Services, lang: str, saved: Testimonial | None
) -> None:
    """Say nothing more than the next question, once the answer is committed."""
    if saved is None:
        return  # the draft moved on meanwhile (a replayed update): nothing to say
    ANSWER_SAVED.set(True)
    await ask(update, svc, lang, saved)


def _replacing(answers: dict[str, str], message_id: int, answered: Answered) -> dict[str, str]:
    """The answering messages with ``message_id`` as the one of ``answered.kind`` (a new
    answer replaces the earlier ones: only the latest answer to a question can be edited)."""
    kept = {k: v for k, v in answers.items() if Answered.parse(v).kind != answered.kind}
    return {**kept, str(message_id): answered.format()}


#: The field each step's question asks for; the other steps are answered with buttons.
FIELD_ASKED = {
    Step.NAME: "name",
    Step.EDIT_NAME: "name",
    Step.ORGANISATION: "organisation",
    Step.EDIT_ORGANISATION: "organisation",
    Step.QUOTE: "quote",
    Step.EDIT_QUOTE: "quote",
}
#: The step the preview's buttons open to change each field: a change made while it is
#: open answers it, and the preview comes back.
REOPENED_BY = {
    "name": Step.EDIT_NAME,
    "organisation": Step.EDIT_ORGANISATION,
    "quote": Step.EDIT_QUOTE,
}
#: The steps at which a field is not given yet (a reply to its question cannot correct it).
NOT_YET = {
    "name": {Step.SESSION, Step.NAME},
    "organisation": {Step.SESSION, Step.NAME, Step.ORGANISATION},
}


async def carry_on(update: Update, svc: Services, lang: str, draft: Testimonial, said: str) -> None:
    """After ``said`` (a field corrected, a reply refused), show where the draft stands: a
    fresh preview at the preview, Done while a testimonial is being written (its question
    again would ask for the words once more), else the open question again."""
    tg_user = update.effective_user
    assert tg_user is not None
    if draft.step in (Step.QUOTE, Step.EDIT_QUOTE) and draft.quote:
        await prompt(update, svc, draft, said, keyboard(svc, lang, draft, tg_user))
    else:
        await ask(update, svc, lang, draft, said)


async def correct_field(
    update: Update,
    svc: Services,
    lang: str,
    draft: Testimonial,
    kind: str,
    text: str,
    message: Message,
) -> None:
    """Replace the name or the organisation with ``text`` (of ``message``, an edit of its
    answer or a reply to its question), whatever step is open, and say so with the value;
    ``message`` becomes that field's answer (editing it corrects the field again)."""
    texts = svc.texts
    try:
        if kind == "name":
            value = fields.name(text)
            shown = value
        else:
            lines = fields.organisation_lines(text)
            if not lines:
                await reply(update, texts(lang, "intake.organisation_empty"))
                return
            value, shown = "\n".join(lines), ", ".join(lines)
    except fields.FieldError as exc:
        await reply(update, refusal(svc, lang, exc))
        return
    step = Step.PREVIEW if draft.step is REOPENED_BY[kind] else draft.step
    answers = _replacing(draft.answer_messages, message.message_id, Answered(kind))
    changes = {kind: value, "step": step, "answer_messages": answers}
    saved = await svc.repo.update_draft(draft, **changes)
    if saved is None:
        return  # the draft moved on meanwhile (a replayed update)
    ANSWER_SAVED.set(True)
    await carry_on(update, svc, lang, saved, texts(lang, f"intake.{kind}_corrected", value=shown))


async def answered_earlier(
    update: Update, svc: Services, lang: str, draft: Testimonial, text: str, message: Message
) -> bool:
    """If ``message`` replies to one of the bot's questions other than the open one, take
    it for that question: a correction of the name or the organisation, or a sentence
    saying it was added nowhere; never an answer to the open question. Return whether it
    was (False: not a reply to an earlier question, an answer like any other)."""
    replied = message.reply_to_message
    if replied is None or draft.user_id is None:
        return False
    asked = await svc.repo.asked_step(draft.user_id, replied.message_id)
    if asked is None or asked is draft.step:
        return False
    kind = FIELD_ASKED.get(asked)
    if kind is not None and draft.step is not None and kind == FIELD_ASKED.get(draft.step):
        return False  # the same question, asked again or reopened: the open one
    texts = svc.texts
    if kind in NOT_YET and draft.step not in NOT_YET[kind]:
        await correct_field(update, svc, lang, draft, kind, text, message)
        return True
    if kind == "quote" and draft.step is Step.PREVIEW:
        # More words for the testimonial, at the preview: kept aside and asked about, as
        # any text typed there.
        await offer_addition(update, svc, lang, draft, text)
        return True
    if kind == "quote" and draft.quote:
        said = texts(lang, "intake.reply_quote_closed")
    else:
        said = texts(lang, "intake.reply_closed")
    if draft.step is Step.PREVIEW:
        # The preview and its buttons are on screen: one line, not the preview again.
        await reply(update, f"{said} {texts(lang, 'intake.use_buttons')}")
    else:
        await carry_on(update, svc, lang, draft, said)
    return True


async def take_answer(
    update: Update, svc: Services, lang: str, draft: Testimonial, text: str, message: Message
) -> None:
    """Take ``text`` (of ``message``) as the answer to the draft's open step: committed with
    the next step, then the next question; or say why it is refused. A reply to an earlier
    question answers that question (``answered_earlier``)."""
    if await answered_earlier(update, svc, lang, draft, text, message):
        return
    texts = svc.texts
    step = draft.step
    if step in (Step.NAME, Step.EDIT_NAME):
        try:
            name = fields.name(text)
        except fields.FieldError as exc:
            if exc.problem == "name_empty":
                # Blank, or only invisible characters: fields.name counts those as empty.
                await ask(update, svc, lang, draft, texts(lang, "intake.name_empty"))
            else:
                await reply(update, refusal(svc, lang, exc))
            return
        next_step = Step.ORGANISATION if step is Step.NAME else Step.PREVIEW
        answers = _replacing(draft.answer_messages, message.message_id, Answered("name"))
        saved = await svc.repo.update_draft(
            draft, name=name, step=next_step, answer_messages=answers
        )
    elif step in (Step.ORGANISATION, Step.EDIT_ORGANISATION):
        try:
            lines = fields.organisation_lines(text)
        except fields.FieldError as exc:
            await reply(update, refusal(svc, lang, exc))
            return
        if not lines:
            await ask(update, svc, lang, draft, texts(lang, "intake.organisation_empty"))
            return
        next_step = Step.QUOTE if step is Step.ORGANISATION else Step.PREVIEW
        answered = Answered("organisation")
        answers = _replacing(draft.answer_messages, message.message_id, answered)
        saved = await svc.repo.update_draft(
            draft, organisation="\n".join(lines), step=next_step, answer_messages=answers
        )
    elif step in (Step.QUOTE, Step.EDIT_QUOTE):
        await add_quote(update, svc, lang, draft, text, message)
        return
    elif step is Step.PREVIEW:
        await offer_addition(update, svc, lang, draft, text)
        return
    elif step is Step.PORTRAIT:
        await ask_for_photo(update, svc, lang, draft, "intake.portrait_expected")
        return
    else:
        # At consent or preview the live buttons are on screen: one line, not the preview.
        await reply(update, texts(lang, "intake.use_buttons"))
        return
    await saved_then_ask(update, svc, lang, saved)


def _latest(draft: Testimonial, before: int) -> tuple[int, Answered] | None:
    """The latest message before message ``before`` given to the quote (kept, or refused as
    too long), with its id."""
    given = [
        (int(message_id), answered)
        for message_id, stored in draft.answer_messages.items()
        if int(message_id) < before
        and ((answered := Answered.parse(stored)).is_quote or answered.kind == "refused")
    ]
    return max(given, key=lambda pair: pair[0]) if given else None


#: ``_follows`` for a part of a paste whose earlier part was refused.
REFUSED_PASTE = "refused"


def _follows(draft: Testimonial, part: str, message: Message) -> str | None:
    """If ``part`` continues a paste a client cut, the separator the client dropped before
    it (``pastes.separator``), or ``REFUSED_PASTE`` when the paste's previous part was
    refused; None when it is a message of its own (a new paragraph)."""
    latest = _latest(draft, message.message_id)
    if latest is None or draft.step is not Step.QUOTE:
        return None
    last, date = latest[1], int(message.date.timestamp())
    if last.date is None or last.length is None:
        return None  # kept before dates and lengths were
    if (
        not pastes.SHORTEST_CUT <= last.length <= pastes.LIMIT
        or not 0 <= date - last.date <= PASTE_WINDOW.total_seconds()
    ):
        return None
    if last.kind == "refused":
        # Its text is not kept, so the client's rule cannot be checked: length and time
        # say it is the same paste, which was refused as a whole.
        return REFUSED_PASTE
    if not draft.quote_parts:
        return None
    previous = pastes.last_units(draft.quote_parts[-1], last.length)
    return pastes.separator(previous, part)


def _paste_start(draft: Testimonial) -> tuple[int, set[str]]:
    """The paragraph where the paste being received began, and the ids of its messages:
    the latest quote messages back to the first that did not continue a cut."""
    quote = sorted(
        (
            (int(message_id), answered)
            for message_id, stored in draft.answer_messages.items()
            if (answered := Answered.parse(stored)).is_quote
        ),
        key=lambda pair: pair[0],
        reverse=True,
    )
    ids: set[str] = set()
    start = len(draft.quote_parts)
    for message_id, answered in quote:
        ids.add(str(message_id))
        if answered.part is not None:
            start = min(start, answered.part)
        if answered.kind != "paste":
            break
    return start, ids


def kept_summary(svc: Services, lang: str, quote: str) -> str:
    """Say what the draft's quote holds after a refusal: how long, how it starts and ends."""
    if not quote:
        return svc.texts(lang, "intake.holds_nothing")
    length, start, end = quote_ends(quote)
    if end is None:
        return svc.texts(lang, "intake.holds_whole", whole=start)
    return svc.texts(lang, "intake.holds_ends", length=length, count=length, start=start, end=end)


def refusal(svc: Services, lang: str, exc: fields.FieldError) -> str:
    """Say why a field was refused; explain Telegram's count only when it is not the reader's
    (emoji count as several characters, so "30 characters" could otherwise be "330")."""
    text = svc.texts(lang, f"intake.{exc.problem}", **exc.values)
    if exc.counts_differ:
        text += " " + svc.texts(lang, "intake.counted_by_telegram")
    return text


async def add_quote(
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
    the continuation of a paste a client cut is joined as the attendee typed it. A paste is
    all or nothing: a part that does not fit takes the paste's earlier parts away, and its
    later parts are refused too."""
    texts = svc.texts
    part = fields.quote_part(text)
    if not part:
        await reply(update, texts(lang, "intake.quote_empty_message"))
        return
    tg_user = update.effective_user
    assert tg_user is not None
    date = int(message.date.timestamp())
    replacing = draft.step is Step.EDIT_QUOTE
    parts = list(draft.quote_parts)
    # The rest of a paste just received is new text, whatever it repeats of earlier ones.
    joiner = None if replacing else _follows(draft, part, message)
    if not replacing and joiner is None and already_kept(parts, part):
        # Sent again (a retry after a slow reply, a paste sent again after a question was
        # asked again): kept once, and said so.
        done = keyboard(svc, lang, draft, tg_user)
        length = perceived_length(draft.quote)
        retry = texts(lang, "intake.repeated_paragraph", length=length, count=length)
        await prompt(update, svc, draft, retry, done)
        return
    if joiner == REFUSED_PASTE:
        await _refuse(update, svc, lang, draft, message, part, "intake.paste_rest_refused")
        return
    if replacing:
        parts = [part]
    elif joiner is None or joiner == "\n\n":
        parts.append(part)
    else:
        parts[-1] = f"{parts[-1]}{joiner}{part}"
    quote = join_quote(parts)
    problem = quote_too_long(svc, lang, quote)
    if problem:
        if joiner is None:
            await _refuse(update, svc, lang, draft, message, part, problem=problem)
        else:
            await _refuse_paste(update, svc, lang, draft, message, part, quote)
        return
    answers = draft.answer_messages
    if replacing:
        answers = {k: v for k, v in answers.items() if not Answered.parse(v).is_quote}
    answered = Answered(
        "quote" if joiner is None else "paste",
        part=len(parts) - 1,
        date=date,
        length=telegram_length(part),
    )
    answers = {**answers, str(message.message_id): answered.format()}
    saved = await svc.repo.update_draft(
        draft, quote_parts=parts, step=Step.QUOTE, answer_messages=answers
    )
    if saved is None:
        return
    ANSWER_SAVED.set(True)
    done = InlineKeyboardMarkup([[button(texts(lang, "intake.done"), f"in:done:{saved.id}")]])
    length = perceived_length(saved.quote)
    await prompt(update, svc, saved, texts(lang, note, length=length, count=length), done)


def _flat(text: str) -> str:
    """``text`` with every run of white space as one space (a join may differ in those)."""
    return " ".join(text.split())


def already_kept(parts: Sequence[str], part: str) -> bool:
    """Whether ``part`` (a message's text, cleaned) is already in the quote made of
    ``parts``: a whole paragraph, a long piece of it (``REPEATED_PIECE``), or the end of a
    paragraph that was a cut paste."""
    text = _flat(part)
    if not text:
        return False
    paragraphs = [_flat(p) for p in parts]
    if text in paragraphs:
        return True
    if perceived_length(text) >= REPEATED_PIECE and text in " ".join(paragraphs):
        return True
    return any(
        telegram_length(p) >= PASTE_CUT and p.endswith(text) and len(p) > len(text)
        for p in paragraphs
    )


async def offer_addition(
    update: Update, svc: Services, lang: str, draft: Testimonial, text: str
) -> None:
    """Text typed at the preview: kept aside (``pending_addition``) and the attendee asked
    whether it joins the testimonial as a new paragraph; never dropped silently."""
    texts = svc.texts
    part = fields.quote_part(text)
    if not part:
        await reply(update, texts(lang, "intake.use_buttons"))
        return
    if already_kept(draft.quote_parts, part):
        await reply(update, texts(lang, "intake.already_in_preview"))
        return
    pending = draft.pending_addition
    if pending is None or not already_kept([pending], part):
        pending = f"{pending}\n\n{part}" if pending else part
    problem = quote_too_long(svc, lang, join_quote([*draft.quote_parts, pending]))
    if problem:
        await reply(update, problem)
        return
    saved = await svc.repo.update_draft(draft, pending_addition=pending)
    if saved is None:
        return
    ANSWER_SAVED.set(True)
    markup = InlineKeyboardMarkup(
        [
            [
                button(texts(lang, "intake.add_yes"), f"in:addyes:{saved.id}"),
                button(texts(lang, "intake.add_no"), f"in:addno:{saved.id}"),
            ]
        ]
    )
    length = perceived_length(pending)
    asked = texts(lang, "intake.ask_add_typed", length=length, count=length)
    await prompt(update, svc, saved, asked, markup, lang=lang)


def quote_too_long(svc: Services, lang: str, quote: str) -> str | None:
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


async def _refuse(
    update: Update,
    svc: Services,
    lang: str,
    draft: Testimonial,
    message: Message,
    part: str,
    key: str | None = None,
    *,
    problem: str | None = None,
    kept: list[str] | None = None,
    forget: set[str] | None = None,
) -> None:
    """Record ``message`` as refused (so that the rest of its paste is refused too, and a
    second delivery changes nothing), keep ``kept`` as the quote's paragraphs (default: as
    they are) without the messages in ``forget``, then say why and what is kept."""
    parts = list(draft.quote_parts) if kept is None else kept
    answers = {k: v for k, v in draft.answer_messages.items() if k not in (forget or set())}
    date = int(message.date.timestamp())
    refused = Answered("refused", date=date, length=telegram_length(part))
    answers[str(message.message_id)] = refused.format()
    # Taking a paste away leaves the quote step open; a refused message alone changes no step
    # (at Edit testimonial, the next message still replaces the quote).
    step = Step.QUOTE if kept is not None else draft.step
    saved = await svc.repo.update_draft(
        draft, quote_parts=parts, step=step, answer_messages=answers
    )
    if saved is None:
        return
    ANSWER_SAVED.set(True)
    if problem is not None:
        text = f"{problem}\n\n{kept_summary(svc, lang, saved.quote)}"
    else:  # the rest of a paste already refused: what is kept was said with its first part
        text = svc.texts(lang, key or "intake.paste_rest_refused")
    tg_user = update.effective_user
    assert tg_user is not None
    markup = keyboard(svc, lang, saved, tg_user) if saved.quote else None
    await prompt(update, svc, saved, text, markup)


async def _refuse_paste(
    update: Update,
    svc: Services,
    lang: str,
    draft: Testimonial,
    message: Message,
    part: str,
    quote: str,
) -> None:
    """A part of a paste does not fit: take the paste's earlier parts away (all or nothing:
    never half a text cut where the client happened to cut it) and say so."""
    start, ids = _paste_start(draft)
    limit = svc.settings.quote_max_chars
    kept = list(draft.quote_parts[:start])
    room = max(limit - telegram_length(join_quote(kept)) - (2 if kept else 0), 0)
    total = telegram_length(quote)
    said = svc.texts(lang, "intake.paste_too_long", total=total, limit=limit, room=room, count=room)
    await _refuse(update, svc, lang, draft, message, part, problem=said, kept=kept, forget=ids)
