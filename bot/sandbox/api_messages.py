"""The Bot API methods about messages: send, edit, delete, callback answers.

Every handler takes (fake, params, uploaded files) and returns the ``result`` of a successful
answer, or raises :class:`ApiError` with Telegram's code and description.
"""

from __future__ import annotations

import io
import logging
import mimetypes
from typing import Any

from PIL import Image

from bot.sandbox.api import Files, Handler, check_can_write, registrar
from bot.sandbox.html_check import TelegramHTMLError, parse_entities
from bot.sandbox.limits import (
    CALLBACK_ANSWER_MAX,
    CAPTION_MAX,
    DELETE_WINDOW_SECONDS,
    DOCUMENT_MAX_BYTES,
    PHOTO_MAX_BYTES,
    TEXT_MAX,
)
from bot.sandbox.media import photo_sizes
from bot.sandbox.objects import (
    ApiError,
    Chat,
    Params,
    StoredMessage,
    UploadedFile,
    bad_request,
    forbidden,
    validate_reply_markup,
)
from bot.sandbox.world import World
from storage.textlength import telegram_length

__all__ = ["HANDLERS", "NOT_MODIFIED", "format_text"]

log = logging.getLogger("bot.sandbox")
JSONDict = dict[str, Any]

HANDLERS: dict[str, Handler] = {}
_method = registrar(HANDLERS)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup of the message "
    "are exactly the same as a current content and reply markup of the message"
)


def format_text(
    text: str, parse_mode: str | None, entities: Any, *, caption: bool
) -> tuple[str, list[JSONDict]]:
    """Plain text and entities of a text or caption, or Telegram's 400."""
    if not _is_utf8(text):
        # A lone surrogate (JSON can carry "\ud800"): Telegram reads UTF-8 and refuses it.
        raise bad_request(f"{'caption' if caption else 'text'} must be encoded in UTF-8")
    if parse_mode:
        if parse_mode.lower() != "html":
            if parse_mode.lower() in ("markdown", "markdownv2"):
                log.error("fake Telegram: parse_mode %s is not checked by the fake", parse_mode)
                raise bad_request(
                    f"the fake Telegram only checks parse_mode HTML, not {parse_mode}"
                )
            raise bad_request("unsupported parse_mode")
        try:
            plain, found = parse_entities(text)
        except TelegramHTMLError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        plain, found = text, _checked_entities(entities, text)
    # Counted before Telegram strips surrounding whitespace: stricter by a few characters at
    # worst, never laxer.
    if telegram_length(plain) > (CAPTION_MAX if caption else TEXT_MAX):
        raise bad_request("message caption is too long" if caption else "message is too long")
    plain, found = _strip(plain, found)
    if not plain and not caption:
        raise bad_request("message text is empty")
    return plain, found


def _is_utf8(text: str) -> bool:
    """Whether ``text`` can be sent as UTF-8 (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _checked_entities(entities: Any, text: str) -> list[JSONDict]:
    if entities is None:
        return []
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    size = telegram_length(text)
    out = []
    for entity in entities:
        if not (
            isinstance(entity, dict)
            and isinstance(entity.get("type"), str)
            and isinstance(entity.get("offset"), int)
            and isinstance(entity.get("length"), int)
        ):
            raise bad_request("can't parse MessageEntity: type, offset and length are required")
        if (
            entity["offset"] < 0
            or entity["length"] <= 0
            or entity["offset"] + entity["length"] > size
        ):
            raise bad_request("entity beginning or end is out of the text")
        out.append(dict(entity))
    return out


def _strip(plain: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Telegram trims leading and trailing whitespace; entities follow the text."""
    stripped = plain.strip()
    if stripped == plain:
        return plain, entities
    lead = telegram_length(plain[: len(plain) - len(plain.lstrip())])
    end = lead + telegram_length(stripped)
    out = []
    for entity in entities:
        start = max(entity["offset"], lead)
        stop = min(entity["offset"] + entity["length"], end)
        if stop > start:
            out.append({**entity, "offset": start - lead, "length": stop - start})
    return stripped, out


def _flood_key(chat: Chat) -> int | None:
    return chat.id if chat.is_group_like else None


def _private_key(chat: Chat) -> int | None:
    return chat.id if chat.type == "private" else None


def check_flood(tg: World, chat: Chat) -> None:
    wait = tg.flood.retry_after(tg.now(), _flood_key(chat), _private_key(chat))
    if wait is not None:
        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)


