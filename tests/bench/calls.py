"""Bot API calls per step of one testimonial, attendee side and organisers' side.

    .venv/bin/python -m tests.bench.calls

The real bot (``build_application``) against the in-process fake, on a fresh database: one
attendee goes through the conversation (the 8 updates of the intake benchmark), an organiser
approves the card, the publisher posts it and tells the author. After each step the bot is
left to become idle, then the Bot API calls it made are counted by method and by chat.
Counting, not timing: the figures are exact and do not depend on the machine.

A second attendee then writes three paragraphs and makes two corrections at the preview
(the profile name, no organisation) before sending (issue 21, items 11 and 13): their calls,
and what their screen shows at the end (the longest message, how many previews it shows,
how many messages still show a Done button).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from bot.sandbox.objects import RecordedRequest
from tests.bench.common import print_table
from tests.support import CHANNEL_ID, GROUP_ID, ORGANISER_ID, Harness, make_fake, make_settings

ATTENDEE_STEPS = (
    ("/start", "send"),
    ("Ada Lovelace", "send"),
    ("Analytical Engine Society", "send"),
    ("A fine day, thank you all.", "send"),
    ("Done", "press"),
    ("Skip", "press"),
    ("Yes, I agree", "press"),
    ("Send", "press"),
)


#: The second attendee: three paragraphs, then two corrections at the preview.
CORRECTING_STEPS = (
    ("/start", "send"),
    ("Jeanne MARTIN", "send"),
    ("Analytical Engine Society", "send"),
    ("A fine day, thank you all.", "send"),
    ("The workshops were the best part.", "send"),
    ("See you next year.", "send"),
    ("Done", "press"),
    ("Skip", "press"),
    ("Yes, I agree", "press"),
    ("Edit name", "press"),
    ("Use", "press"),
    ("Edit organisation", "press"),
    ("No organisation", "press"),
    ("Send", "press"),
)
PREVIEW_LINE = "exactly as it will appear in the channel"


def _where(r: RecordedRequest, attendee: int) -> str:
    chat = r.params.get("chat_id")
    if chat is None and r.method.lower() == "answercallbackquery":
        return "press"
    chat = int(str(chat)) if chat is not None else None
    return {attendee: "attendee", GROUP_ID: "organisers", CHANNEL_ID: "channel"}.get(
        chat or 0, "other"
    )


async def run() -> tuple[list[tuple[str, int, str]], int, list[tuple[str, int]], dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        fake = make_fake()
        h = Harness(fake, make_settings(Path(tmp) / "livredor.db"))
        await h.start()
        rows: list[tuple[str, int, str]] = []
        in_chat = 0  # the attendee's own: answers in their chat and to their presses
        try:
            ada = h.person()
            seen = len(fake.requests)

            def step(label: str) -> None:
                nonlocal seen, in_chat
                new = [r for r in fake.requests[seen:] if r.method.lower() != "getupdates"]
                seen = len(fake.requests)
                if label.startswith("attendee"):
                    in_chat += sum(_where(r, ada.id) in ("attendee", "press") for r in new)
                kinds = Counter(f"{r.method} ({_where(r, ada.id)})" for r in new)
                rows.append((label, len(new), ", ".join(f"{n} {k}" for k, n in kinds.items())))

            for text, how in ATTENDEE_STEPS:
                await (ada.send(text) if how == "send" else ada.press(text))
                await h.settle()
                step(f"attendee: {text}")
            [t] = await h.repo.list_for_user(ada.id)
            assert t.card_message_ids, "no card"
            fake.user_presses(ORGANISER_ID, GROUP_ID, t.card_message_ids[0], f"mod:approve:{t.id}")
            await h.settle()
            step("organiser: Approve (then the post and the author's notice)")

            jeanne = h.person("Jean", last_name="DUPOND")
            correcting: list[tuple[str, int]] = []
            for text, how in CORRECTING_STEPS:
                seen = len(fake.requests)
                await (jeanne.send(text) if how == "send" else jeanne.press(text))
                await h.settle()
                new = fake.requests[seen:]
                mine = [r for r in new if _where(r, jeanne.id) in ("attendee", "press")]
                correcting.append((f"{how}: {text}", len(mine)))
            shown = fake.messages(jeanne.id)
            screen = {
                "longest message (characters)": max(len(m["text"]) for m in shown),
                "previews on screen": sum(m["text"].count(PREVIEW_LINE) for m in shown),
                "messages showing a Done button": sum(
                    any(label == "Done" for label, _ in fake.buttons(jeanne.id, m["message_id"]))
                    for m in shown
                ),
            }
        finally:
            await h.stop()
            await fake.aclose()
        return rows, in_chat, correcting, screen


def main() -> None:
    rows, in_chat, correcting, screen = asyncio.run(run())
    attendee = sum(n for label, n, _ in rows[: len(ATTENDEE_STEPS)])
    print_table(
        "Bot API calls per step of one testimonial (getUpdates not counted)",
        ["step", "calls", "which"],
        rows,
    )
    print(
        f"\nattendee side ({len(ATTENDEE_STEPS)} updates): {in_chat} calls in the attendee's "
        "chat (one answer per update, plus answerCallbackQuery per press: the issue's count), "
        f"{attendee} with the organisers' card; "
        f"whole testimonial: {sum(n for _, n, _ in rows)} calls"
    )
    print_table(
        "Three paragraphs and two corrections: calls in the attendee's chat",
        ["correcting step", "calls"],
        correcting,
    )
    print(
        f"\ncorrecting attendee ({len(CORRECTING_STEPS)} updates): "
        f"{sum(n for _, n in correcting)} calls in the attendee's chat"
    )
    print_table("What their screen shows at the end", ["screen", "count"], screen.items())


if __name__ == "__main__":
    main()
