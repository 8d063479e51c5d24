from django.db import migrations, models

# The asset library's newest-first read by team uses this index instead of sorting every asset (studio/assets/models.py).
# AddIndex is reversible (the index is dropped on the way back).


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0002_asset_retired"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="asset",
            index=models.Index(fields=["team", "-created_at", "-id"], name="assets_team_recent"),
        ),
    ]
