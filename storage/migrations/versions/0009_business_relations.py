"""Business relations (issue #6): customers, vendors, bank accounts and employees, their links to
contacts, relation codes on contacts, record templates, a log of what was removed around a link,
and the setup's code per kind with the switch for a record's automatic contact.

The relation codes CUST, VEND, BANK and EMPL are seeded, as Business Central's Marketing Setup
needs one per kind before anything can be linked. The records' number series are made on first
use (storage.relations.records), so the seeded series stay as they were. New tables and new
setup columns only: `contacts` is not rebuilt, so SQLite's find triggers stay.

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

#: (setup column, seeded code, description)
RELATION_CODES = (
    ("customer_relation", "CUST", "Customer"),
    ("vendor_relation", "VEND", "Vendor"),
    ("bank_relation", "BANK", "Bank Account"),
    ("employee_relation", "EMPL", "Employee"),
)


def upgrade() -> None:
    relations = op.create_table(
        "business_relations",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_business_relations")),
    )
    op.bulk_insert(
        relations, [{"code": code, "description": text} for _, code, text in RELATION_CODES]
    )
    op.create_table(
        "contact_business_relations",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["business_relations.code"],
            name=op.f("fk_contact_business_relations_code_business_relations"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_business_relations_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "code", name=op.f("pk_contact_business_relations")),
    )
    op.create_table(
        "business_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_2", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("address_2", sa.String(length=50), nullable=False),
        sa.Column("city", sa.String(length=30), nullable=False),
        sa.Column("post_code", sa.String(length=20), nullable=False),
        sa.Column("county", sa.String(length=30), nullable=False),
        sa.Column("country", sa.String(length=10), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("home_page", sa.String(length=120), nullable=False),
        sa.Column("vat_no", sa.String(length=30), nullable=False),
        sa.Column("salesperson", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("modified_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["country"], ["countries.code"], name=op.f("fk_business_records_country_countries")
        ),
        sa.ForeignKeyConstraint(
            ["language"], ["languages.code"], name=op.f("fk_business_records_language_languages")
        ),
        sa.ForeignKeyConstraint(
            ["salesperson"],
            ["salespeople.code"],
            name=op.f("fk_business_records_salesperson_salespeople"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_records")),
        sa.UniqueConstraint("id", "kind", name=op.f("uq_business_records_id")),
        sa.UniqueConstraint("kind", "no", name=op.f("uq_business_records_kind")),
    )
    op.create_table(
        "business_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_business_links_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id", "kind"],
            ["business_records.id", "business_records.kind"],
            name=op.f("fk_business_links_record_id_business_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_links")),
        sa.UniqueConstraint("contact_id", "kind", name=op.f("uq_business_links_contact_id")),
        sa.UniqueConstraint("record_id", name=op.f("uq_business_links_record_id")),
    )
    op.create_table(
        "record_templates",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=10), nullable=True),
        sa.Column("salesperson", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["country"], ["countries.code"], name=op.f("fk_record_templates_country_countries")
        ),
        sa.ForeignKeyConstraint(
            ["language"], ["languages.code"], name=op.f("fk_record_templates_language_languages")
        ),
        sa.ForeignKeyConstraint(
            ["salesperson"],
            ["salespeople.code"],
            name=op.f("fk_record_templates_salesperson_salespeople"),
        ),
        sa.PrimaryKeyConstraint("kind", "code", name=op.f("pk_record_templates")),
    )
    op.create_table(
        "business_relation_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("record_no", sa.String(length=20), nullable=False),
        sa.Column("record_name", sa.String(length=100), nullable=False),
        sa.Column("contact_no", sa.String(length=20), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_relation_log")),
    )
    op.create_index(op.f("ix_business_relation_log_at"), "business_relation_log", ["at"])
    for column, code, _ in RELATION_CODES:
        op.add_column(
            "relationship_setup",
            sa.Column(column, sa.String(length=20), nullable=False, server_default=code),
        )
    op.add_column(
        "relationship_setup",
        sa.Column("auto_contact", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    with op.batch_alter_table("relationship_setup") as batch:
        batch.drop_column("auto_contact")
        for column, _, _ in reversed(RELATION_CODES):
            batch.drop_column(column)
    op.execute("DELETE FROM number_series WHERE code IN ('CUSTOMER', 'VENDOR', 'BANK', 'EMPLOYEE')")
    op.drop_index(op.f("ix_business_relation_log_at"), table_name="business_relation_log")
    op.drop_table("business_relation_log")
    op.drop_table("record_templates")
    op.drop_table("business_links")
    op.drop_table("business_records")
    op.drop_table("contact_business_relations")
    op.drop_table("business_relations")
