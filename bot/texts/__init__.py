"""Every sentence the bot says: ``en.toml``, ``fr.toml`` (loaded by ``bot.services.texts``)."""
