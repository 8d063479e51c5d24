"""The provider registry: name → adapter class, and adapters built from ``settings.PROVIDERS``.

``settings.PROVIDERS[name]`` is a dict with ``API_KEY``, ``BASE_URL``, ``CONCURRENCY``, ``WEBHOOK_SECRET`` and
``ENABLED``. Adding a provider = one adapter module + one line in ``ADAPTERS`` (see README.md in this package).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings

from generations.providers.base import ProviderAdapter, ProviderConfig
from generations.providers.dashscope import DashScopeAdapter
from generations.providers.highway import HighwayAdapter
from generations.providers.pixverse import PixVerseAdapter
from generations.providers.wavespeed import WaveSpeedAdapter

ADAPTERS: dict[str, type[ProviderAdapter]] = {
    adapter.name: adapter for adapter in (WaveSpeedAdapter, PixVerseAdapter, DashScopeAdapter, HighwayAdapter)
}


class UnknownProviderError(LookupError):
    """No adapter is registered under that name."""


def adapter_class(name: str) -> type[ProviderAdapter]:
    """The adapter class registered as ``name``; raises ``UnknownProviderError`` naming the known ones."""
    try:
        return ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownProviderError(f"unknown provider {name!r}; known providers: {known}") from None


def provider_config(name: str) -> ProviderConfig:
    """``settings.PROVIDERS[name]`` as a ProviderConfig (missing keys take the dataclass defaults)."""
    adapter_class(name)
    providers: Mapping[str, Mapping[str, object]] = getattr(settings, "PROVIDERS", {})
    raw = providers.get(name, {})
    return ProviderConfig(
        api_key=str(raw.get("API_KEY") or ""),
        base_url=str(raw.get("BASE_URL") or ""),
        webhook_secret=str(raw.get("WEBHOOK_SECRET") or ""),
        webhook_id=str(raw.get("WEBHOOK_ID") or ""),
        concurrency=int(str(raw.get("CONCURRENCY") or 1)),
        enabled=bool(raw.get("ENABLED", name in providers)),
    )


def get_adapter(name: str) -> ProviderAdapter:
    """A ready adapter for ``name``, configured from settings. Cheap: build one per use."""
    return adapter_class(name)(provider_config(name))


def all_adapters(*, enabled_only: bool = True) -> list[ProviderAdapter]:
    """Every registered adapter (by default only those whose settings say ``ENABLED``), in registry order."""
    adapters = [get_adapter(name) for name in ADAPTERS]
    return [adapter for adapter in adapters if adapter.config.enabled or not enabled_only]


def provider_choices(*, enabled_only: bool = False) -> list[tuple[str, str]]:
    """``(name, label)`` pairs for form and model choices (all registered providers unless ``enabled_only``)."""
    if enabled_only:
        return [(adapter.name, adapter.label) for adapter in all_adapters()]
    return [(name, adapter.label) for name, adapter in ADAPTERS.items()]
