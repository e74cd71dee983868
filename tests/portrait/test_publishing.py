"""The portrait from the attendee to the organisers' card and the channel, and gone from
everywhere the bot put it when its author is forgotten, withdraws, or it is unpublished."""

from __future__ import annotations

import io

from PIL import Image

from bot.book.parse import parse_book
from bot.services.render import join_parts_plain
from storage.models import Status
from storage.portraits import portraits_dir
from tests.moderation.test_moderation import card_of, press, wait_status
from tests.portrait.images import assert_clean, files_in, phone_photo
from tests.support import CHANNEL_ID, GROUP_ID, ORGANISER_ID, Harness, Person


async def submit_with_photo(h: Harness, p: Person, quote: str = "A fine day.") -> int:
    await p.reach_preview(quote, photo=phone_photo(), organisation="Analytical Engine Society")
    await p.press("Send")
    [mine] = await h.repo.list_for_user(p.id)
    return mine.id


async def test_a_portrait_reaches_the_card_then_the_channel_in_one_message_and_forget_erases_it(
    harness: Harness,
) -> None:
    h = harness
    p = h.person()
    tid = await submit_with_photo(h, p)
    t = await card_of(h, tid)
    kept = files_in(portraits_dir(h.settings.database))
    assert [f.name for f in kept] == [t.portrait]
    # The card: the photo first, with its button, then the card as always.
    [photo, card] = h.group_messages()
    assert photo["photo"] == kept[0].read_bytes()
    assert photo["text"] == f"📷 Photo sent with testimonial #{tid}"
    assert h.fake.buttons(GROUP_ID, photo["message_id"]) == [
        ("🗑 Remove the photo", f"mod:nophoto:{tid}")
    ]
    assert t.card_photo_message_id == photo["message_id"] and t.card_message_ids == (
        card["message_id"],
    )
    await press(h, ORGANISER_ID, card["message_id"], f"mod:approve:{tid}")
    published = await wait_status(h, tid, Status.PUBLISHED)
    # It fits in a caption: one message, the photo with the post as its caption.
    [post] = h.channel_messages()
    assert published.channel_message_ids == (post["message_id"],)
    assert post["photo"] == kept[0].read_bytes()
    assert_clean(post["photo"], 1280)
    assert post["text"] == "Ada LOVELACE\nAnalytical Engine Society\n\n«\u00a0A fine day.\u00a0»"
    # /forget: the file, the card's photo and the channel's post are gone.
    await p.send("/forget")
    await p.press("Yes")
    await h.settle()
    assert files_in(portraits_dir(h.settings.database)) == []
    assert h.channel_messages() == []
    assert h.group_messages() == []
    assert await h.repo.portraits_named() == set()


async def test_the_longest_seed_entry_goes_out_as_photo_then_text_and_unpublish_takes_both(
    harness: Harness, seed_text: str
) -> None:
    h = harness
    entries = parse_book(seed_text).entries
    longest = max(entries, key=lambda e: len(e.quote))
    assert longest.name == "François MOREAU" and len(longest.quote) == 4330
    p = h.person("François", last_name="MOREAU", language_code="fr")
    await p.send("/start")
    await p.send(longest.name)
    await p.send("\n".join(longest.organisation_lines))
    paragraphs = longest.quote.split("\n\n")
    # As Telegram splits a long paste: two messages, each under 4,096.
    await p.send("\n\n".join(paragraphs[:6]))
    await p.send("\n\n".join(paragraphs[6:]))
    await p.press("Terminé")
    await p.send(kind="photo", photo=phone_photo())
    await p.press("Oui, j’accepte")
    await p.press("Envoyer")
    [mine] = await h.repo.list_for_user(p.id)
    t = await card_of(h, mine.id)
    await press(h, ORGANISER_ID, t.card_message_ids[-1], f"mod:approve:{t.id}")
    published = await wait_status(h, t.id, Status.PUBLISHED)
    posts = h.channel_messages()
    # The photo alone, then the text split as without a photo.
    assert len(posts) == len(published.channel_message_ids) >= 3
    assert posts[0]["photo"] is not None and posts[0]["text"] == ""
    assert all(m["photo"] is None for m in posts[1:])
    whole = join_parts_plain([m["text"] for m in posts[1:]])
    assert whole.endswith("\u00a0»") and published.quote.split("\n\n")[-1] in whole
    # Unpublish removes every part, the photo included, and the file.
    card_id = t.card_message_ids[-1]
    await press(h, ORGANISER_ID, card_id, f"mod:unpublish:{t.id}")
    await press(h, ORGANISER_ID, card_id, f"mod:unpublish_yes:{t.id}")
    await wait_status(h, t.id, Status.WITHDRAWN)
    await h.wait(lambda: h.channel_messages() == [])
    assert len(h.fake.messages(CHANNEL_ID, include_deleted=True)) == len(posts)
    assert files_in(portraits_dir(h.settings.database)) == []
    # The card's photo went with it; the card itself says what happened.
    await h.settle()
    assert [m["photo"] for m in h.group_messages()] == [None] * len(t.card_message_ids)


