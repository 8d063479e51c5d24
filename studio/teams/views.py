"""Team pages. Thin: every lookup goes through ``studio.teams.access``; every change through ``services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from studio.accounts.adapters import PENDING_INVITATION_SESSION_KEY
from studio.accounts.models import User
from studio.teams import access, selectors, services
from studio.teams.access import PERMISSION_LABELS, ROLE_PERMISSIONS, Perm
from studio.teams.forms import InvitationForm, RoleForm, TeamForm
from studio.teams.models import Invitation, Role


def _user(request: HttpRequest) -> User:
    """The logged-in user (the views below are all behind login_required)."""
    return access.request_user(request)


def _permission_table() -> list[dict[str, Any]]:
    roles = list(Role)
    return [
        {"perm": perm, "label": PERMISSION_LABELS[perm], "allowed": [perm in ROLE_PERMISSIONS[r] for r in roles]}
        for perm in Perm
    ]


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    memberships = selectors.memberships_of(_user(request))
    return render(request, "teams/list.html", {"memberships": memberships})


@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(owner=_user(request), name=form.cleaned_data["name"])
        except services.TeamError as exc:
            form.add_error("name", str(exc))
        else:
            services.team_switch(user=_user(request), team=team)
            messages.success(request, f"Team {team.name} created. You are its owner and it is now your active team.")
            return redirect("teams:detail", pk=team.pk)
    return render(request, "teams/create.html", {"form": form})


@login_required
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = access.require_membership(request.user, pk)
    team = membership.team
    members = selectors.team_members(team)
    can_manage = access.role_allows(membership.role, Perm.MANAGE_MEMBERS)
    rows = [
        {
            "membership": m,
            "editable": can_manage and access.may_change_member(membership, m),
            "role_form": RoleForm(initial={"role": m.role}, actor_role=membership.role, auto_id=f"role_{m.pk}_%s"),
        }
        for m in members
    ]
    can_invite = access.role_allows(membership.role, Perm.INVITE)
    invitations = selectors.open_invitations(team) if can_invite else Invitation.objects.none()
    context = {
        "team": team,
        "membership": membership,
        "rows": rows,
        "roles": list(Role),
        "permission_table": _permission_table(),
        "can_invite": can_invite,
        "can_manage_team": access.role_allows(membership.role, Perm.MANAGE_TEAM),
        "can_manage_webhooks": access.role_allows(membership.role, Perm.MANAGE_WEBHOOKS),
        # Each open invitation with its link, so the inviter can copy it (local mode has no real email).
        "invitations": [(inv, services.invitation_url(inv)) for inv in invitations],
        "invite_form": InvitationForm(actor_role=membership.role) if can_invite else None,
        "is_active": _user(request).active_team_id == team.pk,
    }
    return render(request, "teams/detail.html", context)


@login_required
@require_POST
def team_switch(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_user(request.user, pk)
    services.team_switch(user=_user(request), team=team)
    messages.success(request, f"You are now working in {team.name}.")
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return HttpResponseRedirect(next_url)
    return redirect("dashboard")


@login_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_user(request.user, pk, Perm.MANAGE_TEAM)
    form = TeamForm(request.POST or None, initial={"name": team.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.team_rename(team=team, name=form.cleaned_data["name"])
        except services.TeamError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, "Team renamed.")
            return redirect("teams:detail", pk=team.pk)
    return render(request, "teams/edit.html", {"team": team, "form": form})


@login_required
@require_POST
def team_require_mfa(request: HttpRequest, pk: int) -> HttpResponse:
    """Owners turn the team's two-factor requirement on or off (from the team's edit page)."""
    team = access.get_team_for_user(request.user, pk, Perm.MANAGE_TEAM)  # owners only (ROLE_PERMISSIONS)
    required = request.POST.get("require_mfa") == "on"
    try:
        services.team_require_mfa_set(team=team, required=required, actor=_user(request), request=request)
    except services.TeamError as exc:
        messages.error(request, str(exc))
    else:
        state = "now required" if required else "no longer required"
        messages.success(request, f"Two-factor authentication is {state} for members of {team.name}.")
    return redirect("teams:edit", pk=team.pk)


@login_required
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_user(request.user, pk, Perm.MANAGE_TEAM)
    if request.method == "POST":
        try:
            outcome = services.team_delete(team=team, actor=_user(request), request=request)
        except services.TeamError as exc:
            messages.error(request, str(exc))
            return redirect("teams:detail", pk=team.pk)
        kept = " Its billing history is kept for the records." if outcome == "archived" else ""
        messages.success(request, f"Team {team.name} was deleted.{kept}")
        return redirect("dashboard")
    return render(request, "teams/delete.html", {"team": team})


@login_required
@require_POST
def team_leave(request: HttpRequest, pk: int) -> HttpResponse:
    membership = access.require_membership(request.user, pk)
    try:
        services.membership_leave(membership=membership)
    except services.TeamError as exc:
        messages.error(request, str(exc))
        return redirect("teams:detail", pk=pk)
    messages.success(request, f"You left {membership.team.name}.")
    return redirect("dashboard")


@login_required
def invitation_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = access.require_membership(request.user, pk, Perm.INVITE)
    form = InvitationForm(request.POST or None, actor_role=membership.role)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                team=membership.team,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=_user(request),
                inviter_role=membership.role,
                request=request,
            )
        except services.TeamError as exc:
            form.add_error(None, str(exc))
            if isinstance(exc, services.InvitationRateLimited):
                context = {"team": membership.team, "form": form}
                return render(request, "teams/invite.html", context, status=429)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}. The link expires in 7 days.")
            return redirect("teams:detail", pk=pk)
    status = 400 if form.errors else 200
    return render(request, "teams/invite.html", {"team": membership.team, "form": form}, status=status)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = access.get_invitation_for_user(request.user, pk, Perm.INVITE)
    try:
        services.invitation_revoke(invitation=invitation, actor=_user(request), request=request)
    except services.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return redirect("teams:detail", pk=invitation.team_id)


_INVITATION_ERROR_STATUS = {"forged": 400, "wrong_email": 403}


def _invitation_refused(request: HttpRequest, exc: services.InvitationError) -> HttpResponse:
    request.session.pop(PENDING_INVITATION_SESSION_KEY, None)
    return render(
        request,
        "teams/invitation_refused.html",
        {"error": str(exc), "code": exc.code},
        status=_INVITATION_ERROR_STATUS.get(exc.code, 410),
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the invitation (never changes anything: mail scanners prefetch links); POST accepts it.

    Anonymous visitors are sent to sign up (or log in, when the invited email has an account) with ``next`` pointing
    back here; the token is also kept in the session so the adapter can bring them back after email verification.
    """
    if not request.user.is_authenticated:
        request.session[PENDING_INVITATION_SESSION_KEY] = token
        here = request.get_full_path()
        target = "account_signup"
        try:
            invitation = services.invitation_from_token(token)
        except services.InvitationError:
            target = "account_login"
        else:
            if User.objects.filter(email__iexact=invitation.email).exists():
                target = "account_login"
        return redirect(f"{reverse(target)}?{urlencode({'next': here})}")

    user = _user(request)
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=user, request=request)
        except services.InvitationError as exc:
            return _invitation_refused(request, exc)
        request.session.pop(PENDING_INVITATION_SESSION_KEY, None)
        messages.success(request, f"Welcome to {membership.team.name}! You joined as {membership.get_role_display()}.")
        return redirect("teams:detail", pk=membership.team_id)
    try:
        invitation = services.invitation_from_token(token)
        services.invitation_check_recipient(invitation=invitation, user=user)
    except services.InvitationError as exc:
        return _invitation_refused(request, exc)
    return render(request, "teams/invitation_accept.html", {"invitation": invitation})


@login_required
@require_POST
def member_change_role(request: HttpRequest, pk: int) -> HttpResponse:
    target = access.get_membership_for_user(request.user, pk, Perm.MANAGE_MEMBERS)
    actor = access.require_membership(request.user, target.team_id, Perm.MANAGE_MEMBERS)
    form = RoleForm(request.POST, actor_role=actor.role)
    if not form.is_valid():
        access.check_member_change(actor, target, new_role=request.POST.get("role") or None)
        messages.error(request, "Choose one of the listed roles.")
        return redirect("teams:detail", pk=target.team_id)
    try:
        updated = services.membership_change_role(
            actor=actor, target=target, role=form.cleaned_data["role"], request=request
        )
    except services.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{updated.user} is now {updated.get_role_display()}.")
    return redirect("teams:detail", pk=target.team_id)


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    target = access.get_membership_for_user(request.user, pk, Perm.MANAGE_MEMBERS)
    actor = access.require_membership(request.user, target.team_id, Perm.MANAGE_MEMBERS)
    try:
        services.membership_remove(actor=actor, target=target, request=request)
    except services.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{target.user} was removed from {target.team.name}.")
    return redirect("teams:detail", pk=target.team_id)
