"""Several approvals (LIVREDOR_APPROVALS): a testimonial is published once that many
different organisers approved it, each still an organiser when it counts (issue 26 item 1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.models import Status
from tests.moderation.test_moderation import card_of, make_admin, press, submit, wait_status
from tests.moderation.test_review import shown, tap
from tests.support import GROUP_ID, ORGANISER_ID, Harness, Person, running_bot

BRUNO, CHLOE = 501, 502


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[Harness]:
    """A bot that needs two approvals, with three organisers: Olga, Bruno and Chloé."""
    async with running_bot(tmp_path, approvals=2) as h:
        make_admin(h, "Bruno", BRUNO)
        make_admin(h, "Chloé", CHLOE)
        yield h


def card_text(h: Harness, message_id: int) -> str:
    return str(h.fake.message(GROUP_ID, message_id)["text"])


async def test_one_approval_waits_two_publish_and_the_card_says_who(two: Harness) -> None:
    p = two.person()
    tid = await submit(two, p)
    card_id = (await card_of(two, tid)).card_message_ids[0]
    answer = await press(two, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    assert answer["text"] == (
        "Your approval is counted (1 of 2 needed): it is published once the others approve it."
    )
    assert not answer.get("show_alert")
    waiting = await wait_status(two, tid, Status.PENDING)
    assert [a.user_id for a in waiting.approvals] == [ORGANISER_ID]
    assert "👍 Approved so far by Olga Organiser: 1 of 2" in card_text(two, card_id)
    # The buttons stay: others must still decide.
    assert next(b for b, _ in two.fake.buttons(GROUP_ID, card_id)) == "✅ Approve"
    assert not two.channel_messages()
    # The same organiser again: it counts once.
    again = await press(two, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    assert again["text"].startswith("You approved it already, and it counts once (1 of 2 needed)")
    still = await wait_status(two, tid, Status.PENDING)
    assert len(still.approvals) == 1 and not two.channel_messages()
    # A second organiser: published, in both names.
    second = await press(two, BRUNO, card_id, f"mod:approve:{tid}")
    assert second["text"].startswith("Approved:")
    published = await wait_status(two, tid, Status.PUBLISHED)
    assert published.decided_by_name == "Olga Organiser, Bruno"
    assert len(two.channel_messages()) == 1
    card = await two.wait(lambda: "Approved by Olga Organiser, Bruno" in card_text(two, card_id))
    assert card
    # A third press (an old copy of the buttons) is too late, and says so.
    late = await press(two, CHLOE, card_id, f"mod:approve:{tid}", forge=True)
    assert late["text"] == "Already approved by Olga Organiser, Bruno." and late["show_alert"]
    assert len(two.channel_messages()) == 1


async def test_a_demoted_organisers_approval_no_longer_counts(two: Harness) -> None:
    """Demoted with the bot told (chat_member): the approval goes at once, the card says so.
    Demoted without the bot told: checked when the next approval would decide."""
    now = [1_000.0]
    two.services.desk.clock = lambda: now[0]
    first = await submit(two, two.person("Ada"))
    second = await submit(two, two.person("Bea"))
    card1 = (await card_of(two, first)).card_message_ids[0]
    card2 = (await card_of(two, second)).card_message_ids[0]
    await press(two, ORGANISER_ID, card1, f"mod:approve:{first}")
    await press(two, CHLOE, card2, f"mod:approve:{second}")
    assert "Approved so far by Olga Organiser" in card_text(two, card1)

    two.fake.set_member(GROUP_ID, ORGANISER_ID, "member")  # the bot gets chat_member
    await two.settle()
    t1 = await wait_status(two, first, Status.PENDING)
    assert t1.approvals == ()
    assert "Approved so far" not in card_text(two, card1)
    answer = await press(two, BRUNO, card1, f"mod:approve:{first}")
    assert answer["text"].startswith("Your approval is counted (1 of 2 needed)")
    await wait_status(two, first, Status.PENDING)

    two.fake.set_member(GROUP_ID, CHLOE, "member", tell_bot=False)
    now[0] += 31  # past the fresh check's window: Chloé is asked about again
    answer = await press(two, BRUNO, card2, f"mod:approve:{second}")
    assert answer["text"].startswith("Your approval is counted (1 of 2 needed)")
    t2 = await wait_status(two, second, Status.PENDING)
    assert [a.user_id for a in t2.approvals] == [BRUNO]
    assert "Approved so far by Bruno: 1 of 2" in card_text(two, card2)
    assert not two.channel_messages()


async def test_one_rejection_ends_it_whatever_the_approvals(two: Harness) -> None:
    p = two.person()
    tid = await submit(two, p)
    card_id = (await card_of(two, tid)).card_message_ids[0]
    await press(two, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    await press(two, BRUNO, card_id, f"mod:reject:{tid}")
    answer = await press(two, BRUNO, card_id, f"mod:reason:{tid}:0")
    assert answer["text"].startswith("Rejected")
    rejected = await wait_status(two, tid, Status.REJECTED)
    assert rejected.decided_by_name == "Bruno"
    assert any("not published" in text for text in p.texts())
    late = await press(two, CHLOE, card_id, f"mod:approve:{tid}", forge=True)
    assert late["text"] == "Already rejected by Bruno." and late["show_alert"]
    assert not two.channel_messages()


async def test_review_counts_an_approval_and_shows_it_to_the_next_organiser(two: Harness) -> None:
    tid = await submit(two, two.person())
    olga, bruno = Person(two, ORGANISER_ID), Person(two, BRUNO)
    await olga.send("/review")
    [message] = two.fake.messages(ORGANISER_ID)
    answer = await tap(two, ORGANISER_ID, message["message_id"], f"rev:approve:{tid}")
    assert answer["text"].startswith("Your approval is counted (1 of 2 needed)")
    # Olga is not shown it again: it waits for someone else, and her claim is given back.
    assert shown(two, ORGANISER_ID) is None
    assert "All caught up" in two.fake.messages(ORGANISER_ID)[-1]["text"]
    await bruno.send("/review")
    assert shown(two, BRUNO) == tid
    assert "Approved so far by Olga Organiser: 1 of 2" in two.fake.messages(BRUNO)[-1]["text"]
    review_id = two.fake.messages(BRUNO)[-1]["message_id"]
    answer = await tap(two, BRUNO, review_id, f"rev:approve:{tid}")
    assert answer["text"].startswith("Approved:")
    await wait_status(two, tid, Status.PUBLISHED)


async def test_one_approval_is_still_the_default(harness: Harness) -> None:
    assert harness.settings.approvals == 1
    tid = await submit(harness, harness.person())
    card_id = (await card_of(harness, tid)).card_message_ids[0]
    answer = await press(harness, ORGANISER_ID, card_id, f"mod:approve:{tid}")
    assert answer["text"].startswith("Approved:")
    await wait_status(harness, tid, Status.PUBLISHED)