async def test_organisers_remove_the_photo_and_keep_the_words(harness: Harness) -> None:
    h = harness
    p = h.person()
    tid = await submit_with_photo(h, p)
    t = await card_of(h, tid)
    assert t.card_photo_message_id is not None
    answer = await press(h, ORGANISER_ID, t.card_photo_message_id, f"mod:nophoto:{tid}")
    assert answer["text"] == "Photo removed: the testimonial will be published without it."
    t2 = await h.repo.get(tid)
    assert t2 is not None and t2.status is Status.PENDING and t2.portrait is None
    assert t2.card_photo_message_id is None
    assert files_in(portraits_dir(h.settings.database)) == []
    assert [m["photo"] for m in h.group_messages()] == [None]
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(h, tid, Status.PUBLISHED)
    [post] = h.channel_messages()
    assert post["photo"] is None and "A fine day." in post["text"]


async def test_withdrawing_deletes_the_photo_everywhere(harness: Harness) -> None:
    h = harness
    p = h.person()
    tid = await submit_with_photo(h, p)
    t = await card_of(h, tid)
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    await wait_status(h, tid, Status.PUBLISHED)
    assert len(h.channel_messages()) == 1
    await p.send("/mine")
    await p.press("Withdraw")
    await p.press("Yes")
    await wait_status(h, tid, Status.WITHDRAWN)
    await h.wait(lambda: h.channel_messages() == [])
    assert files_in(portraits_dir(h.settings.database)) == []
    await h.settle()
    assert [m["photo"] for m in h.group_messages()] == [None]


async def test_review_shows_the_photo_on_request_and_forget_erases_it(harness: Harness) -> None:
    h = harness
    p = h.person()
    tid = await submit_with_photo(h, p)
    olga = Person(h, ORGANISER_ID)
    [shown] = await olga.send("/review")
    assert ("📷 See the photo", f"rev:photo:{tid}") in h.fake.buttons(ORGANISER_ID)
    [photo] = await olga.press("See the photo")
    assert photo["photo"] is not None and photo["text"] == f"📷 Photo sent with testimonial #{tid}"
    await p.send("/forget")
    await p.press("Yes")
    await h.settle()
    # The photo is deleted from the organiser's chat; the review message no longer shows it.
    assert all(m["photo"] is None for m in h.fake.messages(ORGANISER_ID))
    assert h.fake.message(ORGANISER_ID, photo["message_id"])["deleted"]
    assert shown["message_id"] != photo["message_id"]


def plain_light_square(content: bytes | None) -> bool:
    """Whether an image is a plain light square: the neutral image, nobody's photo."""
    assert content is not None
    with Image.open(io.BytesIO(content)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=4) or []
        square = image.width == image.height
    return square and [isinstance(rgb, tuple) and min(rgb) > 200 for _, rgb in colours] == [True]


