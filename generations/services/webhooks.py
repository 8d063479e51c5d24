"""Inbound provider webhooks. They only *prompt* a poll: polling stays the source of truth (DESIGN.md §3).

So a duplicate, late or out-of-order delivery cannot move a job: the most it does is schedule one extra poll of a job
that is still at the provider. Forged or replayed deliveries are refused by ``generations.providers.webhooks``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from kombu.exceptions import OperationalError as BrokerUnavailable

from generations.models import GenerationJob
from generations.providers import webhooks
from generations.providers.errors import ReplayGuardUnavailable, WebhookVerificationError
from generations.providers.registry import adapter_class
from generations.services.poll import restart_poll_chain
from generations.states import AT_PROVIDER

logger = logging.getLogger("generations.webhooks")


@dataclass(frozen=True)
class WebhookOutcome:
    """``status`` is the HTTP status to answer with; ``detail`` a short, non-sensitive word for the sender;
    ``retry_after`` (seconds) when the sender should try again later."""

    status: int
    detail: str
    retry_after: int | None = None


def webhook_receive(*, provider: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
    """Verify one delivery and prompt a poll of its job. Never raises for bad input: it answers 400/401."""
    try:
        payload = webhooks.verify_webhook(provider=provider, body=body, headers=headers)
    except WebhookVerificationError as exc:
        reason = str(exc)
        if "replay" in reason:
            # A verified id seen before: the sender's retry of something we already took. Acknowledge it, do nothing.
            return WebhookOutcome(200, "duplicate")
        logger.warning("refused %s webhook: %s", provider, reason)
        return WebhookOutcome(401, "invalid signature")
    except ReplayGuardUnavailable as exc:
        logger.warning("%s webhook not taken (its sender retries): the replay guard is unreachable: %s", provider, exc)
        return WebhookOutcome(503, "try again later", retry_after=30)
    try:
        provider_job_id = adapter_class(provider).webhook_job_id(payload)
    except WebhookVerificationError:
        return WebhookOutcome(400, "no job id")
    job = GenerationJob.objects.filter(provider=provider, provider_job_id=provider_job_id).first()
    if job is None or job.state not in AT_PROVIDER:
        return WebhookOutcome(200, "ignored")
    try:
        restart_poll_chain(job)
    except BrokerUnavailable as exc:
        # The job was made due before the fetch was sent: the sweep polls it within a second, broker or not.
        logger.warning("job %s: the webhook's fetch could not be queued (%s); the sweep polls it", job.pk, exc)
    return WebhookOutcome(202, "poll scheduled")
