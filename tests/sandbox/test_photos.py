"""Photos in the fake: what users send (PhotoSize, getFile, the file server) and sendPhoto
with Telegram's 1,024-character caption, in process and over loopback HTTP."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from telegram import Bot, InputMediaPhoto
from telegram.error import BadRequest

from bot.sandbox import FakeTelegram, start_server
from tests.sandbox.conftest import ALICE, CHANNEL


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, "JPEG")
    return out.getvalue()


async def test_a_users_photo_downloads_through_getfile(fake: FakeTelegram, bot: Bot) -> None:
    image = jpeg((640, 480))
    sent = fake.user_sends(ALICE, "caption", kind="photo", photo=image, media_group_id="77")
    sizes = sent["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [(90, 68), (640, 480)]
    assert sent["media_group_id"] == "77" and sent["caption"] == "caption"
    file = await bot.get_file(sizes[-1]["file_id"])
    assert file.file_size == len(image)
    assert bytes(await file.download_as_bytearray()) == image
    assert file.file_path is not None
    assert fake.downloads == [file.file_path.rsplit(f"/file/bot{fake.token}/", 1)[-1]]
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_send_photo_caption_limit_and_delete(fake: FakeTelegram, bot: Bot) -> None:
    image = jpeg()
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(CHANNEL, image, caption="é" * 1025)
    assert fake.messages(CHANNEL) == []
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(CHANNEL, b"not an image")
    sent = await bot.send_photo(
        CHANNEL, image, caption="<b>Zoé</b> " + "x" * 1020, parse_mode="HTML"
    )
    assert sent.photo and sent.caption is not None and len(sent.caption) == 1024
    [shown] = fake.messages(CHANNEL)
    assert shown["photo"] == image and shown["text"].startswith("Zoé x")
    # The same photo again by its file_id: no upload, the same image.
    again = await bot.send_photo(CHANNEL, sent.photo[-1].file_id)
    assert fake.messages(CHANNEL)[-1]["photo"] == image and again.caption is None
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.edit_message_text("x", CHANNEL, sent.message_id)
    await bot.edit_message_caption(CHANNEL, sent.message_id, caption="Retiré")
    assert fake.message(CHANNEL, sent.message_id)["text"] == "Retiré"
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.edit_message_caption(CHANNEL, sent.message_id, caption="y" * 1025)
    assert await bot.delete_message(CHANNEL, sent.message_id)
    assert [m["message_id"] for m in fake.messages(CHANNEL)] == [again.message_id]


async def test_edit_message_media_replaces_the_photo_as_telegram_does(
    fake: FakeTelegram, bot: Bot
) -> None:
    old, new = jpeg(), jpeg((80, 80))
    sent = await bot.send_photo(CHANNEL, old, caption="<b>Zoé</b>", parse_mode="HTML")
    edited = await bot.edit_message_media(
        InputMediaPhoto(new, caption="<i>Retiré</i>", parse_mode="HTML"),
        chat_id=CHANNEL,
        message_id=sent.message_id,
    )
    assert isinstance(edited, type(sent)) and edited.message_id == sent.message_id
    assert edited.caption == "Retiré" and edited.photo[-1].width == 80
    shown = fake.message(CHANNEL, sent.message_id)
    assert shown["photo"] == new and shown["text"] == "Retiré" and shown["edit_count"] == 1
    # The old image is gone from the message, and so is its caption's formatting.
    assert [e["type"] for e in shown["entities"]] == ["italic"]
    # The photo it shows by its file_id, the same caption: nothing changes.
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_media(
            InputMediaPhoto(edited.photo[-1].file_id, caption="<i>Retiré</i>", parse_mode="HTML"),
            chat_id=CHANNEL,
            message_id=sent.message_id,
        )
    # Telegram's rules: the message must be there, be the bot's; a caption within 1,024.
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.edit_message_media(
            InputMediaPhoto(new, caption="y" * 1025), chat_id=CHANNEL, message_id=sent.message_id
        )
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_media(InputMediaPhoto(new), chat_id=CHANNEL, message_id=999)
    theirs = fake.user_sends(ALICE, kind="photo", photo=old)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_media(
            InputMediaPhoto(new), chat_id=ALICE, message_id=theirs["message_id"]
        )
    # Editing has no 48-hour limit (deleting has).
    fake.age_message(CHANNEL, sent.message_id, hours=49)
    with pytest.raises(BadRequest, match="can't be deleted"):
        await bot.delete_message(CHANNEL, sent.message_id)
    await bot.edit_message_media(InputMediaPhoto(old), chat_id=CHANNEL, message_id=sent.message_id)
    assert fake.message(CHANNEL, sent.message_id)["photo"] == old
    assert fake.message(CHANNEL, sent.message_id)["text"] == ""
    # A text message gets a photo (the Bot API allows adding media to a text message).
    text = await bot.send_message(CHANNEL, "words")
    await bot.edit_message_media(
        InputMediaPhoto(new, caption="now a photo"), chat_id=CHANNEL, message_id=text.message_id
    )
    assert fake.message(CHANNEL, text.message_id)["photo"] == new
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.edit_message_text("x", CHANNEL, text.message_id)


async def test_photos_over_http(fake: FakeTelegram) -> None:
    server = await start_server(fake)
    try:
        async with Bot(
            fake.token, base_url=server.base_url, base_file_url=server.base_file_url
        ) as bot:
            image = jpeg()
            sent = fake.user_sends(ALICE, kind="photo", photo=image)
            file = await bot.get_file(sent["photo"][-1]["file_id"])
            assert bytes(await file.download_as_bytearray()) == image
            posted = await bot.send_photo(CHANNEL, image, caption="ok")
            assert fake.messages(CHANNEL)[0]["photo"] == image and posted.caption == "ok"
            # A photo replaced over HTTP: multipart, the media's part named by attach://.
            other = jpeg((80, 80))
            await bot.edit_message_media(
                InputMediaPhoto(other, caption="gone"), CHANNEL, posted.message_id
            )
            assert fake.messages(CHANNEL)[0]["photo"] == other
            assert fake.messages(CHANNEL)[0]["text"] == "gone"
    finally:
        await server.close()
