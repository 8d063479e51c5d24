"""Drop the indexes every hold writes and nothing reads: Hold.team (the (team, user, created_at) index starts with
it), Hold.reference (shown, never looked up) and LedgerEntry.wallet (the (wallet, account) index starts with it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_monthly_spend_counters"),
        ("teams", "0002_team_archived_at_require_mfa"),
    ]

    operations = [
        migrations.AlterField(
            model_name="hold",
            name="reference",
            field=models.CharField(blank=True, help_text="The job's UUID.", max_length=100),
        ),
        migrations.AlterField(
            model_name="hold",
            name="team",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="teams.team",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="wallet",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="billing.wallet",
            ),
        ),
    ]
