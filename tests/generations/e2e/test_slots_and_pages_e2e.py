"""End to end: provider slots with three users, and a newcomer's path through the pages."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.states import IN_FLIGHT, TERMINAL, State
from tests.generations.e2e.helpers import assert_playable, create
from tests.generations.helpers import balance, fund, make_asset, png_bytes

pytestmark = [pytest.mark.e2e]


def test_limit_two_with_three_users_never_exceeded_and_interleaved(e2e, world):
    users = [world.owner, world.admin, world.member]
    for user in users:
        fund(user, world.team, 10_000)
    cat = make_asset(world.team, ref_name="cat")
    e2e.emulator.control("POST", "config", json={"queue_seconds": 0.1, "run_seconds": 0.3})
    jobs = [create(world, Mode.TEXT_TO_VIDEO, "wavespeed", cat, cat, user=user) for user in users for _ in range(10)]
    peak_provider = 0
    peak_ours = 0

    def sample() -> None:
        nonlocal peak_provider, peak_ours
        listing = e2e.emulator.control("GET", "jobs").json()["jobs"]
        active = [j for j in listing if j["provider"] == "wavespeed" and j["state"] in ("queued", "running")]
        peak_provider = max(peak_provider, len(active))
        ours = GenerationJob.objects.filter(
            provider="wavespeed", state__in=["submitting", "submitted", "running", "unknown"]
        )
        peak_ours = max(peak_ours, ours.count())
        assert len(active) <= 2, active
        assert peak_ours <= 2

    # 30 jobs through 2 slots take ~60 s on a 2-core machine; the bound only matters when something is stuck.
    e2e.wait(jobs, deadline=150, tick=sample)
    assert {job.state for job in jobs} == {State.SUCCEEDED}
    assert peak_provider >= 1 and peak_ours == 2
    # Not only at the sampled instants: the event trail (every slot claim and release, timestamped in the same
    # transaction) never has more than 2 jobs in flight at once.
    assert max_in_flight(jobs) == 2
    starters = [job.creator_id for job in sorted(jobs, key=lambda j: j.dispatched_at)]
    assert len(set(starters[:3])) == 3, starters
    for index in range(len(starters) - 2):
        assert len(set(starters[index : index + 3])) == 3, starters


def test_a_newcomer_generates_through_the_pages(e2e, world):
    client = Client()
    assert client.login(email=world.member.email, password="correct-horse-battery-staple")
    fund(world.member, world.team, 1_000)
    before = balance(world.member, world.team)
    upload = client.post(
        reverse("assets:upload"),
        {"files": [_file("kitty.png")], "default_type": "subject"},
    )
    assert upload.status_code in (200, 302), upload.content[:500]
    asset = world.team.assets.get()
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    data = {
        "mode": "i2v",
        "prompt": "the kitty looks around",
        "image": str(asset.pk),
        "resolution": "360p",
        "duration": "2",
        "provider": "wavespeed",
    }
    preview = client.post(url, data)
    assert "12 credits" in preview.content.decode()  # 360p: 6 credits/s × 2 s
    confirmed = client.post(url, {**data, "confirm": "1"})
    assert confirmed.status_code == 302
    job_url = confirmed.url
    status_url = job_url + "status/?format=json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(status_url).json()
        if state["terminal"]:
            break
        time.sleep(0.5)
    assert state["state"] == State.SUCCEEDED, state
    job = GenerationJob.objects.get()
    assert job.state in TERMINAL
    assert_playable(job)
    project_page = client.get(reverse("projects:detail", kwargs={"pk": world.project.pk})).content.decode()
    # The library shows a poster that becomes a player on click (no <video> per card): its signed source plays.
    src = re.search(r'data-video-src="([^"]+)"', project_page).group(1)
    video = client.get(src)
    assert video.status_code == 200 and b"".join(video.streaming_content)[4:8] == b"ftyp"
    assert balance(world.member, world.team) == before - 12


def max_in_flight(jobs) -> int:
    """The most jobs holding a provider slot at the same moment, replayed from their event trails."""
    changes = []
    for job in jobs:
        for from_state, to_state, at in job.events.values_list("from_state", "to_state", "at"):
            entered, left = to_state in IN_FLIGHT, from_state in IN_FLIGHT
            if entered != left:
                changes.append((at, 1 if entered else -1))
    changes.sort(key=lambda change: (change[0], change[1]))  # at a tie, a release counts before a claim
    peak = current = 0
    for _, delta in changes:
        current += delta
        peak = max(peak, current)
    assert current == 0
    return peak


def _file(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png_bytes(640, 480), content_type="image/png")
