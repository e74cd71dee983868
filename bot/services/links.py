"""The t.me link of a channel post: the one rule for the author's "it is published"
message, the organisers' card and the exports (CSV, JSON), so that everyone gets the same
link.

The public link (``t.me/<username>/<id>``, opens for everyone) whenever the channel has a
public username: the one in ``LIVREDOR_CHANNEL_ID`` when it is given as ``@name``, else the
one Telegram tells at start (getChat), which the bot keeps in the database
(``USERNAME_KEY``) so that ``livredor export`` run without Telegram knows it too. A private
channel's posts only have ``t.me/c/<id>/<n>``, which opens for its members only.
"""

from __future__ import annotations

#: Where the running bot keeps the channel's public username (``bot_state``).
USERNAME_KEY = "channel.username"
_PRIVATE = "https://t.me/c/"


def post_link(
    channel: str | int | None, message_id: int, username: str | None = None
) -> str | None:
    """Return the link of a channel message (None: the channel id has no link form).

    ``channel``: ``LIVREDOR_CHANNEL_ID`` (``@name``, ``name``, ``https://t.me/name`` or a
    ``-100...`` id); ``username``: the channel's public username as Telegram tells it.
    """
    if username:
        return f"https://t.me/{username.lstrip('@')}/{message_id}"
    if channel is None:
        return None
    text = str(channel).strip().removeprefix("https://t.me/").removeprefix("@")
    if not text.lstrip("-").isdigit():
        return f"https://t.me/{text}/{message_id}" if text else None
    if text.startswith("-100"):
        return f"{_PRIVATE}{text[4:]}/{message_id}"
    return None


def is_private_link(link: str) -> bool:
    """Return whether a channel link opens for the channel's members only."""
    return link.startswith(_PRIVATE)
