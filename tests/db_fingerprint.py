"""A cheap fingerprint of a database, to show that a refused command changed nothing: the
row count of every table and a hash of every row of the contacts and number series."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

import storage.duplicates.models  # noqa: F401  (their tables join the metadata)
from storage.database import Store
from storage.models import Base, Contact, NumberSeries


def fingerprint(store: Store) -> tuple[tuple[tuple[str, int], ...], str]:
    with store.engine.connect() as connection:
        counts = tuple(
            (table.name, connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        )
        digest = hashlib.sha256()
        for model, key in ((Contact, Contact.id), (NumberSeries, NumberSeries.code)):
            for row in connection.execute(select(model.__table__).order_by(key)):
                digest.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
    return counts, digest.hexdigest()
