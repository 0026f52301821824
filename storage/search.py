"""`find`: ranked, typo-tolerant search over name, company name, email and phone digits.

Two steps, so it stays fast at a million contacts: the database's trigram index proposes
candidates (the FTS5 trigram table `contact_search` on SQLite, the pg_trgm GIN index on
`contacts.search_text` on PostgreSQL; never a scan of the table), then rapidfuzz ranks them in
Python (_Scorer): word by word, each word weighted by how rare it is among the candidates, so
an exact name comes first, then the nearest spellings, and a person is found by words of its
own name and its company's together ("acme anna"). Up to `limit` rows above MINIMUM are
shown, and how many scored above it (`Found.total`, "10 of 37").

Candidates come in stages, cheapest first. Every stage runs, so that near spellings stand
beside exact matches ("michaela deese" and "michaela deees"), unless `limit` rows already
answer exactly, or the rows so far are near enough (an exact match and `limit` near ones
after the first stage, for instance; see _candidates for the stops). Then the possible
duplicates that the duplicates plugin recorded of an exact match are added and rank right
after it (storage.known_duplicates: a name cannot tell namesakes apart, the recorded pair,
scored on the address and phone too, can):

0. a contact number (`CT000012`), a whole email address (then the others at its domain), a
   phone number typed with its country code (the E.164 columns): looked up by their indexes.
1. every term: rows that hold every term of the query as typed (a term is a word of three or
   more characters; a phone-like query is its digits, then its last seven digits, so the
   number as typed ranks first and the ones sharing its last digits after it). Unranked,
   with a LIMIT: FTS5 stops after LIMIT rows even for a word as common as "holding".
2. one term wrong: for each term, rows that hold all the others ("acme 1234 holdng").
3. fuzzy: rows that hold, for every term, one of its two halves (one typo leaves one intact)
   or, for a short term that no contact holds as typed, one of its one-edit variants ("fjrd":
   an edit in the middle of a four- or five-letter word breaks both halves); on SQLite also
   rows sharing the query's rarest trigrams, ranked by FTS5's bm25 (trigrams in COMMON rows or
   more are left out: ranking every row that holds "ing" costs more than the whole target).

A query over MAX_CHARS characters or MAX_WORDS words is refused with a message naming the
limit (issue 12: thousands of words held a PostgreSQL backend for minutes).

What was measured (bench/bench_store.py, one million contacts): an OR of all the query's
trigrams ranked by FTS5 took 150 ms to 2 s for a common word or an email; pg_trgm's word
similarity (`<%` with the GIN index) 0.2 to 1.2 s for a typo among common words, because it
rechecks every row sharing enough trigrams. PostgreSQL has a GIN index only (a GiST index stops
early for common words but took 180 ms for a rare one), and GIN hands over every matching row
before LIMIT applies, 20 to 200 ms for a common word; so a condition that a sample of the table
says is common (more than COMMON_ROWS rows) reads a small repeatable TABLESAMPLE of pages
instead, and the planner's habit of reading the table from the start for common words is
switched off for the search (the import writes companies first, so a person's first name is
found only after every company).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.errors import UserError
from storage.known_duplicates import open_duplicates
from storage.models import Contact, ContactType
from storage.normalize import digits, fold

#: Rows one stage takes from the index.
CANDIDATES = 100
#: A name that holds every word of the query exactly, and no other: once `limit` candidates
#: score this, the later (fuzzier) stages are skipped.
FULL = 99.5
#: Two words this alike (rapidfuzz ratio) are one with a typo, for the early stop.
NEAR = 80.0
#: Results scoring below this are not shown (nor counted in "10 of 37").
MINIMUM = 20.0
#: A recorded possible duplicate (storage.known_duplicates) of a contact the query names
#: exactly scores this: right after the exact matches, before the near spellings.
KNOWN = 95.0
#: PostgreSQL, a small table: pg_trgm's similarity threshold for the whole-query stage (its
#: default 0.3 misses a name with both words changed, which SQLite's rare trigrams find).
SIMILARITY = 0.1
#: The cap on a query (issue 12: thousands of words held a PostgreSQL backend for minutes).
MAX_CHARS = 200
MAX_WORDS = 12
#: At most this many characters of a query are echoed in a message.
SHOWN = 40
#: Terms of this many letters get one-edit variants in the fuzzy stage: their halves are
#: single trigrams that an edit in the middle breaks both of ("fjrd" for "fjord").
SHORT = (4, 5)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
#: Stage 3 (SQLite): a trigram in at least this many rows is too common to rank by.
COMMON = 2000
#: Stage 3 (SQLite): at most this many trigrams are probed (spread over the query's terms).
MAX_PROBES = 24
#: Stage 3: at most this many trigrams, the rarest first.
MAX_TRIGRAMS = 12
#: Stage 2 is skipped for queries of more terms than this (it runs one query per term).
MAX_TERMS = 6
#: PostgreSQL: the others at an address's domain are listed when fewer than this hold it (the
#: GIN index hands over every row holding it; a mail provider's domain names no colleagues).
RARE_ROWS = 2_000
#: PostgreSQL: a condition expected to match more rows than this reads a sample of pages.
COMMON_ROWS = 20_000
#: PostgreSQL: the sample of search texts that estimates how common a condition is: about
#: SAMPLE_SIZE rows, taken again after SAMPLE_SECONDS, only for tables of SAMPLE_FROM rows.
SAMPLE_SIZE = 2000
SAMPLE_SECONDS = 600.0
SAMPLE_FROM = 50_000
#: The last digits of a phone-like query that are matched (country and trunk prefixes vary).
PHONE_DIGITS = 7

_NUMBER = re.compile(r"[a-z]{1,10}\d+")
_PHONE_LIKE = re.compile(r"[\d\s+\-()./]+")
_EDGE_PUNCTUATION = ",;:!?()[]{}<>\"'`*|"

_COLUMNS = (
    Contact.id,
    Contact.name,
    Contact.name_2,
    Contact.company_name,
    Contact.email,
    Contact.phone,
    Contact.mobile,
)


@dataclass(frozen=True)
class Hit:
    contact: Contact
    score: float
    persons: int = 0  # a company's persons


@dataclass(frozen=True)
class _Query:
    folded: str
    words: tuple[str, ...]
    terms: tuple[str, ...]
    digits: str  # the phone digits to match (a phone-like query only), else ""
    all_digits: str  # every digit of a phone-like query, else ""
    e164: str  # a phone-like query typed with its country code (+47…, 0047…), else ""
    email: str  # the query when it looks like an email address, else ""
    no: str  # the query when it looks like a contact number (CT000012), else ""


def _parse(query: str) -> _Query | None:
    folded = fold(query)
    if not folded:
        return None
    query_digits = digits(folded)
    if _PHONE_LIKE.fullmatch(folded) and len(query_digits) >= 4:
        tail = query_digits[-PHONE_DIGITS:]
        e164 = ""
        if folded.startswith("+") or query_digits.startswith("00"):
            e164 = "+" + query_digits.removeprefix("00")
        return _Query(folded, (folded,), (tail,), tail, query_digits, e164, "", "")
    words = [word.strip(_EDGE_PUNCTUATION) for word in folded.split()]
    words = [word for word in words if word]
    terms = [word for word in dict.fromkeys(words) if len(word) >= 3]
    if not terms:
        joined = " ".join(words)  # "jo de": only short words, matched as one phrase
        if len(joined) < 3:
            return None
        terms = [joined]
    email = folded if len(words) == 1 and "@" in folded else ""
    no = words[0].upper() if len(words) == 1 and _NUMBER.fullmatch(words[0]) else ""
    return _Query(" ".join(words), tuple(words), tuple(terms), "", "", "", email, no)


def _trigrams(terms: Iterable[str]) -> list[str]:
    grams: dict[str, None] = {}
    for term in terms:
        for i in range(len(term) - 2):
            grams[term[i : i + 3]] = None
    return list(grams)


def _halves(term: str) -> list[str]:
    """The two overlapping halves of a term (three characters or more each): one typo leaves
    one of them intact."""
    size = max(3, (len(term) + 1) // 2)
    if len(term) <= 3:
        return [term]
    return list(dict.fromkeys((term[:size], term[-size:])))


def _variants(term: str) -> list[str]:
    """One-edit variants of a short word that its halves miss: an edit in the middle breaks
    both trigram halves of a four- or five-letter word, so "fjrd" would never meet "fjord".
    The stored word may have a letter more, another letter, one letter fewer, or two letters
    swapped; each variant kept holds neither half and is a substring the trigram index
    answers (26 to 80 of them)."""
    if len(term) not in SHORT or not term.isalpha():
        return []
    found: dict[str, None] = {}
    for i in range(len(term) + 1):
        for letter in _LETTERS:
            found[term[:i] + letter + term[i:]] = None  # a letter more
            if i < len(term):
                found[term[:i] + letter + term[i + 1 :]] = None  # another letter
        if i < len(term):
            found[term[:i] + term[i + 1 :]] = None  # one fewer
        if i + 1 < len(term):
            found[term[:i] + term[i + 1] + term[i] + term[i + 2 :]] = None  # swapped
    halves = _halves(term)
    return [
        variant
        for variant in found
        if len(variant) >= 3 and variant != term and not any(half in variant for half in halves)
    ]


def _near(term: str, absent: Collection[str]) -> list[str]:
    """The strings of which a near spelling of `term` holds at least one: its halves, and
    for a short term that no contact holds as typed, its one-edit variants."""
    return _halves(term) + (_variants(term) if term in absent else [])


def _absent(terms: Sequence[str], holds: Callable[[str], bool]) -> set[str]:
    """The short terms (variants are made for them) that no contact holds as typed."""
    return {term for term in terms if _variants(term) and not holds(term)}


# --- SQLite: FTS5 trigram table ---------------------------------------------------------------

_ROW = "id, name, name_2, company_name, email, phone, mobile"
_FTS_ROWS = (
    f"SELECT {_ROW} FROM contacts WHERE id IN "
    "(SELECT rowid FROM contact_search WHERE contact_search MATCH :match{order} LIMIT :limit)"
)
_FTS_COUNT = (
    "SELECT count(*) FROM (SELECT rowid FROM contact_search WHERE contact_search MATCH :match "
    "LIMIT :limit)"
)


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _sqlite_rows(session: Session, match: str, ranked: bool = False) -> list[tuple]:
    sql = _FTS_ROWS.format(order=" ORDER BY rank" if ranked else "")
    return _execute(session, sql, {"match": match, "limit": CANDIDATES})


def _sqlite_all_terms(session: Session, terms: Sequence[str]) -> list[tuple]:
    return _sqlite_rows(session, " AND ".join(_phrase(term) for term in terms))


def _sqlite_holds(session: Session, term: str) -> bool:
    return bool(_execute(session, _FTS_COUNT, {"match": _phrase(term), "limit": 1})[0][0])


def _sqlite_fuzzy(session: Session, query: _Query) -> list[tuple]:
    """Rows that hold, for every term, one of its halves (as on PostgreSQL), and rows sharing
    the query's rarest trigrams, best first by bm25. How common a trigram is is probed with a
    LIMIT (cheap) rather than counted (fts5vocab reads its whole list)."""
    terms = query.terms
    absent = _absent(terms, lambda term: _sqlite_holds(session, term))
    halves = " AND ".join(
        "(" + " OR ".join(_phrase(near) for near in _near(term, absent)) + ")" for term in terms
    )
    rows = _sqlite_rows(session, halves)
    if len(rows) >= CANDIDATES:
        return rows  # enough that hold near spellings of every term
    counted: list[tuple[int, str]] = []
    grams = _trigrams(terms)
    step = max(1, len(grams) // MAX_PROBES)
    for gram in grams[::step]:
        count = _execute(session, _FTS_COUNT, {"match": _phrase(gram), "limit": COMMON})[0][0]
        if 0 < count < COMMON:
            counted.append((count, gram))
    if counted:
        counted.sort()
        match = " OR ".join(_phrase(gram) for _count, gram in counted[:MAX_TRIGRAMS])
        rows += _sqlite_rows(session, match, ranked=True)
    return rows


def _execute(session: Session, sql: str, params: dict[str, object]) -> list[tuple]:
    """Plain SQL on the session's DBAPI connection, in its transaction (at a few milliseconds
    a search, SQLAlchemy's per-statement and per-row overhead was a third of the time)."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()


