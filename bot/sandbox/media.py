"""The shapes of what users send: text with commands, stickers, photos, voice notes..."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from storage.textlength import telegram_length

__all__ = ["MESSAGE_KINDS", "command_entities", "default_photo", "media_content", "photo_sizes"]

JSONDict = dict[str, Any]

MESSAGE_KINDS = (
    "text",
    "sticker",
    "photo",
    "voice",
    "location",
    "contact",
    "document",
    "video",
    "animation",
    "audio",
    "video_note",
    "poll",
    "dice",
)


def command_entities(text: str) -> list[JSONDict]:
    """The bot_command entity Telegram puts on a text that starts with "/" (PTB's
    CommandHandler looks for it; "/start payload" is how a deep link arrives)."""
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    if len(command) < 2:
        return []
    return [{"type": "bot_command", "offset": 0, "length": telegram_length(command)}]


_DEFAULT_PHOTO: list[bytes] = []


def default_photo() -> bytes:
    """A small JPEG, what a user's photo holds when the test gives no image of its own."""
    if not _DEFAULT_PHOTO:
        image = Image.new("RGB", (320, 240), (200, 120, 40))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        _DEFAULT_PHOTO.append(out.getvalue())
    return _DEFAULT_PHOTO[0]


def image_size(content: bytes) -> tuple[int, int]:
    """(width, height) of an image, or a phone photo's usual size if it cannot be read."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return 1280, 853


def photo_sizes(content: bytes, file_id: str, unique_id: str) -> list[JSONDict]:
    """The PhotoSize list Telegram gives a photo: a thumbnail, then the largest size (the
    last one, each with its own file id; both download the same bytes here)."""
    width, height = image_size(content)
    scale = min(1.0, 90 / max(width, height, 1))
    small = {
        "file_id": f"{file_id}s",
        "file_unique_id": f"{unique_id}s",
        "width": max(1, round(width * scale)),
        "height": max(1, round(height * scale)),
        "file_size": min(len(content), 1200),
    }
    large = {
        "file_id": file_id,
        "file_unique_id": unique_id,
        "width": width,
        "height": height,
        "file_size": len(content),
    }
    return [small, large]


def media_content(kind: str, text: str | None, user: JSONDict, n: int) -> tuple[JSONDict, bool]:
    """The Message fields of a non-text ``kind`` (``n`` makes file ids unique), and whether
    that kind carries ``text`` as a caption."""
    file = {"file_id": f"AgACAgQAAxkBAAI{n:08d}", "file_unique_id": f"AQAD{n:08d}"}
    captioned = True
    content: JSONDict
    if kind == "sticker":
        sticker = {"type": "regular", "width": 512, "height": 512, "emoji": "🙂"}
        content = {"sticker": {**file, **sticker, "is_animated": False, "is_video": False}}
        captioned = False
    elif kind == "photo":
        # Filled with the image's sizes by FakeTelegram (which keeps its bytes for getFile).
        content = {"photo": []}
    elif kind == "voice":
        content = {"voice": {**file, "duration": 3, "mime_type": "audio/ogg"}}
    elif kind == "location":
        content = {"location": {"latitude": 50.6292, "longitude": 3.0573}}
        captioned = False
    elif kind == "contact":
        contact = {"phone_number": "+33600000000", "first_name": user["first_name"]}
        content = {"contact": {**contact, "user_id": user["id"]}}
        captioned = False
    elif kind == "document":
        document = {"file_name": "file.pdf", "mime_type": "application/pdf", "file_size": 1000}
        content = {"document": {**file, **document}}
    elif kind == "video":
        content = {"video": {**file, "width": 640, "height": 360, "duration": 5}}
    elif kind == "animation":
        animation = {**file, "width": 320, "height": 240, "duration": 2, "file_name": "a.mp4"}
        animation["mime_type"] = "video/mp4"
        # Telegram sends an animation as both fields, for old clients.
        content = {"animation": animation, "document": dict(animation)}
    elif kind == "audio":
        content = {"audio": {**file, "duration": 180, "mime_type": "audio/mpeg"}}
    elif kind == "video_note":
        content = {"video_note": {**file, "length": 240, "duration": 4}}
        captioned = False
    elif kind == "poll":
        options = [
            {"text": answer, "voter_count": 0, "persistent_id": f"{n}-{i}"}
            for i, answer in enumerate(("Yes", "No"))
        ]
        poll: JSONDict = {"id": str(n), "question": text or "Question?", "options": options}
        poll.update(total_voter_count=0, is_closed=False, is_anonymous=True, type="regular")
        # Bot API 9.6 / 10.0 made these required (PTB 22.8 refuses a poll without them).
        poll.update(allows_multiple_answers=False, allows_revoting=False, members_only=False)
        content = {"poll": poll}
        captioned = False
    elif kind == "dice":
        content = {"dice": {"emoji": "🎲", "value": 4}}
        captioned = False
    else:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(MESSAGE_KINDS)}")
    return content, captioned
