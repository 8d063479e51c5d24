"""The fault matrix's "timeout before send", end to end: a real Celery worker whose PixVerse base URL is a loopback
listener with a full accept queue, so its create requests die in a real ``httpx.ConnectTimeout`` before a byte is
sent, while the other providers are the emulator on a real socket.

A connect failure is a definite refusal (``generations.services.submit``, module docstring and ``_refused``): a
``TransientError``, never ``unknown``. On a provider the user picked, the job goes back to the queue with a doubling
backoff and, after ``GENERATIONS_MAX_SUBMIT_ATTEMPTS`` refusals, fails with the hold released. Under ``auto`` routing
a transient refusal is also requeued on the same provider until the refusals open its circuit
(``GENERATIONS_CIRCUIT_THRESHOLD``); then the job fails over to the next provider.

The worker is configured through the environment only (``PROVIDER_HTTP_CONNECT_TIMEOUT``,
``GENERATIONS_MAX_SUBMIT_ATTEMPTS``, ...), as an operator would configure one.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest

from billing.models import Account, HoldState, LedgerEntry, TxKind
from generations.models import AUTO, GenerationJob
from generations.providers.base import Mode
from generations.states import State
from tests.generations.e2e.conftest import PREFIXES
from tests.generations.e2e.helpers import assert_playable, create, expected_charge
from tests.generations.helpers import balance, fund, make_asset
from tests.providers.conftest import LOOPBACK, UnresponsiveListener

pytestmark = [pytest.mark.e2e]

#: Auto routing's first choice when the rate card has no cost column (the adapters' ``routing_rank``).
UNREACHABLE = "pixverse"
MAX_SUBMIT_ATTEMPTS = 3
CIRCUIT_THRESHOLD = 2  # below MAX_SUBMIT_ATTEMPTS, so an auto job fails over before it runs out of attempts
REQUEUE_BASE_SECONDS = 0.5  # the e2e worker's GENERATIONS_REQUEUE_BASE_SECONDS
CONNECT_TIMEOUT = "0.5"
DEADLINE = 45.0


@pytest.fixture
def unreachable() -> Iterator[UnresponsiveListener]:
    listener = UnresponsiveListener()
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
def worker_env(unreachable: UnresponsiveListener) -> dict[str, str]:
    """This module's workers: PixVerse behind the full-backlog listener, short connect timeout, few attempts."""
    return {
        f"{UNREACHABLE.upper()}_BASE_URL": f"http://{LOOPBACK}:{unreachable.port}{PREFIXES[UNREACHABLE]}",
        "PROVIDER_HTTP_CONNECT_TIMEOUT": CONNECT_TIMEOUT,
        "GENERATIONS_MAX_SUBMIT_ATTEMPTS": str(MAX_SUBMIT_ATTEMPTS),
        "GENERATIONS_CIRCUIT_THRESHOLD": str(CIRCUIT_THRESHOLD),
        "GENERATIONS_REQUEUE_BASE_SECONDS": str(REQUEUE_BASE_SECONDS),
    }


@pytest.fixture
def assets(world):
    fund(world.member, world.team, 100_000)
    return make_asset(world.team, ref_name="cat"), make_asset(world.team, ref_name="park", colour=(30, 160, 60))


def connections_completed_by_others(listener: UnresponsiveListener) -> list[tuple[str, int]]:
    """Peers, other than the listener's own fillers, whose TCP handshake completed: what could have sent a byte."""
    fillers = {filler.getsockname() for filler in listener.fillers}
    listener.listener.setblocking(False)
    strangers = []
    while True:
        try:
            conn, peer = listener.listener.accept()
        except OSError:  # BlockingIOError: nothing (more) in the accept queue
            return strangers
        conn.close()
        if peer not in fillers:
            strangers.append(peer)


def ledger_kinds(job: GenerationJob) -> list[str]:
    return sorted(job.hold.transactions.values_list("kind", flat=True))


def revenue(job: GenerationJob) -> int:
    entries = LedgerEntry.objects.filter(transaction__hold=job.hold, account=Account.REVENUE)
    return sum(entries.values_list("amount", flat=True))