# --- PostgreSQL: pg_trgm GIN index on contacts.search_text -------------------------------------


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Sample:
    """A few thousand rows' search_text, to tell a common condition from a rare one before
    asking PostgreSQL (the planner's own estimate comes from 100 values and is often off)."""

    def __init__(self, rows: float, texts: list[str], taken: float) -> None:
        self.rows = rows
        self.texts = texts
        self.taken = taken
        self._array = np.array(texts, dtype=str)
        self._pieces: set[str] | None = None

    def matches(self, groups: Sequence[Sequence[str]]) -> float:
        """Estimated rows holding, for every group, one of its strings (numpy's vectorised
        find: a Python loop over the texts cost 6 ms a call)."""
        if not self.texts:
            return 0.0
        held = np.ones(len(self.texts), dtype=bool)
        for group in groups:
            any_of = np.zeros(len(self.texts), dtype=bool)
            for value in group:
                any_of |= np.char.find(self._array, value) >= 0
            held &= any_of
        return self.rows * int(held.sum()) / len(self.texts)

    def holds(self, value: str) -> bool:
        """Whether some sampled text holds `value`; for a short run of letters (a variant,
        a term), a set look-up among the pieces of the sampled words."""
        if value.isalpha() and 3 <= len(value) <= 6:
            if self._pieces is None:
                self._pieces = {
                    word[i : i + size]
                    for word in {w for text_ in self.texts for w in text_.split()}
                    for size in range(3, 7)
                    for i in range(len(word) - size + 1)
                }
            return value in self._pieces
        return self.matches([[value]]) > 0


