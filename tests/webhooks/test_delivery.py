"""Outgoing webhooks against a local receiver: signatures (standardwebhooks), retries with backoff, giving up and
disabling, the SSRF guard at registration and at send time (DNS rebinding included), events from the job lifecycle."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from generations.services.jobs import generation_cancel, generation_create
from generations.states import State
from studio.celery import app as celery_app
from studio.notifications.models import Notification
from studio.webhooks import services
from studio.webhooks.models import DeliveryState, EventType, WebhookDelivery, WebhookEndpoint, WebhookMessage
from studio.webhooks.tasks import webhook_deliver_due
from tests.generations.test_generation_lifecycle import request_for
from tests.webhooks.receiver import receiver

PUBLIC_IP = "93.184.216.34"  # a globally routable address (example.com's); nothing here connects to it successfully


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery tasks run in-process (the real task functions; no broker)."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


@pytest.fixture
def dns() -> Iterator[dict[str, list[str]]]:
    """A fake DNS for names under .test: ``dns[name] = [addresses]``; each lookup is recorded in ``dns["_calls"]``."""
    table: dict[str, list[str]] = {"_calls": []}

    def resolve(host: str, port: int) -> list[str]:
        table["_calls"].append(host)
        if host not in table:
            raise OSError(f"{host} does not resolve")
        answers = table[host]
        # A list of lists is a sequence of answers (rebinding): each lookup takes the next one.
        if answers and isinstance(answers[0], list):
            return answers.pop(0) if len(answers) > 1 else answers[0]  # type: ignore[return-value]
        return answers

    services.set_resolver(resolve)
    try:
        yield table
    finally:
        services.set_resolver(None)


@pytest.fixture
def local_hooks(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # the local receiver; private targets stay refused otherwise


def _endpoint(world: Any, url: str, events: list[str] | None = None) -> WebhookEndpoint:
    return services.endpoint_create(
        team=world.team, actor=world.admin, url=url, event_types=events or [EventType.GENERATION_SUCCEEDED]
    )


def _verify(secret: str, request: Any) -> dict[str, Any]:
    return dict(Webhook(secret).verify(request.body, request.headers))


# --- SSRF guard -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://internal.test/hook",
        "ftp://hooks.test/hook",
        "http://user:pw@hooks.test/hook",
        "http://nowhere.test/hook",
    ],
)
def test_registration_refuses_private_and_unsafe_targets(world, dns, url):
    dns["internal.test"] = ["10.1.2.3"]
    dns["hooks.test"] = [PUBLIC_IP]
    dns["localhost"] = ["127.0.0.1"]
    with pytest.raises(services.WebhookError, match="cannot receive webhooks"):
        _endpoint(world, url)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_public_target_is_accepted_with_a_whsec_secret(world, dns):
    dns["hooks.test"] = [PUBLIC_IP]
    endpoint = _endpoint(world, "https://hooks.test/in")
    assert endpoint.secret.startswith("whsec_") and endpoint.is_enabled


@pytest.mark.django_db
def test_send_time_guard_refuses_a_target_that_now_resolves_privately(world, dns, eager, settings):
    dns["hooks.test"] = [PUBLIC_IP]
    endpoint = _endpoint(world, "http://hooks.test/in")
    dns["hooks.test"] = ["127.0.0.1"]  # the name was re-pointed after registration
    delivery = services.endpoint_send_test(endpoint=endpoint)
    services.delivery_attempt(delivery_id=delivery.pk)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "SSRF guard" in attempt.error and "127.0.0.1" in attempt.error


@pytest.mark.django_db
def test_dns_rebinding_cannot_steer_the_request_to_a_private_address(world, dns, local_hooks, settings):
    """The name answers a public address to the check and then 127.0.0.1 (where a receiver listens). The request
    must go to the address that was checked, never to a second lookup's answer."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    with receiver() as hooks:
        port = hooks.url.split(":")[2].split("/")[0]
        dns["rebind.test"] = [[PUBLIC_IP], ["127.0.0.1"]]
        target = services.resolve_target(f"http://rebind.test:{port}/hooks")
        assert target.connect_url == f"http://{PUBLIC_IP}:{port}/hooks" and target.host == "rebind.test"
        assert dns["_calls"] == ["rebind.test"]  # one lookup; the connection uses its checked answer

        dns["rebind.test"] = [[PUBLIC_IP], ["127.0.0.1"]]
        dns["_calls"].clear()
        endpoint = WebhookEndpoint.objects.create(
            team=world.team,
            url=f"http://rebind.test:{port}/hooks",
            event_types=["generation.succeeded"],
            secret="whsec_dGVzdA==",
        )
        delivery = services.endpoint_send_test(endpoint=endpoint)
        services.delivery_attempt(delivery_id=delivery.pk)
        assert hooks.requests == []  # nothing reached the private address
        attempt = delivery.attempt_log.get()
        assert attempt.status_code is None and "SSRF" not in attempt.error  # a connect error to the public address
        assert dns["_calls"] == ["rebind.test"]


