"""The emulator on a real socket: a threaded werkzeug server whose faults are real transport failures, and whose
connections stay open between requests (HTTP/1.1 keep-alive), as the providers' are.

``FaultMiddleware`` acts on the app's internal ``X-Emulator-Transport-Fault`` header:

- ``timeout``: hold the answer back for ``timeout_delay_seconds`` (past the client's read timeout), then send it;
- ``reset``: close the TCP connection with SO_LINGER 0, so the client sees a RST (ECONNRESET) and no answer.

``run_in_thread`` starts it on a background thread (port 0 = an ephemeral port) for tests::

    server, base_url = run_in_thread("127.0.0.1", 0, queue_seconds=0, run_seconds=0)
    try: ...
    finally: server.shutdown(); server.server_close()
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from generations.emulators.app import EmulatorApp, create_app
from generations.emulators.faults import TRANSPORT_FAULT_HEADER

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


#: Set in the WSGI environ when the answer may keep the connection open (``EmulatorRequestHandler``).
KEEP_ALIVE = "emulator.keep_alive"


class FaultMiddleware:
    """Wraps the app and performs the transport faults it signals."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        captured: dict[str, Any] = {}
        length = environ.get("CONTENT_LENGTH") or "0"
        # A body of known length is read through a stream bounded by it, and whatever the app left unread is drained
        # afterwards, so that the connection's next request starts at a request line (werkzeug closes every
        # connection because http.server cannot do this by itself). A chunked body closes the connection as before.
        bounded = not environ.get("wsgi.input_terminated") and length.isdigit()
        if bounded:
            environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], int(length))

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"], captured["exc_info"] = status, headers, exc_info
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != TRANSPORT_FAULT_HEADER.lower()]
        fault = next((v for k, v in captured["headers"] if k.lower() == TRANSPORT_FAULT_HEADER.lower()), None)
        if fault == "reset":
            _reset(environ)
            raise ConnectionResetError("emulated connection reset")  # werkzeug treats it as a dropped connection
        if fault == "timeout":
            time.sleep(self.app.config.timeout_delay_seconds)
        if bounded:
            environ["wsgi.input"].exhaust()
            if not any(k.lower() == "content-length" for k, _ in headers):
                headers.append(("Content-Length", str(len(body))))
            environ[KEEP_ALIVE] = True
        start_response(captured["status"], headers)
        return [body]


def _reset(environ: WSGIEnvironment) -> None:
    """Abort the connection with a TCP RST: SO_LINGER (on, 0 s) then close the descriptor now.

    ``socket.close`` would wait for werkzeug's file objects to let go, so the descriptor is detached and closed
    directly; werkzeug's later writes then fail on a closed socket, which it treats as a dropped connection.
    """
    sock: socket.socket = environ["werkzeug.socket"]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    os.close(sock.detach())


class EmulatorRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, keeping connections alive, and quiet about the connections ``_reset`` aborted on purpose.

    werkzeug ends every answer with ``Connection: close``; here it is left out when ``FaultMiddleware`` drained the
    request and sized the answer (``KEEP_ALIVE``), so a client's pooled connection serves its next request, as with
    the providers. Otherwise a client would connect anew for every call (a connect, a name lookup and a close each;
    the emulator alone answered 1,547 status calls/s with it against 955 without). An idle connection is dropped
    after ``timeout`` seconds.

    After an emulated reset the app raises ``ConnectionResetError`` (werkzeug logs a dropped connection), but an
    HTTP/1.1 keep-alive loop then reads the next request from the detached socket and fails with EBADF, which
    socketserver would print as a traceback for every ``reset`` fault.
    """

    timeout = 60

    def setup(self) -> None:
        super().setup()
        # The status line, the headers and the body are separate writes: on a kept connection Nagle's algorithm
        # would hold the body back until the client's delayed ACK (40 ms a request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        # After each answer werkzeug reads and discards whatever the socket holds, which on a kept connection is the
        # client's next request. Once ``FaultMiddleware`` has drained the body (``KEEP_ALIVE``), the request's input
        # reads as empty, and the next request stays in the socket for the next turn of the handler's loop.
        real = self.rfile
        self.rfile = _UntilKeptAlive(real, self)  # type: ignore[assignment]
        try:
            super().run_wsgi()
        finally:
            self.rfile = real

    def send_header(self, keyword: str, value: str) -> None:
        environ = getattr(self, "environ", None) or {}
        if keyword.lower() == "connection" and value.lower() == "close" and environ.get(KEEP_ALIVE):
            return
        super().send_header(keyword, value)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            if self.connection.fileno() != -1:  # not a socket we detached in ``_reset``: a real failure
                raise


class _UntilKeptAlive:
    """The handler's input during one request: itself until the request was drained (``KEEP_ALIVE``), then empty."""

    def __init__(self, stream: Any, handler: WSGIRequestHandler) -> None:
        self._stream = stream
        self._handler = handler

    def _done(self) -> bool:
        environ = getattr(self._handler, "environ", None) or {}
        return bool(environ.get(KEEP_ALIVE))

    def read(self, size: int = -1) -> bytes:
        return b"" if self._done() else self._stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        return b"" if self._done() else self._stream.readline(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class QuietRequestHandler(EmulatorRequestHandler):
    """No access log (tests); errors still go to the log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def make_emulator_server(
    host: str = "127.0.0.1", port: int = 8765, *, app: EmulatorApp | None = None, quiet: bool = False, **config: Any
) -> BaseWSGIServer:
    """A threaded server for the emulator app (built from ``config`` unless ``app`` is given)."""
    emulator = app or create_app(**config)
    server = make_server(
        host,
        port,
        FaultMiddleware(emulator),
        threaded=True,
        request_handler=QuietRequestHandler if quiet else EmulatorRequestHandler,
    )
    server.emulator = emulator  # type: ignore[attr-defined]
    return server


def run_in_thread(host: str = "127.0.0.1", port: int = 0, **config: Any) -> tuple[BaseWSGIServer, str]:
    """Start the emulator on a daemon thread; return the server (``shutdown()`` it) and its base URL."""
    server = make_emulator_server(host, port, quiet=True, **config)
    thread = threading.Thread(target=server.serve_forever, name="emulator-server", daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_port}"
