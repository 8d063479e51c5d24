"""Local runs verify the emulators' webhooks out of the box: settings and the emulator agree on the dev secret."""

from django.conf import settings

from generations.emulators.config import DEFAULT_WAVESPEED_WEBHOOK_SECRET


def test_emulated_wavespeed_uses_the_emulators_webhook_secret() -> None:
    assert settings.PROVIDERS["wavespeed"]["EMULATED"] is True
    assert settings.PROVIDERS["wavespeed"]["WEBHOOK_SECRET"] == DEFAULT_WAVESPEED_WEBHOOK_SECRET
