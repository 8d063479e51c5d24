"""Reads of a user's notifications (the bell's count and the /notifications/ page)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from studio.cachekit import read_through
from studio.notifications.models import Notification

if TYPE_CHECKING:
    from studio.accounts.models import User


def notifications_for(user: User) -> QuerySet[Notification]:
    """A user's own notifications, newest first (nobody sees another person's)."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


# The bell is on every page; its count changes only through ``services`` (which forget it on commit). The timeout
# bounds how long a count read during a concurrent commit can linger.
UNREAD_COUNT_TTL = 60


def unread_count_key(user: User) -> str:
    # The sign-up time tells apart users given the same id by two databases (a development reset) on one cache.
    return f"notifications:unread:{user.pk}:{user.date_joined.timestamp()}"


def unread_count(user: User) -> int:
    """How many of the user's notifications are unread (the bell's badge), cached between changes."""
    return read_through(
        unread_count_key(user),
        lambda: Notification.objects.filter(user=user, read_at__isnull=True).count(),
        timeout=UNREAD_COUNT_TTL,
    )
