"""Team services: teams, switching, invitations and memberships.

Invariants kept here (and tested in tests/teams/):
- A team always has at least one owner. Every change that could remove the last owner (demotion, removal, leaving)
  first locks the team's owner memberships with ``select_for_update`` and counts them inside the same transaction,
  so two concurrent "step down" requests cannot both succeed.
- A user has at most one personal team, and it cannot be deleted.
- An invitation is used at most once: acceptance is a conditional UPDATE on ``accepted_at IS NULL`` (and not
  revoked, not expired) that must change exactly one row.
- "Who may do this to whom" (admins never touch owners, only owners make owners) is answered by
  ``studio.teams.access.check_member_change``; services call it too, so the REST API gets the same rules.

Functions raise ``TeamError`` with a user-facing message when a rule refuses the change.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.core.mail import BadHeaderError, send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify

from studio.audit.models import AuditAction
from studio.audit.services import audit_record
from studio.teams.access import assignable_roles, check_member_change
from studio.teams.directory import directory_changed
from studio.teams.models import INVITATION_LIFETIME, Invitation, Membership, Role, Team

if TYPE_CHECKING:
    from django.http import HttpRequest

    from studio.accounts.models import User

INVITATION_SALT = "studio.teams.invitation"
logger = logging.getLogger(__name__)


class TeamError(Exception):
    """A team rule refused the change. ``str(exc)`` is shown to the user; nothing was changed."""


class InvitationError(TeamError):
    """An invitation link cannot be used. ``code`` says why (forged, expired, used, revoked, wrong_email)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


# --- Teams ----------------------------------------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "team"
    slug = base
    while Team.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(6).lower()}"
    return slug


def team_name_clean(name: str) -> str:
    """The team name as stored, or ``TeamError``. Names appear in email subjects and headers, so control characters
    (CR/LF, NUL, tabs...) are refused (issue 13 finding 10)."""
    name = name.strip()
    if not name:
        raise TeamError("A team needs a name.")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        raise TeamError("A team name cannot contain line breaks or other control characters.")
    if len(name) > 100:
        raise TeamError("A team name has at most 100 characters.")
    return name


