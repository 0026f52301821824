"""`find`: typo-tolerant search over name, company name, email and phone digits.

Two steps, so it stays fast at a million contacts: the database's trigram index proposes a few
hundred candidates (an FTS5 trigram table on SQLite, a pg_trgm GIN index on PostgreSQL), then
rapidfuzz ranks those candidates in Python. Neither step scans the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from storage.models import Contact
from storage.normalize import digits, fold

CANDIDATES = 200
MAX_TRIGRAMS = 24


@dataclass(frozen=True)
class Hit:
    contact: Contact
    score: float


def _trigrams(query: str) -> list[str]:
    """Distinct trigrams of each word of the query (words under three letters as they are)."""
    grams: list[str] = []
    for word in query.split():
        if len(word) < 3:
            continue
        for i in range(len(word) - 2):
            gram = word[i : i + 3]
            if gram not in grams:
                grams.append(gram)
    return grams


def _spread(grams: list[str], limit: int) -> list[str]:
    """At most `limit` trigrams, taken evenly across the query so every word is represented."""
    if len(grams) <= limit:
        return grams
    step = len(grams) / limit
    return [grams[int(i * step)] for i in range(limit)]


def _sqlite_candidates(session: Session, query: str) -> list[int]:
    grams = _spread(_trigrams(query), MAX_TRIGRAMS)
    if not grams:
        pattern = f"%{query}%"
        rows = session.execute(
            select(Contact.id).where(Contact.search_text.like(pattern)).limit(CANDIDATES)
        )
        return [row[0] for row in rows]
    match = " OR ".join('"' + gram.replace('"', '""') + '"' for gram in grams)
    rows = session.execute(
        text(
            "SELECT rowid FROM contact_search WHERE contact_search MATCH :match "
            "ORDER BY rank LIMIT :limit"
        ),
        {"match": match, "limit": CANDIDATES},
    )
    return [row[0] for row in rows]


def _postgres_candidates(session: Session, query: str) -> list[int]:
    session.execute(text("SET LOCAL pg_trgm.word_similarity_threshold = 0.3"))
    statement = text(
        "SELECT id FROM contacts WHERE :q <% search_text "
        "ORDER BY word_similarity(:q, search_text) DESC LIMIT :limit"
    ).bindparams(bindparam("q"), bindparam("limit"))
    rows = session.execute(statement, {"q": query, "limit": CANDIDATES})
    return [row[0] for row in rows]


def _score(query: str, query_digits: str, contact: Contact) -> float:
    """How well `contact` answers `query`, 0..100: its own name counts most, then its company,
    then email and phone digits."""
    own = fuzz.WRatio(query, fold(f"{contact.name} {contact.name_2}".strip()))
    company = fuzz.WRatio(query, fold(contact.company_name)) * 0.9 if contact.company_name else 0
    email = fuzz.partial_ratio(query, contact.email.lower()) * 0.85 if contact.email else 0
    phone = 0.0
    if len(query_digits) >= 4:
        for number in (contact.phone, contact.mobile):
            if number and query_digits in digits(number):
                phone = 95.0
    return max(own, company, email, phone)


def find_contacts(session: Session, query: str, limit: int = 10) -> list[Hit]:
    """The best `limit` contacts for `query`, best first."""
    folded = fold(query)
    if not folded:
        return []
    if session.get_bind().dialect.name == "postgresql":
        ids = _postgres_candidates(session, folded)
    else:
        ids = _sqlite_candidates(session, folded)
    if not ids:
        return []
    contacts = session.scalars(select(Contact).where(Contact.id.in_(ids))).all()
    query_digits = digits(query)
    hits = [Hit(contact, _score(folded, query_digits, contact)) for contact in contacts]
    hits = [hit for hit in hits if hit.score >= 50]
    hits.sort(key=lambda hit: (-hit.score, hit.contact.no))
    return hits[:limit]
