"""Query counts (issue 10): the library and asset pages run the same number of queries for 10 and for 10,000 rows.
CI runs this on PostgreSQL (where prompt search is full-text); the count is a property of the code, not the machine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generations.models import GenerationJob, JobReference
from tests.assets.images import media_root
from tests.conftest import World, require_in_ci
from tests.generations.test_library import make_jobs

__all__ = ["media_root"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres_in_ci() -> None:
    if require_in_ci("REQUIRE_POSTGRES") and connection.vendor != "postgresql":
        pytest.fail("REQUIRE_POSTGRES=1 but the tests run on " + connection.vendor)


def queries(client: Any, url: str, params: dict[str, str] | None = None) -> int:
    """The queries of a page's second request: the first fills the caches every page reads (the bell's count, the
    team's member and project lists), whose misses are counted by ``test_cached_chrome``."""
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
        assert response.status_code == 200
        response.content  # noqa: B018 - render lazily evaluated parts too
    return len(captured)


def grow(world: World, count: int) -> None:
    existing = GenerationJob.objects.count()
    make_jobs(world, count - existing, prompt="the kitty looks around")


VIEWS = [
    ("project", {}),
    ("project", {"q": "kitty", "state": "succeeded", "fav": "1"}),
    ("videos", {}),
    ("videos", {"q": "kitty", "mode": "t2v", "provider": "wavespeed", "resolution": "720p", "creator": "1"}),
]


def test_library_pages_run_the_same_queries_for_10_and_10000_videos(world: World) -> None:
    client = world.client_for(world.member)
    urls = {
        "project": reverse("projects:detail", kwargs={"pk": world.project.pk}),
        "videos": reverse("generations:videos"),
    }
    grow(world, 10)
    small = [queries(client, urls[name], params) for name, params in VIEWS]
    grow(world, 10_000)
    large = [queries(client, urls[name], params) for name, params in VIEWS]
    assert small == large, f"queries for 10 videos {small} != for 10,000 {large} ({VIEWS})"
    # A deep page (a keyset cursor far down the library) costs the same as the first.
    import re

    page = client.get(urls["videos"]).content.decode()
    for _ in range(3):
        after = re.search(r'href="[^"]*after=([^"&]+)', page).group(1)
        page = client.get(urls["videos"], {"after": after}).content.decode()
    assert queries(client, urls["videos"], {"after": after}) == large[2]


