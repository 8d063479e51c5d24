"""Issue 13 findings 3 and 4: the admin login goes through allauth's throttled login; per-IP limits key on the
client behind TRUSTED_PROXY_COUNT proxies, not the proxy; a locked-out owner gets back in with a password reset."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

LOGIN = "/accounts/login/"


def _login(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"login": email, "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_finding_03_admin_login_goes_through_the_throttled_login() -> None:
    staff = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    # The admin's own form no longer authenticates: anything posted to it is sent to allauth's login.
    for _ in range(30):
        response = client.post("/admin/login/", {"username": staff.email, "password": "wrong"})
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    response = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not _logged_in(client)
    # The login it sends to is throttled: 30 wrong passwords, then the right one, is refused.
    for _ in range(30):
        _login(client, staff.email, "wrong")
    response = _login(client, staff.email, PASSWORD)
    assert response.status_code in (200, 429) and not _logged_in(client)
    assert "Too many" in response.content.decode()
    # And a staff member who signs in the normal way reaches the admin.
    fresh = Client(REMOTE_ADDR="192.0.2.9")  # another visitor: the per-IP limit above is not theirs
    other = UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)
    assert _login(fresh, other.email, PASSWORD).status_code == 302
    assert fresh.get("/admin/").status_code == 200
    assert fresh.get("/admin/login/").status_code == 302  # already signed in: on to the admin


@pytest.mark.django_db
def test_finding_04_per_ip_limit_keys_on_the_client_behind_the_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    # A one-hour window, so a slow machine cannot let the attempts spread past the window.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "10/h/ip,5/h/key"}
    victim = UserFactory(email="victim@example.com")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    # The attacker burns the per-IP budget with wrong passwords for many different accounts...
    for n in range(12):
        _login(attacker, f"nobody{n}@example.com", "wrong")
    blocked = _login(attacker, victim.email, PASSWORD)
    assert not _logged_in(attacker) and blocked.status_code != 302
    # ...but the victim, behind the same proxy, comes from their own address and is not locked out.
    own = Client(HTTP_X_FORWARDED_FOR="198.51.100.4", **proxy)
    assert _login(own, victim.email, PASSWORD).status_code == 302 and _logged_in(own)
    # A client cannot pick its own address: with one trusted proxy, only the rightmost entry counts.
    forger = Client(HTTP_X_FORWARDED_FOR="198.51.100.4, 203.0.113.7", **proxy)
    assert not _logged_in(forger)
    assert _login(forger, victim.email, PASSWORD).status_code != 302


@pytest.mark.django_db
def test_finding_04_locked_out_owner_unlocks_with_a_password_reset() -> None:
    owner = UserFactory(email="owner@example.com")
    attacker = Client()
    for _ in range(5):
        _login(attacker, owner.email, "wrong")
    client = Client()
    locked = _login(client, owner.email, PASSWORD)
    assert locked.status_code != 302 and "Too many failed login attempts" in locked.content.decode()
    # The lockout message points at the way out; the emailed reset link is that way.
    assert client.post(reverse("account_reset_password"), {"email": owner.email}).status_code == 302
    link = re.search(r"/accounts/password/reset/key/[^\s]+", mail.outbox[-1].body)
    assert link is not None
    response = client.get(link.group(0))
    new = "a-brand-new-pass-77"
    response = client.post(response["Location"], {"password1": new, "password2": new})
    assert response.status_code == 302
    assert _login(Client(), owner.email, new).status_code == 302
