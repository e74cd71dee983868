"""Photos in the fake: what users send (PhotoSize, getFile, the file server) and sendPhoto
with Telegram's 1,024-character caption, in process and over loopback HTTP."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from telegram import Bot
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
    finally:
        await server.close()
