"""Fixtures for the emulator tests: an in-process app with 0 s timelines, a client on ``EmulatorTransport``, a fake
media host for image URLs, and a PyAV probe for rendered files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from generations.emulators.app import EmulatorApp, create_app
from generations.emulators.transport import EmulatorTransport

EMULATOR = "http://emulator.test"
MEDIA = "http://media.test"


def png(width: int = 640, height: int = 480, colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


class MediaHost:
    """``http://media.test/<name>`` serves registered bytes; anything else is a 404."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {
            "wide.png": png(640, 360),
            "photo.png": png(640, 480),
            "tall.png": png(360, 640),
        }

    def url(self, name: str) -> str:
        return f"{MEDIA}/{name}"

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            content = self.files.get(request.url.path.lstrip("/"))
            if content is None:
                return httpx.Response(404)
            return httpx.Response(200, content=content, headers={"content-type": "image/png"})

        return httpx.MockTransport(handler)


@dataclass
class Emulator:
    app: EmulatorApp
    client: httpx.Client
    media: MediaHost
    webhooks: list[httpx.Request]

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, f"/_control/{path}", **kwargs)
        assert response.status_code == 200, response.text
        return response

    def arm(self, provider: str, fault: str, on: str = "create", times: int = 1) -> None:
        self.control("POST", "faults", json={"provider": provider, "fault": fault, "on": on, "times": times})

    def advance(self, seconds: float) -> None:
        self.control("POST", "clock", json={"advance": seconds})

    def creates(self, key: str) -> dict[str, Any]:
        return self.control("GET", "creates", params={"key": key}).json()


def make_emulator(tmp_path: Path, **config: Any) -> Iterator[Emulator]:
    media = MediaHost()
    received: list[httpx.Request] = []

    def webhook_receiver(request: httpx.Request) -> httpx.Response:
        request.read()
        received.append(request)
        return httpx.Response(200, text="ok")

    options: dict[str, Any] = {
        "queue_seconds": 0,
        "run_seconds": 0,
        "media_dir": str(tmp_path / "media"),
        "fetch_transport": media.transport(),
        "webhook_transport": httpx.MockTransport(webhook_receiver),
        **config,
    }
    app = create_app(**options)
    with httpx.Client(transport=EmulatorTransport(app), base_url=EMULATOR) as client:
        yield Emulator(app=app, client=client, media=media, webhooks=received)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    yield from make_emulator(tmp_path)


@pytest.fixture
def slow_emu(tmp_path: Path) -> Iterator[Emulator]:
    """Queued for 10 s, then running for 10 s: move time with ``advance``."""
    yield from make_emulator(tmp_path, queue_seconds=10, run_seconds=10)


@dataclass(frozen=True)
class Probe:
    codec: str
    width: int
    height: int
    duration: float
    frames: int
    pix_fmt: str
    has_audio: bool


def probe(data: bytes) -> Probe:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert video.duration is not None and video.time_base is not None
        return Probe(
            codec=video.codec_context.name,
            width=video.codec_context.width,
            height=video.codec_context.height,
            duration=float(video.duration * video.time_base),
            frames=video.frames,
            pix_fmt=str(video.codec_context.pix_fmt),
            has_audio=bool(container.streams.audio),
        )
