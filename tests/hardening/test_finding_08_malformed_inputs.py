"""Issue 13 finding 8: each malformed input that once answered HTTP 500 now answers 400 with a message, and a sweep
sends a NUL byte and an overlong value to every route of the URLConf (the route table of tests/test_access_urls.py).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from billing.models import Purchase, StripeEvent
from billing.wallets import personal_wallet
from studio.files import signed_url
from tests.billing.conftest import event_payload, make_pack, session_object, sign
from tests.conftest import World
from tests.test_access_urls import OBJECT_ROUTES, ROUTES, Route, _dummy_url

NUL = "\x00"
OVERLONG = "x" * 10_000


def _message(response: Any) -> str:
    return response.content.decode(errors="replace")


# --- The six reported inputs ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_finding_08_nul_byte_in_stripe_webhook_body_is_400(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
    payload = '{"id": "evt_nul", "type": "x", "data": {}}\x00'
    response = Client().post(
        "/billing/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )
    assert response.status_code == 400
    assert "signature" in _message(response).lower()
    # And a genuinely signed body with a NUL is stored (without the NUL) instead of failing in the database.
    signed = event_payload("customer.created", {"id": "cus_1", "name": "a\x00b"}, event_id="evt_signed_nul")
    signed = signed.replace("\\u0000", "\x00")
    ok = Client().post(
        "/billing/stripe/webhook/", data=signed, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(signed)
    )
    assert ok.status_code in (200, 400)  # a raw NUL inside a JSON string is invalid JSON: refused, never a 500
    assert all(NUL not in row.body for row in StripeEvent.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize("digits", [401, 5000])
def test_finding_08_overlong_webhook_timestamp_is_400(digits: int) -> None:
    headers = {
        "HTTP_WEBHOOK_ID": "msg_1",
        "HTTP_WEBHOOK_TIMESTAMP": "9" * digits,
        "HTTP_WEBHOOK_SIGNATURE": "v3,00",
        "HTTP_WEBHOOK_NONCE": "n1",
    }
    for provider in ("wavespeed", "pixverse"):
        response = Client().post(
            f"/generations/webhooks/{provider}/", data=b"{}", content_type="application/json", **headers
        )
        # The webhook endpoint answers every verification failure 401 (its documented contract), with the reason.
        assert response.status_code in (400, 401), (provider, response.status_code)
        assert "invalid signature" in _message(response)


@pytest.fixture
def stored_file() -> Any:
    name = default_storage.save("tests/range.txt", ContentFile(b"0123456789"))
    yield name
    default_storage.delete(name)


def test_finding_08_overlong_range_header_is_400(stored_file: str) -> None:
    client = Client()
    for header in (f"bytes={'9' * 5000}-", f"bytes=-{'9' * 5000}", f"bytes=0-{'9' * 5000}"):
        response = client.get(signed_url(stored_file), HTTP_RANGE=header)
        assert response.status_code == 400, header
        assert "Range" in _message(response)
    # A normal range still works.
    assert client.get(signed_url(stored_file), HTTP_RANGE="bytes=2-4").status_code == 206


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["q=%00", "tag=%00", "q=a%00b", f"q={'x' * 5000}"])
def test_finding_08_nul_in_asset_search_is_400(world: World, query: str) -> None:
    response = world.client_for(world.owner).get(f"/assets/?{query}")
    assert response.status_code == 400
    assert "NUL" in _message(response) or "longer than" in _message(response)


@pytest.mark.django_db
def test_finding_08_nul_session_id_on_buy_success_is_400(world: World) -> None:
    response = world.client_for(world.owner).get("/billing/buy/success/?session_id=%00")
    assert response.status_code == 400
    assert "NUL" in _message(response)
    odd = world.client_for(world.owner).get("/billing/buy/success/?session_id=cs%20test")
    assert odd.status_code == 400 and "session" in _message(odd).lower()


@pytest.mark.django_db
def test_finding_08_buy_success_without_stripe_key_is_400(world: World, settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = ""
    pack = make_pack(1000)
    Purchase.objects.create(
        session_id="cs_test_nokey",
        wallet=personal_wallet(user=world.owner),
        pack=pack,
        credits=1000,
        amount_cents=500,
        currency="usd",
    )
    response = world.client_for(world.owner).get("/billing/buy/success/?session_id=cs_test_nokey")
    assert response.status_code == 400
    assert "not configured" in _message(response)
    assert session_object  # the helper module is the one the Stripe tests use


# --- The sweep over every route ------------------------------------------------------------------------------------

_FIELD = re.compile(rb'name="([A-Za-z_][\w-]{0,60})"')
_COMMON_FIELDS = ["name", "email", "q", "tag", "prompt", "description", "role", "tags", "page", "next", "confirm"]


def _url_for(route: Route, world: World) -> str:
    from django.urls import reverse

    if route.name in OBJECT_ROUTES:
        return reverse(route.name, kwargs=OBJECT_ROUTES[route.name](world))
    return _dummy_url(route)


SWEPT = [r for r in ROUTES if (r.name and not r.name.startswith("admin:")) or r.name in ("admin:login", "admin:index")]


@pytest.mark.django_db
@pytest.mark.parametrize("route", SWEPT, ids=str)
def test_finding_08_nul_and_overlong_sweep_over_every_route(route: Route, world: World, stored_file: str) -> None:
    """Each route, as an anonymous visitor and as the team owner, gets NUL bytes and 10,000-character values in its
    query string, in a url-encoded form and in a multipart form (the fields named on its own page, and common
    ones). None may answer 500; the query-string ones and url-encoded NULs must answer 400 with a message."""
    url = _url_for(route, world)
    for user in (None, world.owner):
        client = world.client_for(user)
        client.raise_request_exception = False
        for bad in (NUL, OVERLONG):
            response = client.get(url, {"q": bad})
            assert response.status_code == 400, (url, user, response.status_code)
            assert _message(response)
        page = client.get(url)
        assert page.status_code != 500, url
        fields = {m.decode() for m in _FIELD.findall(page.content or b"")} if hasattr(page, "content") else set()
        fields.discard("csrfmiddlewaretoken")
        names = sorted(fields | set(_COMMON_FIELDS))
        for bad in (NUL, OVERLONG, f"ok{NUL}ok"):
            form = urlencode(dict.fromkeys(names, bad))
            encoded = client.post(url, form, content_type="application/x-www-form-urlencoded")
            if NUL in bad:
                assert encoded.status_code in (400, 405), (url, user, encoded.status_code)
            else:  # long but not absurd: the route's own form answers it
                assert encoded.status_code < 500, (url, user, encoded.status_code)
            multipart = client.post(url, dict.fromkeys(names, bad))
            assert multipart.status_code < 500, (url, user, bad[:5], multipart.status_code)


@pytest.mark.django_db
def test_finding_08_absurd_form_values_are_400_but_long_prompts_reach_their_form(world: World) -> None:
    client = world.client_for(world.owner)
    absurd = client.post(
        f"/teams/{world.team.pk}/edit/",
        urlencode({"name": "x" * 70_000}),
        content_type="application/x-www-form-urlencoded",
    )
    assert absurd.status_code == 400 and "longer than" in _message(absurd)
    long = client.post(f"/teams/{world.team.pk}/edit/", {"name": "x" * 5000})
    assert long.status_code == 200 and "at most 100 characters" in _message(long)
