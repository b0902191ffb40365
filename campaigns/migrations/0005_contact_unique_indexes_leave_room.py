"""The contact table's two unique indexes leave half of each leaf page free (PostgreSQL).

Assigning a contact writes a new version of its row, and every index gets a second entry for it
right beside the first: the primary key and the (cell, campaign) constraint have nowhere to put it
on pages filled to the default 90%, so handing out a campaign split nearly every leaf page, each
split preceded by a bottom-up deletion pass that finds nothing to delete (the old versions belong
to the very statement). Filled to 50% as ids (and, for an upload in cell order, cells) arrive, the
pages take the second entries in place: a million-contact hand-out spends about a second less.
Afterwards the indexes are the size they would have grown to anyway.

The setting applies to pages split from now on; Django's model state does not carry it (no option
for a primary key or a UniqueConstraint), so an index rebuilt by a later migration must set it again.
"""

from django.db import migrations

FORWARD = """
ALTER INDEX campaigns_contact_pkey SET (fillfactor = 50);
ALTER INDEX contact_unique_cell_campaign SET (fillfactor = 50);
"""

BACKWARD = """
ALTER INDEX campaigns_contact_pkey RESET (fillfactor);
ALTER INDEX contact_unique_cell_campaign RESET (fillfactor);
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0004_contact_assignment_checked_by_triggers'),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD)),
    ]
