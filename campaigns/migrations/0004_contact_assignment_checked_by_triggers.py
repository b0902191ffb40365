"""The contact → assignment reference is kept by triggers instead of a foreign key (PostgreSQL).

A deferred foreign key checks every changed row at commit, one lookup each: handing a million
contacts to texters spent about 4 s there. The triggers keep the same two promises:

- a contact's assignment exists, and can't be deleted until the writing transaction ends (the
  row check locks it FOR KEY SHARE, as the foreign key's check did). A statement that checked
  and locked its assignments itself, once, turns the per-row check off for its own rows with the
  transaction-local setting `spoke.contact_assignments_checked` (campaigns.services);
- an assignment that contacts still point at can't be deleted, re-keyed or truncated away.

Both checks run at the end of the statement rather than at commit. Under READ COMMITTED (what
Django uses) a delete that waited for a concurrent assignment's lock sees its contacts, as the
foreign key did. SQLite (development) keeps no database-level check for this reference;
Django's on_delete=SET_NULL still clears it before an assignment is deleted.
"""

from django.db import migrations, models
import django.db.models.deletion

FORWARD = """
CREATE FUNCTION campaigns_contact_assignment_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM campaigns_assignment WHERE id = NEW.assignment_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "campaigns_contact" violates its assignment reference'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (assignment_id)=(%s) is not present in table "campaigns_assignment".',
                                  NEW.assignment_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER contact_assignment_exists_on_insert
    AFTER INSERT ON campaigns_contact FOR EACH ROW
    WHEN (NEW.assignment_id IS NOT NULL)
    EXECUTE FUNCTION campaigns_contact_assignment_exists();

CREATE TRIGGER contact_assignment_exists_on_update
    AFTER UPDATE OF assignment_id ON campaigns_contact FOR EACH ROW
    WHEN (current_setting('spoke.contact_assignments_checked', true) IS DISTINCT FROM 'on'
          AND NEW.assignment_id IS NOT NULL AND NEW.assignment_id IS DISTINCT FROM OLD.assignment_id)
    EXECUTE FUNCTION campaigns_contact_assignment_exists();

CREATE FUNCTION campaigns_assignment_unreferenced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM campaigns_contact WHERE assignment_id IS NOT NULL) THEN
            RAISE EXCEPTION 'cannot truncate table "campaigns_assignment": contacts still point at its rows'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM campaigns_contact WHERE assignment_id = OLD.id) THEN
        RAISE EXCEPTION 'update or delete on table "campaigns_assignment" violates its contacts'' reference'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (id)=(%s) is still referenced from table "campaigns_contact".', OLD.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER assignment_unreferenced_on_delete
    AFTER DELETE ON campaigns_assignment FOR EACH ROW
    EXECUTE FUNCTION campaigns_assignment_unreferenced();

CREATE TRIGGER assignment_unreferenced_on_update
    AFTER UPDATE OF id ON campaigns_assignment FOR EACH ROW
    WHEN (NEW.id IS DISTINCT FROM OLD.id)
    EXECUTE FUNCTION campaigns_assignment_unreferenced();

CREATE TRIGGER assignment_unreferenced_on_truncate
    AFTER TRUNCATE ON campaigns_assignment FOR EACH STATEMENT
    EXECUTE FUNCTION campaigns_assignment_unreferenced();
"""

BACKWARD = """
DROP TRIGGER assignment_unreferenced_on_truncate ON campaigns_assignment;
DROP TRIGGER assignment_unreferenced_on_update ON campaigns_assignment;
DROP TRIGGER assignment_unreferenced_on_delete ON campaigns_assignment;
DROP FUNCTION campaigns_assignment_unreferenced();
DROP TRIGGER contact_assignment_exists_on_update ON campaigns_contact;
DROP TRIGGER contact_assignment_exists_on_insert ON campaigns_contact;
DROP FUNCTION campaigns_contact_assignment_exists();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0003_contact_indexes_for_bulk_paths'),
    ]

    operations = [
        migrations.AlterField(
            model_name='contact',
            name='assignment',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='contacts', to='campaigns.assignment'),
        ),
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD)),
    ]
