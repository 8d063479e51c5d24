"""Shared fixtures, healthchecks-style: one team with an owner (alice), an admin (adam), a member (bob) and a viewer
(vera), and an outsider (charlie) who owns a team of his own. Every view is tested from each side."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client

from studio.accounts.models import User
from studio.projects.models import Project
from studio.teams.models import Role, Team
from tests.factories import MembershipFactory, ProjectFactory, TeamFactory, UserFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker) -> Iterator[None]:
    """Before the test database is dropped, end sessions that threads of concurrency tests or killed Celery workers
    left open, so teardown never fails with "database is being accessed by other users" (PostgreSQL only)."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The cache outlives a run (file or Redis cache): rate limits and replay stores must not leak between tests."""
    from django.core.cache import cache

    cache.clear()


def require_in_ci(name: str) -> bool:
    """True when CI demands a capability that tests would otherwise skip without (REQUIRE_POSTGRES, ...)."""
    return os.environ.get(name, "") == "1"


@dataclass
class World:
    team: Team
    owner: User
    admin: User
    member: User
    viewer: User
    outsider: User
    outsider_team: Team
    project: Project
    outsider_project: Project

    def client_for(self, user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client


@pytest.fixture
def world(db: None) -> World:
    team = TeamFactory(name="Acme")
    owner = UserFactory(email="alice@example.com", active_team=team)
    admin = UserFactory(email="adam@example.com", active_team=team)
    member = UserFactory(email="bob@example.com", active_team=team)
    viewer = UserFactory(email="vera@example.com", active_team=team)
    for user, role in ((owner, Role.OWNER), (admin, Role.ADMIN), (member, Role.MEMBER), (viewer, Role.VIEWER)):
        MembershipFactory(team=team, user=user, role=role)
    outsider_team = TeamFactory(name="Other Co")
    outsider = UserFactory(email="charlie@example.com", active_team=outsider_team)
    MembershipFactory(team=outsider_team, user=outsider, role=Role.OWNER)
    return World(
        team=team,
        owner=owner,
        admin=admin,
        member=member,
        viewer=viewer,
        outsider=outsider,
        outsider_team=outsider_team,
        project=ProjectFactory(team=team, name="Launch film", created_by=owner),
        outsider_project=ProjectFactory(team=outsider_team, name="Secret", created_by=outsider),
    )