_samples: dict[str, _Sample] = {}


def _sample(session: Session) -> _Sample:
    key = str(session.get_bind().url)
    sample = _samples.get(key)
    now = time.monotonic()
    if sample is not None and now - sample.taken < SAMPLE_SECONDS:
        return sample
    sql = "SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass"
    rows = _execute(session, sql, {})[0][0]
    texts: list[str] = []
    if rows and rows > 0 and rows >= SAMPLE_FROM:
        percent = min(100.0, 100.0 * SAMPLE_SIZE / rows)
        texts = [
            row[0]
            for row in _execute(
                session,
                "SELECT search_text FROM contacts TABLESAMPLE SYSTEM (%(p)s) REPEATABLE (7)",
                {"p": percent},
            )
        ]
    sample = _samples[key] = _Sample(float(rows or 0), texts, now)
    return sample


def _postgres_rows(session: Session, groups: Sequence[Sequence[str]]) -> list[tuple]:
    """Rows holding, for every group, one of its strings. A rare condition is answered by
    the GIN index. A common one (more than COMMON_ROWS rows, "jan", "holding") from a
    repeatable sample of about twice LIMIT rows' worth of pages: the index would hand over
    every matching row (20 to 200 ms at a million contacts) to take LIMIT of them. Measured
    in one run at a million contacts, 300 queries: p95 34 ms with the index only, 21 ms so."""
    clauses = []
    params: dict[str, object] = {"limit": CANDIDATES}
    for i, group in enumerate(groups):
        parts = []
        for j, value in enumerate(group):
            params[f"p{i}_{j}"] = _like(value)
            parts.append(f"search_text LIKE %(p{i}_{j})s")
        clauses.append("(" + " OR ".join(parts) + ")")
    where = " AND ".join(clauses)
    sample = _sample(session)
    expected = sample.matches(groups)
    if expected > COMMON_ROWS:
        params["percent"] = min(100.0, 100.0 * 2 * CANDIDATES / max(expected, 1.0))
        sql = (
            f"SELECT {_ROW} FROM contacts TABLESAMPLE SYSTEM (%(percent)s) REPEATABLE (7) "
            f"WHERE {where} LIMIT %(limit)s"
        )
        rows = _execute(session, sql, params)
        if len(rows) >= CANDIDATES // 4:
            return rows
    return _execute(session, f"SELECT {_ROW} FROM contacts WHERE {where} LIMIT %(limit)s", params)


