"""The operator's view: one set of numbers, served two ways.

- ``system_snapshot()`` reads them: jobs by state, queue depth per Celery queue, provider error rates over the last
  hour (from the attempt rows), poll lateness (how far past ``next_poll_at`` the most overdue job is), and the
  ledger reconciliation result.
- ``/metrics`` exposes them in the Prometheus text format (prometheus-client) to a scraper that sends
  ``Authorization: Bearer $METRICS_TOKEN``; without METRICS_TOKEN set the endpoint does not exist (404).
- ``/system/`` shows them to staff at a glance (404 to everyone else).

Reading the numbers never changes anything; a part that cannot be read (the broker down) is reported as unknown
rather than failing the page.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)
ERROR_WINDOW = timedelta(hours=1)


@dataclass
class ProviderRate:
    provider: str
    requests: int
    errors: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass
class SystemSnapshot:
    jobs_by_state: dict[str, int]
    queue_depth: dict[str, int | None]  # None: the broker could not be asked
    provider_rates: list[ProviderRate]
    poll_lateness_seconds: float  # 0 when no job is overdue
    overdue_polls: int
    ledger_ok: bool
    ledger_problems: list[str] = field(default_factory=list)


def _queue_depths() -> dict[str, int | None]:
    from studio.celery import app

    names = list(getattr(settings, "CELERY_TASK_QUEUES", {}) or ["default"])
    depths: dict[str, int | None] = dict.fromkeys(names)
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            channel = connection.default_channel
            for name in names:
                try:
                    depths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
                except Exception:  # a queue never declared yet is empty, whatever the transport says
                    depths[name] = 0
    except Exception as exc:
        logger.warning("queue depth unavailable: %s", exc)
    return depths


def system_snapshot() -> SystemSnapshot:
    from billing.reconcile import reconcile
    from generations.models import GenerationJob, ProviderAttempt
    from generations.states import AT_PROVIDER, State

    now = timezone.now()
    counts = dict(GenerationJob.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    jobs_by_state = {state.value: int(counts.get(state.value, 0)) for state in State}
    attempts = (
        ProviderAttempt.objects.filter(at__gte=now - ERROR_WINDOW)
        .values("provider")
        .annotate(
            requests=Count("pk"),
            errors=Count("pk", filter=Q(status_code__gte=500) | Q(status_code__isnull=True) | ~Q(error_class="")),
        )
        .order_by("provider")
    )
    rates = [ProviderRate(a["provider"], int(a["requests"]), int(a["errors"])) for a in attempts]
    overdue = GenerationJob.objects.filter(state__in=AT_PROVIDER, next_poll_at__lt=now)
    oldest = overdue.aggregate(oldest=Min("next_poll_at"))["oldest"]
    report = reconcile()
    return SystemSnapshot(
        jobs_by_state=jobs_by_state,
        queue_depth=_queue_depths(),
        provider_rates=rates,
        poll_lateness_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        overdue_polls=overdue.count(),
        ledger_ok=report.ok,
        ledger_problems=list(report.problems),
    )


class SnapshotCollector:
    """A prometheus-client collector reading one fresh snapshot per scrape."""

    def collect(self) -> Iterator[Metric]:
        snap = system_snapshot()
        jobs = GaugeMetricFamily("studio_jobs", "Generation jobs by state", labels=["state"])
        for state, count in snap.jobs_by_state.items():
            jobs.add_metric([state], count)
        yield jobs
        depth = GaugeMetricFamily("studio_queue_depth", "Messages waiting per Celery queue", labels=["queue"])
        for queue, waiting in snap.queue_depth.items():
            depth.add_metric([queue], float("nan") if waiting is None else waiting)
        yield depth
        requests = GaugeMetricFamily(
            "studio_provider_requests_last_hour", "Provider requests in the last hour", labels=["provider"]
        )
        errors = GaugeMetricFamily(
            "studio_provider_errors_last_hour", "Provider requests that failed in the last hour", labels=["provider"]
        )
        ratio = GaugeMetricFamily(
            "studio_provider_error_ratio",
            "Share of provider requests that failed in the last hour",
            labels=["provider"],
        )
        for rate in snap.provider_rates:
            requests.add_metric([rate.provider], rate.requests)
            errors.add_metric([rate.provider], rate.errors)
            ratio.add_metric([rate.provider], rate.error_rate)
        yield from (requests, errors, ratio)
        yield GaugeMetricFamily(
            "studio_poll_lateness_seconds",
            "How far past its poll time the most overdue job is",
            value=snap.poll_lateness_seconds,
        )
        yield GaugeMetricFamily(
            "studio_polls_overdue", "Jobs at a provider past their poll time", value=snap.overdue_polls
        )
        yield GaugeMetricFamily(
            "studio_ledger_reconciled", "1 when the ledger reconciles, else 0", value=int(snap.ledger_ok)
        )
        yield GaugeMetricFamily(
            "studio_ledger_problems", "Problems found by the ledger reconciliation", value=len(snap.ledger_problems)
        )


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector())
    return registry


def _token_ok(request: HttpRequest) -> bool:
    expected = str(getattr(settings, "METRICS_TOKEN", "") or "")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not getattr(settings, "METRICS_TOKEN", ""):
        raise Http404("Metrics are not enabled (set METRICS_TOKEN).")
    if not _token_ok(request):
        response = HttpResponse("A valid bearer token is required.", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


@login_required
@never_cache
def system_page(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "is_staff", False):
        raise Http404("Not found.")
    snap = system_snapshot()
    context: dict[str, Any] = {"snap": snap, "jobs_total": sum(snap.jobs_by_state.values())}
    return render(request, "system.html", context)
