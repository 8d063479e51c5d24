from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from studio.accounts.services import user_setup


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """Hooks allauth's sign-up into our services: every new user gets a personal team."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user_setup(user=user)
        return user
