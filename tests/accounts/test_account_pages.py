"""allauth's pages in our layout, and the flows behind them (console/locmem email, no network)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_entrance_pages_use_our_layout(client: Client, name: str) -> None:
    response = client.get(reverse(name))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="entrance"' in body and "css/studio.css" in body and "▶ Studio" in body


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["account_email", "account_change_password"])
def test_manage_pages_use_our_layout(client: Client, name: str) -> None:
    client.force_login(UserFactory())
    response = client.get(reverse(name))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="manage"' in body and "css/studio.css" in body


@pytest.mark.django_db
def test_login_and_logout(client: Client) -> None:
    user = UserFactory(email="in-out@example.com")
    response = client.post(reverse("account_login"), {"login": "In-Out@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302
    assert "_auth_user_id" not in client.session
    assert user.pk


@pytest.mark.django_db
def test_a_wrong_password_is_refused_clearly(client: Client) -> None:
    UserFactory(email="who@example.com")
    response = client.post(reverse("account_login"), {"login": "who@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


@pytest.mark.django_db
def test_signup_then_email_verification_logs_in(client: Client) -> None:
    response = client.post(
        reverse("account_signup"),
        {"email": "fresh@example.com", "password1": "a-long-unusual-pass", "password2": "a-long-unusual-pass"},
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302  # not logged in before verifying
    link = re.search(r"/accounts/confirm-email/[^\s]+", mail.outbox[-1].body)
    assert link is not None
    response = client.post(link.group(0))
    assert response.status_code == 302
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200 and "fresh&#x27;s studio" in dashboard.content.decode()


@pytest.mark.django_db
def test_password_reset_by_email(client: Client) -> None:
    UserFactory(email="forgot@example.com")
    response = client.post(reverse("account_reset_password"), {"email": "forgot@example.com"})
    assert response.status_code == 302
    link = re.search(r"/accounts/password/reset/key/[^\s]+", mail.outbox[-1].body)
    assert link is not None
    response = client.get(link.group(0))
    assert response.status_code == 302  # allauth moves the key into the session
    response = client.post(response["Location"], {"password1": "brand-new-pass-42", "password2": "brand-new-pass-42"})
    assert response.status_code == 302
    fresh = Client()
    response = fresh.post(reverse("account_login"), {"login": "forgot@example.com", "password": "brand-new-pass-42"})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")


@pytest.mark.django_db
def test_allauths_login_rate_limit_is_on(client: Client) -> None:
    """settings.ACCOUNT_RATE_LIMITS["login_failed"] = 5 per 5 minutes per account: the 6th try is refused even with
    the right password, so guessing is throttled."""
    UserFactory(email="target@example.com")
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": "target@example.com", "password": "wrong"})
        assert response.status_code == 200 and "not correct" in response.content.decode()
    response = client.post(reverse("account_login"), {"login": "target@example.com", "password": PASSWORD})
    assert response.status_code != 302, "a correct password after 5 failures must still be throttled"
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
