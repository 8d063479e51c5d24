"""The registry builds adapters from settings.PROVIDERS."""

from __future__ import annotations

from typing import Any

import pytest

from generations.providers.dashscope import DashScopeAdapter
from generations.providers.registry import (
    ADAPTERS,
    UnknownProviderError,
    all_adapters,
    get_adapter,
    provider_choices,
)


def test_four_providers_are_registered() -> None:
    assert set(ADAPTERS) == {"wavespeed", "pixverse", "dashscope", "highway"}
    assert all(name == adapter.name for name, adapter in ADAPTERS.items())


def test_get_adapter_reads_settings(settings: Any) -> None:
    settings.PROVIDERS = {
        "dashscope": {
            "API_KEY": "sk-1",
            "BASE_URL": "https://ds.test/api/v1",
            "CONCURRENCY": 3,
            "WEBHOOK_SECRET": "",
            "ENABLED": True,
        }
    }
    adapter = get_adapter("dashscope")
    assert isinstance(adapter, DashScopeAdapter)
    assert (adapter.config.api_key, adapter.config.base_url, adapter.config.concurrency) == (
        "sk-1",
        "https://ds.test/api/v1",
        3,
    )


def test_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(UnknownProviderError, match="dashscope, highway, pixverse, wavespeed"):
        get_adapter("runway")


def test_all_adapters_skips_disabled(settings: Any) -> None:
    settings.PROVIDERS = {name: {"BASE_URL": "https://x.test", "ENABLED": name != "highway"} for name in ADAPTERS}
    assert [a.name for a in all_adapters()] == ["wavespeed", "pixverse", "dashscope"]
    assert len(all_adapters(enabled_only=False)) == 4
    assert ("highway", "HighwayAPI") not in provider_choices(enabled_only=True)
    assert ("highway", "HighwayAPI") in provider_choices()
