"""Business relations (issue #6): contacts linked to customers, vendors, bank accounts and
employees, and kept in sync with them.

- `kinds`: the four kinds as people type them; `records`: numbering, validated fields, lookup
- `links`: link, unlink, relation codes, the sync both ways, create-as, a record's contact
- `templates`: defaults per kind for create-as; `bulk`: "Create Contacts from …" over a filter
- `csv_import`: `contactbot import customers|vendors|bank-accounts|employees FILE.csv`
- `hooks`: how this joins update, delete, type change and merge of contacts

Importing this package registers those hooks, as storage.duplicates does its delete hook.
"""

from __future__ import annotations

from storage.relations.hooks import register

register()

__all__ = ["register"]