# --- Signing ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_deliveries_are_signed_the_standard_webhooks_way_with_rotation_overlap(world, eager, local_hooks, settings):
    with receiver() as hooks:
        endpoint = _endpoint(world, hooks.url)
        first = services.endpoint_send_test(endpoint=endpoint)
        services.delivery_attempt(delivery_id=first.pk)
        request = hooks.wait_for(1)[0]
        assert request.headers["webhook-id"] == first.message_id
        payload = _verify(endpoint.secret, request)
        assert payload["type"] == "webhook.test"
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "QUJD" * 8).verify(request.body, request.headers)

        old = endpoint.secret
        endpoint = services.endpoint_rotate_secret(endpoint=endpoint, actor=world.admin)
        second = services.endpoint_send_test(endpoint=endpoint)
        services.delivery_attempt(delivery_id=second.pk)
        request = hooks.wait_for(2)[1]
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        assert _verify(old, request) and _verify(endpoint.secret, request)  # both verify during the overlap

        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
        endpoint.refresh_from_db()
        third = services.endpoint_send_test(endpoint=endpoint)
        services.delivery_attempt(delivery_id=third.pk)
        request = hooks.wait_for(3)[2]
        assert _verify(endpoint.secret, request)
        with pytest.raises(WebhookVerificationError):
            _verify(old, request)


# --- Retries, giving up, disabling ----------------------------------------------------------------------------------


def _sweep_until_done(delivery: WebhookDelivery, *, deadline: float = 60.0) -> WebhookDelivery:
    """Run the beat sweep (eager) until the delivery is no longer pending."""
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        webhook_deliver_due()
        delivery.refresh_from_db()
        if delivery.state != DeliveryState.PENDING:
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"delivery still pending after {deadline} s ({delivery.attempts} attempts)")


@pytest.mark.django_db
def test_500s_are_retried_with_growing_delays_until_a_2xx(world, eager, local_hooks, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.2, 0.4, 0.8, 5.0]
    with receiver() as hooks:
        hooks.statuses = [500, 503, 500]
        endpoint = _endpoint(world, hooks.url)
        delivery = services.endpoint_send_test(endpoint=endpoint)
        with time_machine.travel(timezone.now(), tick=False):  # "not due yet" however slowly the first attempt ran
            services.delivery_attempt(delivery_id=delivery.pk)
            assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"  # not due yet
        delivery = _sweep_until_done(delivery)
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 4
    log = list(delivery.attempt_log.order_by("at"))
    assert [a.status_code for a in log] == [500, 503, 500, 200]
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(log)]
    assert all(gap >= wait for gap, wait in zip(gaps, [0.2, 0.4, 0.8], strict=True)), gaps
    assert len({r.headers["webhook-id"] for r in hooks.requests}) == 1  # the same message id on every retry
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_enabled


@pytest.mark.django_db
def test_gives_up_after_the_schedule_and_disables_a_failing_endpoint(world, eager, local_hooks, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.1, 0.1]
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 0.0
    with receiver() as hooks:
        hooks.default_status = 500
        endpoint = _endpoint(world, hooks.url)
        delivery = services.endpoint_send_test(endpoint=endpoint)
        services.delivery_attempt(delivery_id=delivery.pk)
        delivery = _sweep_until_done(delivery)
        assert delivery.state == DeliveryState.FAILED and delivery.attempts == 3
        assert len(hooks.requests) == 3
        endpoint.refresh_from_db()
        assert not endpoint.is_enabled and "Disabled automatically" in endpoint.disabled_reason
        told = set(Notification.objects.filter(kind="webhooks.disabled").values_list("user__email", flat=True))
        assert told == {world.owner.email, world.admin.email}
        assert services.event_emit(team_id=world.team.pk, event_type=EventType.GENERATION_SUCCEEDED, data={}) is None


@pytest.mark.django_db
def test_giving_up_once_does_not_disable_before_the_failure_window(world, eager, local_hooks, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.1]
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 3600.0
    with receiver() as hooks:
        hooks.default_status = 500
        endpoint = _endpoint(world, hooks.url)
        delivery = services.endpoint_send_test(endpoint=endpoint)
        services.delivery_attempt(delivery_id=delivery.pk)
        assert _sweep_until_done(delivery).state == DeliveryState.FAILED
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.failing_since is not None


def test_the_default_schedule_grows_and_lasts_about_a_day(settings):
    schedule = list(settings.WEBHOOK_RETRY_SCHEDULE)
    assert schedule == sorted(schedule) and schedule[0] <= 10
    assert 12 * 3600 <= sum(schedule) <= 24 * 3600


# --- Events from the job lifecycle and the wallet -----------------------------------------------------------------


