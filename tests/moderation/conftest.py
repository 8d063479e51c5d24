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
