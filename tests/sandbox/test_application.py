"""A whole PTB Application polling the fake in process: handlers, callbacks, updates."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import FakeRequest, FakeTelegram
from tests.sandbox.conftest import ALICE


def build(fake: FakeTelegram) -> Application:  # type: ignore[type-arg]
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        payload = " ".join(context.args or [])
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="consent:yes")]])
        await context.bot.send_message(
            update.effective_chat.id,
            f"<b>Welcome</b> ({payload})",
            parse_mode="HTML",
            reply_markup=markup,
        )

    async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Thanks")
        await query.edit_message_text("Consent recorded.")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text.upper(), do_quote=True)

    app = (
        ApplicationBuilder()
        .token(fake.token)
        .request(FakeRequest(fake))
        .get_updates_request(FakeRequest(fake))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(consent, pattern="^consent:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


async def test_polling_application(fake: FakeTelegram) -> None:
    app = build(fake)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=["message", "callback_query"]
        )
        try:
            fake.user_sends(ALICE, "/start from-poster")
            [welcome] = await fake.wait_for_messages(ALICE, 1)
            assert welcome["text"] == "Welcome (from-poster)"
            assert fake.buttons(ALICE) == [("Yes", "consent:yes")]

            query_id = fake.user_presses(ALICE, ALICE, welcome["message_id"], "consent:yes")
            await fake.wait_for(lambda: query_id in fake.callback_answers)
            await fake.wait_for(lambda: fake.last_message(ALICE)["text"] == "Consent recorded.")
            assert fake.callback_answers[query_id]["text"] == "Thanks"
            assert fake.buttons(ALICE) == []  # the edit dropped the keyboard

            fake.user_sends(ALICE, "hello")
            await fake.wait_for(lambda: fake.last_message(ALICE)["text"] == "HELLO")
            reply = fake.last_message(ALICE)["json"]
            assert reply["reply_to_message"]["text"] == "hello"
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.allowed_updates == ["message", "callback_query"]
    # Stopping confirmed everything it had received.
    assert fake.pending_updates == []
    # All answered 200, but the long poll that stopping cancelled (never answered).
    unanswered = [r.method for r in fake.requests if r.status is None]
    assert unanswered == ["getUpdates"]
    assert {r.status for r in fake.requests if r.status is not None} == {200}