def header_safe(text: str, *, limit: int = 150) -> str:
    """``text`` fit for one line of an email header: control characters become spaces, runs of whitespace one
    space, and it is cut to ``limit`` characters. For names stored before validation, and for user names."""
    flat = "".join(" " if unicodedata.category(char)[0] in ("C", "Z") else char for char in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@transaction.atomic
def team_create(*, owner: User, name: str, is_personal: bool = False) -> Team:
    """Create a team with ``owner`` as its only owner."""
    name = team_name_clean(name)
    team = Team.objects.create(name=name, slug=_unique_slug(name), is_personal=is_personal, created_by=owner)
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


@transaction.atomic
def team_create_personal(*, user: User) -> Team:
    """The user's personal team, created on first call. Safe to call twice."""
    existing = Team.objects.filter(created_by=user, is_personal=True).first()
    if existing is not None:
        return existing
    return team_create(owner=user, name=header_safe(f"{user.display_name}'s studio", limit=100), is_personal=True)


@transaction.atomic
def team_rename(*, team: Team, name: str) -> Team:
    name = team_name_clean(name)
    team.name = name
    team.save(update_fields=["name"])
    return team


@transaction.atomic
def team_switch(*, user: User, team: Team) -> None:
    """Make ``team`` the user's active team. The caller has checked membership through the access module; this
    re-checks it so the service is safe on its own."""
    if not Membership.objects.filter(team=team, user=user).exists():
        raise TeamError("You can only switch to a team you belong to.")
    user.active_team = team
    user.save(update_fields=["active_team"])


def team_deletion_blocker(*, team: Team) -> str:
    """Why ``team`` cannot be deleted now ("" when it can): a job still running would lose its result and its hold,
    and credits left in the pool would vanish with it (issue 13 finding 9)."""
    from billing.models import Hold, HoldState, Wallet
    from generations.models import GenerationJob
    from generations.states import TERMINAL

    running = GenerationJob.objects.filter(team=team).exclude(state__in=TERMINAL).count()
    if running:
        return (
            f"{team.name} still has {running} video{'s' if running != 1 else ''} in progress. "
            "Wait for them to finish or cancel them, then delete the team."
        )
    if Hold.objects.filter(team=team, state=HoldState.OPEN).exists():
        return f"{team.name} has credits on hold for a generation. Wait for it to finish, then delete the team."
    wallet = Wallet.objects.filter(team=team).first()
    if wallet is not None and wallet.balance > 0:
        return (
            f"{team.name}'s pool still holds {wallet.balance} credits. Spend them, or ask support to move them, "
            "before deleting the team."
        )
    return ""


@transaction.atomic
def team_delete(*, team: Team, actor: User | None = None, request: HttpRequest | None = None) -> str:
    """Delete a team, or archive it when it has billing history; returns "deleted" or "archived". Audited either way.

    Refused (``TeamError`` with the reason) for a personal team, and while jobs run or credits remain
    (``team_deletion_blocker``). A team that ever had a wallet, a hold or a job is archived instead of deleted: the
    ledger is append-only and must keep every row it refers to, so the team row, its wallet, holds and jobs stay,
    while its memberships and open invitations go and nobody can reach it any more (every lookup goes through a
    membership). A team with no such history is deleted with everything it owns; stored asset files are removed
    after the transaction commits."""
    if team.is_personal:
        raise TeamError("A personal team cannot be deleted.")
    from billing.models import Hold, Wallet
    from generations.models import GenerationJob
    from studio.accounts.models import User
    from studio.assets.services import asset_files_delete_on_commit

    team = Team.objects.select_for_update().get(pk=team.pk)  # one deletion at a time; jobs check membership
    reason = team_deletion_blocker(team=team)
    if reason:
        raise TeamError(reason)
    has_history = (
        Wallet.objects.filter(team=team).exists()
        or Hold.objects.filter(team=team).exists()
        or GenerationJob.objects.filter(team=team).exists()
    )
    audit_record(
        action=AuditAction.TEAM_DELETED,
        actor=actor,
        team=team,
        target=team,
        request=request,
        data={"outcome": "archived" if has_history else "deleted"},
    )
    if not has_history:
        asset_files_delete_on_commit(assets=team.assets.all())
        team.delete()
        return "deleted"
    now = timezone.now()
    team.archived_at = now
    team.save(update_fields=["archived_at"])
    team.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    User.objects.filter(active_team=team).update(active_team=None)
    team.memberships.all().delete()
    directory_changed(team.pk)
    return "archived"


@transaction.atomic
def team_require_mfa_set(*, team: Team, required: bool, actor: User, request: HttpRequest | None = None) -> Team:
    """Turn the team's MFA requirement on or off (owners only: the view asks the access module). Turning it on
    needs the owner to have MFA already, so the setting never locks its own author out."""
    from studio.accounts.mfa import user_has_mfa
    from studio.audit.models import AuditAction
    from studio.audit.services import audit_record

    if required and not user_has_mfa(actor):
        raise TeamError("Set up two-factor authentication for your own account first, then require it for the team.")
    if team.require_mfa == required:
        return team
    team.require_mfa = required
    team.save(update_fields=["require_mfa"])
    audit_record(
        action=AuditAction.TEAM_POLICY_CHANGED,
        actor=actor,
        team=team,
        target=team,
        request=request,
        data={"require_mfa": required},
    )
    return team


# --- Memberships --------------------------------------------------------------------------------------------------


def _lock_owners(team_id: int) -> list[Membership]:
    """Lock the team's owner memberships for the rest of the transaction and return them."""
    return list(Membership.objects.select_for_update().filter(team_id=team_id, role=Role.OWNER).order_by("pk"))


def _refuse_if_last_owner(target: Membership, *, action: str) -> None:
    """Lock the owners, then decide from the locked rows (not from ``target.role``, which may be stale)."""
    owners = _lock_owners(target.team_id)
    if len(owners) <= 1 and any(m.pk == target.pk for m in owners):
        raise TeamError(
            f"{target.user} is the last owner of {target.team.name} and cannot {action}. "
            "Make someone else an owner first."
        )


def _reset_active_team(user: User, team_id: int) -> None:
    if user.active_team_id == team_id:
        personal = Team.objects.filter(created_by=user, is_personal=True, memberships__user=user).first()
        user.active_team = personal
        user.save(update_fields=["active_team"])


@transaction.atomic
def membership_change_role(
    *, actor: Membership, target: Membership, role: str, request: HttpRequest | None = None
) -> Membership:
    """Give ``target`` the role ``role``. Admins never change owners or make owners; the last owner is never
    demoted."""
    if role not in Role.values:
        raise TeamError("Choose one of the listed roles.")
    check_member_change(actor, target, new_role=role)
    if role != Role.OWNER:
        _refuse_if_last_owner(target, action="be demoted")
    target = Membership.objects.select_related("team", "user").get(pk=target.pk)
    if target.role == role:
        return target
    old_role = target.role
    target.role = role
    target.save(update_fields=["role"])
    audit_record(
        action=AuditAction.ROLE_CHANGED,
        actor=actor.user,
        team=target.team,
        target=target,
        request=request,
        data={"user": target.user.email, "from": old_role, "to": role},
    )
    return target


@transaction.atomic
def membership_remove(*, actor: Membership, target: Membership, request: HttpRequest | None = None) -> None:
    """Remove ``target`` from the team. Admins never remove owners; the last owner is never removed."""
    check_member_change(actor, target)
    _refuse_if_last_owner(target, action="be removed")
    target = Membership.objects.select_related("team", "user").get(pk=target.pk)
    audit_record(
        action=AuditAction.MEMBER_REMOVED,
        actor=actor.user,
        team=target.team,
        target=target,
        request=request,
        data={"user": target.user.email, "role": target.role},
    )
    target.delete()
    directory_changed(target.team_id)
    _reset_active_team(target.user, target.team_id)


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """The member leaves the team. The last owner cannot leave."""
    _refuse_if_last_owner(membership, action="leave")
    membership = Membership.objects.select_related("team", "user").get(pk=membership.pk)
    membership.delete()
    directory_changed(membership.team_id)
    _reset_active_team(membership.user, membership.team_id)


# --- Invitations --------------------------------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    """The signed token of the invitation link. It carries only the invitation id; everything else is read from the
    database when the link is used, so revoking or accepting takes effect at once."""
    return signing.dumps({"i": invitation.pk}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    path = reverse("teams:accept-invitation", kwargs={"token": invitation_token(invitation)})
    return f"{settings.PUBLIC_BASE_URL}{path}"


@transaction.atomic
def invitation_create(
    *, team: Team, email: str, role: str, invited_by: User, inviter_role: str, request: HttpRequest | None = None
) -> Invitation:
    """Invite ``email`` to ``team`` and email them a link valid for ``INVITATION_LIFETIME``. Only owners invite
    owners; a member cannot be invited again; an unexpired open invitation must be revoked first."""
    email = email.strip().lower()
    if role not in Role.values:
        raise TeamError("Choose one of the listed roles.")
    if role not in assignable_roles(inviter_role):
        raise TeamError("Only an owner can invite another owner.")
    if Membership.objects.filter(team=team, user__email__iexact=email).exists():
        raise TeamError(f"{email} is already a member of {team.name}.")
    now = timezone.now()
    _invitation_rate_check(team=team, invited_by=invited_by, now=now)
    open_invitations = Invitation.objects.select_for_update().filter(
        team=team, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    for existing in open_invitations:
        if existing.expires_at > now:
            raise TeamError(f"{email} already has an open invitation. Revoke it to send a new one.")
        existing.revoked_at = now  # an expired one blocks the unique constraint; retire it
        existing.save(update_fields=["revoked_at"])
    invitation = Invitation.objects.create(
        team=team,
        email=email,
        role=role,
        invited_by=invited_by,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    audit_record(
        action=AuditAction.INVITATION_SENT,
        actor=invited_by,
        team=team,
        target=invitation,
        request=request,
        data={"email": email, "role": role},
    )
    link = invitation_url(invitation)
    days = INVITATION_LIFETIME.days
    inviter, team_name = header_safe(invited_by.display_name, limit=60), header_safe(team.name, limit=60)
    # Sent inside the transaction, not on commit: if the email cannot go out, the invitation is not saved either
    # (issue 13 finding 10: a bad header once failed after the row was committed).
    try:
        send_mail(
            # A fixed subject: neither the team's nor the inviter's name (both chosen by the sender) goes in it.
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}You have been invited to join a team",
            message=(
                f"{inviter} ({invited_by.email}) invited you to join the team {team_name} "
                f"as {Role(role).label}.\n\nOpen this link to accept (it works once and expires in {days} days):\n"
                f"{link}\n\nIf you do not have an account yet, you can create one with this email address."
            ),
            from_email=None,
            recipient_list=[email],
        )
    except (BadHeaderError, OSError) as exc:
        logger.warning("invitation email to %s failed: %s", email, exc)
        raise TeamError("The invitation email could not be sent, so no invitation was made. Try again later.") from exc
    return invitation


class InvitationRateLimited(TeamError):
    """Too many invitations in the window; the view answers 429."""


def _invitation_rate_check(*, team: Team, invited_by: User, now: datetime) -> None:
    """Invitations are email we send on someone's behalf: at most INVITATIONS_PER_HOUR per inviter and
    INVITATIONS_PER_DAY per team (issue 13 finding 11). Counted from the rows themselves, so the limit holds across
    processes and survives a cache flush; revoked invitations count too (revoking does not unsend the email)."""
    per_hour = int(getattr(settings, "INVITATIONS_PER_HOUR", 10))
    per_day = int(getattr(settings, "INVITATIONS_PER_DAY", 50))
    recent = Invitation.objects.filter(invited_by=invited_by, created_at__gte=now - timedelta(hours=1)).count()
    if recent >= per_hour:
        raise InvitationRateLimited(
            f"You have sent {recent} invitations in the last hour, the most allowed. Try again in an hour."
        )
    today = Invitation.objects.filter(team=team, created_at__gte=now - timedelta(days=1)).count()
    if today >= per_day:
        raise InvitationRateLimited(
            f"{per_day} invitations were sent for this team in the last 24 hours, the most allowed. Try again tomorrow."
        )


@transaction.atomic
def invitation_revoke(
    *, invitation: Invitation, actor: User | None = None, request: HttpRequest | None = None
) -> Invitation:
    """Revoke an open invitation; its link stops working at once. Accepted invitations cannot be revoked."""
    updated = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated != 1:
        raise TeamError("This invitation was already accepted or revoked.")
    invitation.refresh_from_db()
    audit_record(
        action=AuditAction.INVITATION_REVOKED,
        actor=actor,
        team=invitation.team,
        target=invitation,
        request=request,
        data={"email": invitation.email},
    )
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """The invitation a link points at, if the link can still be used; otherwise ``InvitationError`` saying why.

    Reads only: checking a link (e.g. by an email scanner's GET) never changes anything."""
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_LIFETIME)
    except signing.SignatureExpired:
        raise InvitationError("This invitation has expired. Ask the team for a new one.", code="expired") from None
    except signing.BadSignature:
        raise InvitationError(
            "This invitation link is not valid. Check that you copied the whole link from the email.", code="forged"
        ) from None
    invitation_id = data.get("i") if isinstance(data, dict) else None
    invitation = (
        Invitation.objects.select_related("team", "invited_by").filter(pk=invitation_id).first()
        if isinstance(invitation_id, int)
        else None
    )
    if invitation is None:
        raise InvitationError("This invitation no longer exists. Ask the team for a new one.", code="revoked")
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used.", code="used")
    if invitation.revoked_at is not None:
        raise InvitationError("This invitation was revoked. Ask the team for a new one.", code="revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationError("This invitation has expired. Ask the team for a new one.", code="expired")
    return invitation


def invitation_check_recipient(*, invitation: Invitation, user: User) -> None:
    """Refuse when the logged-in user is not the person invited (emails compared case-insensitively)."""
    if user.email.lower() != invitation.email.lower():
        raise InvitationError(
            f"This invitation was sent to {invitation.email}, but you are logged in as {user.email}. "
            f"Log out and log in (or sign up) as {invitation.email} to accept it.",
            code="wrong_email",
        )


@transaction.atomic
def invitation_accept(*, token: str, user: User, request: HttpRequest | None = None) -> Membership:
    """Accept the invitation behind ``token`` as ``user``: add them to the team with the invited role and make the
    team active. Refused (changing nothing) when the link is forged, expired, revoked, already used, or the user's
    email is not the invited one. Single use: the conditional UPDATE must claim exactly one row."""
    invitation = invitation_from_token(token)
    invitation_check_recipient(invitation=invitation, user=user)
    now = timezone.now()
    claimed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(accepted_at=now, accepted_by=user)
    if claimed != 1:
        raise InvitationError("This invitation has already been used.", code="used")
    membership, created = Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    if created:
        directory_changed(invitation.team_id)
    user.active_team = invitation.team
    user.save(update_fields=["active_team"])
    audit_record(
        action=AuditAction.INVITATION_ACCEPTED,
        actor=user,
        team=invitation.team,
        target=invitation,
        request=request,
        data={"email": invitation.email, "role": membership.role},
    )
    return membership
