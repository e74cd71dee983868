"""Issue 21, items 6 and 7: an edited message corrects the field it answered whatever step is
open (and says so), a reply to an earlier question corrects that question's field or is
refused with a sentence; neither ever lands in the field open now."""

from __future__ import annotations

from storage.models import Status, Step
from tests.support import Harness, Person

NBSP = "\u00a0"


def asking(p: Person, words: str) -> int:
    """The id of the bot's latest message that contains ``words``."""
    return int([m for m in p.h.fake.messages(p.id) if words in m["text"]][-1]["message_id"])


async def test_an_edited_name_is_applied_at_the_organisation_step(harness: Harness) -> None:
    h = harness
    p = h.person("Jean", last_name=None, language_code="fr")
    await p.send("/start")
    await p.send("Jean DUPON")
    name_message = p.last_user_message_id()
    # The organisation question is open: the name's edit is the same field, before the
    # preview; it is applied, said with its value, and the open question follows.
    replies = await p.edit(name_message, "Jean DUPOND")
    assert len(replies) == 1
    said = replies[0]["text"]
    assert said.startswith(f"Nom corrigé{NBSP}: Jean DUPOND\n\nIndiquez votre fonction")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Jean DUPOND" and draft.step is Step.ORGANISATION
    await p.send("ACME")
    org_message = p.last_user_message_id()
    await p.send("Premier paragraphe.")
    first = p.last_user_message_id()
    await p.send("Second paragraphe.")
    # At the testimonial step: the organisation corrected, the live Done button offered
    # again, the testimonial's question not asked again (the words would come twice).
    replies = await p.edit(org_message, "ACME\nLille")
    assert [r["text"] for r in replies] == [f"Organisation corrigée{NBSP}: ACME, Lille"]
    assert [t for t, _ in h.fake.buttons(p.id, replies[0]["message_id"])] == ["Terminé"]
    await p.press("Terminé")
    await p.press("Passer")
    # At the consent question: a paragraph's edit is applied, the question asked again.
    replies = await p.edit(first, "Premier paragraphe, corrigé.")
    assert "J’ai mis à jour ce passage" in replies[0]["text"]
    assert "Acceptez-vous" in replies[0]["text"]
    await p.press("Oui, j’accepte")
    preview = p.texts()[-1]
    assert "Jean DUPOND\nACME\nLille" in preview and "Premier paragraphe, corrigé." in preview
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.PREVIEW
    assert (draft.name, draft.organisation) == ("Jean DUPOND", "ACME\nLille")
    assert draft.quote == "Premier paragraphe, corrigé.\n\nSecond paragraphe."


async def test_an_edited_name_is_applied_while_the_signature_is_asked(harness: Harness) -> None:
    # Reported as "too late" by an earlier session (edits were bound to a list of steps);
    # the signature step is a step like any other until Send.
    h = harness
    p = h.person()
    await p.send("/start")
    await p.send("Ada LOVELACE")
    name_message = p.last_user_message_id()
    await p.send("Analytical Engine Society")
    await p.send("Wonderful day.")
    await p.press("Done")
    await p.press("Skip")
    await p.press("Yes, I agree")
    [asked] = await p.press("Sign differently")
    assert [t for t, _ in h.fake.buttons(p.id, asked["message_id"])][:2] == [
        "✓ Ada LOVELACE",
        "Ada L.",
    ]
    replies = await p.edit(name_message, "Ada KING")
    # Said with its value, and the signature question again, with the new name's choices;
    # the old question's choices go (one live set of buttons).
    [said] = replies
    assert said["text"].startswith("Name corrected: Ada KING\n\nHow should your testimonial")
    assert [t for t, _ in h.fake.buttons(p.id, said["message_id"])][:2] == ["✓ Ada KING", "Ada K."]
    assert h.fake.buttons(p.id, asked["message_id"]) == []
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Ada KING" and draft.step is Step.SIGNATURE
    [signed] = await p.press("Ada K.")
    assert signed["text"].startswith("✅ Signed: Ada K.\n\nHere is your testimonial")
    assert "\nAda K.\nAnalytical Engine Society\n" in signed["text"]


