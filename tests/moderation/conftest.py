"""Moderation fixtures: the in-process pipeline (emulator + inline worker) of tests/generations, two staff reviewers,
and helpers that make a job end in a given way through the real pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.services.jobs import generation_create
from studio.accounts.models import User
from tests.api.conftest import apis  # noqa: F401 - the API clients fixture
from tests.assets.images import media_root  # noqa: F401 - the stored-files fixture
from tests.factories import UserFactory
from tests.generations.conftest import Pipeline, pipeline  # noqa: F401 - the pipeline fixture
from tests.generations.test_generation_lifecycle import request_for


@dataclass
class Staff:
    first: User
    second: User


@pytest.fixture
def staff(db: None) -> Staff:
    return Staff(
        first=UserFactory(email="rita.reviewer@example.com", is_staff=True),
        second=UserFactory(email="sam.reviewer@example.com", is_staff=True),
    )


def make_job(
    pipeline: Pipeline,  # noqa: F811
    *,
    provider: str = "wavespeed",
    prompt: str = "a storm over the sea",
    mode: Mode = Mode.TEXT_TO_VIDEO,
    user: User | None = None,
    settle: bool = True,
    capture: Any = None,
) -> GenerationJob:
    """Create a job as the member and (by default) run it to its end through the inline worker."""
    job = generation_create(
        user=user or pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, mode, provider, prompt=prompt),
    )
    if settle:
        pipeline.worker.settle(job)
    return job


def delivered_job(world: Any, *, credits: int = 20, user: User | None = None) -> GenerationJob:
    """A succeeded job with a real captured hold and a (small) stored video and poster, without the pipeline."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from billing import ledger
    from billing.wallets import wallet_for_spending
    from generations.states import State
    from tests.generations.factories import GenerationJobFactory
    from tests.generations.helpers import fund

    creator = user or world.member
    fund(creator, world.team, credits * 5)
    job = GenerationJobFactory(project=world.project, creator=creator, state=State.SUCCEEDED, quoted_credits=credits)
    hold = ledger.hold(
        wallet=wallet_for_spending(user=creator, team=world.team),
        amount=credits,
        key=str(job.pk),
        user=creator,
        team=world.team,
    )
    ledger.capture(hold=hold, amount=credits)
    output = default_storage.save(f"generations/{world.team.pk}/{job.pk}.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42"))
    poster = default_storage.save(f"generations/{world.team.pk}/{job.pk}-poster.jpg", ContentFile(b"\xff\xd8\xff"))
    GenerationJob.objects.filter(pk=job.pk).update(hold=hold, charged_credits=credits, output=output, poster=poster)
    job.refresh_from_db()
    return job
