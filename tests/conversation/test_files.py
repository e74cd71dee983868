"""Files and albums sent instead of text (issue 21, item 8): a file's caption is never taken
for the testimonial, and the attendee is told to paste the text."""

from __future__ import annotations

from storage.models import Step
from tests.support import Harness


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
