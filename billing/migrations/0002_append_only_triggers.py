"""Make the ledger append-only in the database: UPDATE and DELETE of ledger entries, ledger transactions and hold
resolutions raise, whatever code runs them. PostgreSQL: a plpgsql trigger raising SQLSTATE 23000 (Django maps it
to IntegrityError). SQLite: RAISE(ABORT) triggers (also IntegrityError); the DELETE triggers let Django's own flush
through (see billing/dbguard.py).

Note for later migrations: on SQLite, a migration that rebuilds one of these tables drops its triggers; re-create
them in the same migration (reuse ``forwards`` below).
"""

from django.db import migrations

TABLES = ["billing_ledgerentry", "billing_ledgertransaction", "billing_holdresolution"]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION billing_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'billing: % of % refused: the ledger is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # no %-interpolation: the body uses % placeholders
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION billing_refuse_change();"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'billing: UPDATE of {table} refused: the ledger is append-only'); END;"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} WHEN NOT billing_flush_in_progress() "
                f"BEGIN SELECT RAISE(ABORT, 'billing: DELETE of {table} refused: the ledger is append-only'); END;"
            )
    else:
        raise RuntimeError(f"No append-only triggers for database vendor {vendor!r}; add them to this migration.")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete;")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS billing_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
