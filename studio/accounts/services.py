"""Account services: creating users (with their personal team) and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from studio.accounts.models import ApiToken, User, hash_token

if TYPE_CHECKING:
    from django.http import HttpRequest

    from studio.teams.models import Team


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


class ApiTokenError(ValueError):
    """A token request was refused; the message is user-facing."""


API_TOKEN_NAME_MAX = 100


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str = "default",
    team: Team | None = None,
    role: str = "",
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Create a token scoped to ``team`` (default: the user's active or personal team) with ``role`` (default: the
    user's own role there; never higher), and return it with the raw value, which is never stored and cannot be
    shown again. Audited. Raises ``ApiTokenError``."""
    from studio.audit.models import AuditAction
    from studio.audit.services import audit_record
    from studio.teams.access import ROLE_RANK, membership_for

    name = " ".join((name or "").split())[:API_TOKEN_NAME_MAX] or "default"
    if "\x00" in name:
        raise ApiTokenError("The token name contains a NUL character.")
    if team is None:
        team = _default_team(user)
    membership = membership_for(user, team) if team is not None else None
    if team is None or membership is None:
        raise ApiTokenError("Pick a team you are a member of.")
    role = role or membership.role
    if role not in ROLE_RANK:
        raise ApiTokenError(f'Unknown role "{role}"; use owner, admin, member or viewer.')
    if ROLE_RANK[role] > ROLE_RANK[membership.role]:
        raise ApiTokenError(f"A token cannot have a higher role than yours ({membership.get_role_display()}).")
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiTokenError("The expiry date must be in the future.")
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user, name=name, token_hash=hash_token(raw), hint=raw[:8], team=team, role=role, expires_at=expires_at
    )
    audit_record(
        action=AuditAction.API_TOKEN_CREATED,
        actor=user,
        team=team,
        target=token,
        request=request,
        data={
            "name": name,
            "role": role,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "hint": token.hint,
        },
    )
    return token, raw


def _default_team(user: User) -> Team | None:
    from studio.teams.models import Team

    if user.active_team_id is not None:
        team = Team.objects.filter(pk=user.active_team_id, memberships__user=user).first()
        if team is not None:
            return team
    return Team.objects.filter(memberships__user=user).order_by("-is_personal", "pk").first()


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User, request: HttpRequest | None = None) -> bool:
    """Revoke ``token`` (at once: the next request with it gets 401). False when it was already revoked."""
    from studio.audit.models import AuditAction
    from studio.audit.services import audit_record

    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if changed:
        token.refresh_from_db()
        audit_record(
            action=AuditAction.API_TOKEN_REVOKED,
            actor=actor,
            team=token.team,
            target=token,
            request=request,
            data={"hint": token.hint},
        )
    return bool(changed)


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token whose hash is ``raw``'s (not revoked, not expired, user active, scoped to a team); its
    ``last_used_at`` is updated at most once a minute (to spare a write per request)."""
    if not raw or len(raw) > 200 or not raw.startswith(ApiToken.PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user", "team")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True, team__isnull=False)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
