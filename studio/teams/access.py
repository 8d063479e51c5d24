"""THE access module: every "may this user see / do this" in the studio is answered here, and nowhere else.

Rules (healthchecks' ``_get_project_for_user`` pattern):
- An object belongs to exactly one team. A user who is not a member of that team gets **404** — outsiders cannot
  even learn that the object exists.
- A member whose role lacks the permission gets **403** with a message naming what is missing.
- Views never call ``Model.objects.get(pk=...)`` on team-owned rows; they call ``get_for_user`` (or one of the
  named helpers below), and list pages start from ``visible_to``.

The permission table (``ROLE_PERMISSIONS``) is the written policy; README.md renders it for people.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from studio.teams.models import Membership, Role, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpRequest

    from billing.models import Wallet
    from generations.models import GenerationJob
    from studio.accounts.models import User
    from studio.assets.models import Asset
    from studio.projects.models import Project
    from studio.teams.models import Invitation

M = TypeVar("M", bound=Model)


class Perm(enum.StrEnum):
    VIEW = "view"  # see the team's projects, videos and assets; report content
    GENERATE = "generate"  # create generation jobs (spends credits)
    UPLOAD = "upload"  # add reference assets
    EDIT = "edit"  # create, rename, archive projects; edit assets
    DELETE = "delete"  # delete assets and videos, restore archived projects
    INVITE = "invite"  # invite people, revoke invitations
    MANAGE_MEMBERS = "manage_members"  # change roles, remove members (never the last owner; admins never touch owners)
    VIEW_BILLING = "view_billing"  # team wallet, usage reports
    MANAGE_BILLING = "manage_billing"  # buy credits for the team, pool setting, caps and budget
    MANAGE_TEAM = "manage_team"  # rename or delete the team
    MANAGE_WEBHOOKS = "manage_webhooks"  # register, test and delete the team's outgoing webhooks


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.OWNER: frozenset(Perm),
    Role.ADMIN: frozenset(Perm) - {Perm.MANAGE_BILLING, Perm.MANAGE_TEAM},
    Role.MEMBER: frozenset({Perm.VIEW, Perm.GENERATE, Perm.UPLOAD, Perm.EDIT}),
    Role.VIEWER: frozenset({Perm.VIEW}),
}

PERMISSION_LABELS: dict[Perm, str] = {
    Perm.VIEW: "see projects, videos and assets",
    Perm.GENERATE: "generate videos (spend credits)",
    Perm.UPLOAD: "upload reference assets",
    Perm.EDIT: "create and edit projects and assets",
    Perm.DELETE: "delete videos and assets",
    Perm.INVITE: "invite people",
    Perm.MANAGE_MEMBERS: "change roles and remove members",
    Perm.VIEW_BILLING: "see the team's credits and usage",
    Perm.MANAGE_BILLING: "buy credits, set caps and the team pool",
    Perm.MANAGE_TEAM: "rename or delete the team",
    Perm.MANAGE_WEBHOOKS: "manage the team's webhooks",
}


def role_allows(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def membership_for(user: User | AnonymousUser, team: Team | int) -> Membership | None:
    if not user.is_authenticated:
        return None
    team_id = team.pk if isinstance(team, Team) else team
    return Membership.objects.select_related("team").filter(user_id=user.pk, team_id=team_id).first()


def _deny(perm: Perm, role: str) -> PermissionDenied:
    return PermissionDenied(f"Your role ({Role(role).label}) may not {PERMISSION_LABELS[perm]}.")


def require_membership(user: User | AnonymousUser, team: Team | int, perm: Perm = Perm.VIEW) -> Membership:
    """The caller's membership of ``team``: 404 when they are not a member, 403 when their role lacks ``perm``."""
    membership = membership_for(user, team)
    if membership is None:
        raise Http404("No such team.")
    if not role_allows(membership.role, perm):
        raise _deny(perm, membership.role)
    return membership


def assignable_roles(actor_role: str) -> list[Role]:
    """The roles a member with ``actor_role`` may give (by invitation or role change): only owners make owners."""
    if not role_allows(actor_role, Perm.MANAGE_MEMBERS) and not role_allows(actor_role, Perm.INVITE):
        return []
    return [role for role in Role if role != Role.OWNER or actor_role == Role.OWNER]


def check_member_change(actor: Membership, target: Membership, *, new_role: str | None = None) -> None:
    """May ``actor`` give ``target`` the role ``new_role`` (or, with ``new_role=None``, remove them)?

    404 across teams; 403 without MANAGE_MEMBERS; 403 when an admin touches an owner or tries to make one. The
    "last owner" rule is an invariant of the data, enforced under lock in ``studio.teams.services``."""
    if actor.team_id != target.team_id:
        raise Http404("No such member.")
    if not role_allows(actor.role, Perm.MANAGE_MEMBERS):
        raise _deny(Perm.MANAGE_MEMBERS, actor.role)
    if actor.role != Role.OWNER:
        if target.role == Role.OWNER:
            raise PermissionDenied("Only an owner can change or remove an owner.")
        if new_role == Role.OWNER:
            raise PermissionDenied("Only an owner can make someone an owner.")


