"""Alerts for platform staff about a provider account (not about one user's job): in-app notices, e-mailed.

``provider_account_empty`` is raised when a provider says our account there cannot pay (PixVerse 500043/500090).
Each staff member gets one notice per provider per day (the notification key de-duplicates), so a burst of refused
jobs does not flood anyone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from generations.models import ProviderAccount
from studio.notifications.services import notify

logger = logging.getLogger("generations.alerts")

#: How long ``auto`` routing avoids an account that reported it has no credits (someone must top it up).
ACCOUNT_EMPTY_COOLDOWN = timedelta(hours=1)


def provider_account_empty(*, provider: str, label: str, detail: str) -> int:
    """Alert every active staff member that ``provider``'s account is out of credits, and keep ``auto`` away from it
    for ``ACCOUNT_EMPTY_COOLDOWN`` (its circuit is opened). Returns how many staff members were newly notified."""
    until = timezone.now() + ACCOUNT_EMPTY_COOLDOWN
    ProviderAccount.objects.get_or_create(name=provider)
    ProviderAccount.objects.filter(name=provider).update(open_until=until)
    message = f"The {label} account has no credits left ({detail}). Top it up; until then jobs go to other providers."
    logger.error("provider account empty: %s: %s", provider, detail)
    day = timezone.now().date().isoformat()
    sent = 0
    for user in get_user_model().objects.filter(is_staff=True, is_active=True):
        if notify(
            user=user, kind="provider_account_empty", message=message[:500], key=f"provider-empty:{provider}:{day}"
        ):
            sent += 1
    return sent
