"""Files and albums sent instead of text (issue 21, item 8): a file's caption is never taken
for the testimonial, and the attendee is told to paste the text."""

from __future__ import annotations

from storage.models import Step
from tests.support import Harness, Person


async def test_a_document_with_a_caption_is_refused_with_paste_the_text(harness: Harness) -> None:
    h = harness
    p = h.person("Camille", language_code="fr")
    await p.send("/start")
    await p.send("Camille DURAND")
    await p.send("ANIS")
    replies = await p.send("Mon témoignage est dans le fichier.", kind="document")
    [answer] = [r["text"] for r in replies]
    assert answer.startswith("Je ne lis pas les fichiers joints")
    assert "copiez-en le texte et collez-le ici" in answer
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "" and draft.step is Step.QUOTE
    # The same at Edit testimonial: the quote kept as it was.
    p2 = h.person()
    await p2.reach_preview("A fine day.")
    await p2.press("Edit testimonial")
    replies = await p2.send("See the file.", kind="document")
    assert replies[0]["text"].startswith("I don't read attached files")
    draft = await h.repo.get_draft(p2.id)
    assert draft is not None and draft.quote == "A fine day."
    # A GIF's caption is kept as a photo's is (Telegram sends a GIF as a document too).
    p3 = h.person()
    await p3.reach_quote()
    replies = await p3.send("So much fun.", kind="animation")
    assert "I kept the caption" in replies[0]["text"]


async def album(h: Harness, p: Person, captions: list[str | None], group: str) -> list[str]:
    """Send an album (one message per photo, sent at once); return the bot's answers."""
    before = len(h.fake.messages(p.id))
    for caption in captions:
        h.fake.user_sends(p.id, caption, kind="photo", media_group_id=group)
    await h.settle()
    return [m["text"] for m in h.fake.messages(p.id)[before:]]


async def test_an_album_is_answered_once(harness: Harness) -> None:
    h = harness
    p = h.person("Camille", language_code="fr")
    await p.send("/start")
    # At the name step: one "text please", not three.
    [answer] = await album(h, p, [None, None, None], "album-1")
    assert answer.startswith("À cette étape, j’attends une réponse écrite.")
    await p.send("Camille DURAND")
    await p.send("ANIS")
    # At the testimonial step, the caption on the first photo is kept, the photos are not.
    [answer] = await album(h, p, ["Quelle journée !", None, None], "album-2")
    assert answer.startswith("J’ai gardé la légende de votre photo comme texte")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "Quelle journée !"
    # Without a caption: one answer.
    [answer] = await album(h, p, [None, None], "album-3")
    assert answer.startswith("À cette étape, j’attends une réponse écrite.")
    # Files sent together: one "paste the text".
    before = len(h.fake.messages(p.id))
    for caption in ("Mon témoignage est dans le fichier.", None):
        h.fake.user_sends(p.id, caption, kind="document", media_group_id="album-4")
    await h.settle()
    [answer] = [m["text"] for m in h.fake.messages(p.id)[before:]]
    assert answer.startswith("Je ne lis pas les fichiers joints")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.quote == "Quelle journée !"
