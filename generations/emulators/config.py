"""The emulator's settings: ``create_app(**config)`` keywords, environment defaults, ``POST /_control/config``.

Environment (read when the app is created): ``EMULATOR_QUEUE_SECONDS``, ``EMULATOR_RUN_SECONDS``,
``EMULATOR_MEDIA_DIR``, ``EMULATOR_TIMEOUT_DELAY_SECONDS``, ``EMULATOR_WAVESPEED_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, fields
from typing import Any

import httpx

from generations.emulators.registry import provider_names

#: Not a secret: the emulator's fixed dev default, so local settings can verify its webhooks without setup.
DEFAULT_WAVESPEED_WEBHOOK_SECRET = "whsec_ZW11bGF0b3Itd2F2ZXNwZWVkLXNlY3JldA"  # noqa: S105
DEFAULT_PIXVERSE_WEBHOOK_SECRET = "emulator-pixverse-webhook-secret"  # noqa: S105 - a fixed dev default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def default_concurrency() -> dict[str, int | None]:
    """Each emulator's own default (WaveSpeed Bronze: 2, queues above it; PixVerse: 5, refuses with 500044; the
    others unlimited), from ``generations.emulators.registry``."""
    from generations.emulators.registry import emulator_classes

    return {name: cls.default_concurrency for name, cls in emulator_classes().items()}


@dataclass
class EmulatorConfig:
    """All knobs. Times are seconds on the emulator clock (see ``POST /_control/clock``)."""

    queue_seconds: float = field(default_factory=lambda: _env_float("EMULATOR_QUEUE_SECONDS", 1.0))
    run_seconds: float = field(default_factory=lambda: _env_float("EMULATOR_RUN_SECONDS", 4.0))
    #: Render a succeeding job's MP4 this many seconds before the job finishes, so the file is ready when the
    #: provider says "completed", as a real provider's CDN is (``make bench``, ``emulate_providers``). ``0`` renders
    #: on the first download instead (the tests' default: no CPU spent on outputs nobody fetches).
    prerender_lead_seconds: float = field(default_factory=lambda: _env_float("EMULATOR_PRERENDER_LEAD_SECONDS", 0.0))
    #: On a real socket, how long a ``timeout`` fault holds the answer back (longer than the client's read timeout).
    timeout_delay_seconds: float = field(default_factory=lambda: _env_float("EMULATOR_TIMEOUT_DELAY_SECONDS", 30.0))
    media_dir: str = field(
        default_factory=lambda: os.environ.get("EMULATOR_MEDIA_DIR") or tempfile.mkdtemp(prefix="emulator-media-")
    )
    concurrency: dict[str, int | None] = field(default_factory=default_concurrency)
    #: ``{provider: [keys]}`` restricts the accepted API keys. Otherwise any non-empty key is accepted except keys
    #: starting with "invalid" (so tests can provoke an auth failure without configuring anything).
    api_keys: dict[str, list[str]] | None = None
    dashscope_task_ttl_seconds: float = 24 * 3600.0
    dashscope_query_qps: int = 20
    highway_url_ttl_seconds: int = 3600
    wavespeed_webhook_secret: str = field(
        default_factory=lambda: os.environ.get("EMULATOR_WAVESPEED_WEBHOOK_SECRET", DEFAULT_WAVESPEED_WEBHOOK_SECRET)
    )
    #: WaveSpeed ``enable_sync_mode``: how long the create call waits for the job before answering 5004.
    sync_timeout_seconds: float = 60.0
    #: PixVerse webhooks (providers.md §10): the webhook "created in the console": its id (sent as ``webhook_id`` in
    #: generate bodies), where it delivers and its signing secret.
    pixverse_webhook_id: str = field(
        default_factory=lambda: os.environ.get("EMULATOR_PIXVERSE_WEBHOOK_ID", "wh_emulator")
    )
    pixverse_webhook_url: str = field(default_factory=lambda: os.environ.get("EMULATOR_PIXVERSE_WEBHOOK_URL", ""))
    pixverse_webhook_secret: str = field(
        default_factory=lambda: os.environ.get("EMULATOR_PIXVERSE_WEBHOOK_SECRET", DEFAULT_PIXVERSE_WEBHOOK_SECRET)
    )
    #: How image URLs that are not the emulator's own uploads are fetched (tests pass an in-process transport).
    fetch_transport: httpx.BaseTransport | None = None
    fetch_timeout_seconds: float = 5.0
    #: How webhooks are delivered (tests pass an in-process transport or a MockTransport).
    webhook_transport: httpx.BaseTransport | None = None
    webhook_timeout_seconds: float = 5.0

    #: Keys that ``POST /_control/config`` may change (plain JSON values only).
    RUNTIME_KEYS = frozenset(
        {
            "queue_seconds",
            "run_seconds",
            "prerender_lead_seconds",
            "timeout_delay_seconds",
            "concurrency",
            "dashscope_task_ttl_seconds",
            "dashscope_query_qps",
            "highway_url_ttl_seconds",
            "sync_timeout_seconds",
            "pixverse_webhook_id",
            "pixverse_webhook_url",
            "pixverse_webhook_secret",
        }
    )

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a runtime change; raise ``ValueError`` for unknown or non-runtime keys."""
        unknown = set(changes) - self.RUNTIME_KEYS
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))} at run time")
        for key, value in changes.items():
            if key == "concurrency":
                if not isinstance(value, dict) or set(value) - set(provider_names()):
                    raise ValueError("concurrency must map provider names to an int or null")
                self.concurrency = {**self.concurrency, **value}
            else:
                setattr(self, key, value)

    def public(self) -> dict[str, Any]:
        """The JSON-safe part of the config (for ``GET /_control/config``)."""
        skip = {
            "fetch_transport",
            "webhook_transport",
            "api_keys",
            "wavespeed_webhook_secret",
            "pixverse_webhook_secret",
        }
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