def members_with(team: Team | int, perm: Perm) -> list[User]:
    """The team's members whose role grants ``perm`` (who is told about the team's billing, who may review…)."""
    team_id = team.pk if isinstance(team, Team) else team
    memberships = Membership.objects.filter(team_id=team_id).select_related("user").order_by("created_at")
    return [membership.user for membership in memberships if role_allows(membership.role, perm)]


def permissions_for(user: User | AnonymousUser, team: Team | int) -> frozenset[Perm]:
    """Everything ``user`` may do in ``team`` (empty for outsiders): what pages ask before showing an action."""
    membership = membership_for(user, team)
    return ROLE_PERMISSIONS.get(membership.role, frozenset()) if membership is not None else frozenset()


def can(user: User | AnonymousUser, team: Team | int, perm: Perm) -> bool:
    return perm in permissions_for(user, team)


def teams_for(user: User | AnonymousUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user_id=user.pk)


def visible_to(user: User | AnonymousUser, queryset: QuerySet[M], *, team_field: str = "team") -> QuerySet[M]:
    """Restrict ``queryset`` to rows of teams the user belongs to. The starting point of every list.

    A semi-join on the user's memberships (``team IN (SELECT team_id …)``), not a join through the team table: the
    same rows, two tables fewer for PostgreSQL's planner to order (planning was most of a library page's query time,
    and grew with the library's statistics)."""
    if not user.is_authenticated:
        return queryset.none()
    teams = Membership.objects.filter(user_id=user.pk).values("team_id")
    return queryset.filter(**{f"{team_field}__in": teams})


def get_for_user(
    user: User | AnonymousUser,
    queryset: QuerySet[M],
    *,
    perm: Perm = Perm.VIEW,
    team_field: str = "team",
    **lookup: Any,
) -> M:
    """Fetch one team-owned row for ``user``. 404 if it does not exist *or* belongs to a team they are not in;
    403 if they are in the team but their role lacks ``perm``."""
    return get_with_perms_for_user(user, queryset, perm=perm, team_field=team_field, **lookup)[0]


def get_with_perms_for_user(
    user: User | AnonymousUser,
    queryset: QuerySet[M],
    *,
    perm: Perm = Perm.VIEW,
    team_field: str = "team",
    known: Membership | None = None,
    **lookup: Any,
) -> tuple[M, frozenset[Perm]]:
    """``get_for_user`` plus everything ``user`` may do in the object's team, read from the same membership row (a
    page that shows actions would otherwise ask ``permissions_for`` again: one more query).

    ``known``: a membership of ``user`` this request already read (``request.membership``, the active team's). When
    the object is in that team it answers the role question, so the usual case (a page of the team you work in)
    reads no second membership row; any other team is asked as before. Objects of teams the user is not in are
    still refused by ``visible_to`` first."""
    obj = visible_to(user, queryset, team_field=team_field).filter(**lookup).first()
    if obj is None:
        raise Http404("Not found.")
    team_id = _team_id_of(obj, team_field)
    if known is not None and known.team_id == team_id and known.user_id == user.pk:
        membership = known
        if not role_allows(membership.role, perm):
            raise _deny(perm, membership.role)
    else:
        membership = require_membership(user, team_id, perm)
    return obj, ROLE_PERMISSIONS.get(membership.role, frozenset())


def _team_id_of(obj: Model, team_field: str) -> int:
    target: Any = obj
    parts = team_field.split("__")
    for part in parts[:-1]:
        target = getattr(target, part)
    return int(getattr(target, f"{parts[-1]}_id"))


def get_team_for_user(user: User | AnonymousUser, team_id: int, perm: Perm = Perm.VIEW) -> Team:
    return require_membership(user, team_id, perm).team


def active_membership(request: HttpRequest) -> Membership | None:
    """The membership of the team the user is working in: their chosen active team if they still belong to it,
    else their personal team, else their oldest membership.

    Every membership read is left on the request as ``memberships_snapshot`` (ordered by team name): the layout's
    team switcher (``studio.teams.context_processors``) lists those teams instead of asking again."""
    user = request.user
    if not user.is_authenticated:
        return None
    # One query for all of them (a user is in a handful of teams), ordered as the layout's team switcher lists them;
    # the choice is made here rather than with two more queries (the chosen team, else the fallback).
    memberships = list(
        Membership.objects.select_related("team").filter(user_id=user.pk).order_by("team__name", "team_id")
    )
    request.memberships_snapshot = memberships  # type: ignore[attr-defined]
    if not memberships:
        return None
    active_team_id = getattr(user, "active_team_id", None)
    for membership in memberships:
        if active_team_id and membership.team_id == active_team_id:
            return membership
    return min(memberships, key=lambda m: (not m.team.is_personal, m.created_at, m.pk))