async def test_edits_while_a_field_is_reopened_from_the_preview(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.send("/start")
    await p.send("Ada")
    name_message = p.last_user_message_id()
    await p.send("Org")
    await p.send("One.")
    paragraph = p.last_user_message_id()
    await p.press("Done")
    await p.press("Skip")
    await p.press("Yes, I agree")
    # "Edit organisation" is open; the name's edit is another field: applied, and the
    # organisation question (still open) is asked again.
    await p.press("Edit organisation")
    replies = await p.edit(name_message, "Ada LOVELACE")
    assert replies[-1]["text"].startswith("Name corrected: Ada LOVELACE\n\nYour role")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Ada LOVELACE"
    assert draft.step is Step.EDIT_ORGANISATION
    await p.send("Analytical Engine Society")
    # "Edit testimonial" is open: the paragraph's edit answers it, the preview comes back.
    await p.press("Edit testimonial")
    replies = await p.edit(paragraph, "One, corrected.")
    texts = [r["text"] for r in replies]
    assert "I've updated that part" in texts[0] and "exactly as it will appear" in texts[0]
    assert "Ada LOVELACE\nAnalytical Engine Society" in texts[0] and "One, corrected." in texts[0]
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.PREVIEW and draft.quote == "One, corrected."


async def test_an_edit_after_send_says_the_testimonial_cannot_change(harness: Harness) -> None:
    h = harness
    p = h.person(language_code="fr")
    await p.send("/start")
    await p.send("Ada")
    name_message = p.last_user_message_id()
    await p.send("Org")
    await p.send("Un.")
    await p.press("Terminé")
    await p.press("Passer")
    await p.press("Oui, j’accepte")
    await p.press("Envoyer")
    replies = await p.edit(name_message, "Ada KING")
    assert "déjà envoyé" in replies[0]["text"] and "/mine" in replies[0]["text"]
    # A new testimonial open meanwhile: the old message still belongs to the one sent.
    await p.send("/start")
    await p.press("En écrire un autre")
    replies = await p.edit(name_message, "Ada BYRON")
    assert "déjà envoyé" in replies[0]["text"] and "/mine" in replies[0]["text"]
    [pending] = await h.repo.list_by_status(Status.PENDING)
    assert pending.name == "Ada"
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == ""


async def test_a_reply_to_the_name_question_corrects_the_name(harness: Harness) -> None:
    h = harness
    p = h.person("Jean", last_name=None, language_code="fr")
    await p.send("/start")
    name_question = asking(p, "Quel nom")
    await p.send("Jean")
    await p.send("ACME")
    organisation_question = asking(p, "Indiquez votre fonction")
    await p.send("Premier paragraphe.")
    # The testimonial's question is open; the reply answers the name's.
    replies = await p.send("Jean DUPOND", reply_to=name_question)
    assert [r["text"] for r in replies] == [f"Nom corrigé{NBSP}: Jean DUPOND"]
    reply_message = p.last_user_message_id()
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Jean DUPOND" and draft.step is Step.QUOTE
    assert draft.quote == "Premier paragraphe."
    # The reply is now the name's answer: editing it corrects the name again.
    await p.edit(reply_message, "Jean DUPONT")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Jean DUPONT"
    assert draft.quote == "Premier paragraphe."
    # A reply to the testimonial's own question is a paragraph, as any message.
    testimonial_question = asking(p, "À vous maintenant")
    await p.send("Second paragraphe.", reply_to=testimonial_question)
    await p.press("Terminé")
    await p.press("Passer")
    # At the consent question, a reply to the testimonial's question is not added to it.
    replies = await p.send("Et encore ceci.", reply_to=testimonial_question)
    assert "je ne l’y ai pas ajouté" in replies[0]["text"] and "Acceptez-vous" in replies[0]["text"]
    await p.press("Oui, j’accepte")
    first_preview = asking(p, "Voici votre témoignage")
    # At the preview: more words for the testimonial, kept aside and asked about.
    replies = await p.send("Et encore ceci.", reply_to=testimonial_question)
    assert "Ajouter ce que vous venez d’écrire" in replies[-1]["text"]
    await p.press("Non")
    # A reply to the organisation's question, and a fresh preview.
    replies = await p.send("ACME\nLille", reply_to=organisation_question)
    assert replies[0]["text"].startswith(f"Organisation corrigée{NBSP}: ACME, Lille\n\nVoici")
    assert "Jean DUPONT\nACME\nLille" in replies[0]["text"]
    # The name reopened: a reply to the older preview (answered with buttons) is not the
    # name; it is kept nowhere, and the name's question comes again.
    await p.press("Modifier le nom")
    replies = await p.send("Parfait", reply_to=first_preview)
    assert replies[0]["text"].startswith(
        f"Votre message répond à une question qui n’est plus ouverte{NBSP}: je ne l’ai ajouté"
        " nulle part.\n\nQuel nom"
    )
    await p.send("Jean DUPONT")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.step is Step.PREVIEW
    assert (draft.name, draft.organisation) == ("Jean DUPONT", "ACME\nLille")
    assert draft.quote == "Premier paragraphe.\n\nSecond paragraphe."


async def test_a_reply_to_a_question_of_a_draft_started_again(harness: Harness) -> None:
    h = harness
    p = h.person()
    await p.send("/start")
    old_name_question = asking(p, "What name")
    await p.send("Ada")
    await p.send("/start")
    await p.press("Start again")
    # The new draft's name question is open: the old one asks the same, an answer.
    await p.send("Ada LOVELACE", reply_to=old_name_question)
    await p.send("Org")
    # At the testimonial: the old question still asks for the name.
    replies = await p.send("Ada KING", reply_to=old_name_question)
    assert replies[-1]["text"].startswith("Name corrected: Ada KING")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Ada KING" and draft.quote == ""
    # Refused, with the question still open after it; a refused reply corrected by an
    # edit is taken then.
    replies = await p.send("x" * 200, reply_to=old_name_question)
    assert "200" in replies[0]["text"]
    refused = p.last_user_message_id()
    await p.send("Words.")
    await p.edit(refused, "Ada BYRON")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Ada BYRON" and draft.quote == "Words."


async def test_a_reply_survives_a_restart(harness: Harness) -> None:
    # Which message asked what is in the database: the same after a restart.
    h = harness
    p = h.person()
    await p.send("/start")
    name_question = asking(p, "What name")
    await p.send("Ada")
    await p.send("Org")
    await h.restart()
    await p.send("Ada LOVELACE", reply_to=name_question)
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Ada LOVELACE" and draft.quote == ""


async def test_a_photo_replying_to_the_name_question_gives_its_caption_to_the_name(
    harness: Harness,
) -> None:
    h = harness
    p = h.person()
    await p.reach_quote()
    await p.send("Words.")
    name_question = asking(p, "What name")
    replies = await p.send("Ada KING", kind="photo", reply_to=name_question)
    assert replies[0]["text"].startswith("Name corrected: Ada KING")
    draft = await h.repo.get_draft(p.id)
    assert draft is not None and draft.name == "Ada KING" and draft.quote == "Words."
