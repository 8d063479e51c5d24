from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse

from studio.accounts.services import user_setup
from studio.clientip import client_ip

# Set by studio.teams.views.invitation_accept when an anonymous visitor opens an invitation link.
PENDING_INVITATION_SESSION_KEY = "pending_invitation_token"


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """Hooks allauth's sign-up into our services: every new user gets a personal team. After logging in (or
    confirming their email), someone who arrived through an invitation link lands back on that invitation."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user_setup(user=user)
        return user

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        token = request.session.get(PENDING_INVITATION_SESSION_KEY)
        if isinstance(token, str) and token:
            return reverse("teams:accept-invitation", kwargs={"token": token})
        return str(super().get_login_redirect_url(request))

    def get_client_ip(self, request: HttpRequest) -> str:
        """The client's address through TRUSTED_PROXY_COUNT proxies (studio/clientip.py), so allauth's per-IP rate
        limits key on the visitor, not on the proxy everyone shares (issue 13 finding 4)."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's IP address.")
        return ip


class SocialAccountAdapter(DefaultSocialAccountAdapter):  # type: ignore[misc]
    """SSO sign-ups get the same set-up as password sign-ups (a personal team). Providers come from settings
    (the environment) only, never from SocialApp rows, so the sign-in page asks the database nothing for them."""

    def list_apps(self, request: HttpRequest, provider: Any = None, client_id: Any = None) -> list[Any]:
        from allauth.socialaccount.adapter import _build_apps_from_settings

        groups = _build_apps_from_settings(provider=provider, client_id=client_id)
        return [app for apps in groups.values() for app in apps]

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        user = super().save_user(request, sociallogin, form=form)
        user_setup(user=user)
        return user