async def test_forget_after_48_hours_replaces_the_photo_in_the_channel_group_and_review(
    harness: Harness,
) -> None:
    h = harness
    p = h.person()
    tid = await submit_with_photo(h, p)
    olga = Person(h, ORGANISER_ID)
    await olga.send("/review")
    [shown_photo] = await olga.press("See the photo")
    t = await card_of(h, tid)
    assert t.card_photo_message_id is not None
    await press(h, ORGANISER_ID, t.card_message_ids[0], f"mod:approve:{tid}")
    published = await wait_status(h, tid, Status.PUBLISHED)
    [post_id] = published.channel_message_ids
    portrait = h.fake.message(CHANNEL_ID, post_id)["photo"]
    assert portrait is not None and not plain_light_square(portrait)
    # Two days later Telegram no longer lets the bot delete any of them.
    h.fake.age_message(CHANNEL_ID, post_id, hours=49)
    for message_id in (t.card_photo_message_id, *t.card_message_ids):
        h.fake.age_message(GROUP_ID, message_id, hours=49)
    h.fake.age_message(ORGANISER_ID, shown_photo["message_id"], hours=49)
    await p.send("/forget")
    await p.press("Yes")
    await h.settle()
    # The post: the author's photo replaced by the neutral image, the caption by the line.
    post = h.fake.message(CHANNEL_ID, post_id)
    assert post["text"] == "(This testimonial was withdrawn.)"
    assert plain_light_square(post["photo"]) and post["photo"] != portrait
    # The photo above the card and the one /review showed: the same.
    for chat_id, message_id, line in (
        (GROUP_ID, t.card_photo_message_id, "🗑 Erased at the author's request."),
        (ORGANISER_ID, shown_photo["message_id"], "withdrawn by its author"),
    ):
        message = h.fake.message(chat_id, message_id)
        assert line in message["text"]
        assert plain_light_square(message["photo"]), (chat_id, message_id)
        assert h.fake.buttons(chat_id, message_id) == []
    # Not one image of the author's is left anywhere the bot wrote.
    for chat_id in (CHANNEL_ID, GROUP_ID, ORGANISER_ID):
        assert all(m["photo"] != portrait for m in h.fake.messages(chat_id))
    assert files_in(portraits_dir(h.settings.database)) == []


async def test_a_card_moved_after_48_hours_leaves_no_copy_that_forget_cannot_find(
    harness: Harness,
) -> None:
    """/pending moves a card to the bottom of the group; a card two days old cannot be
    deleted, and the copy left behind would keep the words and the photo, no longer recorded
    anywhere: /forget could not find it. It is blanked instead."""
    h = harness
    p = h.person()
    tid = await submit_with_photo(h, p, quote="Words-left-behind-7c1e")
    t = await card_of(h, tid)
    assert t.card_photo_message_id is not None
    old = (t.card_photo_message_id, *t.card_message_ids)
    portrait = h.fake.message(GROUP_ID, t.card_photo_message_id)["photo"]
    for message_id in old:
        h.fake.age_message(GROUP_ID, message_id, hours=49)
    h.fake.user_sends(ORGANISER_ID, "/pending", chat_id=GROUP_ID)
    await h.settle()
    moved = await card_of(h, tid)
    assert not set(old) & {moved.card_photo_message_id, *moved.card_message_ids}
    for message_id in old:
        left = h.fake.message(GROUP_ID, message_id)
        assert "Words-left-behind" not in left["text"] and left["photo"] != portrait
        assert h.fake.buttons(GROUP_ID, message_id) == []
    assert plain_light_square(h.fake.message(GROUP_ID, t.card_photo_message_id)["photo"])
    assert h.fake.message(GROUP_ID, t.card_photo_message_id)["text"] == "📷 Photo removed."
    await p.send("/forget")
    await p.press("Yes")
    await h.settle()
    for message in h.fake.messages(GROUP_ID):
        assert "Words-left-behind" not in message["text"] and message["photo"] != portrait
