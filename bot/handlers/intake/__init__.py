"""The attendee conversation, in private chats: name, organisation, quote, consent, preview.

One module per kind of update: ``commands`` (/start, /cancel, /help, any other command),
``received`` (a message), ``edits`` (an edited message), ``buttons`` (a press). They share
nothing but services: asking (bot/services/questions.py) and taking answers
(bot/services/answers.py). The draft row is the state: every handler reads the draft,
writes the answer and the next step in one committed statement, and only then replies. A
restart between two messages loses nothing; a replayed update finds the draft moved on and
changes nothing.
"""
