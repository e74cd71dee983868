"""The schema, as an ordered list of steps keyed by ``PRAGMA user_version``.

Step N brings a database at version N-1 to version N, in one transaction. Never edit a step
that has shipped: append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1: users, testimonials (the draft row is the conversation state), the outbox.
    [
        """
        CREATE TABLE users (
            user_id     INTEGER PRIMARY KEY,
            first_name  TEXT NOT NULL DEFAULT '',
            last_name   TEXT,
            username    TEXT,
            language    TEXT,
            banned      INTEGER NOT NULL DEFAULT 0,
            blocked_bot INTEGER NOT NULL DEFAULT 0,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE testimonials (
            -- AUTOINCREMENT: ids are in buttons (mod:approve:42) and must never be reused.
            id                  INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id             INTEGER REFERENCES users(user_id) ON DELETE SET NULL,
            status              TEXT NOT NULL CHECK (status IN ('draft', 'pending', 'approved',
                                  'publishing', 'published', 'rejected', 'withdrawn')),
            step                TEXT,
            language            TEXT NOT NULL,
            name                TEXT NOT NULL DEFAULT '',
            organisation        TEXT NOT NULL DEFAULT '',
            quote               TEXT NOT NULL DEFAULT '',
            start_payload       TEXT,
            consent_at          TEXT,
            consent_text        TEXT,
            created_at          TEXT NOT NULL,
            updated_at          TEXT NOT NULL,
            submitted_at        TEXT,
            decided_at          TEXT,
            decided_by          INTEGER,
            decided_by_name     TEXT,
            reject_reason       TEXT,
            approved_seq        INTEGER UNIQUE,
            published_at        TEXT,
            channel_message_ids TEXT NOT NULL DEFAULT '[]',
            card_message_ids    TEXT NOT NULL DEFAULT '[]',
            source              TEXT NOT NULL DEFAULT 'bot',
            import_key          TEXT UNIQUE,
            author_name         TEXT,
            author_username     TEXT,
            quote_parts         TEXT NOT NULL DEFAULT '[]',
            answer_messages     TEXT NOT NULL DEFAULT '{}'
        )
        """,
        # At most one open draft per person: the row every private message is routed to.
        "CREATE UNIQUE INDEX testimonials_one_draft ON testimonials(user_id) "
        "WHERE status = 'draft'",
        "CREATE INDEX testimonials_status ON testimonials(status, id)",
        "CREATE INDEX testimonials_user ON testimonials(user_id, status)",
        """
        CREATE TABLE outbox (
            id             INTEGER PRIMARY KEY,
            testimonial_id INTEGER NOT NULL REFERENCES testimonials(id) ON DELETE CASCADE,
            action         TEXT NOT NULL CHECK (action IN ('publish', 'unpublish')),
            created_at     TEXT NOT NULL,
            attempts       INTEGER NOT NULL DEFAULT 0,
            done_at        TEXT
        )
        """,
        "CREATE INDEX outbox_open ON outbox(id) WHERE done_at IS NULL",
    ],
    # 2: what an organiser is in the middle of (typing a rejection reason, correcting a field):
    # state in the database, like the attendee's draft.
    [
        """
        CREATE TABLE moderator_prompts (
            chat_id        INTEGER NOT NULL,
            user_id        INTEGER NOT NULL,
            testimonial_id INTEGER NOT NULL REFERENCES testimonials(id) ON DELETE CASCADE,
            action         TEXT NOT NULL,
            created_at     TEXT NOT NULL,
            PRIMARY KEY (chat_id, user_id)
        )
        """,
    ],
    # 3: an integer version for compare-and-set (it was updated_at plus a microsecond bump).
    # A draft's quote is its parts joined (no longer stored twice): the quote column is
    # filled at submission, when the draft's bookkeeping (parts, answering messages) goes.
    [
        "ALTER TABLE testimonials ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        "UPDATE testimonials SET quote_parts = json_array(quote)"
        " WHERE status = 'draft' AND quote != '' AND quote_parts = '[]'",
        "UPDATE testimonials SET quote = '' WHERE status = 'draft'",
        "UPDATE testimonials SET quote_parts = '[]', answer_messages = '{}'"
        " WHERE status != 'draft'",
    ],
    # 4: the inbox (every update is committed here before Telegram may consider it delivered,
    # handled from here and marked done; replayed at start if not done), and what the bot
    # knows it told the attendee: the draft version whose question Telegram confirmed
    # (``asked_version``, compared with ``version``) and the message carrying the live buttons.
    [
        """
        CREATE TABLE inbox (
            update_id   INTEGER PRIMARY KEY,
            payload     TEXT NOT NULL,
            received_at TEXT NOT NULL,
            attempts    INTEGER NOT NULL DEFAULT 0,
            done_at     TEXT
        )
        """,
        "CREATE INDEX inbox_open ON inbox(update_id) WHERE done_at IS NULL",
        "ALTER TABLE testimonials ADD COLUMN asked_version INTEGER",
        "ALTER TABLE testimonials ADD COLUMN prompt_message_id INTEGER",
    ],
    # 5: whether a testimonial's card is completely out (a multi-part card is recorded part by
    # part and resumed where it stopped); the card sender finds missing cards by index.
    [
        "ALTER TABLE testimonials ADD COLUMN card_done INTEGER NOT NULL DEFAULT 0",
        "UPDATE testimonials SET card_done = 1 WHERE card_message_ids != '[]'",
        "CREATE INDEX testimonials_cards_to_send ON testimonials(id)"
        " WHERE status = 'pending' AND card_done = 0",
    ],
    # 6: a ready-made rejection reason is kept as its text key too (``reasons.<key>``), so
    # that its author reads it in their own language; reject_reason keeps the organisers'.
    ["ALTER TABLE testimonials ADD COLUMN reject_reason_key TEXT"],
    # 7: an organiser's prompt (typed reason, correction) is keyed on the bot's prompt message
    # (the answer must reply to it: anonymous admins share one sender id) and expires.
    [
        "DROP TABLE moderator_prompts",
        """
        CREATE TABLE moderator_prompts (
            chat_id        INTEGER NOT NULL,
            message_id     INTEGER NOT NULL,
            user_id        INTEGER NOT NULL,
            testimonial_id INTEGER NOT NULL REFERENCES testimonials(id) ON DELETE CASCADE,
            action         TEXT NOT NULL,
            expires_at     TEXT NOT NULL,
            PRIMARY KEY (chat_id, message_id)
        )
        """,
    ],
    # 8: the review queue in organisers' private chats (/review). A testimonial shown to one
    # organiser is claimed by them until ``claimed_until`` (so two never get the same one; an
    # organiser who walks away loses it after a few minutes); Skip releases it and records
    # who skipped it, last in that organiser's queue. ``bot_state`` keeps what the bot must
    # remember across restarts about the group: its summary message, its last reminder.
    [
        "ALTER TABLE testimonials ADD COLUMN claimed_by INTEGER",
        "ALTER TABLE testimonials ADD COLUMN claimed_until TEXT",
        "ALTER TABLE testimonials ADD COLUMN skipped_by INTEGER",
        "ALTER TABLE testimonials ADD COLUMN skipped_at TEXT",
        """
        CREATE TABLE bot_state (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )
        """,
    ],
    # 9: which message of an organiser's private chat shows which testimonial (/review and
    # its "Read all" parts), so that an author's /forget or withdrawal erases their words
    # there too. A row moves when its message is edited to another testimonial and goes when
    # the message stops showing one. No foreign key: a row outlives its testimonial until
    # its message is erased (a /forget cut short finds it at its replay). ``live``: the
    # message carrying the review's buttons (edited to a neutral text on erasure; the others
    # are deleted). ``lang``: the organiser's language.
    [
        """
        CREATE TABLE review_messages (
            chat_id        INTEGER NOT NULL,
            message_id     INTEGER NOT NULL,
            testimonial_id INTEGER NOT NULL,
            live           INTEGER NOT NULL,
            lang           TEXT NOT NULL,
            PRIMARY KEY (chat_id, message_id)
        )
        """,
        "CREATE INDEX review_messages_testimonial ON review_messages(testimonial_id)",
    ],
    # 10: an update the bot cannot read (a Bot API server of another version sent a shape
    # python-telegram-bot refuses) is kept, marked done, with why: it is stepped over instead
    # of stopping every getUpdates, and `livredor check` reports it.
    [
        "ALTER TABLE inbox ADD COLUMN unreadable TEXT",
    ],
    # 11: the organisers who approved a pending testimonial so far (LIVREDOR_APPROVALS above
    # 1), a JSON list of {"id", "name", "at"}: read with the row, shown on its card.
    [
        "ALTER TABLE testimonials ADD COLUMN approvals TEXT NOT NULL DEFAULT '[]'",
    ],
    # 12: one clear screen for the attendee. ``prompt_kind`` says what the live prompt shows
    # (bot/services/questions.py: its buttons are removed, a preview's text folded, when a
    # newer prompt supersedes it); ``pending_addition`` keeps text typed at the preview until
    # the attendee says whether it joins the testimonial (never dropped silently).
    [
        "ALTER TABLE testimonials ADD COLUMN prompt_kind TEXT",
        "ALTER TABLE testimonials ADD COLUMN pending_addition TEXT",
    ],
    # 13: bulk approval in /review (a list of short testimonials, "Approve all", Undo) and
    # the organisers' messages to an author and the author's answers (relayed by the bot).
    # ``bulk_lists``: one list shown in an organiser's private chat; its ``state`` moves
    # shown -> waiting (pressed: the undo window runs from ``pressed_at``) -> committing ->
    # done, or waiting -> undone, or shown -> closed (the message moved on, or was erased).
    # ``bulk_items``: what the list showed, in order, with a digest of the words read (a
    # testimonial whose words changed since is left out). No foreign key to testimonials:
    # a list shown outlives its testimonial until its message is erased (/forget's replay).
    # ``author_messages``: every message the bot wrote for that exchange (in the author's
    # chat, and the author's answers in the group), so that the author's /forget erases them;
    # ``source_message_id``: the author's message an answer relays (relayed once).
    [
        """
        CREATE TABLE bulk_lists (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id    INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            user_id    INTEGER NOT NULL,
            user_name  TEXT NOT NULL,
            lang       TEXT NOT NULL,
            state      TEXT NOT NULL CHECK (state IN ('shown', 'waiting', 'committing', 'done',
                         'undone', 'closed')),
            created_at TEXT NOT NULL,
            pressed_at TEXT
        )
        """,
        "CREATE INDEX bulk_lists_open ON bulk_lists(state)"
        " WHERE state IN ('waiting', 'committing')",
        "CREATE INDEX bulk_lists_message ON bulk_lists(chat_id, message_id)",
        """
        CREATE TABLE bulk_items (
            list_id        INTEGER NOT NULL REFERENCES bulk_lists(id) ON DELETE CASCADE,
            position       INTEGER NOT NULL,
            testimonial_id INTEGER NOT NULL,
            digest         TEXT NOT NULL,
            left_out       INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (list_id, position)
        )
        """,
        "CREATE INDEX bulk_items_testimonial ON bulk_items(testimonial_id)",
        """
        CREATE TABLE author_messages (
            chat_id           INTEGER NOT NULL,
            message_id        INTEGER NOT NULL,
            author_id         INTEGER NOT NULL,
            testimonial_id    INTEGER,
            kind              TEXT NOT NULL CHECK (kind IN ('to_author', 'from_author')),
            source_message_id INTEGER,
            PRIMARY KEY (chat_id, message_id)
        )
        """,
        "CREATE INDEX author_messages_author ON author_messages(author_id)",
        "CREATE UNIQUE INDEX author_messages_source ON author_messages(author_id,"
        " source_message_id) WHERE source_message_id IS NOT NULL",
    ],
    # 14: how the attendee chose to sign in public (``Signature``): the channel, the wall and
    # the book show the name as given, first name and initial, or "a participant"; the
    # organisers always see the name given. Every existing row keeps its full name.
    [
        "ALTER TABLE testimonials ADD COLUMN signature TEXT NOT NULL DEFAULT 'full'"
        " CHECK (signature IN ('full', 'initial', 'anonymous', 'anonymous_org'))",
    ],
    # 15: an organiser's edit waits for its author's answer (LIVREDOR_EDITS_NEED_AUTHOR):
    # ``proposal`` holds the edited fields (JSON), ``proposal_message_id`` the author's
    # message that shows it (NULL: still to send, also after a restart). The words carry a
    # version, and the version the author agreed to is recorded beside their consent.
    [
        "ALTER TABLE testimonials ADD COLUMN proposal TEXT",
        "ALTER TABLE testimonials ADD COLUMN proposal_message_id INTEGER",
        "ALTER TABLE testimonials ADD COLUMN words_version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE testimonials ADD COLUMN agreed_words_version INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX testimonials_proposals_to_send ON testimonials(id)"
        " WHERE status = 'pending' AND proposal IS NOT NULL AND proposal_message_id IS NULL",
    ],
    # 16: what a replay after a crash must recognise. ``created_by_update``: the update that
    # opened a draft (/start, Start again), so that this update handled again answers as the
    # first time instead of finding "a testimonial in progress". ``submission_confirmed``:
    # whether Telegram accepted the "Sent, thank you" (0 from Send until then), so that a
    # submission whose thanks never arrived is confirmed after a restart. Rows of before
    # were confirmed as far as anyone knows.
    [
        "ALTER TABLE testimonials ADD COLUMN created_by_update INTEGER",
        "ALTER TABLE testimonials ADD COLUMN submission_confirmed INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX testimonials_unconfirmed ON testimonials(submitted_at)"
        " WHERE submission_confirmed = 0",
    ],
    # 17: the portrait (issue 24): the name of its file beside the database
    # (storage/portraits.py), a second photo waiting for the attendee to choose
    # (``portrait_offer``), the album already answered at the portrait step, and the
    # organisers' group message that shows the photo above the card.
    [
        "ALTER TABLE testimonials ADD COLUMN portrait TEXT",
        "ALTER TABLE testimonials ADD COLUMN portrait_offer TEXT",
        "ALTER TABLE testimonials ADD COLUMN album_answered TEXT",
        "ALTER TABLE testimonials ADD COLUMN card_photo_message_id INTEGER",
    ],
    # 18: which question each of the bot's messages in an attendee's chat asked (the open
    # step when it was sent or edited to carry the question), so that a reply to an earlier
    # question is taken as an answer to that question, never to the one open now; kept
    # across drafts (a reply may quote a question of a draft started again) and erased by
    # /forget. ``link_payload``: the deep link an attendee opened on an open draft, until
    # they choose to continue (the draft moves to it) or to start again (a new draft has it).
    [
        """
        CREATE TABLE asked_messages (
            user_id    INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            step       TEXT NOT NULL,
            PRIMARY KEY (user_id, message_id)
        ) WITHOUT ROWID
        """,
        "ALTER TABLE testimonials ADD COLUMN link_payload TEXT",
    ],
    # 19: the deep link of a /start answered with "Write another one" (one of the attendee's
    # testimonials waits for review) when it names no known session: the button's 64 bytes
    # carry only a session's index, so the link is kept with the offer's message until the
    # button opens the new testimonial with it; erased by /forget.
    [
        """
        CREATE TABLE offered_links (
            user_id    INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            payload    TEXT NOT NULL,
            PRIMARY KEY (user_id, message_id)
        ) WITHOUT ROWID
        """,
    ],
    # 20: the books /export sent to the organisers' group: each holds the words of everyone
    # approved then, so the /forget of one of them deletes it there too (or blanks it past
    # Telegram's 48 hours); /export makes a fresh one.
    [
        """
        CREATE TABLE group_exports (
            chat_id    INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            PRIMARY KEY (chat_id, message_id)
        ) WITHOUT ROWID
        """,
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
