"""Rows for the pipeline's tests (factory_boy), consistent with their team."""

from __future__ import annotations

from typing import Any

import factory

from generations.models import GenerationJob
from generations.states import State


class GenerationJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GenerationJob

    team = factory.SelfAttribute("project.team")
    mode = "t2v"
    prompt = "a quiet lake at dawn"
    aspect_ratio = "16:9"
    provider_requested = "wavespeed"
    provider = "wavespeed"
    state = State.QUEUED


def job_route_kwargs(world: Any) -> dict[str, Any]:
    """For tests/test_access_urls.py: a job in ``world.team``."""
    return {"pk": GenerationJobFactory(project=world.project, creator=world.owner).pk}
