"""allauth's events that change what a team lists (connected in ``TeamsConfig.ready``)."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import email_changed
from django.dispatch import receiver

from studio.teams.directory import user_directories_changed


@receiver(email_changed, dispatch_uid="teams-directory-email-changed")
def _email_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A member's primary email changed: their teams' member lists show it."""
    user_directories_changed([user.pk])
