"""The contact card, its code tables, the setup and the find index.

The find index is backend-specific: an FTS5 trigram table kept by triggers on SQLite, a
pg_trgm GIN index on PostgreSQL. A later migration that rebuilds `contacts` with
`batch_alter_table` on SQLite drops those triggers and must create them again.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 22:34:22.134262
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "countries",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_countries")),
    )
    op.create_table(
        "industry_groups",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_industry_groups")),
    )
    op.create_table(
        "job_responsibilities",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_job_responsibilities")),
    )
    op.create_table(
        "languages",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_languages")),
    )
    op.create_table(
        "mailing_groups",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_mailing_groups")),
    )
    op.create_table(
        "number_series",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("prefix", sa.String(length=10), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_number_series")),
    )
    op.create_table(
        "organizational_levels",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organizational_levels")),
    )
    op.create_table(
        "relationship_setup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("default_salesperson", sa.String(length=20), nullable=False),
        sa.Column("default_territory", sa.String(length=20), nullable=False),
        sa.Column("default_country", sa.String(length=10), nullable=False),
        sa.Column("default_language", sa.String(length=10), nullable=False),
        sa.Column("default_company_salutation", sa.String(length=20), nullable=False),
        sa.Column("default_person_salutation", sa.String(length=20), nullable=False),
        sa.Column("inherit_salesperson", sa.Boolean(), nullable=False),
        sa.Column("inherit_territory", sa.Boolean(), nullable=False),
        sa.Column("inherit_country", sa.Boolean(), nullable=False),
        sa.Column("inherit_language", sa.Boolean(), nullable=False),
        sa.Column("inherit_address", sa.Boolean(), nullable=False),
        sa.Column("inherit_communication", sa.Boolean(), nullable=False),
        sa.Column("contact_series", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relationship_setup")),
    )
    op.create_table(
        "salespeople",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("slack_user_id", sa.String(length=30), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_salespeople")),
    )
    op.create_table(
        "salutations",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_salutations")),
    )
    op.create_table(
        "territories",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_territories")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("type", sa.Enum("company", "person", name="contact_type"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_2", sa.String(length=50), nullable=False),
        sa.Column("first_name", sa.String(length=30), nullable=False),
        sa.Column("middle_name", sa.String(length=30), nullable=False),
        sa.Column("surname", sa.String(length=30), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("company_name", sa.String(length=100), nullable=False),
        sa.Column("job_title", sa.String(length=30), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("address_2", sa.String(length=50), nullable=False),
        sa.Column("city", sa.String(length=30), nullable=False),
        sa.Column("post_code", sa.String(length=20), nullable=False),
        sa.Column("county", sa.String(length=30), nullable=False),
        sa.Column("country", sa.String(length=10), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("mobile", sa.String(length=30), nullable=False),
        sa.Column("mobile_e164", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("email_normalized", sa.String(length=120), nullable=False),
        sa.Column("home_page", sa.String(length=120), nullable=False),
        sa.Column("vat_no", sa.String(length=30), nullable=False),
        sa.Column("salesperson", sa.String(length=20), nullable=True),
        sa.Column("territory", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=True),
        sa.Column("salutation", sa.String(length=20), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("modified_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["contacts.id"],
            name=op.f("fk_contacts_company_id_contacts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["country"], ["countries.code"], name=op.f("fk_contacts_country_countries")
        ),
        sa.ForeignKeyConstraint(
            ["language"], ["languages.code"], name=op.f("fk_contacts_language_languages")
        ),
        sa.ForeignKeyConstraint(
            ["level"],
            ["organizational_levels.code"],
            name=op.f("fk_contacts_level_organizational_levels"),
        ),
        sa.ForeignKeyConstraint(
            ["salesperson"], ["salespeople.code"], name=op.f("fk_contacts_salesperson_salespeople")
        ),
        sa.ForeignKeyConstraint(
            ["salutation"], ["salutations.code"], name=op.f("fk_contacts_salutation_salutations")
        ),
        sa.ForeignKeyConstraint(
            ["territory"], ["territories.code"], name=op.f("fk_contacts_territory_territories")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("no", name=op.f("uq_contacts_no")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contacts_email_normalized"), ["email_normalized"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contacts_mobile_e164"), ["mobile_e164"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_phone_e164"), ["phone_e164"], unique=False)

    op.create_table(
        "salutation_formulas",
        sa.Column("salutation_code", sa.String(length=20), nullable=False),
        sa.Column("language_code", sa.String(length=10), nullable=False),
        sa.Column("salutation_type", sa.String(length=10), nullable=False),
        sa.Column("formula", sa.String(length=100), nullable=False),
        sa.Column("name_1", sa.String(length=20), nullable=False),
        sa.Column("name_2", sa.String(length=20), nullable=False),
        sa.Column("name_3", sa.String(length=20), nullable=False),
        sa.Column("name_4", sa.String(length=20), nullable=False),
        sa.Column("name_5", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["salutation_code"],
            ["salutations.code"],
            name=op.f("fk_salutation_formulas_salutation_code_salutations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "salutation_code",
            "language_code",
            "salutation_type",
            name=op.f("pk_salutation_formulas"),
        ),
    )
    op.create_table(
        "contact_alt_addresses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("company_name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("address_2", sa.String(length=50), nullable=False),
        sa.Column("city", sa.String(length=30), nullable=False),
        sa.Column("post_code", sa.String(length=20), nullable=False),
        sa.Column("county", sa.String(length=30), nullable=False),
        sa.Column("country", sa.String(length=10), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("email_normalized", sa.String(length=120), nullable=False),
        sa.Column("starting_date", sa.Date(), nullable=True),
        sa.Column("ending_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_alt_addresses_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["country"], ["countries.code"], name=op.f("fk_contact_alt_addresses_country_countries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_alt_addresses")),
        sa.UniqueConstraint("contact_id", "code", name=op.f("uq_contact_alt_addresses_contact_id")),
    )
    with op.batch_alter_table("contact_alt_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_alt_addresses_email_normalized"),
            ["email_normalized"],
            unique=False,
        )

    op.create_table(
        "contact_industry_groups",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["industry_groups.code"],
            name=op.f("fk_contact_industry_groups_code_industry_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_industry_groups_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "code", name=op.f("pk_contact_industry_groups")),
    )
    op.create_table(
        "contact_job_responsibilities",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["job_responsibilities.code"],
            name=op.f("fk_contact_job_responsibilities_code_job_responsibilities"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_job_responsibilities_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "code", name=op.f("pk_contact_job_responsibilities")),
    )
    op.create_table(
        "contact_mailing_groups",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["mailing_groups.code"],
            name=op.f("fk_contact_mailing_groups_code_mailing_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_mailing_groups_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "code", name=op.f("pk_contact_mailing_groups")),
    )

    create_search_index()
    seed_setup()


def downgrade() -> None:
    drop_search_index()
    op.drop_table("contact_mailing_groups")
    op.drop_table("contact_job_responsibilities")
    op.drop_table("contact_industry_groups")
    with op.batch_alter_table("contact_alt_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_alt_addresses_email_normalized"))

    op.drop_table("contact_alt_addresses")
    op.drop_table("salutation_formulas")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_phone_e164"))
        batch_op.drop_index(batch_op.f("ix_contacts_mobile_e164"))
        batch_op.drop_index(batch_op.f("ix_contacts_email_normalized"))
        batch_op.drop_index(batch_op.f("ix_contacts_company_id"))

    op.drop_table("contacts")
    op.drop_table("territories")
    op.drop_table("salutations")
    op.drop_table("salespeople")
    op.drop_table("relationship_setup")
    op.drop_table("organizational_levels")
    op.drop_table("number_series")
    op.drop_table("mailing_groups")
    op.drop_table("languages")
    op.drop_table("job_responsibilities")
    op.drop_table("industry_groups")
    op.drop_table("countries")
    # PostgreSQL keeps an enum type after its table is gone; without this the next upgrade
    # fails with `type contact_type already exists`.
    sa.Enum(name="contact_type").drop(op.get_bind(), checkfirst=True)


SQLITE_SEARCH_DDL = [
    "CREATE VIRTUAL TABLE contact_search USING fts5("
    "search_text, content='contacts', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER contacts_search_ai AFTER INSERT ON contacts BEGIN "
    "INSERT INTO contact_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER contacts_search_ad AFTER DELETE ON contacts BEGIN "
    "INSERT INTO contact_search(contact_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER contacts_search_au AFTER UPDATE OF search_text ON contacts BEGIN "
    "INSERT INTO contact_search(contact_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO contact_search(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def create_search_index() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_SEARCH_DDL:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_contacts_search_trgm ON contacts USING gin (search_text gin_trgm_ops)"
        )


def drop_search_index() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("contacts_search_ai", "contacts_search_ad", "contacts_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS contact_search")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_contacts_search_trgm")


def seed_setup() -> None:
    """The one setup row and the contact number series, so that no two first writers race
    to create them."""
    op.execute(
        "INSERT INTO number_series (code, prefix, width, start, last_number) "
        "VALUES ('CONTACT', 'CT', 6, 1, 0)"
    )
    op.execute(
        "INSERT INTO relationship_setup (id, default_salesperson, default_territory, "
        "default_country, default_language, default_company_salutation, "
        "default_person_salutation, inherit_salesperson, inherit_territory, inherit_country, "
        "inherit_language, inherit_address, inherit_communication, contact_series) "
        "VALUES (1, '', '', '', '', '', '', TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, 'CONTACT')"
    )