def require_active_membership(request: HttpRequest, perm: Perm = Perm.VIEW) -> Membership:
    """The active team's membership, refused (404, or 403 without ``perm``) when there is none.

    The one the middleware put on the request (``request.membership``, read at most once a request) when there is
    one: asking ``active_membership`` again was a second query for the same row on every team page."""
    membership = getattr(request, "membership", None)
    if membership is None:  # a request that did not pass the middleware
        membership = active_membership(request)
    if not membership:
        raise Http404("You are not a member of any team.")
    if not role_allows(membership.role, perm):
        raise _deny(perm, membership.role)
    return membership


# Named helpers for the common objects, so views read plainly. Imports are local: those apps import this module.


def get_project_for_user(user: User | AnonymousUser, project_id: int, perm: Perm = Perm.VIEW) -> Project:
    from studio.projects.models import Project

    return get_for_user(user, Project.objects.select_related("team"), perm=perm, pk=project_id)


def get_asset_for_user(user: User | AnonymousUser, asset_id: int, perm: Perm = Perm.VIEW) -> Asset:
    from studio.assets.models import Asset

    return get_for_user(user, Asset.objects.select_related("team", "project"), perm=perm, pk=asset_id)


def get_invitation_for_user(user: User | AnonymousUser, invitation_id: int, perm: Perm = Perm.INVITE) -> Invitation:
    from studio.teams.models import Invitation

    return get_for_user(user, Invitation.objects.select_related("team"), perm=perm, pk=invitation_id)


def get_membership_for_user(user: User | AnonymousUser, membership_id: int, perm: Perm = Perm.VIEW) -> Membership:
    return get_for_user(user, Membership.objects.select_related("team", "user"), perm=perm, pk=membership_id)


# Moderation (issue 8): a video under review or taken down is hidden from its team; staff review it. The rule itself
# lives in ``studio.moderation.visibility``; these are the names pages (library, job page, all-videos) call.


def is_staff_reviewer(user: User | AnonymousUser) -> bool:
    from studio.moderation.visibility import is_reviewer

    return is_reviewer(user)


def may_see_video(user: User | AnonymousUser, job: Any) -> bool:
    """May ``user`` (already allowed to see ``job``) see its video? False while moderation hides it."""
    from studio.moderation.visibility import video_hidden_for

    return not video_hidden_for(user, job)


def exclude_hidden_videos(user: User | AnonymousUser, queryset: QuerySet[M], *, job_prefix: str = "") -> QuerySet[M]:
    """Drop jobs whose video moderation hides (for lists that show only playable videos; staff keep them)."""
    from studio.moderation.visibility import hidden_video_q, is_reviewer

    return queryset if is_reviewer(user) else queryset.exclude(hidden_video_q(job_prefix))


def get_case_for_staff(user: User | AnonymousUser, case_id: int) -> Any:
    """A moderation case for the review pages: staff only, 404 for everyone else."""
    from studio.moderation.models import Case

    if not is_staff_reviewer(user):
        raise Http404("Not found.")
    case = Case.objects.select_related("job", "asset", "team", "creator", "claimed_by").filter(pk=case_id).first()
    if case is None:
        raise Http404("Not found.")
    return case


def require_staff(user: User | AnonymousUser) -> User:
    """Platform staff only (the review queue, staff money pages, the all-teams audit log); 404 for everyone else."""
    if not is_staff_reviewer(user):
        raise Http404("Not found.")
    return user  # type: ignore[return-value]


# Rules about one object that pages and services ask before showing or doing an action (issue 10: they were decided in
# views before). Each takes the object and answers for ``user``; the ``require_`` forms raise 403.


def request_user(request: HttpRequest) -> User:
    """The signed-in user of a request behind ``login_required`` (404 otherwise; narrows the type for callers)."""
    from studio.accounts.models import User

    user = request.user
    if not isinstance(user, User):
        raise Http404("Not found.")
    return user


def may_cancel_job(user: User | AnonymousUser, job: GenerationJob) -> bool:
    """The job's creator, or a member whose role may delete videos (admins, owners), may cancel a job."""
    if not can(user, job.team_id, Perm.GENERATE):
        return False
    return job.creator_id == user.pk or can(user, job.team_id, Perm.DELETE)


def may_delete_job(user: User | AnonymousUser, job: GenerationJob) -> bool:
    """Who may delete a video: its creator (while they may still generate in the team), or DELETE in the team."""
    if can(user, job.team_id, Perm.DELETE):
        return True
    return job.creator_id == user.pk and can(user, job.team_id, Perm.GENERATE)


