"""The portrait in the book: beside the name in the HTML (inline, print size, no metadata
left: decoded with Pillow) and in the zip format with the JSON and the CSV pointing at it."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import zipfile
from pathlib import Path

from bot.book.files import render_book, write_book_file
from bot.cli.book import export_book
from storage.models import Status
from tests.moderation.test_moderation import card_of, press, submit, wait_status
from tests.portrait.images import assert_clean, phone_photo
from tests.portrait.test_publishing import submit_with_photo
from tests.support import ORGANISER_ID, Harness

_IMG = re.compile(r'<img class="portrait" src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)" alt="">')


async def publish_two(h: Harness) -> tuple[int, int]:
    """One testimonial with a photo, one without; both approved."""
    with_photo = await submit_with_photo(h, h.person(), "With a face.")
    without = await submit(h, h.person("Bob", last_name="SMITH"), "No face.", name="Bob SMITH")
    for tid in (with_photo, without):
        t = await card_of(h, tid)
        await press(h, ORGANISER_ID, t.card_message_ids[-1], f"mod:approve:{tid}")
        await wait_status(h, tid, Status.PUBLISHED)
    return with_photo, without


async def test_the_html_book_shows_the_photo_beside_the_name_clean(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await publish_two(h)
    html = render_book(await h.repo.list_for_book(), "html", h.settings)
    [encoded] = _IMG.findall(html)
    # Beside the name: in the same entry, right before its heading.
    entry = html[html.index('<img class="portrait"') :].split("</article>", 1)[0]
    assert "<h2>Ada LOVELACE</h2>" in entry and "With a face." in entry
    # The print size, and nothing of the phone's metadata (camera, GPS).
    width, height = assert_clean(base64.b64decode(encoded), 400)
    assert (width, height) == (300, 400)
    assert html.count("<article") == 2


async def test_the_zip_export_holds_the_photos_and_the_json_and_csv_point_at_them(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    with_photo, without = await publish_two(h)
    output = tmp_path / "book.zip"
    assert await export_book(h.settings, None, "date", output) == 0
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())
        assert names == {"livre-dor.json", "livre-dor.csv", f"portraits/{with_photo}.jpg"}
        document = json.loads(archive.read("livre-dor.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("livre-dor.csv").decode("utf-8-sig"))))
        image = archive.read(f"portraits/{with_photo}.jpg")
    portraits = {t["id"]: t["portrait"] for t in document["testimonials"]}
    assert portraits == {with_photo: f"portraits/{with_photo}.jpg", without: None}
    assert {int(r["id"]): r["portrait"] for r in rows} == {
        with_photo: f"portraits/{with_photo}.jpg",
        without: "",
    }
    assert_clean(image, 1280)
    # Without -o there is nowhere to write a zip: a sentence, exit 2.
    assert await export_book(h.settings, "zip", "date", None) == 2
    # /export zip in the group: the same archive, from its own read-only connection.
    sent = write_book_file(h.settings, "zip", tmp_path)
    assert (sent.path.name, sent.count, sent.fits) == ("livre-dor.zip", 2, True)
    with zipfile.ZipFile(sent.path) as archive:
        assert set(archive.namelist()) == names


def test_a_phone_photo_is_made_clean_and_upright() -> None:
    from bot.services.images import MAX_SIDE, normalise

    assert assert_clean(normalise(phone_photo()), MAX_SIDE) == (960, 1280)


async def test_the_wall_shows_the_photo_of_what_is_published_only(harness: Harness) -> None:
    import aiohttp

    from tests.wall.support import running_wall

    h = harness
    with_photo, without = await publish_two(h)
    pending = await submit_with_photo(h, h.person("Eve", last_name=None), "Not yet.")
    async with running_wall(h) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/wall.json") as r:
            entries = {int(e["key"]): e for e in (await r.json())["entries"]}
        assert set(entries) == {with_photo, without} and entries[without]["photo"] == ""
        url = entries[with_photo]["photo"]
        assert url.startswith(f"/photo/{with_photo}.jpg?v=")
        async with session.get(base + url) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
            assert_clean(await r.read(), 1280)
        # Not published (pending) or without a photo: nothing to see.
        for tid in (pending, without, 999):
            async with session.get(f"{base}/photo/{tid}.jpg") as r:
                assert r.status == 404


async def test_a_keyed_wall_gives_photos_only_with_its_key(harness: Harness) -> None:
    import aiohttp
    from pydantic import SecretStr

    from tests.wall.support import running_wall

    h = harness
    with_photo, _ = await publish_two(h)
    h.settings = h.settings.model_copy(update={"wall_key": SecretStr("s3cret-wall-key")})
    async with running_wall(h) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/wall.json?key=s3cret-wall-key") as r:
            entries = {int(e["key"]): e for e in (await r.json())["entries"]}
        url = entries[with_photo]["photo"]
        assert url.endswith("&key=s3cret-wall-key")
        async with session.get(base + url) as r:
            assert r.status == 200
        for wrong in (f"/photo/{with_photo}.jpg", f"/photo/{with_photo}.jpg?key=wrong"):
            async with session.get(base + wrong) as r:
                assert r.status == 403
