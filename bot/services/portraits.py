"""The portrait: an optional photo with a testimonial, from the attendee to the places that
show it.

A photo is downloaded once (``getFile``, then the file), made into the one image livredor
keeps (``bot/services/images.py``: upright, at most 1,280 pixels, a plain JPEG without
EXIF, GPS or comment) and stored beside the database (``storage.portraits``) before the
draft row names it. A second photo is kept aside until the attendee says which one stays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Message, PhotoSize, Update
from telegram.error import TelegramError

from bot.services.container import Services
from bot.services.images import NotAnImage, normalise
from bot.services.messages import button, reply
from bot.services.questions import ANSWER_SAVED, ask, keyboard, prompt
from storage.models import Answered, Step, Testimonial

log = logging.getLogger(__name__)

#: Telegram's bots may download files up to 20 MB; a phone photo is far smaller.
DOWNLOAD_MAX = 20 * 1024 * 1024
#: Steps at which a photo is the portrait (before them it is not asked for yet).
PORTRAIT_STEPS = frozenset({Step.PORTRAIT, Step.CONSENT, Step.PREVIEW})


async def fetch(message: Message) -> bytes:
    """Download the largest size of a message's photo (one getFile, one download)."""
    sizes: Sequence[PhotoSize] = message.photo
    usable = [s for s in sizes if (s.file_size or 0) <= DOWNLOAD_MAX] or list(sizes)
    largest = max(usable, key=lambda s: s.width * s.height)
    file = await largest.get_file()
    return bytes(await file.download_as_bytearray())


async def store(svc: Services, content: bytes) -> str:
    """Make the kept image (in a thread: one big photo must not stall the other chats) and
    write it; return its file name. The caller commits the row that names it."""
    image = await asyncio.to_thread(normalise, content)
    return await svc.repo.keep_portrait(image)


def after_portrait(draft: Testimonial) -> Step:
    """Where the conversation goes after the portrait step."""
    return Step.PREVIEW if draft.consent_at else Step.CONSENT


def _answered(draft: Testimonial, message: Message) -> dict[str, str]:
    return {**draft.answer_messages, str(message.message_id): Answered("portrait").format()}


async def received_photo(
    update: Update, svc: Services, lang: str, draft: Testimonial, message: Message
) -> None:
    """A photo at the portrait step, the consent or the preview: the portrait; a second
    one waits for the attendee to say which stays. An album is answered once."""
    texts = svc.texts
    if message.media_group_id is not None:
        if draft.album_answered != message.media_group_id:
            saved = await svc.repo.update_draft(draft, album_answered=message.media_group_id)
            if saved is not None:
                ANSWER_SAVED.set(True)
                await reply(update, texts(lang, "intake.portrait_album"))
        return
    try:
        content = await fetch(message)
    except TelegramError as exc:
        log.warning("could not download a photo of user %s: %s", draft.user_id, exc)
        await reply(update, texts(lang, "intake.portrait_unavailable"))
        return
    try:
        name = await store(svc, content)
    except NotAnImage:
        await reply(update, texts(lang, "intake.portrait_unreadable"))
        return
    answers = _answered(draft, message)
    if draft.portrait is None or draft.step is Step.PORTRAIT:
        # The first photo, or the one asked for (the preview's Photo button).
        saved = await svc.repo.update_draft(
            draft,
            portrait=name,
            portrait_offer=None,
            step=after_portrait(draft),
            answer_messages=answers,
        )
        if saved is None:
            await svc.repo.discard_portraits([name])
            return
        ANSWER_SAVED.set(True)
        said = texts(lang, "intake.portrait_received")
        if message.caption:
            # Words under a photo sent after the words: not silently added to the testimonial.
            said += " " + texts(lang, "intake.portrait_caption")
        await ask(update, svc, lang, saved, said)
        return
    saved = await svc.repo.update_draft(draft, portrait_offer=name, answer_messages=answers)
    if saved is None:
        await svc.repo.discard_portraits([name])
        return
    ANSWER_SAVED.set(True)
    await offer_replace(update, svc, lang, saved)


async def offer_replace(update: Update, svc: Services, lang: str, draft: Testimonial) -> None:
    """Ask whether the second photo replaces the first (its buttons become the live ones)."""
    texts = svc.texts
    markup = InlineKeyboardMarkup(
        [
            [
                button(texts(lang, "intake.portrait_replace"), f"in:replace:{draft.id}"),
                button(texts(lang, "intake.portrait_keep_first"), f"in:keepfirst:{draft.id}"),
            ]
        ]
    )
    await prompt(
        update, svc, draft, texts(lang, "intake.portrait_replace_ask"), markup, asked=False
    )


async def ask_for_photo(
    update: Update, svc: Services, lang: str, draft: Testimonial, key: str
) -> None:
    """Say what the portrait step takes (``key``), with its buttons (Skip...)."""
    tg_user = update.effective_user
    assert tg_user is not None
    await prompt(update, svc, draft, svc.texts(lang, key), keyboard(svc, lang, draft, tg_user))