def _postgres_all_terms(session: Session, terms: Sequence[str]) -> list[tuple]:
    return _postgres_rows(session, [[term] for term in terms])


def _postgres_fuzzy(session: Session, query: _Query) -> list[tuple]:
    """Rows that hold, for every term, one of its halves. Not pg_trgm's word similarity
    (`<%`): its index scan reads every row sharing a trigram with the query, 0.2 to 1.2 s at a
    million contacts for "jan dijjk" or "holdng"; this stays as cheap as stages 1 and 2."""
    terms = query.terms
    absent = _absent(terms, lambda term: _postgres_holds(session, term))
    sample = _sample(session)
    if absent and sample.texts:
        # At scale: the short term's one-edit variants that the sample holds (a common near
        # spelling, "anna" for "anoa"), beside the other terms as typed; all 26 to 80 variants
        # are as many GIN scans (50 to 150 ms at a million contacts), so they are read only
        # when these give no row with a word one edit from each such term ("fjrd": fjord).
        groups = [
            _halves(term) + [v for v in _variants(term) if sample.holds(v)]
            if term in absent
            else [term]
            for term in terms
        ]
        rows = _postgres_rows(session, groups)
        if any(_one_edit(sorted(absent), row) for row in rows):
            return rows
    rows = _postgres_rows(session, [_near(term, absent) for term in terms])
    if _sample(session).rows < SAMPLE_FROM:
        # a small table: also the rows most like the whole query by pg_trgm's similarity
        # (the GIN index; at scale it rechecks too many rows, see the module docstring), as
        # SQLite adds the rows sharing the rarest trigrams (a name with both words changed):
        # measured on FEBRL2, the labelled duplicate among the candidates 0.89 -> 0.95
        sql = (
            f"SELECT {_ROW} FROM contacts WHERE search_text %% %(q)s "
            "ORDER BY similarity(search_text, %(q)s) DESC LIMIT %(limit)s"
        )
        with _setting(session, "pg_trgm.similarity_threshold", str(SIMILARITY)):
            rows += _execute(session, sql, {"q": " ".join(terms), "limit": CANDIDATES})
    return rows


