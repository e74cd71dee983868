"""The repository: the one object through which the bot reads and writes its database.

``Repository`` is composed of one store per aggregate (``storage/stores/``), each a short
module with the SQL of its tables. It inherits them rather than holding them: the bot keeps
one object with every method (``repo.submit(...)``, ``repo.decide(...)``), no method is
written twice to forward it, and each store stays readable, and usable, on its own. No two
stores define the same name (``tests/storage/test_stores.py``). The inbox of updates is not
part of it: it belongs to the update pipeline (``storage.inbox``).
"""

from __future__ import annotations

from storage.stores.asked import AskedStore
from storage.stores.book import BookStore
from storage.stores.bulk import BulkStore
from storage.stores.drafts import DraftStore
from storage.stores.moderation import ModerationStore
from storage.stores.outbox import OutboxStore
from storage.stores.people import PeopleStore
from storage.stores.portraits import PortraitStore
from storage.stores.prompts import PromptStore
from storage.stores.reads import ReadStore
from storage.stores.relay import RelayStore
from storage.stores.review import ReviewStore
from storage.stores.state import StateStore
from storage.stores.submissions import SubmissionStore
from storage.stores.waiting import WaitingStore
from storage.stores.wall import WallStore


class Repository(
    PeopleStore,
    DraftStore,
    SubmissionStore,
    ReadStore,
    ModerationStore,
    WaitingStore,
    PromptStore,
    ReviewStore,
    BulkStore,
    RelayStore,
    OutboxStore,
    BookStore,
    StateStore,
    WallStore,
    PortraitStore,
    AskedStore,
):
    """Testimonials, people, the publication outbox, organisers' prompts, approvals and
    reviews, the book, the bot's own state and what the wall shows, on one ``Database``
    (``Repository(db)``)."""
