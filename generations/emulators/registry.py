"""Which provider emulators the app serves: the four built in, plus any registered with ``register_emulator``.

An emulator is one module with one ``ProviderEmulator`` subclass (its wire format, written from the provider's docs).
The app mounts each under ``/<name>`` and takes its default concurrency from the class; nothing else lists them.
This registry is the emulator side's own: it never imports an adapter (emulators follow the docs, not our code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generations.emulators.provider import ProviderEmulator

_EMULATORS: dict[str, type[ProviderEmulator]] = {}


def _load_builtins() -> None:
    if _EMULATORS:
        return
    from generations.emulators.dashscope import DashScopeEmulator
    from generations.emulators.highway import HighwayEmulator
    from generations.emulators.pixverse import PixVerseEmulator
    from generations.emulators.wavespeed import WaveSpeedEmulator

    for cls in (WaveSpeedEmulator, PixVerseEmulator, DashScopeEmulator, HighwayEmulator):
        _EMULATORS.setdefault(cls.name, cls)


def emulator_classes() -> dict[str, type[ProviderEmulator]]:
    """Every emulator by provider name, in registration order."""
    _load_builtins()
    return dict(_EMULATORS)


def provider_names() -> tuple[str, ...]:
    return tuple(emulator_classes())


def register_emulator(cls: type[ProviderEmulator]) -> type[ProviderEmulator]:
    """Serve ``cls`` in apps created from now on (usable as a class decorator)."""
    _load_builtins()
    _EMULATORS[cls.name] = cls
    return cls


def unregister_emulator(name: str) -> None:
    _EMULATORS.pop(name, None)