def _one_edit(terms: Sequence[str], row: tuple) -> bool:
    """Whether the row's name or company holds, for each term, a word one edit from it."""
    _id, name, name_2, company, *_rest = row
    words = _words(f"{name} {name_2} {company}")
    return all(
        any(OSA.distance(term, word, score_cutoff=1) <= 1 for word in words) for term in terms
    )


def _postgres_holds(session: Session, term: str) -> bool:
    """Whether some contact holds `term`: the sample says so for a common one (the index
    would hand over every row holding it), the index for a rare one."""
    if _sample(session).holds(term):
        return True
    sql = "SELECT 1 FROM contacts WHERE search_text LIKE %(p)s LIMIT 1"
    return bool(_execute(session, sql, {"p": _like(term)}))


@contextmanager
def _setting(session: Session, name: str, value: str) -> Iterator[None]:
    """A PostgreSQL setting for the statements inside only, put back after: the
    transaction may go on."""
    before = _execute(
        session,
        "SELECT current_setting(%(n)s), set_config(%(n)s, %(v)s, true)",
        {"n": name, "v": value},
    )[0][0]
    try:
        yield
    finally:
        _execute(session, "SELECT set_config(%(n)s, %(v)s, true)", {"n": name, "v": before})


def _postgres_settings(session: Session) -> AbstractContextManager[None]:
    """The trigram index, always: for a common word the planner prefers reading the table
    until LIMIT rows match, which is quick when they come early and reads much of the table
    when they do not (the import writes companies first, so a person's name is found only
    after all of them). Set for this search only and put back: the transaction may go on."""
    return _setting(session, "enable_seqscan", "off")


# --- ranking ---------------------------------------------------------------------------------


def _fold(value: str) -> str:
    """storage.normalize.fold, with a shortcut for plain ASCII (most names)."""
    if value.isascii():
        return " ".join(value.lower().split())
    return fold(value)


@lru_cache(maxsize=200_000)
def _words(value: str) -> tuple[str, ...]:
    """The folded words of a name (cached: candidates for common words share a few names)."""
    return tuple(w for w in (w.strip(_EDGE_PUNCTUATION) for w in _fold(value).split()) if w)


def _phone_score(query: _Query, phone: str, mobile: str) -> float:
    """The number as typed first (100), then one that ends with it or it with one (a country
    or trunk prefix more or less, 97), then one sharing the last digits only (90)."""
    best = 0.0
    wanted = query.all_digits
    national = wanted.lstrip("0")
    for number in (phone, mobile):
        stored = digits(number) if number else ""
        if not stored:
            continue
        if stored == wanted:
            return 100.0
        if len(national) >= PHONE_DIGITS and (
            stored.endswith(national) or wanted.endswith(stored.lstrip("0"))
        ):
            best = max(best, 97.0)
        elif query.digits in stored:
            best = max(best, 90.0)
    return best


