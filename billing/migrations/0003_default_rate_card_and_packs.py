"""Install the default rate card (DESIGN.md §4) as active version 1, and three credit packs ($1 = 200 credits)."""

from django.db import migrations

# A frozen copy of billing.metering.DEFAULT_RATES on purpose: a migration must install what v1 was, even after the
# code's defaults change.
DEFAULT_RATES = {
    ("360p", False): 6,
    ("360p", True): 8,
    ("540p", False): 8,
    ("540p", True): 10,
    ("720p", False): 10,
    ("720p", True): 13,
    ("1080p", False): 19,
    ("1080p", True): 24,
}

PACKS = [("Starter", 1_000, 500), ("Creator", 5_000, 2_500), ("Studio", 20_000, 10_000)]


def forwards(apps, schema_editor):
    RateCard = apps.get_model("billing", "RateCard")
    RateCardCell = apps.get_model("billing", "RateCardCell")
    CreditPack = apps.get_model("billing", "CreditPack")
    if not RateCard.objects.exists():
        card = RateCard.objects.create(version=1, is_active=True, note="DESIGN.md §4 default (WaveSpeed's USD table)")
        RateCardCell.objects.bulk_create(
            RateCardCell(rate_card=card, resolution=res, audio=audio, credits_per_second=rate)
            for (res, audio), rate in DEFAULT_RATES.items()
        )
    if not CreditPack.objects.exists():
        for order, (name, credits, cents) in enumerate(PACKS):
            CreditPack.objects.create(name=name, credits=credits, price_cents=cents, currency="usd", sort_order=order)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_append_only_triggers")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
