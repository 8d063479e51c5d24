"""Shared provider fixtures. Importable: the pipeline's tests use ``emulator_setup`` and the fixtures below.

- ``emulator``: the emulator app in-process (timelines 0 s), its transport installed in the HTTP seam, and
  ``settings.PROVIDERS`` pointing every provider at ``http://emulator.test/<prefix>``. Input images given as URLs
  under ``http://media.test/`` are served to the emulator by an in-memory ``MockTransport``.
- ``mock_transport``: install an ``httpx.MockTransport`` handler in the seam for recorded-payload unit tests.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from generations.providers import http as provider_http
from generations.providers.base import ImageInput, JobSpec, Mode, ProviderAdapter, ProviderConfig, Reference
from generations.providers.registry import adapter_class, get_adapter

EMULATOR_HOST = "emulator.test"
EMULATOR_URL = f"http://{EMULATOR_HOST}"
EMULATOR_PREFIXES: dict[str, str] = {
    "wavespeed": "/wavespeed/api/v3",
    "pixverse": "/pixverse/openapi/v2",
    "dashscope": "/dashscope/api/v1",
    "highway": "/highway/v3",
}
MEDIA_HOST = "media.test"
FAKE_BASE_URL = "https://provider.test/base"


def png_bytes(width: int = 96, height: int = 64, colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A small valid PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class MediaHost:
    """In-memory ``http://media.test/<name>`` files for the emulator to fetch (stands in for our public storage)."""

    files: dict[str, bytes] = field(default_factory=dict)

    def add(self, name: str, content: bytes) -> ImageInput:
        self.files[name] = content
        return ImageInput(
            sha256=uuid.uuid4().hex,
            url=f"http://{MEDIA_HOST}/{name}",
            content=content,
            filename=name,
        )

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            content = self.files.get(request.url.path.lstrip("/"))
            if content is None:
                return httpx.Response(404)
            return httpx.Response(200, content=content, headers={"content-type": "image/png"})

        return httpx.MockTransport(handler)


@dataclass
class EmulatorSetup:
    """A running in-process emulator wired into the seam and settings."""

    app: Any
    transport: httpx.BaseTransport
    media: MediaHost

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport, base_url=EMULATOR_URL)

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.client() as client:
            return client.request(method, f"/_control/{path.lstrip('/')}", **kwargs)

    def arm(self, *, provider: str, fault: str, on: str = "create", times: int = 1) -> None:
        response = self.control("POST", "faults", json={"provider": provider, "fault": fault, "on": on, "times": times})
        response.raise_for_status()

    def adapter(self, name: str) -> ProviderAdapter:
        return get_adapter(name)

    def image(self, name: str = "input.png", **kwargs: Any) -> ImageInput:
        return self.media.add(name, png_bytes(**kwargs))


def emulator_providers_setting(*, api_key: str = "emulator-key") -> dict[str, dict[str, object]]:
    """``settings.PROVIDERS`` pointing every provider at the in-process emulator."""
    return {
        name: {
            "API_KEY": api_key,
            "BASE_URL": EMULATOR_URL + prefix,
            "CONCURRENCY": 2,
            "WEBHOOK_SECRET": "whsec_test-secret",
            "ENABLED": True,
            "EMULATED": True,
        }
        for name, prefix in EMULATOR_PREFIXES.items()
    }


@contextlib.contextmanager
def emulator_setup(settings: Any, media_dir: Path, **config: Any) -> Iterator[EmulatorSetup]:
    """Build the emulator app (0 s timelines unless ``config`` says otherwise) and install it everywhere.

    ``settings`` is pytest-django's ``settings`` fixture (changes are undone after the test).
    """
    from generations.emulators.app import create_app
    from generations.emulators.transport import EmulatorTransport

    media = MediaHost()
    options: dict[str, Any] = {
        "queue_seconds": 0,
        "run_seconds": 0,
        "media_dir": str(media_dir),
        "fetch_transport": media.transport(),
        **config,
    }
    app = create_app(**options)
    transport = EmulatorTransport(app)
    settings.PROVIDERS = emulator_providers_setting()
    settings.SSRF_ALLOWED_HOSTS = [EMULATOR_HOST, MEDIA_HOST]
    with provider_http.use_transport(transport):
        yield EmulatorSetup(app=app, transport=transport, media=media)


@pytest.fixture
def emulator(settings: Any, tmp_path: Path) -> Iterator[EmulatorSetup]:
    with emulator_setup(settings, tmp_path / "emulator-media") as setup:
        yield setup


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class MockProvider:
    """Recorded requests plus a swappable handler behind ``httpx.MockTransport``."""

    handler: Handler | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.handler is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return self.handler(request)

    def reply(self, *responses: httpx.Response | Exception) -> None:
        """Answer the next requests with ``responses`` in order (an exception is raised as a transport failure)."""
        queue = list(responses)

        def handler(request: httpx.Request) -> httpx.Response:
            if not queue:
                raise AssertionError(f"no reply queued for {request.method} {request.url}")
            item = queue.pop(0)
            if isinstance(item, Exception):
                raise item
            return item

        self.handler = handler


@pytest.fixture
def mock_transport() -> Iterator[MockProvider]:
    mock = MockProvider()
    with provider_http.use_transport(httpx.MockTransport(mock)):
        yield mock


def make_adapter(name: str, *, base_url: str = FAKE_BASE_URL, api_key: str = "sk-test") -> ProviderAdapter:
    """An adapter configured without settings (unit tests)."""
    return adapter_class(name)(ProviderConfig(api_key=api_key, base_url=base_url))


def image_input(
    name: str = "input.png", *, url: str = "https://cdn.example.com/input.png", **kwargs: Any
) -> ImageInput:
    """An ImageInput with real PNG bytes and a URL."""
    return ImageInput(sha256=uuid.uuid4().hex, url=url, content=png_bytes(), filename=name, **kwargs)


def job_spec(mode: Mode, *, image: ImageInput | None = None, **overrides: Any) -> JobSpec:
    """A valid spec for ``mode``: i2v gets one image, r2v two references (@cat, @park) used in the prompt."""
    fields: dict[str, Any] = {"job_id": uuid.uuid4(), "mode": mode, "prompt": "a cat walks in a park"}
    if mode == Mode.IMAGE_TO_VIDEO:
        fields["image"] = image or image_input()
    elif mode == Mode.REFERENCE_TO_VIDEO:
        fields["prompt"] = "@cat plays in @park at dusk"
        fields["references"] = (
            Reference(ref_name="cat", type="subject", image=image or image_input("cat.png")),
            Reference(ref_name="park", type="background", image=image_input("park.png")),
        )
        fields["aspect_ratio"] = "16:9"
    else:
        fields["aspect_ratio"] = "16:9"
    fields.update(overrides)
    return JobSpec(**fields)
