"""What Telegram updates reach: the attendee conversation, moderation, account commands."""
