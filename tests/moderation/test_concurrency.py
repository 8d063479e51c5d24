"""Two reviewers deciding one case at once (threads, PostgreSQL): exactly one decision is applied, with one ledger
effect; the other is told the case was already decided."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from billing.models import LedgerTransaction, TxKind
from studio.moderation.models import Case, CaseHistory, CaseState, Source, Strike
from studio.moderation.services import AlreadyDecided, Decision, case_decide, signal_add
from tests.assets.images import media_root  # noqa: F401 - per-test media directory
from tests.billing.conftest import skip_unless_postgres
from tests.factories import UserFactory
from tests.generations.helpers import balance
from tests.moderation.conftest import delivered_job

ROUNDS = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_takedowns_apply_once_with_one_refund(world, media_root) -> None:  # noqa: F811
    skip_unless_postgres()
    reviewers = [UserFactory(email=f"r{i}@example.com", is_staff=True) for i in range(2)]
    for round_ in range(ROUNDS):
        job = delivered_job(world)
        case = signal_add(job=job, source=Source.PROVIDER_NSFW, detail="flagged")
        version = case.version
        before = balance(world.member, world.team)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []
        lock = threading.Lock()

        def decide(
            i: int,
            case_id: int = case.pk,
            version: int = version,
            barrier: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
            lock: threading.Lock = lock,
        ) -> None:
            try:
                target = Case.objects.select_related("job", "team", "creator").get(pk=case_id)
                barrier.wait(timeout=30)
                decision = Decision.TAKE_DOWN if i == 0 else Decision.APPROVE
                case_decide(
                    case=target, version=version, reviewer=reviewers[i], decision=decision, reason="nudity", refund=True
                )
                result = f"applied:{decision}"
            except AlreadyDecided:
                result = "already decided"
            except Exception as exc:
                result = f"error: {type(exc).__name__}: {exc}"
            finally:
                connections.close_all()
            with lock:
                outcomes.append(result)

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(decide, range(2)))

        assert sorted(o.split(":")[0] for o in outcomes) == ["already decided", "applied"], (round_, outcomes)
        applied = next(o for o in outcomes if o.startswith("applied")).split(":")[1]
        case.refresh_from_db()
        decisions = CaseHistory.objects.filter(case=case, action__in=[Decision.TAKE_DOWN, Decision.APPROVE])
        assert decisions.count() == 1
        refunds = LedgerTransaction.objects.filter(kind=TxKind.JOB_REFUND, hold=job.hold).count()
        if applied == Decision.TAKE_DOWN:
            assert case.state == CaseState.TAKEN_DOWN
            assert refunds == 1 and Strike.objects.filter(case=case).count() == 1
            assert balance(world.member, world.team) == before + job.charged_credits
        else:
            assert case.state == CaseState.APPROVED
            assert refunds == 0 and not Strike.objects.filter(case=case).exists()
            assert balance(world.member, world.team) == before
