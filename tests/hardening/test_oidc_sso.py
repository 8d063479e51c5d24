"""SSO through a real OpenID Connect provider started by the test (oidc-provider-mock, on a loopback port): sign-in,
linking to an existing account by a provider-verified email only, and sign-up of a new person."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from oidc_provider_mock import User as OidcUser
from oidc_provider_mock import run_server_in_thread

from studio.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

PEOPLE = [
    OidcUser(sub="alice-sso", claims={"email": "alice@example.com", "email_verified": True, "name": "Alice"}),
    OidcUser(sub="mallory-sso", claims={"email": "bob@example.com", "email_verified": False}),
    OidcUser(sub="nina-sso", claims={"email": "nina@example.com", "email_verified": True, "name": "Nina"}),
]


@pytest.fixture
def oidc_provider(settings: Any) -> Iterator[str]:
    with run_server_in_thread(user_claims=PEOPLE) as server:
        url = f"http://localhost:{server.server_port}"
        settings.SOCIALACCOUNT_PROVIDERS = {
            "openid_connect": {
                "APPS": [
                    {
                        "provider_id": "sso",
                        "name": "Company SSO",
                        "client_id": "studio-test",
                        "secret": "studio-test-secret",
                        "settings": {"server_url": url, "oauth_pkce_enabled": True},
                    }
                ]
            }
        }
        yield url


def sso_sign_in(client: Client, sub: str) -> Any:
    """Start at our login button, consent at the provider as ``sub``, come back to our callback."""
    start = client.post("/accounts/oidc/sso/login/")
    assert start.status_code == 302, start.content[:300]
    consent = httpx.post(start["Location"], data={"sub": sub}, follow_redirects=False, timeout=30)
    assert consent.status_code in (302, 303), consent.text[:300]
    back = urlsplit(consent.headers["Location"])
    assert back.path == "/accounts/oidc/sso/login/callback/"
    return client.get(f"{back.path}?{back.query}")


@pytest.mark.django_db
def test_oidc_sign_in_links_an_existing_account_by_verified_email(oidc_provider: str) -> None:
    alice = UserFactory(email="alice@example.com")
    client = Client()
    login_page = client.get("/accounts/login/").content.decode()
    assert "Company SSO" in login_page  # the button is on the sign-in page
    done = sso_sign_in(client, "alice-sso")
    assert done.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert SocialAccount.objects.filter(user=alice, provider="sso", uid="alice-sso").exists()
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_oidc_unverified_email_never_links(oidc_provider: str) -> None:
    bob = UserFactory(email="bob@example.com")
    client = Client()
    response = sso_sign_in(client, "mallory-sso")
    assert client.session.get("_auth_user_id") != str(bob.pk)
    assert not SocialAccount.objects.filter(user=bob).exists()
    assert response.status_code in (200, 302)
    bob.refresh_from_db()
    assert bob.has_usable_password()


@pytest.mark.django_db
def test_oidc_sign_up_creates_an_account_with_a_personal_team(oidc_provider: str) -> None:
    client = Client()
    done = sso_sign_in(client, "nina-sso")
    assert done.status_code == 302
    nina = User.objects.get(email="nina@example.com")
    assert client.session["_auth_user_id"] == str(nina.pk)
    assert nina.active_team is not None and nina.active_team.is_personal