class _Scorer:
    """Scores candidate rows against one query, 0..100 (100: the name holds exactly the
    query's words). Words are compared one by one (rapidfuzz's ratio; a typo costs a little,
    another word all), so that word order and a missing word matter as little as they do to
    people. Each word weighs by how rare it is among the candidates: sharing a rare surname
    says more than sharing "jan". Measured on FEBRL2 (bench/bench_find_quality.py): 0.75 of
    the labelled duplicates among the ten rows with plain averages, 0.83 so weighted."""

    #: A word pair less alike than this (rapidfuzz ratio) counts as no match at all.
    UNALIKE = 50.0
    #: The share of the score that says how much of the name the query covers.
    EXTRA = 0.3

    def __init__(self, query: _Query, rows: Iterable[tuple]) -> None:
        self.query = query
        pool: dict[str, int] = {}
        count = 0
        for _id, name, name_2, company, *_rest in rows:
            count += 1
            for word in set(_words(f"{name} {name_2} {company}")):
                pool[word] = pool.get(word, 0) + 1
        self._pool = pool
        self._size = count + 1
        self._texts: dict[str, float] = {}
        self._weights = [self._weight(word) for word in query.words]
        self._columns: dict[str, list[float]] = {}
        vocabulary = list(pool)
        if vocabulary:  # every query word against every candidate word, in one call
            ratios = process.cdist(query.words, vocabulary, scorer=fuzz.ratio, dtype=np.float32)
            scores = np.clip((ratios - self.UNALIKE) * (100.0 / (100.0 - self.UNALIKE)), 0, 100)
            for i, query_word in enumerate(query.words):
                if len(query_word) >= 3:  # typed the start of a word
                    for j, word in enumerate(vocabulary):
                        if word.startswith(query_word) and word != query_word:
                            scores[i, j] = max(scores[i, j], 80.0)
            self._columns = dict(zip(vocabulary, scores.T.tolist(), strict=True))

    def _weight(self, word: str) -> float:
        return math.log(self._size / (self._pool.get(word, 0) + 1)) + 1.0

    def _column(self, word: str) -> list[float]:
        """The scores of `word` against each query word."""
        column = self._columns.get(word)
        if column is None:
            column = self._columns[word] = [self._word(q, word) for q in self.query.words]
        return column

    def _word(self, query_word: str, word: str) -> float:
        if query_word == word:
            return 100.0
        if len(query_word) >= 3 and word.startswith(query_word):
            return 80.0
        ratio = fuzz.ratio(query_word, word)
        return max(0.0, (ratio - self.UNALIKE) * 100.0 / (100.0 - self.UNALIKE))

    def _table(self, value: str) -> tuple[tuple[str, ...], list[list[float]]]:
        words = _words(value)
        columns = [self._column(word) for word in words]
        return words, [list(row) for row in zip(*columns, strict=True)] if columns else [
            [] for _ in self.query.words
        ]

    def _covered(self, table: list[list[float]]) -> float:
        return sum(
            weight * max(row, default=0.0) for weight, row in zip(self._weights, table, strict=True)
        ) / sum(self._weights)

    def with_company(self, own: str, company: str) -> float:
        """A person found by words of its own name and of its company's ("acme anna"): how
        much of the query the two hold together, when each holds some of it."""
        key = f"{own}\x00{company}"
        score = self._texts.get(key)
        if score is None:
            score = self._texts[key] = self._with_company(own, company)
        return score

    def _with_company(self, own: str, company: str) -> float:
        _words_own, table_own = self._table(own)
        _words_company, table_company = self._table(company)
        if not any(max(row, default=0.0) >= 50 for row in table_own) or not any(
            max(row, default=0.0) >= 50 for row in table_company
        ):
            return 0.0
        both = [a + b for a, b in zip(table_own, table_company, strict=True)]
        return self._covered(both)

    def text(self, value: str) -> float:
        """How well a name answers the query: mostly how much of the query it holds, partly
        how much of it the query holds (an exact name beats a longer one)."""
        score = self._texts.get(value)
        if score is not None:
            return score
        words, table = self._table(value)
        if not words:
            score = 0.0
        else:
            weights = [self._weight(word) for word in words]
            covered = self._covered(table)
            held = sum(
                weight * max(column)
                for weight, column in zip(weights, zip(*table, strict=True), strict=True)
            ) / sum(weights)
            score = (1.0 - self.EXTRA) * covered + self.EXTRA * held
        self._texts[value] = score
        return score

    def row(self, row: tuple) -> float:
        """A row: its own name counts most; a person is found by its name with its company's
        ("acme anna"), or a little lower by its company's alone; then email, phone digits."""
        _id, name, name_2, company, email, phone, mobile = row
        query = self.query
        if query.digits:
            return _phone_score(query, phone, mobile)
        own = f"{name} {name_2}" if name_2 else name
        best = self.text(own)
        if company and best < 100:
            best = max(best, 0.9 * self.text(company))
            if len(query.words) > 1:
                best = max(best, 0.95 * self.with_company(own, company))
        if email and best < 100 and len(query.words) == 1:
            email = email.lower()
            if query.email and query.email == email:
                return 100.0
            best = max(best, fuzz.partial_ratio(query.folded, email) * 0.85)
        return best


def _near_enough(query: _Query, row: tuple, cache: dict[str, bool]) -> bool:
    """Whether every word of the query is in the row's name, or its company's, as typed or
    with a typo or so (ratio NEAR): `limit` such rows end the search before the fuzzier
    stages, whose candidates would rank below them."""
    _id, name, name_2, company, *_rest = row
    text_ = f"{name} {name_2} {company}"
    near = cache.get(text_)
    if near is None:
        words = _words(text_)
        near = cache[text_] = bool(words) and all(
            any(
                q == w or (len(q) >= 3 and w.startswith(q)) or fuzz.ratio(q, w) >= NEAR
                for w in words
            )
            for q in query.words
        )
    return near


def _near_count(query: _Query, found: _Candidates, limit: int, cache: dict[str, bool]) -> int:
    """How many candidates are near enough, counted up to `limit`."""
    count = 0
    for row in found.rows.values():
        count += _near_enough(query, row, cache)
        if count >= limit:
            break
    return count


