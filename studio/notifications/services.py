"""In-app (and optionally email) notifications. One function writes them: ``notify``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from studio.cachekit import forget_on_commit
from studio.notifications.models import Notification
from studio.notifications.selectors import unread_count_key

if TYPE_CHECKING:
    from studio.accounts.models import User


def notify(*, user: User, kind: str, message: str, url: str = "", key: str = "", email: bool = False) -> bool:
    """Record a notification (and email it when asked). With a ``key``, a second call with the same key for the same
    user does nothing and returns False, so callers may notify on every event without spamming."""
    try:
        with transaction.atomic():
            Notification.objects.create(user=user, kind=kind, message=message, url=url, key=key)
    except IntegrityError:
        return False
    forget_on_commit(unread_count_key(user))
    if email:
        transaction.on_commit(
            lambda: send_mail(
                subject=f"[Studio] {message[:80]}",
                message=message,
                from_email=None,
                recipient_list=[user.email],
                fail_silently=True,
            )
        )
    return True


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications (or, with no id, all of them) as read. Returns how many changed."""
    from django.utils import timezone

    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    changed = unread.update(read_at=timezone.now())
    if changed:
        forget_on_commit(unread_count_key(user))
    return changed
