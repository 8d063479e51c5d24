"""The provider registry: name → adapter class, and adapters built from ``settings.PROVIDERS``.

``settings.PROVIDERS[name]`` is a dict with ``API_KEY``, ``BASE_URL``, ``CONCURRENCY``, ``WEBHOOK_SECRET``,
``WEBHOOK_ID``, ``ENABLED`` and ``EMULATED``. ``providers_setting`` builds it from the environment and each adapter's
facts (``settings.py`` calls it), so adding a provider is one adapter module registered here (``register_adapter``
or a line in ``ADAPTERS``) plus one emulator module — see README.md in this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from generations.providers.base import ProviderAdapter, ProviderConfig
from generations.providers.dashscope import DashScopeAdapter
from generations.providers.highway import HighwayAdapter
from generations.providers.pixverse import PixVerseAdapter
from generations.providers.wavespeed import WaveSpeedAdapter

#: The key every emulator accepts (any key not starting with "invalid" is accepted there).
EMULATOR_API_KEY = "emulator-key"

ADAPTERS: dict[str, type[ProviderAdapter]] = {
    adapter.name: adapter for adapter in (WaveSpeedAdapter, PixVerseAdapter, DashScopeAdapter, HighwayAdapter)
}


def register_adapter(cls: type[ProviderAdapter]) -> type[ProviderAdapter]:
    """Add (or replace) a provider. Usable as a class decorator; ``unregister_adapter`` undoes it."""
    ADAPTERS[cls.name] = cls
    return cls


def unregister_adapter(name: str) -> None:
    ADAPTERS.pop(name, None)


def routing_order() -> list[str]:
    """Provider names by each adapter's ``routing_rank`` (registry order breaks ties)."""
    return sorted(ADAPTERS, key=lambda name: ADAPTERS[name].routing_rank)


def providers_setting(*, emulator_url: str, environ: Mapping[str, str] | None = None) -> dict[str, dict[str, object]]:
    """``settings.PROVIDERS`` from the environment and the adapters' facts.

    A provider without ``<PREFIX>_API_KEY`` talks to the emulator at ``emulator_url`` + its ``emulator_path``
    (``EMULATED``), with the emulator's development webhook secret and id, so a newcomer needs no keys at all.
    """
    from studio.env import env_bool, env_int, env_str

    providers: dict[str, dict[str, object]] = {}
    for name, adapter in ADAPTERS.items():
        prefix = adapter.env_prefix or name.upper()
        key = env_str(f"{prefix}_API_KEY", environ=environ)
        emulated = not key
        default_url = emulator_url.rstrip("/") + adapter.emulator_path if emulated else adapter.api_base_url
        providers[name] = {
            "API_KEY": key or EMULATOR_API_KEY,
            "BASE_URL": env_str(f"{prefix}_BASE_URL", default_url, environ=environ).rstrip("/"),
            "EMULATED": emulated,
            "CONCURRENCY": env_int(f"{prefix}_CONCURRENCY", adapter.default_concurrency, min_value=1, environ=environ),
            "WEBHOOK_SECRET": env_str(
                f"{prefix}_WEBHOOK_SECRET", adapter.emulator_webhook_secret if emulated else "", environ=environ
            ),
            "WEBHOOK_ID": env_str(
                f"{prefix}_WEBHOOK_ID", adapter.emulator_webhook_id if emulated else "", environ=environ
            ),
            "ENABLED": env_bool(f"{prefix}_ENABLED", True, environ=environ),
        }
    return providers


class UnknownProviderError(LookupError):
    """No adapter is registered under that name."""


def adapter_class(name: str) -> type[ProviderAdapter]:
    """The adapter class registered as ``name``; raises ``UnknownProviderError`` naming the known ones."""
    try:
        return ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownProviderError(f"unknown provider {name!r}; known providers: {known}") from None


def _providers_setting() -> Mapping[str, Mapping[str, object]]:
    return getattr(settings, "PROVIDERS", {})


def emulation_blocked(name: str) -> bool:
    """True when ``name`` is emulated while another provider is real and ``ALLOW_EMULATED_BESIDE_REAL`` is off.

    A deployment with real keys must never route a paying user's job to the local emulator by accident (issue 13,
    finding 6), so an emulated provider is only selectable when every provider is emulated, or when asked for.
    """
    providers = _providers_setting()
    if not bool(providers.get(name, {}).get("EMULATED", False)):
        return False
    if getattr(settings, "ALLOW_EMULATED_BESIDE_REAL", False):
        return False
    return any(not bool(raw.get("EMULATED", False)) for other, raw in providers.items() if other != name)


def provider_config(name: str) -> ProviderConfig:
    """``settings.PROVIDERS[name]`` as a ProviderConfig (missing keys take the dataclass defaults)."""
    adapter_class(name)
    providers = _providers_setting()
    raw = providers.get(name, {})
    return ProviderConfig(
        api_key=str(raw.get("API_KEY") or ""),
        base_url=str(raw.get("BASE_URL") or ""),
        webhook_secret=str(raw.get("WEBHOOK_SECRET") or ""),
        webhook_id=str(raw.get("WEBHOOK_ID") or ""),
        concurrency=int(str(raw.get("CONCURRENCY") or 1)),
        enabled=bool(raw.get("ENABLED", name in providers)) and not emulation_blocked(name),
        emulated=bool(raw.get("EMULATED", False)),
    )


def download_allowed_hosts(url: str, provider: str) -> list[str]:
    """Hosts the SSRF guard may let through for an output ``url`` of ``provider`` although they are private.

    ``settings.SSRF_ALLOWED_HOSTS`` plus, only for an *emulated* provider, the emulator's own host — and only when
    ``url`` has the same scheme, host, port and first path segment as that provider's ``BASE_URL`` (so
    ``http://127.0.0.1:6379/`` or another provider's emulator path never passes; issue 13, finding 6).
    """
    from generations.providers.ssrf import configured_allowed_hosts

    hosts = configured_allowed_hosts()
    if not provider or provider not in ADAPTERS:
        return hosts
    config = provider_config(provider)
    if not config.emulated or not config.base_url:
        return hosts
    base, target = urlsplit(config.base_url), urlsplit(url)

    def origin(parts: SplitResult) -> tuple[str, str, int | None]:
        try:
            return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return "", "", None

    first = base.path.strip("/").split("/", 1)[0]
    same_prefix = not first or target.path.strip("/").split("/", 1)[0] == first
    if origin(base) == origin(target) and origin(base)[1] and same_prefix:
        return [*hosts, origin(base)[1]]
    return hosts


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
