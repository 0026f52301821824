"""The store: SQLAlchemy models and every business rule of the contact card.

Nothing here knows about Slack, IMAP or the shell; every adapter gets the same rules.
"""