def _exact(query: _Query, row: tuple) -> bool:
    """Whether a row answers the query exactly (its name, its email, its number): `limit`
    of these end the search before the fuzzier stages."""
    _id, name, name_2, company, email, phone, mobile = row
    if query.digits:
        return any(number and digits(number) == query.all_digits for number in (phone, mobile))
    if query.email and email and email.lower() == query.email:
        return True
    own = f"{name} {name_2}" if name_2 else name
    return " ".join(_words(own)) == query.folded or (
        bool(company) and " ".join(_words(company)) == query.folded
    )


@dataclass
class _Candidates:
    """Candidate rows by id, how many answer exactly, and whether a stage stopped at its
    LIMIT (so that more rows may match than were scored)."""

    rows: dict[int, tuple]
    pinned: set[int] = field(default_factory=set)  # the contact whose number was typed
    matched: list[int] = field(default_factory=list)  # the rows that answer exactly
    known: set[int] = field(default_factory=set)  # recorded duplicates of those (KNOWN)
    exact: int = 0
    capped: bool = False


def _candidates(session: Session, parsed: _Query, postgres: bool, limit: int) -> _Candidates:
    """Candidates stage by stage (see the module docstring). Every stage runs, so that near
    spellings stand beside exact matches, unless `limit` rows already answer exactly."""
    all_terms = _postgres_all_terms if postgres else _sqlite_all_terms
    fuzzy = _postgres_fuzzy if postgres else _sqlite_fuzzy
    terms = parsed.terms
    found = _Candidates({})
    cache: dict[str, bool] = {}

    def take(rows: Iterable[tuple]) -> bool:
        """Keep new rows; True when `limit` rows answer exactly (the ten rows are full)."""
        rows = list(rows)
        found.capped = found.capped or len(rows) >= CANDIDATES
        for row in rows:
            if row[0] not in found.rows:
                found.rows[row[0]] = tuple(row)
                if _exact(parsed, row):
                    found.exact += 1
                    found.matched.append(row[0])
        return found.exact >= limit

    if parsed.no:
        rows = list(session.execute(select(*_COLUMNS).where(Contact.no == parsed.no)))
        found.pinned.update(row[0] for row in rows)
        found.exact += len(rows)
        take(rows)
    if parsed.email:
        take(session.execute(select(*_COLUMNS).where(Contact.email_normalized == parsed.email)))
        if found.exact:  # the address, then the others at its domain
            domain = parsed.email.partition("@")[2]
            if not postgres or _sample(session).matches([[domain]]) < RARE_ROWS:
                take(all_terms(session, [domain]))  # (not a mail provider's: no colleagues)
            return found
    if parsed.e164:
        number = or_(Contact.phone_e164 == parsed.e164, Contact.mobile_e164 == parsed.e164)
        take(session.execute(select(*_COLUMNS).where(number).limit(CANDIDATES)))
    if parsed.digits:
        longer = len(parsed.all_digits) > len(parsed.digits)
        if not (longer and take(all_terms(session, [parsed.all_digits]))):
            take(all_terms(session, terms))
        return found
    if take(all_terms(session, terms)):
        return found
    if found.exact and _near_count(parsed, found, limit, cache) >= limit:
        # an exact match and the ten rows full of near ones from the first stage alone: the
        # later stages' rows lack a word of the query and would rank below them (at a
        # million contacts these set the p95 of exact and partial names on PostgreSQL)
        return found
    if parsed.email:
        # the address, then partial ones: its local part or its domain elsewhere
        local, _, domain = parsed.email.partition("@")
        for part in (local, domain):
            if len(part) >= 3:
                take(all_terms(session, [part]))
        if found.rows:
            return found
    if 1 < len(terms) <= MAX_TERMS:
        for i in range(len(terms)):
            if take(all_terms(session, terms[:i] + terms[i + 1 :])):
                return found
    # The fuzzy stage reads much more of the index: skipped when the ten rows are full of
    # near matches, or when an exact or near match stands with a full LIMIT of rows that
    # share all but one of the query's words (near spellings of a typo'd word are there).
    near = _near_count(parsed, found, limit, cache)
    if near >= limit or (len(found.rows) >= CANDIDATES and (found.exact or near)):
        return found
    if postgres and (found.exact or near) and _sample(session).rows >= SAMPLE_FROM:
        # PostgreSQL at scale: the GIN index hands over every row holding each half of
        # each term (30 to 120 ms at a million contacts), so a near match found ends it
        return found
    take(fuzzy(session, parsed))
    return found


