"""Portraits benchmark: publishing testimonials with a photo, against the same without.

    .venv/bin/python -m tests.bench.portraits            # 100 testimonials each way
    .venv/bin/python -m tests.bench.portraits --quick    # 20

The real bot in process (``tests.support.Harness``: real PTB, a real SQLite file) against the
fake Telegram, Telegram's group and channel limit of 20 messages with a one-second window
(instead of a minute). N attendees go through the conversation, each with a phone photo
(2,000 x 1,500 pixels, with EXIF and GPS) at the photo step, and send; once every card is
out, the organiser approves them all at once and the publisher drains them into the channel.
The baseline, in the same process and run, is the same N testimonials with Skip at the photo
step. The photos are noise: a worst case (noise compresses far worse than a real photo).
Printed for each: the time from the first Approve to the last post recorded, the Bot API
calls it took, the process's peak RSS over the whole run (submission included), and the
disk: the database (with its WAL) and the portraits' folder beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from storage.models import Status
from storage.portraits import portraits_dir
from tests.bench.common import machine_banner, peak_rss_mb, print_table, reset_peak_rss
from tests.support import CHANNEL_ID, GROUP_ID, ORGANISER_ID, Harness, make_fake, make_settings


def phone_photo(seed: int) -> bytes:
    """A 2,000 x 1,500 JPEG as a phone takes it (noise: it compresses like a photo)."""
    image = Image.effect_noise((2000, 1500), 40 + seed % 20).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (50.0, 37.0, 45.0), 3: "E", 4: (3.0, 3.0, 26.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=88)
    return out.getvalue()


def disk_kib(database: Path) -> tuple[float, float]:
    """(database with its -wal, the portraits' folder) in KiB."""
    db = sum(p.stat().st_size for p in (database, Path(f"{database}-wal")) if p.exists())
    folder = portraits_dir(database)
    photos = sum(p.stat().st_size for p in folder.iterdir()) if folder.is_dir() else 0
    return db / 1024, photos / 1024


@dataclass
class Run:
    """One run's figures."""

    name: str
    posts: int
    with_photo: int
    seconds: float
    calls: int
    peak_rss_mb: float
    db_kib: float
    photos_kib: float
    fake_mb: float  # the photos the fake keeps (it is in this process): part of the RSS

    def row(self) -> list[object]:
        return [
            self.name,
            self.posts,
            self.with_photo,
            round(self.seconds, 2),
            self.calls,
            round(self.peak_rss_mb, 1),
            round(self.db_kib, 1),
            round(self.photos_kib, 1),
            round(self.fake_mb, 1),
        ]


async def one_run(n: int, with_photos: bool, photos: list[bytes]) -> Run:
    """Submit N testimonials (with or without a photo), approve all, drain; return the row."""
    gc.collect()
    reset_peak_rss()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "livredor.db"
        fake = make_fake()
        h = Harness(fake, make_settings(database))
        await h.start()
        try:
            for i in range(n):
                p = h.person(f"Attendee{i}", last_name="LASTNAME")
                photo = photos[i % len(photos)] if with_photos else None
                await p.reach_preview(f"Testimonial number {i}: a fine day.", photo=photo)
                await p.press("Send")
            await h.settle(timeout=600)  # every card out, at the group's pace
            assert await h.repo.list_for_book("date") == [], "nothing approved yet"
            approvals = [
                (m["message_id"], data)
                for m in fake.messages(GROUP_ID)
                for _, data in fake.buttons(GROUP_ID, m["message_id"])
                if data is not None and data.startswith("mod:approve:")
            ]
            assert len(approvals) == n, len(approvals)
            calls_before = len(fake.requests)
            started = time.perf_counter()
            for message_id, data in approvals:
                fake.user_presses(ORGANISER_ID, GROUP_ID, message_id, data)
            # Done when the database says every one is published (its last post recorded).
            await h.wait_async(
                lambda: h.repo.list_by_status(Status.PUBLISHED, limit=n),
                lambda rows: len(rows) >= n,
                timeout=600,
            )
            seconds = time.perf_counter() - started
            await h.settle(timeout=600)
            calls = len([r for r in fake.requests[calls_before:] if r.method != "getUpdates"])
            posts = fake.messages(CHANNEL_ID)
            with_photo = sum(1 for m in posts if m["photo"] is not None)
            db_kib, photos_kib = disk_kib(database)
            # What the fake holds of the photos the bot sent it (preview, card, post), counted
            # once per bytes object: in this process's RSS, but not the bot's.
            held = {
                id(m["photo"]): len(m["photo"])
                for chat in (GROUP_ID, CHANNEL_ID, *range(1001, 1001 + n))
                for m in fake.messages(chat)
                if m["photo"] is not None
            }
            fake_mb = sum(held.values()) / 1024 / 1024
        finally:
            await h.stop()
            await fake.aclose()
    return Run(
        "with a photo" if with_photos else "baseline: no photo",
        len(posts),
        with_photo,
        seconds,
        calls,
        peak_rss_mb(),
        db_kib,
        photos_kib,
        fake_mb,
    )


async def measure(n: int) -> list[Run]:
    photos = [phone_photo(seed) for seed in range(5)]
    baseline = await one_run(n, False, photos)
    portraits = await one_run(n, True, photos)
    return [baseline, portraits]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--testimonials", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 testimonials")
    args = parser.parse_args()
    n = 20 if args.quick else args.testimonials
    print(machine_banner("portraits: publishing testimonials with a photo"))
    baseline, portraits = asyncio.run(measure(n))
    headers = ["run", "posts", "with a photo", "publish s", "calls", "peak RSS MB", "db KiB"]
    print_table(
        f"{n} testimonials approved at once, drained into the channel (20 a second)",
        [*headers, "photos KiB", "fake's copies MB"],
        [baseline.row(), portraits.row()],
    )
    print(
        f"\nwith photos x baseline: publish time {portraits.seconds / baseline.seconds:.2f}, "
        f"calls {portraits.calls / baseline.calls:.2f}, "
        f"peak RSS {portraits.peak_rss_mb / baseline.peak_rss_mb:.2f}; "
        f"photos on disk {portraits.photos_kib / n:.1f} KiB each"
    )


if __name__ == "__main__":
    main()
