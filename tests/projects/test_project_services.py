from __future__ import annotations

import pytest

from studio.projects import services
from tests.conftest import World


def test_project_create_trims_and_requires_a_name(world: World) -> None:
    project = services.project_create(team=world.team, user=world.member, name="  Teaser ", description=" x ")
    assert (project.name, project.description, project.created_by) == ("Teaser", "x", world.member)
    with pytest.raises(services.ProjectError):
        services.project_create(team=world.team, user=world.member, name="   ")


def test_archiving_twice_keeps_the_first_timestamp(world: World) -> None:
    first = services.project_archive(project=world.project).archived_at
    assert services.project_archive(project=world.project).archived_at == first
    assert services.project_restore(project=world.project).archived_at is None
