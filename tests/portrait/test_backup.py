"""A backup keeps the photos it names beside it, and only as long as it keeps the rest."""

from __future__ import annotations

import stat
from pathlib import Path

from bot.cli.backup import make_backup, prune
from storage.portraits import portraits_dir
from tests.portrait.images import files_in, phone_photo
from tests.support import Harness


async def test_a_backup_keeps_the_photos_it_names_as_long_as_itself(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    p = h.person()
    await p.reach_preview(photo=phone_photo())
    await p.press("Send")
    [mine] = await h.repo.list_for_user(p.id)
    backups = tmp_path / "backups"
    backups.mkdir()
    first = await make_backup(h.settings.database, backups)
    assert first.photos == 1
    [kept] = files_in(portraits_dir(first.path))
    assert kept.name == mine.portrait
    assert kept.read_bytes() == (portraits_dir(h.settings.database) / kept.name).read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(portraits_dir(first.path).stat().st_mode) == 0o700
    # Forgotten: the next backup holds no photo; the older one keeps its own until pruned.
    await p.send("/forget")
    await p.press("Yes")
    await h.settle()
    second = await make_backup(h.settings.database, backups / "latest.db")
    assert second.photos == 0 and files_in(portraits_dir(second.path)) == []
    assert files_in(portraits_dir(first.path)) == [kept]
    assert prune(backups, 0) == [first.path]
    assert not portraits_dir(first.path).exists() and not first.path.exists()
    # A fixed name replaced by a later backup: its folder is replaced too (nothing stale).
    third = await make_backup(h.settings.database, backups / "latest.db")
    assert third.path == second.path and files_in(portraits_dir(third.path)) == []
    assert sorted(p.name for p in backups.iterdir()) == ["latest.db"]
