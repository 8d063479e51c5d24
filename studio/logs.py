"""Structured logs (structlog + django-structlog): every line is one JSON object in production (``LOG_JSON``,
default on when DEBUG is off), carrying the ids that tie it to its context:

- web requests: ``request_id`` (django-structlog; an incoming ``X-Request-ID`` is kept), ``user_id``, ``ip`` (through
  the trusted proxies, ``studio.clientip``) and ``team_id`` (the active team);
- Celery tasks: ``task_id`` (django-structlog's worker step) and, for the generation tasks, ``job_id`` and
  ``team_id``.

The standard library's loggers (``logging.getLogger(__name__)`` everywhere in the code) go through the same
formatter, so existing log calls gain the ids without changing.
"""

from __future__ import annotations

from typing import Any

import structlog

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(*, json: bool, level: str) -> dict[str, Any]:
    """The LOGGING dict: one console handler, JSON or plain text, both through structlog's formatter."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": _SHARED,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
    }


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind_request(request: Any) -> None:
    """Our ids on a request's log lines (django-structlog's bind_extra_request_metadata signal)."""
    from studio.clientip import client_ip

    user = getattr(request, "user", None)
    team_id = getattr(user, "active_team_id", None) if user is not None and user.is_authenticated else None
    structlog.contextvars.bind_contextvars(ip=client_ip(request), team_id=team_id)


JOB_TASK_PREFIX = "generations.tasks.job_"


def bind_task(task_name: str, args: Any, kwargs: Any) -> None:
    """``job_id`` and ``team_id`` for a generation task (its first argument or ``job_id`` keyword is the job)."""
    if not task_name.startswith(JOB_TASK_PREFIX):
        return
    job_id = (kwargs or {}).get("job_id") or (args[0] if args else None)
    if job_id is None:
        return
    from generations.models import GenerationJob

    team_id = GenerationJob.objects.filter(pk=job_id).values_list("team_id", flat=True).first()
    structlog.contextvars.bind_contextvars(job_id=str(job_id), team_id=team_id)


def connect_signals() -> None:
    from celery.signals import task_postrun, task_prerun
    from django.dispatch import receiver
    from django_structlog import signals

    @receiver(signals.bind_extra_request_metadata, weak=False, dispatch_uid="studio-log-request")
    def _request(sender: Any, request: Any, logger: Any, **kwargs: Any) -> None:
        bind_request(request)

    def _task(sender: Any = None, task: Any = None, args: Any = None, kwargs: Any = None, **extra: Any) -> None:
        bind_task(getattr(task, "name", "") or "", args, kwargs)

    def _task_end(**extra: Any) -> None:
        structlog.contextvars.unbind_contextvars("job_id", "team_id")

    task_prerun.connect(_task, weak=False, dispatch_uid="studio-log-task")
    task_postrun.connect(_task_end, weak=False, dispatch_uid="studio-log-task-end")