def require_may_delete_job(user: User | AnonymousUser, job: GenerationJob) -> None:
    require_membership(user, job.team_id, Perm.VIEW)
    if not may_delete_job(user, job):
        raise PermissionDenied("Only the video's creator or a team admin may delete it.")


def may_see_wallet(user: User | AnonymousUser, wallet: Wallet) -> bool:
    """A personal wallet is its owner's; a team pool is seen by roles with VIEW_BILLING in that team."""
    if wallet.user_id is not None:
        return bool(wallet.user_id == user.pk)
    return wallet.team_id is not None and can(user, wallet.team_id, Perm.VIEW_BILLING)


# --- API tokens (issue 11) -------------------------------------------------------------------------------------------
# A token acts for its user in ONE team with a role no higher than the user's current one there: every API request
# checks the token's scope here, then the user's own rights through the functions above (so a demoted or removed
# user's token shrinks or stops at once).

ROLE_RANK: dict[str, int] = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def roles_at_most(role: str) -> list[Role]:
    """The roles a token may be given by a member with ``role`` (their own and every lower one)."""
    rank = ROLE_RANK.get(role, -1)
    return [r for r in Role if ROLE_RANK[r] <= rank]


def token_effective_role(token: Any) -> str | None:
    """The role an API token acts with: the lower of its own role and its user's current role in its team; None when
    the user is no longer a member (the token then reaches nothing)."""
    if token.team_id is None:
        return None
    membership = Membership.objects.filter(user_id=token.user_id, team_id=token.team_id).first()
    if membership is None:
        return None
    own = ROLE_RANK.get(token.role, -1)
    return token.role if own <= ROLE_RANK.get(membership.role, -1) else membership.role


def token_require(token: Any, team: Team | int, perm: Perm = Perm.VIEW) -> Team:
    """The token's team when ``team`` is it and the token's effective role grants ``perm``: 404 for any other team
    (an outsider learns nothing), 403 naming the missing right."""
    team_id = team.pk if isinstance(team, Team) else team
    role = token_effective_role(token)
    if role is None or team_id != token.team_id:
        raise Http404("Not found.")
    if not role_allows(role, perm):
        raise _deny(perm, role)
    return Team.objects.get(pk=team_id)


def token_visible(token: Any, queryset: QuerySet[M], *, team_field: str = "team") -> QuerySet[M]:
    """Rows of the token's team only (the starting point of every API list)."""
    if token_effective_role(token) is None:
        return queryset.none()
    return queryset.filter(**{f"{team_field}_id": token.team_id})


def token_get(
    token: Any, queryset: QuerySet[M], *, perm: Perm = Perm.VIEW, team_field: str = "team", **lookup: Any
) -> M:
    """One row of the token's team: 404 when it does not exist or is another team's; 403 when the role lacks
    ``perm``."""
    obj = token_visible(token, queryset, team_field=team_field).filter(**lookup).first()
    if obj is None:
        raise Http404("Not found.")
    token_require(token, _team_id_of(obj, team_field), perm)
    return obj


def get_api_token_for_user(user: User | AnonymousUser, token_id: int) -> Any:
    """One of the user's own API tokens (404 for anyone else's)."""
    from studio.accounts.models import ApiToken

    if not user.is_authenticated:
        raise Http404("Not found.")
    token = ApiToken.objects.select_related("team").filter(pk=token_id, user_id=user.pk).first()
    if token is None:
        raise Http404("Not found.")
    return token


def token_may_cancel(token: Any, job: Any) -> bool:
    """A job may be canceled through the API by its creator, or by a token whose role may delete videos."""
    role = token_effective_role(token)
    return role is not None and (job.creator_id == token.user_id or role_allows(role, Perm.DELETE))


def get_webhook_endpoint_for_user(
    user: User | AnonymousUser, endpoint_id: int, perm: Perm = Perm.MANAGE_WEBHOOKS
) -> Any:
    from studio.webhooks.models import WebhookEndpoint

    return get_for_user(user, WebhookEndpoint.objects.select_related("team"), perm=perm, pk=endpoint_id)


def get_webhook_delivery_for_user(
    user: User | AnonymousUser, delivery_id: int, perm: Perm = Perm.MANAGE_WEBHOOKS
) -> Any:
    from studio.webhooks.models import WebhookDelivery

    queryset = WebhookDelivery.objects.select_related("endpoint", "endpoint__team", "message")
    return get_for_user(user, queryset, perm=perm, team_field="endpoint__team", pk=delivery_id)


def may_change_member(actor: Membership, target: Membership) -> bool:
    """Whether ``actor`` may change ``target``'s role or remove them (``check_member_change`` without raising)."""
    try:
        check_member_change(actor, target)
    except (PermissionDenied, Http404):
        return False
    return True