def record_flood(tg: World, chat: Chat) -> None:
    tg.flood.record(tg.now(), _flood_key(chat), _private_key(chat))


def _reply_target(chat: Chat, p: Params) -> StoredMessage | None:
    reply = p.get_json("reply_parameters")
    allow = p.get_bool("allow_sending_without_reply")
    if isinstance(reply, dict):
        message_id = reply.get("message_id")
        allow = bool(reply.get("allow_sending_without_reply", allow))
    elif reply is not None:
        raise bad_request("can't parse reply parameters JSON object")
    else:
        message_id = p.get_int("reply_to_message_id")
    if message_id is None:
        return None
    target = chat.messages.get(int(message_id))
    if target is None or target.deleted:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return target


def _inline(markup: JSONDict | None) -> JSONDict | None:
    return markup if markup is not None and "inline_keyboard" in markup else None


def _message_id(p: Params) -> int:
    if p.has("inline_message_id"):
        log.error("fake Telegram: inline messages are not supported")
        raise bad_request("the fake Telegram does not support inline_message_id")
    message_id = p.get_int("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    return message_id


def _new_bot_message(tg: World, chat: Chat, p: Params) -> StoredMessage:
    replied = _reply_target(chat, p)
    return StoredMessage(
        chat=chat.to_json(),
        message_id=0,
        date=tg.now(),
        # A channel post has a sender_chat, not a "from".
        sender=None if chat.type == "channel" else tg.bot_user,
        from_bot=True,
        reply_to=replied.to_json(with_reply=False) if replied is not None else None,
    )


@_method("sendMessage")
async def send_message(tg: World, p: Params, files: Files) -> JSONDict:
    chat = tg.chat_by_param(p)
    check_can_write(tg, chat)
    text = p.get_str("text")
    if not text:
        raise bad_request("message text is empty")
    parse_mode = p.get_str("parse_mode")
    plain, entities = format_text(text, parse_mode, p.get_json("entities"), caption=False)
    markup = validate_reply_markup(p.get_json("reply_markup"))
    message = _new_bot_message(tg, chat, p)
    check_flood(tg, chat)
    message.plain, message.entities, message.html, message.parse_mode = (
        plain,
        entities,
        text,
        parse_mode,
    )
    message.reply_markup = markup
    tg.store_bot_message(chat, message)
    record_flood(tg, chat)
    return message.to_json()


def _upload(value: object, files: Files, field: str) -> UploadedFile | None:
    """The multipart part a send names (``attach://<name>``, or the field's own part when
    the field is empty); None when ``value`` is a file_id or URL for the caller to look up."""
    if isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return upload
    if value in (None, ""):
        upload = files.get(field)
        if upload is None:
            raise bad_request(f"there is no {field} in the request")
        return upload
    return None


def _document(tg: World, p: Params, files: Files) -> tuple[JSONDict, UploadedFile | None]:
    """The Document of a sendDocument: an upload (multipart part) or a known file_id."""
    value = p.raw.get("document")
    upload = _upload(value, files, "document")
    if upload is None and isinstance(value, str):
        known = tg.known_file(value)
        if known is not None:
            return dict(known[0]), known[1]
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")
    if upload is None:
        raise bad_request("there is no document in the request")
    if not upload.content:
        raise bad_request("file must be non-empty")
    if len(upload.content) > DOCUMENT_MAX_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    mime = upload.mime_type or mimetypes.guess_type(upload.filename)[0]
    document: JSONDict = {
        "file_name": upload.filename,
        "mime_type": mime or "application/octet-stream",
        "file_size": len(upload.content),
    }
    tg.file_id_for(document, upload)
    return document, upload


def _caption(p: Params) -> tuple[str | None, str | None, str, list[JSONDict]]:
    """A sent file's or photo's caption: (as sent, its parse mode, plain text, entities),
    parsed as Telegram does (``caption=True``: at most 1,024 characters after entities)."""
    caption = p.get_str("caption") or ""
    parse_mode = p.get_str("parse_mode")
    if not caption:
        return None, parse_mode, "", []
    plain, entities = format_text(caption, parse_mode, p.get_json("caption_entities"), caption=True)
    return caption, parse_mode, plain, entities


@_method("sendDocument")
async def send_document(tg: World, p: Params, files: Files) -> JSONDict:
    chat = tg.chat_by_param(p)
    check_can_write(tg, chat)
    document, upload = _document(tg, p, files)
    caption = _caption(p)
    markup = validate_reply_markup(p.get_json("reply_markup"))
    message = _new_bot_message(tg, chat, p)
    check_flood(tg, chat)
    message.content = {"document": document}
    message.text_field = "caption"
    message.html, message.parse_mode, message.plain, message.entities = caption
    message.reply_markup = markup
    message.upload = upload
    tg.store_bot_message(chat, message)
    record_flood(tg, chat)
    return message.to_json()


def _photo(tg: World, value: object, files: Files) -> tuple[list[JSONDict], bytes]:
    """The PhotoSize list and bytes of a sendPhoto's ``photo`` (or an InputMediaPhoto's
    ``media``): an upload or a known file_id."""
    upload = _upload(value, files, "photo")
    if upload is None and isinstance(value, str):
        known = tg.content_of(value)
        if known is None:
            if value.startswith(("http://", "https://")):
                raise bad_request("failed to get HTTP URL content")
            raise bad_request("wrong file identifier/HTTP URL specified")
        file_id, unique_id = tg.new_file_ids()
        return photo_sizes(known, file_id, unique_id), known
    if upload is None:
        raise bad_request("there is no photo in the request")
    if not upload.content:
        raise bad_request("file must be non-empty")
    if len(upload.content) > PHOTO_MAX_BYTES:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    try:
        with Image.open(io.BytesIO(upload.content)) as image:
            image.verify()
    except (OSError, ValueError, Image.DecompressionBombError):
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    file_id, unique_id = tg.new_file_ids()
    return photo_sizes(upload.content, file_id, unique_id), upload.content


def _show_photo(
    tg: World,
    message: StoredMessage,
    sizes: list[JSONDict],
    content: bytes,
    caption: tuple[str | None, str | None, str, list[JSONDict]],
    markup: JSONDict | None,
) -> None:
    """Make ``message`` show the photo (its ``sizes``, their bytes kept for getFile) with
    ``caption`` (html, parse mode, plain text, entities) and ``markup``: a send or an edit."""
    for size in sizes:
        tg.keep_content(size["file_id"], size["file_unique_id"], content)
    message.content = {"photo": sizes}
    message.text_field = "caption"
    message.html, message.parse_mode, message.plain, message.entities = caption
    message.reply_markup = markup
    message.photo = content


@_method("sendPhoto")
async def send_photo(tg: World, p: Params, files: Files) -> JSONDict:
    """A photo, with a caption of at most 1,024 characters (after entity parsing)."""
    chat = tg.chat_by_param(p)
    check_can_write(tg, chat)
    sizes, content = _photo(tg, p.raw.get("photo"), files)
    caption = _caption(p)
    markup = validate_reply_markup(p.get_json("reply_markup"))
    message = _new_bot_message(tg, chat, p)
    check_flood(tg, chat)
    _show_photo(tg, message, sizes, content, caption, markup)
    tg.store_bot_message(chat, message)
    record_flood(tg, chat)
    return message.to_json()


@_method("getFile")
async def get_file(tg: World, p: Params, files: Files) -> JSONDict:
    """The File of a photo (a user's or the bot's), with a path on the file server."""
    file_id = p.get_str("file_id")
    if not file_id:
        raise bad_request("file_id is empty")
    found = tg.get_file(file_id)
    if found is None:
        raise bad_request("invalid file_id")
    return found


def _editable(tg: World, p: Params) -> tuple[Chat, StoredMessage]:
    chat = tg.chat_by_param(p)
    message_id = _message_id(p)
    check_can_write(tg, chat)
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return chat, message


def _apply_edit(
    tg: World,
    chat: Chat,
    message: StoredMessage,
    new: tuple[str, list[JSONDict]],
    markup: JSONDict | None,
) -> None:
    old = (message.plain, message.entities, _inline(message.reply_markup))
    if (*new, markup) == old:
        raise bad_request(NOT_MODIFIED)
    check_flood(tg, chat)
    message.plain, message.entities = new
    message.reply_markup = markup
    message.edit_date = tg.now()
    message.edit_count += 1
    record_flood(tg, chat)


@_method("editMessageText")
async def edit_message_text(tg: World, p: Params, files: Files) -> JSONDict:
    """Like Telegram, an edit without ``reply_markup`` removes the inline keyboard."""
    chat, message = _editable(tg, p)
    if message.text_field != "text":
        raise bad_request("there is no text in the message to edit")
    text = p.get_str("text")
    if not text:
        raise bad_request("message text is empty")
    parse_mode = p.get_str("parse_mode")
    new = format_text(text, parse_mode, p.get_json("entities"), caption=False)
    markup = validate_reply_markup(p.get_json("reply_markup"), inline_only=True)
    _apply_edit(tg, chat, message, new, markup)
    message.html, message.parse_mode = text, parse_mode
    return message.to_json()


@_method("editMessageCaption")
async def edit_message_caption(tg: World, p: Params, files: Files) -> JSONDict:
    """The caption of a photo or document; like Telegram, no ``reply_markup`` removes the
    inline keyboard, and an empty caption removes the caption."""
    chat, message = _editable(tg, p)
    if message.text_field != "caption":
        raise bad_request("there is no caption in the message to edit")
    caption = p.get_str("caption") or ""
    parse_mode = p.get_str("parse_mode")
    new: tuple[str, list[JSONDict]] = ("", [])
    if caption:
        new = format_text(caption, parse_mode, p.get_json("caption_entities"), caption=True)
    markup = validate_reply_markup(p.get_json("reply_markup"), inline_only=True)
    _apply_edit(tg, chat, message, new, markup)
    message.html, message.parse_mode = caption or None, parse_mode
    return message.to_json()


@_method("editMessageMedia")
async def edit_message_media(tg: World, p: Params, files: Files) -> JSONDict:
    """Replace a message's media (or add one to a text message, as the Bot API allows) and
    its caption with the new media's; like every edit, no ``reply_markup`` removes the
    inline keyboard. Only photos: the fake knows no other InputMedia."""
    chat, message = _editable(tg, p)
    media = p.get_json("media")
    if not isinstance(media, dict):
        raise bad_request("can't parse InputMedia JSON object")
    kind = media.get("type")
    if kind != "photo":
        raise bad_request(f"the fake Telegram does not support InputMedia of type {kind!r}")
    sizes, content = _photo(tg, media.get("media"), files)
    caption = _caption(Params(media))
    markup = validate_reply_markup(p.get_json("reply_markup"), inline_only=True)
    # A new upload is a new file; only the file_id of the photo it shows changes nothing.
    shown = {size["file_id"] for size in message.content.get("photo", [])}
    new = (caption[2], caption[3])
    if media.get("media") in shown and (*new, markup) == (
        message.plain,
        message.entities,
        _inline(message.reply_markup),
    ):
        raise bad_request(NOT_MODIFIED)
    check_flood(tg, chat)
    _show_photo(tg, message, sizes, content, caption, markup)
    message.upload = None
    message.edit_date = tg.now()
    message.edit_count += 1
    record_flood(tg, chat)
    return message.to_json()


@_method("editMessageReplyMarkup")
async def edit_message_reply_markup(tg: World, p: Params, files: Files) -> JSONDict:
    chat, message = _editable(tg, p)
    markup = validate_reply_markup(p.get_json("reply_markup"), inline_only=True)
    if markup == _inline(message.reply_markup):
        raise bad_request(NOT_MODIFIED)
    check_flood(tg, chat)
    message.reply_markup = markup
    message.edit_count += 1
    record_flood(tg, chat)
    return message.to_json()


@_method("deleteMessage")
async def delete_message(tg: World, p: Params, files: Files) -> bool:
    chat = tg.chat_by_param(p)
    message_id = _message_id(p)
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    rights = chat.rights
    if chat.type != "private":
        if not rights.member:
            raise forbidden(f"bot is not a member of the {chat.type} chat")
        if chat.type == "group":
            allowed = message.from_bot or rights.admin
        elif chat.type == "supergroup":
            allowed = message.from_bot or (rights.admin and rights.can_delete_messages)
        else:  # channel: own posts need post rights, others' need delete rights
            allowed = rights.admin and (
                rights.can_delete_messages or (message.from_bot and rights.can_post_messages)
            )
        if not allowed:
            raise bad_request("message can't be deleted")
    if tg.now() - message.date > DELETE_WINDOW_SECONDS:
        raise bad_request("message can't be deleted for everyone")
    message.deleted = True
    return True


@_method("answerCallbackQuery")
async def answer_callback_query(tg: World, p: Params, files: Files) -> bool:
    query_id = p.get_str("callback_query_id") or ""
    text = p.get_str("text")
    if text is not None and len(text) > CALLBACK_ANSWER_MAX:
        raise bad_request("MESSAGE_TOO_LONG")
    if tg.callback_query(query_id) is None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    tg.callback_answers[query_id] = {
        "text": text,
        "show_alert": p.get_bool("show_alert"),
        "url": p.get_str("url"),
        "cache_time": p.get_int("cache_time"),
    }
    return True
