"""The bot removed from the organisers' group and added back, as Telegram reports it to the
bot (``my_chat_member``): attendees are told the truth from the first one, and the cards
that waited go out as soon as the bot is back, not after the card sender's back-off."""

from __future__ import annotations

from bot.services.cards import BACKOFF_FIRST
from tests.support import GROUP_ID, Harness

QUOTE = "Kept until the organisers can read it."


def refused_card(params: dict[str, object], ok: bool) -> bool:
    """Whether a sendMessage was the card, sent to the group and refused."""
    return str(params.get("chat_id")) == str(GROUP_ID) and not ok


async def test_removed_then_added_back(virtual_harness: Harness) -> None:
    h = virtual_harness
    h.fake.set_bot_rights(GROUP_ID, member=False)
    await h.settle()
    # Told by Telegram: nothing had to be refused first.
    assert h.services.desk.unreachable is not None
    assert "refuses the bot (removed from it)" in h.services.desk.unreachable
    h.updates_only = True  # the card sender waits on the group meanwhile
    p = h.person()
    await p.reach_preview(QUOTE, name="Ada", organisation="Analytical Engine Society")
    thanks = await p.press("Send")
    assert "The organisers cannot receive it just now" in thanks[-1]["text"]
    # The card was tried and refused: the sender waits out its back-off.
    await h.wait(lambda: [c for c in h.fake.calls("sendMessage") if refused_card(c.params, c.ok)])
    assert not any(QUOTE in str(m["text"]) for m in h.group_messages())
    back = h.clock.now()
    h.fake.set_bot_rights(GROUP_ID, member=True, admin=True)
    h.updates_only = False
    await h.settle()
    assert any(QUOTE in str(m["text"]) for m in h.group_messages())
    assert h.services.desk.unreachable is None
    assert h.clock.now() - back < BACKOFF_FIRST  # at once, not after the back-off