def _add_known(session: Session, found: _Candidates, limit: int) -> None:
    """The recorded possible duplicates of the first `limit` exact matches (a name typed as
    stored), as candidates scoring at least KNOWN: a name says nothing about which namesake
    is the same person; the pair, scored on the address and phone too, does."""
    if not found.matched or found.exact >= limit:
        return  # nothing matched exactly, or exact matches fill the rows
    known = open_duplicates(session, set(found.matched[:limit]))
    missing = [id_ for id_ in known if id_ not in found.rows]
    if missing:
        for row in session.execute(select(*_COLUMNS).where(Contact.id.in_(missing))):
            found.rows[row[0]] = tuple(row)
    found.known.update(known)


def _ranked(parsed: _Query, found: _Candidates) -> list[tuple[float, int]]:
    """(score, id) of the candidates above MINIMUM, best first; a contact number typed is
    its contact, first."""
    scorer = _Scorer(parsed, found.rows.values())
    scored = []
    for id_, row in found.rows.items():
        score = 100.0 if id_ in found.pinned else scorer.row(row)
        if id_ in found.known:
            score = max(score, KNOWN)
        if score >= MINIMUM:
            scored.append((score, id_))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return scored


# --- the entry points ----------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What `find` shows: at most `limit` hits, best first, and how many candidates scored
    above the floor (`total`; a lower bound when `more_than` is set)."""

    hits: list[Hit]
    total: int
    more_than: bool


def shown(query: str) -> str:
    """At most SHOWN characters of the query, printable, for a message."""
    text_ = "".join(ch if ch.isprintable() else "?" for ch in query[: SHOWN + 1])
    return text_ if len(text_) <= SHOWN else text_[:SHOWN] + "…"


def check_query(query: str) -> None:
    """Refuse a query too long to be a search (a pasted file, thousands of words): it would
    hold a database connection for seconds. The message names the limit."""
    if len(query.split(None, MAX_WORDS)) > MAX_WORDS:
        raise UserError(
            f"`{shown(query)}` has more than {MAX_WORDS} words; find takes at most "
            f"{MAX_WORDS}. Type a few words of the name, or the email or the phone."
        )
    if len(query) > MAX_CHARS:
        raise UserError(
            f"`{shown(query)}` is {len(query):,} characters long; find takes at most "
            f"{MAX_CHARS}. Type a few words of the name, or the email or the phone."
        )


def search_contacts(session: Session, query: str, limit: int = 10) -> Found:
    """The best `limit` contacts for `query`, best first: exact matches, then the nearest
    spellings above MINIMUM. Raises UserError for a query over the cap (check_query)."""
    check_query(query)
    parsed = _parse(query)
    if parsed is None:
        return Found([], 0, False)
    postgres = session.get_bind().dialect.name == "postgresql"
    settings = _postgres_settings(session) if postgres else nullcontext()
    with settings:
        found = _candidates(session, parsed, postgres, limit)
    if not (parsed.digits or parsed.no or parsed.email):  # a name: phones and addresses
        _add_known(session, found, limit)  # list the exact one, then the partial ones
    ranked = _ranked(parsed, found)
    total = len(ranked)
    ranked = ranked[:limit]
    if not ranked:
        return Found([], 0, False)
    ids = [id_ for _score, id_ in ranked]
    contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    companies = [id_ for id_, c in contacts.items() if c.type is ContactType.COMPANY]
    persons = _person_counts(session, companies)
    hits = [
        Hit(contacts[id_], score, persons.get(id_, 0)) for score, id_ in ranked if id_ in contacts
    ]
    hits.sort(
        key=lambda hit: (
            -round(hit.score, 6),
            hit.contact.type is not ContactType.COMPANY,
            hit.contact.no,
        )
    )
    return Found(hits, total, found.capped and total >= CANDIDATES)


def _person_counts(session: Session, company_ids: Sequence[int]) -> dict[int, int]:
    """How many persons each of these companies has (the index on company_id)."""
    if not company_ids:
        return {}
    statement = (
        select(Contact.company_id, func.count())
        .where(Contact.company_id.in_(company_ids))
        .group_by(Contact.company_id)
    )
    return {company_id: count for company_id, count in session.execute(statement)}


def find_contacts(session: Session, query: str, limit: int = 10) -> list[Hit]:
    """The best `limit` contacts for `query`, best first (search_contacts' hits)."""
    return search_contacts(session, query, limit).hits


def suggest_contacts(session: Session, query: str, limit: int = 10) -> list[Hit]:
    """find's ranking for a picker (Slack's option search, completion): a query over the cap
    gets no suggestions rather than a message, since a picker has nowhere to show one."""
    try:
        return search_contacts(session, query, limit).hits
    except UserError:
        return []
