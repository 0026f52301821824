"""Duplicate detection, merge and unmerge (issue #5).

- `normalize`: normalised views of a contact (names without legal suffixes, house numbers apart)
- `keys`: blocking keys; `scoring`: the default method's pair score; `bc`: Business Central's
- `matcher`: the configured method; `index`: a contact's keys and pairs kept current
- `scan`: rebuild everything; `pairs`: list, separate, check on new/set; `merge`: merge, unmerge
- `settings`: the `dupe_settings` row; `models`: the tables
- `rules`: the store rules the duplicates plugin installs (keys kept current on every write)

A deleted contact's keys and pairs go with it by storage.rules.integrity_rules.
"""

from __future__ import annotations

from storage.duplicates.index import forget_contact, refresh_contact
from storage.duplicates.pairs import Pair, check_new_contact, list_pairs, mark_separate

__all__ = [
    "Pair",
    "check_new_contact",
    "forget_contact",
    "list_pairs",
    "mark_separate",
    "refresh_contact",
]