def test_asset_pages_run_the_same_queries_for_10_and_10000_rows(world: World, media_root: Any) -> None:
    from studio.assets.models import Asset
    from tests.assets.images import bulk_assets, make_asset

    asset = make_asset(world.team, world.owner)

    def grow_assets(count: int) -> None:
        have = Asset.objects.count()
        bulk_assets(world.team, count - have, start=have, file=asset.file.name)

    client = world.client_for(world.member)
    detail = reverse("assets:detail", kwargs={"pk": asset.pk})
    listing = reverse("assets:list")

    def grow_lineage(count: int) -> None:
        have = JobReference.objects.filter(asset=asset).count()
        jobs = make_jobs(world, count - have)
        JobReference.objects.bulk_create(
            [JobReference(job=job, asset=asset, ref_name="cat", type="subject") for job in jobs], batch_size=1000
        )

    grow_lineage(10)
    grow_assets(10)
    small = (queries(client, detail), queries(client, listing), queries(client, listing, {"q": "@"}))
    grow_lineage(10_000)
    grow_assets(10_000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # As autovacuum would have: statistics that still say "no references" while another table's say 10,000
            # rows made PostgreSQL walk the team's jobs newest-first and scan every reference for each (minutes).
            cursor.execute("ANALYZE")
    large = (queries(client, detail), queries(client, listing), queries(client, listing, {"q": "@"}))
    assert small == large


@pytest.mark.postgres
@pytest.mark.parametrize("scope", ["project", "team"])
def test_library_pages_read_the_newest_rows_from_an_index_without_sorting(world: World, scope: str) -> None:
    """The first page and a deep keyset page are index scans in (created_at, id) order that stop after a page: no
    sort of the whole library (which cost 17 ms per page for 10,000 videos before generation_*_recent)."""
    from tests.billing.conftest import skip_unless_postgres

    skip_unless_postgres()
    from generations.selectors import encode_cursor, library_page

    make_jobs(world, 5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have: the plan depends on every joined table's statistics
    project = world.project if scope == "project" else None
    index = "generation_project_recent" if scope == "project" else "generation_team_recent"
    middle = GenerationJob.objects.order_by("-created_at", "-pk")[2500]
    plans = []
    for after, before in (("", ""), (encode_cursor(middle), ""), ("", encode_cursor(middle))):
        with CaptureQueriesContext(connection) as captured:
            library_page(world.member, team=world.team, project=project, after=after, before=before)
        (sql,) = [q["sql"] for q in captured.captured_queries]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
            plans.append(json.dumps(cursor.fetchone()[0]))
    for plan in plans:
        assert index in plan, plan
        assert '"Node Type": "Sort"' not in plan, plan


def test_cards_of_every_kind_cost_no_query_each(world: World, media_root: Any) -> None:
    """The library loads only the columns its cards read (generations.cards.FIELDS). A card that touched a column not
    loaded would run a query per card; cards of every kind (video and poster, hidden, taken down, favourite, running,
    failed) on the project page and "All videos" run what one plain card runs."""
    from django.core.files.base import ContentFile

    from generations.models import Favourite
    from generations.states import State
    from studio.moderation.models import Case

    client = world.client_for(world.member)
    urls = [reverse("projects:detail", kwargs={"pk": world.project.pk}), reverse("generations:videos")]
    make_jobs(world, 1)
    one = [queries(client, url) for url in urls]
    jobs = make_jobs(world, 8, prompt="a long prompt about a cat on a lake at dawn with mist and a boat " * 2)
    for job in jobs[:4]:
        job.output.save(f"{job.pk}.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42fake"), save=False)
        job.poster.save(f"{job.pk}.jpg", ContentFile(b"\xff\xd8poster"), save=False)
        job.charged_credits = 10
        job.save()
    Case.objects.create(job=jobs[0], team=world.team, creator=world.member, provider="wavespeed", hidden=True)
    Case.objects.create(
        job=jobs[1], team=world.team, creator=world.member, provider="wavespeed", state="taken_down", hidden=True
    )
    Favourite.objects.create(job=jobs[2], user=world.member)
    GenerationJob.objects.filter(pk=jobs[4].pk).update(state=State.RUNNING)
    GenerationJob.objects.filter(pk=jobs[5].pk).update(state=State.FAILED)
    many = [queries(client, url) for url in urls]
    assert many == one
    body = client.get(urls[0]).content.decode()
    assert "Taken down" in body and "Under review" in body and "Send report" in body and "★" in body


def test_visibility_keeps_each_row_of_the_users_teams_once(world: World) -> None:
    """``access.visible_to`` keeps the rows of the user's teams, one each, also for a user in several teams."""
    from generations.selectors import visible_jobs
    from studio.teams.models import Membership, Role

    mine = make_jobs(world, 3)
    theirs = make_jobs(world, 2, project=world.outsider_project)
    assert set(visible_jobs(world.member)) == set(mine)
    Membership.objects.create(team=world.outsider_team, user=world.member, role=Role.VIEWER)
    rows = list(visible_jobs(world.member))
    assert len(rows) == len(set(rows)) == 5 and set(rows) == set(mine) | set(theirs)
    assert set(visible_jobs(world.outsider)) == set(theirs)


def test_visibility_is_a_semi_join_on_the_memberships_not_a_join_through_teams(world: World) -> None:
    """The membership rule reads ``team_id IN (the user's memberships)``: two tables fewer for PostgreSQL's planner,
    whose planning was most of a library page's query time and grew with a 10,000-job project's statistics."""
    from generations.cards import FIELDS
    from generations.selectors import library_page

    make_jobs(world, 2)
    with CaptureQueriesContext(connection) as captured:
        assert len(library_page(world.member, team=world.team, project=world.project, only=FIELDS).jobs) == 2
    sql = captured[0]["sql"]
    assert '"teams_team"' not in sql and 'JOIN "teams_membership"' not in sql
    assert 'IN (SELECT U0."team_id" AS "team_id" FROM "teams_membership" U0' in sql
    assert library_page(world.outsider, team=world.team, project=world.project, only=FIELDS).jobs == []


def test_a_project_library_hands_every_job_the_project_without_joining_it(world: World) -> None:
    """library_page gives a project's jobs the caller's project object (no join, no Project per row); the team's
    "All videos" still joins each job's own project."""
    from generations.cards import FIELDS
    from generations.selectors import library_page

    make_jobs(world, 3)
    with CaptureQueriesContext(connection) as captured:
        jobs = library_page(world.member, team=world.team, project=world.project, only=FIELDS).jobs
        assert len(jobs) == 3 and all(job.project is world.project for job in jobs)
        assert {job.project.name for job in jobs} == {world.project.name}
    assert len(captured) == 1 and '"projects_project"' not in captured[0]["sql"]
    team_jobs = library_page(world.member, team=world.team, only=FIELDS).jobs
    assert {job.project_id for job in team_jobs} == {world.project.pk} and team_jobs[
        0
    ].project.name == world.project.name