@pytest.mark.django_db
def test_finished_jobs_emit_signed_generation_events(
    pipeline, eager, local_hooks, settings, django_capture_on_commit_callbacks
):
    world = pipeline.world
    with receiver() as hooks:
        endpoint = _endpoint(world, hooks.url, [EventType.GENERATION_SUCCEEDED, EventType.GENERATION_CANCELED])
        with django_capture_on_commit_callbacks(execute=True):
            job = generation_create(user=world.member, project=world.project, request=request_for(pipeline, *_t2v()))
            pipeline.worker.settle(job)
            other = generation_create(user=world.member, project=world.project, request=request_for(pipeline, *_t2v()))
            generation_cancel(user=world.member, job=other)
        received = hooks.wait_for(2)
    assert job.state == State.SUCCEEDED
    events = {r.headers["webhook-id"]: _verify(endpoint.secret, r) for r in received}
    by_type = {payload["type"]: payload["data"] for payload in events.values()}
    assert by_type["generation.succeeded"]["id"] == str(job.pk)
    assert by_type["generation.succeeded"]["cost"]["charged_credits"] == job.charged_credits
    assert by_type["generation.canceled"]["id"] == str(other.pk)
    assert set(WebhookMessage.objects.values_list("event_type", flat=True)) == {
        "generation.succeeded",
        "generation.canceled",
    }


def _t2v() -> tuple[Any, str]:
    from generations.providers.base import Mode

    return Mode.TEXT_TO_VIDEO, "wavespeed"


@pytest.mark.django_db
def test_low_pool_balance_emits_wallet_low_balance(
    pipeline, eager, local_hooks, settings, django_capture_on_commit_callbacks
):
    from billing import ledger
    from billing.metering import price_credits
    from billing.wallets import team_billing_update, team_wallet

    world = pipeline.world
    price = price_credits(seconds=2, resolution="360p", audio=False)
    settings.LOW_BALANCE_CREDITS = price + 1
    team_billing_update(team=world.team, use_pool=True, monthly_budget=None)
    ledger.grant(wallet=team_wallet(team=world.team), amount=price + 1, reason="test", created_by=None)
    with receiver() as hooks:
        endpoint = _endpoint(world, hooks.url, [EventType.WALLET_LOW_BALANCE])
        with django_capture_on_commit_callbacks(execute=True):
            generation_create(user=world.member, project=world.project, request=request_for(pipeline, *_t2v()))
        payload = _verify(endpoint.secret, hooks.wait_for(1)[0])
    assert payload["type"] == "wallet.low_balance" and payload["data"]["balance"] == 1


# --- The team settings page ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_webhook_pages_register_test_resend_and_rotate(world, dns, eager, settings, django_capture_on_commit_callbacks):
    dns["hooks.test"] = [PUBLIC_IP]
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    admin = world.client_for(world.admin)
    assert world.client_for(world.member).get(f"/webhooks/teams/{world.team.pk}/").status_code == 403
    assert world.client_for(world.outsider).get(f"/webhooks/teams/{world.team.pk}/").status_code == 404
    refused = admin.post(
        f"/webhooks/teams/{world.team.pk}/", {"url": "http://169.254.169.254/", "event_types": ["generation.failed"]}
    )
    assert refused.status_code == 400 and b"cannot receive webhooks" in refused.content
    response = admin.post(
        f"/webhooks/teams/{world.team.pk}/",
        {"url": "https://hooks.test/in", "event_types": ["generation.failed", "generation.moderated"]},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and endpoint.event_types == ["generation.failed", "generation.moderated"]
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/webhooks/{endpoint.pk}/test/")
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempt_log.count() == 1  # tried at once (the target is unreachable here, so it will retry)
    with django_capture_on_commit_callbacks(execute=False):
        admin.post(f"/webhooks/deliveries/{delivery.pk}/resend/")
    assert WebhookDelivery.objects.filter(message_id=delivery.message_id).count() == 2
    old = endpoint.secret
    admin.post(f"/webhooks/{endpoint.pk}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.signing_secrets() == [endpoint.secret, old]
    page = admin.get(f"/webhooks/{endpoint.pk}/")
    assert page.status_code == 200 and b"Delivery log" in page.content and b"webhook.test" in page.content
    assert world.client_for(world.outsider).post(f"/webhooks/deliveries/{delivery.pk}/resend/").status_code == 404
    assert json.loads(json.dumps(endpoint.event_types))
    assert timezone.now() - delivery.created_at < timedelta(hours=1)


@pytest.mark.django_db
def test_the_readmes_manual_verification_scheme_matches_our_signatures(world, local_hooks):
    """README: base64(HMAC-SHA256(base64decode(secret without "whsec_"), f"{id}.{timestamp}.{body}")), as "v1,<sig>"."""
    import base64
    import hashlib
    import hmac

    with receiver() as hooks:
        endpoint = _endpoint(world, hooks.url)
        delivery = services.endpoint_send_test(endpoint=endpoint)
        services.delivery_attempt(delivery_id=delivery.pk)
        request = hooks.wait_for(1)[0]
    key = base64.b64decode(endpoint.secret.removeprefix("whsec_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in request.headers["webhook-signature"].split(" ")]
    assert any(hmac.compare_digest(expected, sig) for sig in given)
