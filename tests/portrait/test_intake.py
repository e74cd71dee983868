"""The portrait in the attendee's conversation: after the words, one photo or Skip; what is
kept of it (once, beside the database, private, no metadata); a second photo replaces the
first only when asked; a file or an album is not a portrait."""

from __future__ import annotations

import stat

from storage.models import Step
from storage.portraits import portraits_dir
from tests.portrait.images import assert_clean, files_in, phone_photo
from tests.support import Harness, Person


async def at_photo_step(p: Person) -> None:
    await p.reach_quote()
    await p.send("Wonderful day.")
    await p.press("Done")


async def test_a_photo_is_downloaded_once_kept_clean_and_private_and_previewed(
    harness: Harness,
) -> None:
    h = harness
    p = h.person()
    await at_photo_step(p)
    assert h.fake.buttons(p.id) == [("Skip", f"in:noportrait:{(await h.repo.get_draft(p.id)).id}")]  # type: ignore[union-attr]
    replies = await p.send(kind="photo", photo=phone_photo())
    assert "Got your photo" in replies[-1]["text"] and "Do you agree" in replies[-1]["text"]
    # Downloaded once: one getFile, one file from the file server.
    assert len(h.fake.calls("getFile")) == 1 and len(h.fake.downloads) == 1
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.CONSENT and draft.portrait is not None
    folder = portraits_dir(h.settings.database)
    [kept] = files_in(folder)
    assert kept.name == draft.portrait and str(p.id) not in kept.name
    # The database's modes: the file 0600, its folder 0700.
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # Upright (the phone's orientation applied), within 1,280 pixels, no EXIF or GPS.
    assert assert_clean(kept.read_bytes(), 1280) == (960, 1280)
    # The preview shows it, as it will be published, above the text.
    replies = await p.press("Yes, I agree")
    [photo] = [m for m in replies if m["photo"] is not None]
    assert photo["photo"] == kept.read_bytes() and photo["text"] == "Your photo"
    assert "exactly as it will appear" in replies[-1]["text"]
    assert ("📷 Photo", f"in:portrait:{draft.id}") in h.fake.buttons(p.id)
    await p.press("Send")
    [pending] = await h.repo.list_for_user(p.id)
    assert pending.portrait == kept.name and files_in(folder) == [kept]


async def test_a_caption_at_the_photo_step_is_not_lost_silently(harness: Harness) -> None:
    p = harness.person()
    await at_photo_step(p)
    [answer] = (await p.send("And thanks to the cooks!", kind="photo"))[-1:]
    assert "Its caption is not part of your testimonial" in answer["text"]
    draft = await harness.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "Wonderful day." and draft.portrait


async def test_skip_goes_on_without_a_photo(harness: Harness) -> None:
    p = harness.person()
    await at_photo_step(p)
    replies = await p.press("Skip")
    assert "Do you agree" in replies[-1]["text"]
    draft = await harness.repo.get_draft(p.id)
    assert draft is not None and draft.portrait is None and draft.step is Step.CONSENT
    assert harness.fake.calls("getFile") == []


async def test_a_second_photo_replaces_the_first_only_when_asked(harness: Harness) -> None:
    h = harness
    p = h.person()
    folder = portraits_dir(h.settings.database)
    await p.reach_preview(photo=phone_photo(colour=(255, 0, 0)))
    first = (await h.repo.get_draft(p.id)).portrait  # type: ignore[union-attr]
    replies = await p.send(kind="photo", photo=phone_photo(colour=(0, 0, 255)))
    assert replies[-1]["text"] == "You already sent a photo. Replace it with this one?"
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.portrait == first and draft.portrait_offer is not None
    assert {f.name for f in files_in(folder)} == {first, draft.portrait_offer}
    # Keep the first: the second is not kept anywhere.
    replies = await p.press("Keep the first")
    assert "The first photo stays." in replies[0]["text"]
    assert [f.name for f in files_in(folder)] == [first]
    # A third, and Replace: the first goes.
    await p.send(kind="photo", photo=phone_photo(colour=(0, 255, 0)))
    offered = (await h.repo.get_draft(p.id)).portrait_offer  # type: ignore[union-attr]
    replies = await p.press("Replace it")
    assert "Photo replaced." in replies[0]["text"]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.portrait == offered and draft.portrait_offer is None
    assert [f.name for f in files_in(folder)] == [offered]
    assert draft.step is Step.PREVIEW
    # The preview's Photo button: remove it, and the file goes.
    await p.press("📷 Photo")
    await p.press("No photo")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.portrait is None and draft.step is Step.PREVIEW
    assert files_in(folder) == []


async def test_a_file_or_an_album_is_not_a_portrait(harness: Harness) -> None:
    h = harness
    p = h.person()
    await at_photo_step(p)
    [answer] = await p.send(kind="document")
    assert answer["text"].startswith("That's a file, not a photo")
    assert h.fake.buttons(p.id, answer["message_id"])[0][0] == "Skip"
    # An album: answered once, nothing taken.
    replies = []
    for _ in range(3):
        replies += await p.send(kind="photo", media_group_id="album-1")
    assert [r["text"] for r in replies] == [
        "One photo only, please: send the one you prefer on its own."
    ]
    [answer] = await p.send("Here is more text")
    assert answer["text"] == "This step takes a photo: send one, or tap Skip."
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.portrait is None and draft.step is Step.PORTRAIT
    assert h.fake.calls("getFile") == []
    assert files_in(portraits_dir(h.settings.database)) == []


async def test_cancelling_or_starting_again_deletes_the_photo(harness: Harness) -> None:
    h = harness
    folder = portraits_dir(h.settings.database)
    p = h.person()
    await p.reach_preview(photo=phone_photo())
    assert len(files_in(folder)) == 1
    await p.press("Cancel")
    await p.press("Yes")
    assert files_in(folder) == []


async def test_in_french(harness: Harness) -> None:
    p = harness.person("Zoé", language_code="fr")
    await p.send("/start")
    await p.press("Utiliser «")
    await p.press("Passer")
    await p.send("Une belle journée.")
    [asked] = (await p.press("Terminé"))[-1:]
    assert "Souhaitez-vous ajouter une photo\u202f? Un portrait" in asked["text"]
    [kept] = (await p.send(kind="photo"))[-1:]
    assert kept["text"].startswith("Photo reçue\u00a0: elle paraîtra avec votre témoignage.")
    await p.send(kind="photo")
    [choice] = harness.fake.buttons(p.id)[:1]
    assert choice[0] == "La remplacer"
