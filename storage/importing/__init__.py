"""`contactbot import …`: files of contacts and business records into the store, by job.

- `reading`: the file's header row and records (with the line each starts on).
- `rows`: a contact row parsed (kind, explicit number, fields) and the draft validation fills.
- `companies`: the companies a person row may name (the file's, then the database's).
- `validation`: both passes over a contact file, by forked workers for large files.
- `numbers`: contact numbers taken from the series for the good rows.
- `writer`: the good rows written in one transaction, in batches, per backend.
- `contacts`: `import_contacts`, the contact import from end to end.
- `records`: `import_records`, customers, vendors, bank accounts and employees.
- `report`: the reject report beside the input; `progress`: what an import reports while it runs.
"""
