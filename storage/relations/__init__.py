"""Business relations (issue #6): contacts linked to customers, vendors, bank accounts and
employees, and kept in sync with them.

- `kinds`: the four kinds as people type them; `records`: numbering, validated fields, lookup
- `links`: link, unlink, relation codes, the sync both ways, create-as, a record's contact
- `templates`: defaults per kind for create-as; `bulk`: "Create Contacts from …" over a filter
- (the record import, `contactbot import customers|…`, is storage/importing/records.py)
- `hooks`: how this joins update, delete, type change and merge of contacts (store rules)

The hooks are integrity rules every store is opened with (storage.rules.integrity_rules).
"""

from __future__ import annotations
