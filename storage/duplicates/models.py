"""Tables of duplicate detection: blocking keys, scored pairs, merges and the settings.

They use the declarative Base of storage.models, so one metadata (and one Alembic history)
covers the whole store. Keys and pairs go with their contact (ON DELETE CASCADE); a merge keeps
both cards' content as JSON and refers to contacts by number, so it outlives the duplicate.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.clock import utcnow
from storage.models import Base

OPEN = "open"
SEPARATE = "separate"


class DupeKey(Base):
    """One blocking key of one contact: `value` starts with the contact type's letter and the
    key kind (`cn:acme|holding`), so a person never meets a company in a block."""

    __tablename__ = "dupe_keys"
    __table_args__ = (
        Index("ix_dupe_keys_value", "value", "contact_id"),
        {"sqlite_with_rowid": False},  # one B-tree, not a table and its key (migration 0012)
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(120), primary_key=True)


class DupePair(Base):
    """A pair of contacts (`contact_id_1` < `contact_id_2`) with its score and explanation.

    `status` is "open" (a possible duplicate) or "separate" (people said: not a duplicate);
    a rescan rewrites open pairs and never touches separate ones."""

    __tablename__ = "dupe_pairs"
    __table_args__ = (UniqueConstraint("contact_id_1", "contact_id_2"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id_1: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    contact_id_2: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(Float, default=0.0)
    method: Mapped[str] = mapped_column(String(10), default="default")
    why: Mapped[str] = mapped_column(Text, default="")  # JSON: [[field, similarity, note], …]
    status: Mapped[str] = mapped_column(String(10), default=OPEN, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DupeMerge(Base):
    """One merge: both cards as they were (JSON), what moved, and whether it was undone."""

    __tablename__ = "dupe_merges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kept_no: Mapped[str] = mapped_column(String(20), index=True)
    duplicate_no: Mapped[str] = mapped_column(String(20), index=True)
    kept_before: Mapped[str] = mapped_column(Text)  # JSON of the kept card before the merge
    duplicate_before: Mapped[str] = mapped_column(Text)  # JSON of the deleted card
    moved: Mapped[str] = mapped_column(Text)  # JSON: what moved to the kept card
    choices: Mapped[str] = mapped_column(Text, default="{}")  # JSON: field -> "dup" | "keep"
    actor: Mapped[str] = mapped_column(String(100), default="")
    merged_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class DupeSettings(Base):
    """Duplicate search settings (one row, id 1), Business Central's Marketing Setup fields
    "Search Hit %", "Autosearch for Duplicates", "Maintain Dupl. Search Strings" beside
    the default method's threshold."""

    __tablename__ = "dupe_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    method: Mapped[str] = mapped_column(String(10), default="default")  # "default" | "bc"
    threshold: Mapped[float] = mapped_column(Float, default=80.0)
    search_hit_percent: Mapped[int] = mapped_column(Integer, default=60)
    #: Business Central's Duplicate Search String Setup: "field:first|last:length" comma-separated
    search_strings: Mapped[str] = mapped_column(Text, default="")
    autosearch: Mapped[bool] = mapped_column(Boolean, default=True)
    maintain_keys: Mapped[bool] = mapped_column(Boolean, default=True)


#: DupeDigest.status: claimed by one instance, which is posting it; or posted.
SENDING = "sending"
SENT = "sent"


class DupeDigest(Base):
    """One duplicate digest. An instance claims it ("sending") with the pairs it will report
    before it posts, so a second instance finds them taken; it becomes "sent" once Slack took
    the message, and is deleted (its pairs with it) when posting failed, so that the next
    digest reports them."""

    __tablename__ = "dupe_digests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(10), default=SENDING, index=True)
    channel: Mapped[str] = mapped_column(String(80), default="")
    pairs: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    message_ts: Mapped[str] = mapped_column(String(40), default="")


class DupeDigestPair(Base):
    """A pair that a digest reported (or is reporting): "new since the last digest" is every
    open pair without a row here. Keyed by the two contacts rather than the pair's id,
    because a rescan rewrites the open pairs (with new ids)."""

    __tablename__ = "dupe_digest_pairs"
    contact_id_1: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id_2: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    digest_id: Mapped[int] = mapped_column(
        ForeignKey("dupe_digests.id", ondelete="CASCADE"), index=True
    )


__all__ = [
    "OPEN",
    "SENDING",
    "SENT",
    "SEPARATE",
    "DupeDigest",
    "DupeDigestPair",
    "DupeKey",
    "DupeMerge",
    "DupePair",
    "DupeSettings",
]