def test_connect_timeout_on_a_chosen_provider_requeues_with_backoff_then_fails_and_releases(
    e2e, world, assets, unreachable
):
    cat, park = assets
    before = balance(world.member, world.team)
    job = create(world, Mode.TEXT_TO_VIDEO, UNREACHABLE, cat, park)
    e2e.wait([job], deadline=DEADLINE)

    assert job.state == State.FAILED, (job.error_code, job.error_message)
    assert job.error_code == "ConnectTimeout"
    assert job.provider == UNREACHABLE and job.providers_refused == []  # the user's choice: never failed over
    assert job.submit_attempts == MAX_SUBMIT_ATTEMPTS
    # Every send died connecting (no status, a TransientError), at the chosen provider, and none was ambiguous.
    creates = list(job.attempts.filter(is_create=True))
    assert [(a.provider, a.status_code, a.error_class) for a in creates] == [
        (UNREACHABLE, None, "TransientError")
    ] * MAX_SUBMIT_ATTEMPTS
    events = list(job.events.values_list("from_state", "to_state", "note"))
    trail = [to_state for _, to_state, _ in events]
    assert State.UNKNOWN not in trail, trail
    assert trail[-1] == State.FAILED
    assert "too many refusals" in events[-1][2]
    # Requeued after each refusal but the last, with a doubling backoff that the next send waited out.
    requeues = [note for source, target, note in events if (source, target) == (State.SUBMITTING, State.QUEUED)]
    delays = [REQUEUE_BASE_SECONDS * 2**k for k in range(MAX_SUBMIT_ATTEMPTS - 1)]
    assert [note.split(":")[0] for note in requeues] == [f"back to the queue for {d:g} s" for d in delays]
    for (earlier, later), delay in zip(pairwise(creates), delays, strict=True):
        assert (later.at - earlier.at).total_seconds() >= delay
    # The hold was released in full, once; nothing charged.
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.RELEASED and job.hold.captured_amount == 0
    assert job.hold.outcome.state == HoldState.RELEASED
    assert ledger_kinds(job) == [TxKind.HOLD, TxKind.RELEASE]
    assert revenue(job) == 0 and job.charged_credits == 0
    assert balance(world.member, world.team) == before
    # No create reached any provider: the emulator never saw one, and no handshake completed at the dead port.
    assert e2e.emulator.creates(job.pk)["count"] == 0
    assert connections_completed_by_others(unreachable) == []


def test_connect_timeout_under_auto_routing_fails_over_and_charges_once(e2e, world, assets, unreachable):
    cat, park = assets
    before = balance(world.member, world.team)
    job = create(world, Mode.TEXT_TO_VIDEO, AUTO, cat, park)
    assert job.provider == UNREACHABLE, job.routing_reason  # auto chose the unreachable provider first
    e2e.wait([job], deadline=DEADLINE)

    assert job.state == State.SUCCEEDED, (job.provider, job.error_code, job.error_message)
    assert job.provider != UNREACHABLE
    assert job.providers_refused == [UNREACHABLE]
    assert f"failover from {UNREACHABLE} (ConnectTimeout)" in job.routing_reason
    # Refused until the refusals opened the circuit, then one accepted create at the next provider.
    creates = list(job.attempts.filter(is_create=True))
    assert [(a.provider, a.status_code, a.error_class) for a in creates[:-1]] == [
        (UNREACHABLE, None, "TransientError")
    ] * CIRCUIT_THRESHOLD
    assert creates[-1].provider == job.provider and creates[-1].error_class == ""
    assert creates[-1].status_code is not None and 200 <= creates[-1].status_code < 300
    trail = list(job.events.values_list("to_state", flat=True))
    assert State.UNKNOWN not in trail, trail
    assert trail.count(State.SUBMITTING) == CIRCUIT_THRESHOLD + 1 and trail.count(State.SUBMITTED) == 1
    assert trail[-2:] == [State.DOWNLOADING, State.SUCCEEDED]
    failover = job.events.filter(note__startswith="failover after a definite refusal").get()
    assert failover.from_state == State.SUBMITTING and failover.to_state == State.QUEUED
    # Exactly one paid create, at the emulator's copy of the provider that ran it; none at the unreachable one.
    seen = e2e.emulator.creates(job.pk)
    assert (seen["count"], seen["accepted"]) == (1, 1), seen
    assert [made["provider"] for made in e2e.emulator.jobs_for(job.pk)] == [job.provider]
    assert connections_completed_by_others(unreachable) == []
    # Charged exactly once, the price of the video.
    assert_playable(job)
    assert job.charged_credits == expected_charge(job)
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.CAPTURED and job.hold.captured_amount == job.charged_credits
    assert ledger_kinds(job) == [TxKind.CAPTURE, TxKind.HOLD]
    assert revenue(job) == job.charged_credits
    assert balance(world.member, world.team) == before - job.charged_credits
