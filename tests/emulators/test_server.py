"""The emulator on a real socket: the same API, a real read timeout, a real TCP reset, and the management command."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from generations.emulators.server import run_in_thread
from tests.emulators.conftest import MediaHost, probe

AUTH = {"Authorization": "Bearer k"}
T2V = "/highway/v3/async/pixverse-c1-text-to-video"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    httpd, base_url = run_in_thread(
        "127.0.0.1",
        0,
        queue_seconds=0,
        run_seconds=0,
        timeout_delay_seconds=1.0,
        media_dir=str(tmp_path),
        fetch_transport=MediaHost().transport(),
    )
    try:
        yield base_url
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_full_flow_over_a_socket(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as client:
        task_id = client.post(
            T2V, json={"prompt": "sunrise", "duration": 1, "resolution": "360p"}, headers=AUTH
        ).json()["task_id"]
        result = client.get("/highway/v3/async/task-result", params={"task_id": task_id}, headers=AUTH).json()
        url = result["videos"][0]["video_url"]
        assert url.startswith(server)  # absolute URLs built from the Host header
        video = client.get(url)
        assert video.status_code == 200
        assert probe(video.content).codec == "h264"


def test_real_read_timeout_after_the_job_was_created(server: str) -> None:
    with httpx.Client(base_url=server, timeout=httpx.Timeout(5, read=0.3)) as client:
        # The client's own read timeout fires: the server holds the answer back for longer (1 s, then sends it).
        with pytest.raises(httpx.ReadTimeout):
            client.post(T2V, json={"prompt": "x #timeout"}, headers={**AUTH, "Idempotency-Key": "t"})
        assert client.get("/_control/creates", params={"key": "t"}).json()["accepted"] == 1


def test_real_connection_reset(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5) as client:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            client.post(T2V, json={"prompt": "x #reset"}, headers={**AUTH, "Idempotency-Key": "r"})
        assert client.get("/_control/creates", params={"key": "r"}).json()["accepted"] == 1
        assert client.get("/").status_code == 200  # the server survives


def test_armed_reset_on_poll(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5) as client:
        task_id = client.post(T2V, json={"prompt": "x"}, headers=AUTH).json()["task_id"]
        client.post("/_control/faults", json={"provider": "highway", "fault": "reset", "on": "poll"})
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            client.get("/highway/v3/async/task-result", params={"task_id": task_id}, headers=AUTH)
        assert client.get("/highway/v3/async/task-result", params={"task_id": task_id}, headers=AUTH).status_code == 200


def _answers(sock: socket.socket, count: int) -> list[bytes]:
    """Read ``count`` HTTP answers (each sized by Content-Length) from one connection; their status lines."""
    buffer, lines = b"", []
    while len(lines) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed the connection after {len(lines)} answers"
            buffer += chunk
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        length = int(next(h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")))
        while len(buffer) < length:
            buffer += sock.recv(65536)
        buffer = buffer[length:]
        assert b"connection: close" not in head.lower()
        lines.append(head.split(b"\r\n")[0])
    return lines


def test_one_connection_serves_request_after_request(server: str) -> None:
    """Keep-alive, as the providers do: a client's pooled connection is reused, even after an answer that left the
    request's body unread (a 401 before the JSON is parsed), and after a request sent before the last answer."""
    host, port = server.removeprefix("http://").split(":")
    body = b'{"prompt": "' + b"x" * 50_000 + b'"}'
    unread = f"POST {T2V} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    unread += f"Content-Length: {len(body)}\r\n\r\n"
    poll = f"GET /highway/v3/async/task-result?task_id=nope HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer k\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(unread.encode() + body)
        sock.sendall(poll.encode())  # pipelined: already in the socket while the first is answered
        assert _answers(sock, 2) == [b"HTTP/1.1 401 UNAUTHORIZED", b"HTTP/1.1 404 NOT FOUND"]
        sock.sendall(poll.encode())
        assert _answers(sock, 1) == [b"HTTP/1.1 404 NOT FOUND"]
    with httpx.Client(base_url=server, timeout=5) as client:
        seen = set()
        for _ in range(5):
            response = client.get("/highway/v3/async/task-result", params={"task_id": "nope"}, headers=AUTH)
            seen.add(response.extensions["network_stream"].get_extra_info("client_addr"))
        assert len(seen) == 1  # five answers, one connection


def test_management_command_starts_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from io import StringIO

    from django.core.management import call_command
    from werkzeug.serving import BaseWSGIServer

    started: list[BaseWSGIServer] = []

    def fake_serve(self: BaseWSGIServer, poll_interval: float = 0.5) -> None:
        started.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(BaseWSGIServer, "serve_forever", fake_serve)
    monkeypatch.setenv("EMULATOR_MEDIA_DIR", str(tmp_path))
    out = StringIO()
    call_command("emulate_providers", "--host", "127.0.0.1", "--port", "0", "--run-seconds", "2", "--quiet", stdout=out)
    (httpd,) = started
    assert httpd.emulator.config.run_seconds == 2  # type: ignore[attr-defined]
    assert httpd.emulator.config.media_dir == str(tmp_path)  # type: ignore[attr-defined]
    assert "/dashscope/api/v1" in out.getvalue() and "/wavespeed/api/v3" in out.getvalue()
