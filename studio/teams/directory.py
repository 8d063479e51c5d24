"""A team's directory: its members (id, email, name) and its open projects (id, name), which every library page
shows (the creator filter, each card's creator, the Move menu).

Both lists are cached under ``Team.directory_token``. Every service that changes either (membership, project and
email changes) calls ``directory_changed`` in its own transaction, which replaces the token. A page reads the token
with the team row it already holds, so it never uses a list older than that row. Nothing needs deleting, and a
commit racing a read cannot leave an old list behind. A change that bypasses the services (the admin, a shell) shows
once the timeout passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from studio.cachekit import read_through
from studio.teams.models import Membership, Team

DIRECTORY_TTL = 300


@dataclass(frozen=True)
class Directory:
    people: dict[int, tuple[str, str]]  # user id → (email, name) of each member, by email
    projects: list[tuple[int, str]]  # (project id, name) of the open (unarchived) projects, by name

    @property
    def members(self) -> list[tuple[int, str]]:
        """(user id, email) of each member, by email: the creator filter's choices."""
        return [(pk, email) for pk, (email, _name) in self.people.items()]


def team_directory(team: Team) -> Directory:
    def compute() -> Directory:
        from studio.projects.models import Project

        members = (
            Membership.objects.filter(team=team)
            .order_by("user__email")
            .values_list("user_id", "user__email", "user__name")
        )
        projects = (
            Project.objects.filter(team=team, archived_at__isnull=True).order_by("name", "pk").values_list("pk", "name")
        )
        return Directory(people={pk: (email, name) for pk, email, name in members}, projects=list(projects))

    return read_through(f"teams:directory:{team.pk}:{team.directory_token}", compute, timeout=DIRECTORY_TTL)


def directory_changed(*team_ids: int | None) -> None:
    """The members or open projects of these teams changed (call inside the change's transaction)."""
    ids = {team_id for team_id in team_ids if team_id is not None}
    if ids:  # one new token for all of them: the cache key holds the team's id too
        Team.objects.filter(pk__in=ids).update(directory_token=uuid.uuid4())


def user_directories_changed(user_ids: Iterable[int]) -> None:
    """These users' emails (or names) changed: every team they are in lists them."""
    directory_changed(*Membership.objects.filter(user_id__in=list(user_ids)).values_list("team_id", flat=True))
