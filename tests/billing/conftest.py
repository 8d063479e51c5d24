"""Billing test helpers: wallets with credits, signed Stripe events, and a local fake of Stripe's API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import stripe
from django.db import connection
from django.test import Client

from billing import ledger
from billing.ledger import grant
from billing.models import CreditPack, Wallet
from billing.wallets import personal_wallet
from studio.accounts.models import User
from tests.conftest import require_in_ci
from tests.factories import UserFactory

WEBHOOK_SECRET = "whsec_test_secret"
SECRET_KEY = "sk_test_fake"


def funded_wallet(balance: int, user: User | None = None) -> Wallet:
    wallet = personal_wallet(user=user or UserFactory())
    if balance:
        grant(wallet=wallet, amount=balance, reason="test funds", created_by=None)
    wallet.refresh_from_db()
    return wallet


def make_pack(credits: int = 5000) -> CreditPack:
    """A credit pack at $1 = 200 credits (tests make their own: a transactional test's flush removes migration data)."""
    pack, _ = CreditPack.objects.get_or_create(
        credits=credits,
        defaults={
            "name": {1000: "Starter", 5000: "Creator"}.get(credits, f"{credits} pack"),
            "price_cents": credits // 2,
            "currency": "usd",
        },
    )
    return pack


def skip_unless_postgres() -> None:
    if connection.vendor != "postgresql":
        if require_in_ci("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES=1 but the test database is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture(params=["native", "portable"])
def hold_writes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with each way ``ledger.hold`` can write a hold: the database's own (one statement on
    PostgreSQL) and the portable ORM one (SQLite's). CI runs on PostgreSQL only, so this is how both are tested."""
    if request.param == "portable":
        monkeypatch.setattr(ledger, "_HOLD_WRITERS", {})
    return str(request.param)


@pytest.fixture
def stripe_keys(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return str(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp))


def event_payload(event_type: str, obj: dict[str, Any], *, event_id: str = "evt_1") -> str:
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}})


def post_event(client: Client, payload: str, *, signature: str | None = "auto") -> Any:
    headers = {}
    if signature == "auto":
        headers["HTTP_STRIPE_SIGNATURE"] = sign(payload)
    elif signature is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    return client.post("/billing/stripe/webhook/", data=payload, content_type="application/json", **headers)


def session_object(
    session_id: str, *, payment_status: str = "paid", payment_intent: str = "pi_1", **extra: Any
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "status": "complete",
        "payment_status": payment_status,
        "payment_intent": payment_intent,
        "amount_total": 2500,
        "currency": "usd",
        "metadata": {},
        **extra,
    }


# --- A fake of Stripe's API on 127.0.0.1 ------------------------------------------------------------------------


@dataclass
class FakeStripe:
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode() if length else ""
        form = parse_qsl(body, keep_blank_values=True)
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "form": dict(form), "auth": environ.get("HTTP_AUTHORIZATION", "")}
            )
            if method == "POST" and path == "/v1/checkout/sessions":
                self.counter += 1
                session_id = f"cs_test_{self.counter}"
                fields = dict(form)
                session = {
                    "id": session_id,
                    "object": "checkout.session",
                    "url": f"https://checkout.stripe.test/pay/{session_id}",
                    "status": "open",
                    "payment_status": "unpaid",
                    "payment_intent": None,
                    "client_reference_id": fields.get("client_reference_id"),
                    "amount_total": int(fields.get("line_items[0][price_data][unit_amount]", "0")),
                    "currency": fields.get("line_items[0][price_data][currency]", "usd"),
                    "metadata": {k[9:-1]: v for k, v in fields.items() if k.startswith("metadata[")},
                }
                self.sessions[session_id] = session
                return self._json(start_response, "200 OK", session)
            if method == "GET" and path.startswith("/v1/checkout/sessions/"):
                session = self.sessions.get(path.rsplit("/", 1)[1])
                if session is None:
                    error = {"error": {"type": "invalid_request_error", "message": "No such checkout.session"}}
                    return self._json(start_response, "404 Not Found", error)
                return self._json(start_response, "200 OK", session)
        return self._json(start_response, "404 Not Found", {"error": {"message": "unknown path"}})

    def pay(self, session_id: str, payment_intent: str = "pi_paid") -> None:
        with self.lock:
            self.sessions[session_id].update(status="complete", payment_status="paid", payment_intent=payment_intent)

    @staticmethod
    def _json(start_response: Any, status: str, data: dict[str, Any]) -> list[bytes]:
        body = json.dumps(data).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_stripe(settings: Any, stripe_keys: None) -> Iterator[FakeStripe]:
    fake = FakeStripe()
    server = make_server("127.0.0.1", 0, fake.app, server_class=WSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_port}"
    settings.STRIPE_API_BASE = fake.base_url
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def now() -> int:
    return int(time.time())
