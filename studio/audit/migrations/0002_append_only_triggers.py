"""Make the audit log append-only in the database, as the ledger is (billing/migrations/0002): UPDATE and DELETE of
audit rows raise whatever code runs them. On SQLite the DELETE trigger lets Django's own flush through, through the
function billing/dbguard.py registers on every connection.
"""

from django.db import migrations

TABLE = "audit_auditevent"

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit: % of % refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'audit: UPDATE of {TABLE} refused: the audit log is append-only'); END;"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} WHEN NOT billing_flush_in_progress() "
            f"BEGIN SELECT RAISE(ABORT, 'audit: DELETE of {TABLE} refused: the audit log is append-only'); END;"
        )
    else:
        raise RuntimeError(f"No append-only triggers for database vendor {vendor!r}; add them to this migration.")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};")
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_refuse_change();")
    elif vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_update;")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_delete;")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("billing", "0002_append_only_triggers")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
