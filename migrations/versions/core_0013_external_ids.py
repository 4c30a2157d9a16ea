"""One store for the ids contacts have in other systems: the vCard UID a contact was imported with
moves from ``contact_details.uid`` to ``contact_external_ids`` (source "vcard"), where the import
pipeline matches every external id, and the column goes.

A UID that two contacts shared (the old column was not unique) stays with the oldest contact;
a (vcard, UID) pair already in contact_external_ids is kept as it is. SQLite: a plain
ALTER TABLE ... DROP COLUMN on contact_details (3.35+); ``contacts`` is not touched.

Revision ID: core_0013
Revises: core_0012
Create Date: 2026-11-24 03:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0013"
down_revision = "core_0012"
branch_labels = None
depends_on = None

SOURCE = "vcard"


def upgrade():
    op.execute(sa.text(
        "INSERT INTO contact_external_ids (source, external_id, contact_id) "
        "SELECT :source, d.uid, MIN(d.contact_id) FROM contact_details d "
        "WHERE d.uid IS NOT NULL AND d.uid <> '' AND NOT EXISTS ("
        " SELECT 1 FROM contact_external_ids e WHERE e.source = :source AND e.external_id = d.uid) "
        "GROUP BY d.uid"
    ).bindparams(source=SOURCE))
    op.drop_index("ix_contact_details_uid", table_name="contact_details")
    op.drop_column("contact_details", "uid")


def downgrade():
    op.add_column("contact_details", sa.Column("uid", sa.String(length=200), nullable=True))
    op.create_index("ix_contact_details_uid", "contact_details", ["uid"])
    # Each contact's oldest vCard UID goes back to its details row (made for contacts without one).
    oldest = ("SELECT e.contact_id, e.external_id FROM contact_external_ids e WHERE e.source = :source AND e.id = ("
              " SELECT MIN(f.id) FROM contact_external_ids f WHERE f.source = :source AND f.contact_id = e.contact_id)")
    op.execute(sa.text(
        "INSERT INTO contact_details (contact_id, title, notes) "
        f"SELECT o.contact_id, '', '' FROM ({oldest}) o WHERE NOT EXISTS ("
        " SELECT 1 FROM contact_details d WHERE d.contact_id = o.contact_id)"
    ).bindparams(source=SOURCE))
    op.execute(sa.text(
        f"UPDATE contact_details SET uid = (SELECT o.external_id FROM ({oldest}) o "
        " WHERE o.contact_id = contact_details.contact_id)"
    ).bindparams(source=SOURCE))
    op.execute(sa.text("DELETE FROM contact_external_ids WHERE source = :source").bindparams(source=SOURCE))
