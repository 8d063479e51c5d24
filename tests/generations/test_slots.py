"""Provider slots: never more than the account's limit in flight, and free slots go round-robin between users."""

from __future__ import annotations

from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.services.jobs import generation_create
from generations.slots import in_flight, pick_fair
from generations.states import State
from tests.generations.test_generation_lifecycle import request_for


def test_limit_two_three_users_ten_jobs_each_interleaves_and_never_exceeds(pipeline, settings):
    settings.PROVIDERS["wavespeed"]["CONCURRENCY"] = 2
    world = pipeline.world
    users = [world.owner, world.admin, world.member]
    for user in users:  # worst case for fairness: each user queues all their jobs at once, one after the other
        for _ in range(10):
            generation_create(
                user=user,
                project=world.project,
                request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed", duration=1),
            )
    worker = pipeline.worker
    peak = 0
    while worker.queue or worker.sweep():  # scheduled polls are due times a sweep claims, not queued tasks
        if worker.queue:
            worker.run(worker.queue.pop(0))
        peak = max(peak, in_flight("wavespeed"))
        assert in_flight("wavespeed") <= 2
    assert peak == 2
    jobs = list(GenerationJob.objects.order_by("dispatched_at"))
    assert {job.state for job in jobs} == {State.SUCCEEDED}
    starters = [job.creator_id for job in jobs]
    assert len(set(starters[:3])) == 3
    # Round-robin: every window of three consecutive starts has all three users.
    for index in range(len(starters) - 2):
        assert len(set(starters[index : index + 3])) == 3, starters
    for user in users:  # and oldest first within a user
        mine = [job for job in jobs if job.creator_id == user.pk]
        assert [job.queued_at for job in mine] == sorted(job.queued_at for job in mine)


def test_pick_fair_prefers_the_user_with_nothing_in_flight(pipeline, settings):
    from django.utils import timezone

    settings.PROVIDERS["wavespeed"]["CONCURRENCY"] = 1
    world = pipeline.world
    for user in (world.owner, world.owner, world.member):
        generation_create(
            user=user, project=world.project, request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed")
        )
    # Simulate the owner's first job being in flight.
    first = GenerationJob.objects.filter(creator=world.owner).order_by("queued_at").first()
    GenerationJob.objects.filter(pk=first.pk).update(state=State.SUBMITTED)
    picked = pick_fair("wavespeed", 1, now=timezone.now())
    assert GenerationJob.objects.get(pk=picked[0]).creator_id == world.member.pk
