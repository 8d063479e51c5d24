"""``EmulatorTransport``: the emulator in-process, with the transport failures a real socket would give.

    client = httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.test")

The app signals simulated transport faults through the internal ``X-Emulator-Transport-Fault`` response header; this
transport turns them into exceptions, *after* the app has handled (e.g. created) the request:

- ``timeout`` → ``httpx.ReadTimeout`` (the request was sent; the answer never came)
- ``reset``   → ``httpx.ReadError`` (connection reset by peer, as with a TCP RST)

Armed ``connect_timeout``/``connect_error`` faults raise ``httpx.ConnectTimeout``/``httpx.ConnectError`` BEFORE the app
sees the request, so nothing is created or counted.
"""

from __future__ import annotations

from typing import Any

import httpx

from generations.emulators.app import EmulatorApp
from generations.emulators.faults import TRANSPORT_FAULT_HEADER


class EmulatorTransport(httpx.WSGITransport):
    def __init__(self, app: EmulatorApp, **kwargs: Any) -> None:
        super().__init__(app=app, **kwargs)
        self.emulator = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        connect_fault = self.emulator.take_connect_fault(request.method, request.url.path)
        if connect_fault == "connect_timeout":
            raise httpx.ConnectTimeout("timed out (emulated connect timeout)", request=request)
        if connect_fault == "connect_error":
            raise httpx.ConnectError("[Errno 111] Connection refused (emulated)", request=request)
        response = super().handle_request(request)
        fault = response.headers.get(TRANSPORT_FAULT_HEADER)
        if fault is None:
            return response
        del response.headers[TRANSPORT_FAULT_HEADER]
        response.close()
        if fault == "timeout":
            raise httpx.ReadTimeout("timed out (emulated: the request was sent, no answer came)", request=request)
        raise httpx.ReadError("[Errno 104] Connection reset by peer (emulated)", request=request)
