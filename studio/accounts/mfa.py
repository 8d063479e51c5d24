"""Two-factor authentication (allauth.mfa: TOTP and recovery codes) and the team requirement.

- ``user_has_mfa``: the one answer to "does this user have a second factor".
- ``TeamMfaMiddleware``: a member whose active team requires MFA (``Team.require_mfa``, set by an owner) and who has
  none is sent to set up an authenticator app before any page of that team; account, sign-out and team-switching
  pages stay reachable so they can enrol or go elsewhere.
- Audit rows for every MFA change (``AuditAction.MFA_*``), from allauth.mfa's signals (which allauth sends once
  the change is committed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

# Pages a member held back by the requirement can still open: enrolling, signing out, leaving or switching teams.
_EXEMPT_NAMESPACES = ("admin",)
_EXEMPT_VIEWS = {"teams:list", "teams:switch", "teams:leave", "teams:create", "teams:accept-invitation", "healthz"}
# /api/ answers token-authenticated clients, which cannot enrol; the API applies its own rules (issue 11).
_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/files/", "/healthz", "/readyz", "/metrics", "/api/")


def user_has_mfa(user: Any) -> bool:
    from allauth.mfa.models import Authenticator

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists())


def mfa_required_team(request: HttpRequest) -> Any:
    """The active team whose requirement holds this user back, or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    from studio.teams.access import active_membership

    # ActiveTeamMiddleware (earlier in MIDDLEWARE) puts the same answer on the request, lazily; reading it there
    # shares one membership query with the layout's context processor instead of running it twice per page.
    membership = getattr(request, "membership", None)
    if membership is None:
        membership = active_membership(request)
    if not membership or not membership.team.require_mfa or user_has_mfa(user):
        return None
    return membership.team


class TeamMfaMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        if request.path.startswith(_EXEMPT_PREFIXES):
            return None
        match = request.resolver_match
        if match is not None and (match.view_name in _EXEMPT_VIEWS or match.namespace in _EXEMPT_NAMESPACES):
            return None
        team = mfa_required_team(request)
        if team is None:
            return None
        # The set-up page itself explains why (templates/mfa/base_manage.html), also after reauthentication.
        return redirect("mfa_activate_totp")


def _record(action: Any, request: HttpRequest | None, user: Any, authenticator: Any) -> None:
    from studio.audit.services import audit_record

    audit_record(
        action=action,
        actor=user,
        target=user,
        request=request,
        data={"authenticator": str(getattr(authenticator, "type", ""))},
    )


def connect_signals() -> None:
    from allauth.mfa import signals

    from studio.audit.models import AuditAction

    @receiver(signals.authenticator_added, weak=False, dispatch_uid="studio-mfa-added")
    def added(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
        kind = getattr(authenticator, "type", "")
        action = AuditAction.MFA_RECOVERY_CODES if kind == "recovery_codes" else AuditAction.MFA_ENABLED
        _record(action, request, user, authenticator)

    @receiver(signals.authenticator_removed, weak=False, dispatch_uid="studio-mfa-removed")
    def removed(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
        _record(AuditAction.MFA_DISABLED, request, user, authenticator)

    @receiver(signals.authenticator_reset, weak=False, dispatch_uid="studio-mfa-reset")
    def reset(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
        _record(AuditAction.MFA_RECOVERY_CODES, request, user, authenticator)
