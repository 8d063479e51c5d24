"""Shared provider fixtures. Importable: the pipeline's tests use ``emulator_setup`` and the fixtures below.

- ``emulator``: parametrized over two modes, each giving the same interface (``EmulatorControl``), timelines 0 s:

  - ``inprocess``: the emulator app in-process, its transport installed in the HTTP seam, and ``settings.PROVIDERS``
    pointing every provider at ``http://emulator.test/<prefix>``. Input images given as URLs under
    ``http://media.test/`` are served to the emulator by an in-memory ``MockTransport``.
  - ``socket``: the real ``manage.py emulate_providers`` in a subprocess (``emulator_server``, one per session, reset
    before each test through ``/_control/reset``), reached with the seam's default httpx transport. Input images are
    served by a loopback HTTP server (``loopback_media``).

- ``emulator_server``: that subprocess (started with a readiness wait, stopped at the end of the session).
- ``mock_transport``: install an ``httpx.MockTransport`` handler in the seam for recorded-payload unit tests.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from PIL import Image

from generations.providers import http as provider_http
from generations.providers.base import ImageInput, JobSpec, Mode, ProviderAdapter, ProviderConfig, Reference
from generations.providers.registry import ADAPTERS, adapter_class, get_adapter
from tests.net import free_port

EMULATOR_HOST = "emulator.test"
EMULATOR_URL = f"http://{EMULATOR_HOST}"
#: Each provider's emulator root, from its adapter (``emulator_path``): the tests read the registry's facts.
EMULATOR_PREFIXES: dict[str, str] = {name: adapter.emulator_path for name, adapter in ADAPTERS.items()}
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


class EmulatorControl:
    """What a test needs from a running emulator, in-process or on a socket: its control API, adapters, images.

    Everything goes through HTTP (``/_control/*``), so a test written against this runs unchanged in both modes.
    """

    mode: ClassVar[str]

    @property
    def base_url(self) -> str:
        """Where the emulator answers (outputs and upload URLs it hands out start with this)."""
        raise NotImplementedError

    def client(self) -> httpx.Client:
        raise NotImplementedError

    def image(self, name: str = "input.png", **kwargs: Any) -> ImageInput:
        raise NotImplementedError

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.client() as client:
            return client.request(method, f"/_control/{path.lstrip('/')}", **kwargs)

    def arm(self, *, provider: str, fault: str, on: str = "create", times: int = 1) -> None:
        response = self.control("POST", "faults", json={"provider": provider, "fault": fault, "on": on, "times": times})
        response.raise_for_status()

    def configure(self, **changes: Any) -> None:
        """Change the emulator's runtime config (``queue_seconds``, ``run_seconds``, ...) via ``/_control/config``."""
        self.control("POST", "config", json=changes).raise_for_status()

    def advance(self, seconds: float) -> None:
        """Move the emulator clock forward."""
        self.control("POST", "clock", json={"advance": seconds}).raise_for_status()

    def creates(self, key: str) -> dict[str, Any]:
        """The create counter for one ``Idempotency-Key`` (``count``: calls seen, ``accepted``: jobs made)."""
        response = self.control("GET", "creates", params={"key": key})
        response.raise_for_status()
        return dict(response.json())

    def adapter(self, name: str) -> ProviderAdapter:
        return get_adapter(name)

    def short_read_timeout(self) -> None:
        """Make the client give up quickly on an answer held back (``#timeout``). No-op where timeouts are raised."""

    def cut_off(self, provider: str, fault: str) -> None:
        """Make the next create to ``provider`` fail before it is sent (``connect_error`` or ``connect_timeout``)."""
        raise NotImplementedError


@dataclass
class EmulatorSetup(EmulatorControl):
    """A running in-process emulator wired into the seam and settings."""

    mode: ClassVar[str] = "inprocess"

    app: Any
    transport: httpx.BaseTransport
    media: MediaHost

    @property
    def base_url(self) -> str:
        return EMULATOR_URL

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport, base_url=EMULATOR_URL)

    def image(self, name: str = "input.png", **kwargs: Any) -> ImageInput:
        return self.media.add(name, png_bytes(**kwargs))

    def cut_off(self, provider: str, fault: str) -> None:
        # EmulatorTransport raises httpx.ConnectError/ConnectTimeout before the app sees the request.
        self.arm(provider=provider, fault=fault, on="create")


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


# ---------------------------------------------------------------------------------------------------------------------
# The emulator on a real socket: ``manage.py emulate_providers`` in a subprocess.

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
#: How long the socket emulator holds back a ``#timeout`` answer; above ``SHORT_READ_TIMEOUT``, short for teardown.
SOCKET_TIMEOUT_DELAY = 2.0
#: The client's read timeout in tests that expect ``#timeout`` to time out for real.
SHORT_READ_TIMEOUT = 0.3
#: The client's timeouts otherwise: generous, as an output is rendered while its download request waits.
SOCKET_TIMEOUTS = {"connect": 2.0, "read": 15.0}
SERVER_START_SECONDS = 30.0


class LoopbackMediaHost:
    """``http://127.0.0.1:<port>/<name>`` on a real socket: our "public storage" for the socket emulator to fetch."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                content = files.get(self.path.lstrip("/"))
                self.send_response(200 if content is not None else 404)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(content or b"")))
                self.end_headers()
                self.wfile.write(content or b"")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://{LOOPBACK}:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, name="loopback-media", daemon=True).start()

    def add(self, name: str, content: bytes) -> ImageInput:
        path = f"{uuid.uuid4().hex}/{name}"
        self.files[path] = content
        return ImageInput(sha256=uuid.uuid4().hex, url=f"{self.base_url}/{path}", content=content, filename=name)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class UnresponsiveListener:
    """A loopback port that never completes a TCP handshake: its accept queue is full, so SYNs are dropped and a
    client's connect really times out (``httpx.ConnectTimeout``), before anything is sent."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(0)
        self.port = int(self.listener.getsockname()[1])
        self.fillers: list[socket.socket] = []
        for _ in range(3):  # a backlog of 0 still admits one connection; fill it, with margin
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((LOOPBACK, self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for sock in (*self.fillers, self.listener):
            sock.close()


@dataclass
class EmulatorServer:
    """The ``emulate_providers`` subprocess and the loopback helpers that go with it."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    media: LoopbackMediaHost
    unresponsive: UnresponsiveListener

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def _is_our_emulator(client: httpx.Client) -> bool:
    """True once the emulator's index answers (and it is the emulator, not whatever else took the port)."""
    try:
        response = client.get("/")
    except httpx.TransportError:
        return False
    return response.status_code == 200 and "emulators" in response.text


def _launch(workdir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    env.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    env["EMULATOR_MEDIA_DIR"] = str(workdir / "media")
    command = [
        sys.executable,
        str(REPO_ROOT / "manage.py"),
        "emulate_providers",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--queue-seconds",
        "0",
        "--run-seconds",
        "0",
        "--timeout-delay",
        str(SOCKET_TIMEOUT_DELAY),
        "--quiet",
    ]
    with log_path.open("ab") as log:
        return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_emulator_server(workdir: Path, *, attempts: int = 3) -> EmulatorServer:
    """Run ``python manage.py emulate_providers --host 127.0.0.1 --port <free port>`` and wait until it answers.

    The port is picked free and handed over, so another process may take it in between: then the command exits
    (address in use) and another port is tried.
    """
    log_path = workdir / "emulate_providers.log"
    for _attempt in range(attempts):
        port = free_port()
        server = EmulatorServer(
            process=_launch(workdir, port, log_path),
            base_url=f"http://{LOOPBACK}:{port}",
            log_path=log_path,
            media=LoopbackMediaHost(),
            unresponsive=UnresponsiveListener(),
        )
        deadline = time.monotonic() + SERVER_START_SECONDS
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=1.0) as client:
            while server.process.poll() is None and time.monotonic() < deadline:
                if _is_our_emulator(client):
                    return server
                time.sleep(0.05)
        stop_emulator_server(server)
        if server.process.returncode == 0 or time.monotonic() >= deadline:
            break  # not a lost port race: retrying will not help
    raise RuntimeError(f"emulate_providers did not start:\n{log_path.read_text(errors='replace')[-4000:]}")


def stop_emulator_server(server: EmulatorServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    server.media.close()
    server.unresponsive.close()


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    server = start_emulator_server(tmp_path_factory.mktemp("emulate_providers"))
    try:
        yield server
    finally:
        stop_emulator_server(server)


@dataclass
class SocketEmulatorSetup(EmulatorControl):
    """The subprocess emulator, reset, with ``settings.PROVIDERS`` pointing at it and the default httpx transport."""

    mode: ClassVar[str] = "socket"

    server: EmulatorServer
    settings: Any

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.base_url, trust_env=False, timeout=10.0)

    def image(self, name: str = "input.png", **kwargs: Any) -> ImageInput:
        return self.server.media.add(name, png_bytes(**kwargs))

    def short_read_timeout(self) -> None:
        self.settings.PROVIDER_HTTP_TIMEOUT = {**SOCKET_TIMEOUTS, "read": SHORT_READ_TIMEOUT}

    def cut_off(self, provider: str, fault: str) -> None:
        # Nothing listens on a freed port (ECONNREFUSED); the unresponsive listener never completes the handshake.
        if fault == "connect_error":
            port = free_port()
        elif fault == "connect_timeout":
            port = self.server.unresponsive.port
            self.settings.PROVIDER_HTTP_TIMEOUT = {**SOCKET_TIMEOUTS, "connect": SHORT_READ_TIMEOUT}
        else:
            raise ValueError(f"not a connect fault: {fault}")
        providers = {name: dict(config) for name, config in self.settings.PROVIDERS.items()}
        providers[provider]["BASE_URL"] = f"http://{LOOPBACK}:{port}{EMULATOR_PREFIXES[provider]}"
        self.settings.PROVIDERS = providers


@contextlib.contextmanager
def socket_emulator_setup(settings: Any, server: EmulatorServer) -> Iterator[SocketEmulatorSetup]:
    """Reset the socket emulator and point settings and the seam (default transport) at it."""
    setup = SocketEmulatorSetup(server=server, settings=settings)
    setup.control("POST", "reset").raise_for_status()
    settings.PROVIDERS = {
        name: {**config, "BASE_URL": server.base_url + EMULATOR_PREFIXES[name]}
        for name, config in emulator_providers_setting().items()
    }
    settings.SSRF_ALLOWED_HOSTS = [LOOPBACK]
    settings.PROVIDER_HTTP_TIMEOUT = dict(SOCKET_TIMEOUTS)
    previous = provider_http.get_transport()
    provider_http.set_transport(None)
    try:
        yield setup
    finally:
        provider_http.set_transport(previous)


#: ``socket`` starts a real process, hence the ``e2e`` marker (``-m "not e2e"`` keeps a quick loop in-process only).
EMULATOR_MODES = ("inprocess", pytest.param("socket", marks=pytest.mark.e2e))


@pytest.fixture(params=EMULATOR_MODES)
def emulator(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Iterator[EmulatorControl]:
    """The emulator with 0 s timelines, once in-process and once on a real socket (see the module docstring)."""
    if request.param == "socket":
        server: EmulatorServer = request.getfixturevalue("emulator_server")
        with socket_emulator_setup(settings, server) as socket_setup:
            yield socket_setup
    else:
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
