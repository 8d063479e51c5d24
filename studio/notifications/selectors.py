"""Reads of a user's notifications (the bell's count and the /notifications/ page)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from studio.notifications.models import Notification

if TYPE_CHECKING:
    from studio.accounts.models import User


def notifications_for(user: User) -> QuerySet[Notification]:
    """A user's own notifications, newest first (nobody sees another person's)."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
