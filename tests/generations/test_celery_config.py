"""The Celery configuration is written for this workload: assert it, so a casual edit cannot undo it."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from generations import tasks
from generations.services import config
from studio.celery import app

GENERATION_TASKS = ("job_submit", "job_poll", "job_finalize", "dispatch_queued", "reconcile_jobs")


def test_json_only():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_prefetch_one_and_acks_late_off_by_default():
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_acks_late is False
    assert app.conf.task_reject_on_worker_lost is False


def test_generation_tasks_are_idempotent_so_they_opt_into_acks_late():
    for name in GENERATION_TASKS:
        task = getattr(tasks, name)
        assert task.acks_late is True, name
        assert task.reject_on_worker_lost is True, name
        assert task.ignore_result is True, name


def test_time_limits_and_countdowns_stay_under_the_visibility_timeout():
    visibility = settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert app.conf.broker_transport_options["visibility_timeout"] == visibility
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit < visibility
    for name in GENERATION_TASKS:
        task = getattr(tasks, name)
        assert task.soft_time_limit < task.time_limit < visibility / 2, name
    assert 2 * config.poll_max_seconds() < visibility / 10  # the longest poll countdown (Retry-After capped at 2×)
    assert visibility / 10 > 300  # the longest requeue backoff


def test_separate_queues_for_submit_poll_and_finalize():
    routes = app.conf.task_routes
    assert routes["generations.tasks.job_submit"]["queue"] == "submit"
    assert routes["generations.tasks.job_poll"]["queue"] == "poll"
    assert routes["generations.tasks.job_finalize"]["queue"] == "finalize"
    assert set(app.conf.task_queues) >= {"default", "submit", "poll", "finalize"}


def test_beat_runs_the_reconciler_every_minute_and_the_dispatcher():
    schedule = app.conf.beat_schedule
    assert schedule["reconcile-jobs"]["task"] == "generations.tasks.reconcile_jobs"
    assert schedule["reconcile-jobs"]["schedule"] <= timedelta(minutes=1)
    assert schedule["dispatch-queued"]["task"] == "generations.tasks.dispatch_queued"


def test_tasks_are_registered_under_their_routed_names():
    app.loader.import_default_modules()
    for name in GENERATION_TASKS:
        assert f"generations.tasks.{name}" in app.tasks
