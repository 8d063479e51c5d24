"""Account services: creating users (with their personal team) and API tokens."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from studio.accounts.models import ApiToken, User, hash_token


@transaction.atomic
def user_setup(*, user: User) -> None:
    """Give a freshly created user their personal team and make it active. Safe to call twice."""
    from studio.teams.services import team_create_personal

    team = team_create_personal(user=user)
    if user.active_team_id is None:
        user.active_team = team
        user.save(update_fields=["active_team"])


@transaction.atomic
def user_create(*, email: str, password: str | None, name: str = "", verified: bool = False) -> User:
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email, password=password, name=name)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
    user_setup(user=user)
    return user


@transaction.atomic
def api_token_create(*, user: User, name: str = "default") -> tuple[ApiToken, str]:
    """Create a token and return it with the raw value, which is never stored and cannot be shown again."""
    from studio.audit.models import AuditAction
    from studio.audit.services import audit_record

    raw = ApiToken.generate()
    token = ApiToken.objects.create(user=user, name=name, token_hash=hash_token(raw), hint=raw[:8])
    audit_record(action=AuditAction.API_TOKEN_CREATED, actor=user, target=token, data={"name": name, "hint": raw[:8]})
    return token, raw


def api_token_authenticate(*, raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
