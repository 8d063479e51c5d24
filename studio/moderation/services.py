"""Writers of moderation: open cases from signals, claim, decide (compare-and-set on ``Case.version``), strikes,
appeals, restrictions. Every decision writes a history row and an audit row and notifies the creator and the team's
admins, in the same transaction as the decision; every money move goes through ``billing.ledger``.

Money per outcome (the policy the job page states):
- refused by the provider → the hold was released by the pipeline (as always); decisions move no money;
- delivered → charged when it was delivered (the capture); approving keeps the charge;
- taken down → the reviewer chooses refund or keep (default: refund when a provider or our pre-screen flagged it,
  keep when a member reported it, per ``Policy``); ``ledger.job_refund`` posts at most once per job;
- overturned on appeal → the video is restored from quarantine and refunded (``job_refund``: still exactly once).

Reference assets (the team's shared images) have cases too, opened by a member's report ("Report this asset"). A
takedown moves the image and its thumbnail to quarantine, hides the asset from the team's library and pickers, and
refuses it as a reference to new videos (``asset_taken_down``); videos already made with it are their own cases.
An asset costs no credits, so its decisions move no money. Its uploader gets the strike and may appeal.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from billing import ledger
from studio.audit.models import AuditAction
from studio.audit.services import audit_record
from studio.moderation.models import (
    DEFAULT_WEIGHTS,
    HIDING_SOURCES,
    REFUND_BY_DEFAULT_SOURCES,
    UNDECIDED,
    Appeal,
    AppealState,
    Case,
    CaseHistory,
    CaseState,
    ChargeOutcome,
    Restriction,
    Signal,
    Source,
    Strike,
)
from studio.moderation.policy import policy_get
from studio.notifications.services import notify
from studio.teams import access
from studio.teams.access import Perm

if TYPE_CHECKING:
    from django.http import HttpRequest

    from generations.models import GenerationJob
    from studio.accounts.models import User
    from studio.assets.models import Asset
    from studio.teams.models import Team

logger = logging.getLogger("studio.moderation")


class ModerationRefused(Exception):
    """A moderation action that cannot be done; the message is for the person who tried."""


class AlreadyDecided(ModerationRefused):
    pass


class Decision:
    APPROVE = "approve"
    TAKE_DOWN = "take_down"
    DISMISS = "dismiss"
    ASK_CONTEXT = "ask_context"
    ALL = (APPROVE, TAKE_DOWN, DISMISS, ASK_CONTEXT)


# --- Opening cases ------------------------------------------------------------------------------------------------


def _history(
    case: Case,
    *,
    action: str,
    actor: User | None,
    from_state: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    CaseHistory.objects.create(
        case=case,
        action=action,
        actor=actor,
        from_state=from_state,
        to_state=case.state,
        version=case.version,
        reason=reason,
        data=data or {},
    )


@transaction.atomic
def signal_add(
    *,
    job: GenerationJob | None = None,
    asset: Asset | None = None,
    source: str,
    detail: str = "",
    reporter: User | None = None,
    weight: int | None = None,
) -> Case:
    """Add one signal to the case of ``job`` or ``asset`` (opening the case if it is the first). A hiding source
    hides the video until a reviewer decides (policy ``hide_until_reviewed``). A signal on an approved or dismissed
    case re-opens it. A member reporting the same case twice adds nothing the second time."""
    if source not in Source.values:
        raise ValueError(f"Unknown moderation source {source!r}")
    if (job is None) == (asset is None):
        raise ValueError("A signal is about one job or one asset.")
    if job is not None:
        case, created = Case.objects.get_or_create(
            job=job,
            defaults={"team_id": job.team_id, "creator_id": job.creator_id, "provider": job.provider},
        )
    else:
        asset = cast("Asset", asset)
        case, created = Case.objects.get_or_create(
            asset=asset, defaults={"team_id": asset.team_id, "creator_id": asset.uploaded_by_id}
        )
    case = Case.objects.select_for_update().get(pk=case.pk)
    reported = reporter is not None and source == Source.MEMBER_REPORT
    if reported and case.signals.filter(source=Source.MEMBER_REPORT, reporter=reporter).exists():
        return case
    amount = DEFAULT_WEIGHTS[source] if weight is None else weight
    Signal.objects.create(case=case, source=source, weight=amount, detail=detail[:2000], reporter=reporter)
    old = case.state
    updates: dict[str, Any] = {"score": F("score") + amount, "version": F("version") + 1, "updated_at": timezone.now()}
    if case.state in (CaseState.APPROVED, CaseState.DISMISSED):
        updates["state"] = CaseState.OPEN
    if source in HIDING_SOURCES and policy_get().hide_until_reviewed and case.state != CaseState.APPROVED:
        updates["hidden"] = True
    if source in (Source.PROVIDER_REFUSAL, Source.PROVIDER_NSFW) and detail:
        updates["provider_verdict"] = detail[:2000]
    Case.objects.filter(pk=case.pk).update(**updates)
    case.refresh_from_db()
    _history(
        case,
        action="opened" if created else "signal",
        actor=reporter,
        from_state="" if created else old,
        data={"source": source, "weight": amount},
    )
    return case


def job_refused_by_provider(job: GenerationJob) -> None:
    """The pipeline's hook for a job the provider refused on content grounds (its hold already released)."""
    verdict = f"{job.provider} refused it (code {job.error_code or '-'}): {job.error_message or '-'}"
    case = signal_add(job=job, source=Source.PROVIDER_REFUSAL, detail=verdict)
    Case.objects.filter(pk=case.pk, charge_outcome="").update(charge_outcome=ChargeOutcome.RELEASED)


def job_output_flagged(job: GenerationJob, *, verdict: str) -> None:
    """The pipeline's hook for a delivered video the provider flagged (WaveSpeed ``has_nsfw_contents``)."""
    signal_add(job=job, source=Source.PROVIDER_NSFW, detail=f"{job.provider}: {verdict}")


def job_prompt_flagged(job: GenerationJob, *, terms: list[str]) -> None:
    """The pipeline's hook for a job whose prompt contains flagged pre-screen terms (it is still generated)."""
    signal_add(job=job, source=Source.PRESCREEN, detail="Flagged terms in the prompt: " + ", ".join(terms))


def _report_reason(reason: str, *, what: str) -> str:
    """A member's reason for a report: plain text, 1 to 1000 characters (``ModerationRefused`` otherwise)."""
    reason = reason.strip()
    if not reason:
        raise ModerationRefused(f"Say what is wrong with {what}.")
    if len(reason) > 1000 or "\x00" in reason:
        raise ModerationRefused("The reason must be plain text of at most 1000 characters.")
    return reason


def report_submit(*, user: User, job: GenerationJob, reason: str) -> Case:
    """A team member reports a video ("Report this video"). Anyone who may see the job may report it."""
    access.require_membership(user, job.team_id, Perm.VIEW)
    reason = _report_reason(reason, what="this video")
    return signal_add(job=job, source=Source.MEMBER_REPORT, detail=reason, reporter=user)


def asset_report_submit(*, user: User, asset: Asset, reason: str) -> Case:
    """A team member reports a reference asset ("Report this asset"). Anyone who may see the asset may report it."""
    access.require_membership(user, asset.team_id, Perm.VIEW)
    reason = _report_reason(reason, what="this image")
    if asset_taken_down(asset):
        raise ModerationRefused("This asset was already taken down.")
    return signal_add(asset=asset, source=Source.MEMBER_REPORT, detail=reason, reporter=user)


def asset_taken_down(asset: Asset) -> bool:
    """True while a takedown (or an appeal of one) keeps ``asset`` from its team (``Case.hidden``)."""
    return Case.objects.filter(asset_id=asset.pk, hidden=True).exists()


def taken_down_asset_ids(asset_ids: list[int]) -> set[int]:
    """Of ``asset_ids``, those taken down: the composer and the API refuse them as references (one query)."""
    if not asset_ids:
        return set()
    return set(Case.objects.filter(asset_id__in=asset_ids, hidden=True).values_list("asset_id", flat=True))


# --- Claims -------------------------------------------------------------------------------------------------------


def _other_reviewers_exist(reviewer: User) -> bool:
    from studio.accounts.models import User as UserModel

    return UserModel.objects.filter(is_staff=True, is_active=True).exclude(pk=reviewer.pk).exists()


def _appeal_conflict(case: Case, reviewer: User) -> bool:
    """An appeal goes to a different reviewer than the one who decided, when there is another one."""
    strike = Strike.objects.filter(case=case).first()
    return (
        case.state == CaseState.APPEALED
        and strike is not None
        and strike.decided_by_id == reviewer.pk
        and _other_reviewers_exist(reviewer)
    )


def case_claim(*, case: Case, reviewer: User) -> Case:
    """Claim ``case`` for ``reviewer`` for ``Policy.claim_minutes``: others cannot decide it meanwhile. A claim by
    someone else that has expired may be taken over."""
    if not reviewer.is_staff:
        raise ModerationRefused("Only staff review cases.")
    if _appeal_conflict(case, reviewer):
        raise ModerationRefused("You decided this case; another reviewer should decide the appeal.")
    now = timezone.now()
    until = now + timedelta(minutes=policy_get().claim_minutes)
    with transaction.atomic():
        claimed = (
            Case.objects.filter(pk=case.pk, state__in=UNDECIDED)
            .filter(Q(claimed_by__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=reviewer))
            .update(claimed_by=reviewer, claimed_until=until)
        )
        if claimed != 1:
            case.refresh_from_db()
            if not case.is_undecided:
                raise AlreadyDecided("This case was already decided.")
            raise ModerationRefused(
                f"{case.claimed_by} is reviewing this case (claim until {case.claimed_until:%H:%M})."
            )
        case.refresh_from_db()
        _history(case, action="claimed", actor=reviewer, from_state=case.state)
    return case


def case_release_claim(*, case: Case, reviewer: User) -> None:
    Case.objects.filter(pk=case.pk, claimed_by=reviewer).update(claimed_by=None, claimed_until=None)


# --- Decisions ----------------------------------------------------------------------------------------------------


def refund_by_default(case: Case) -> bool:
    """The default of the takedown's refund choice: refund when a provider or the pre-screen flagged it, keep when
    only members reported it (both configurable in ``Policy``)."""
    policy = policy_get()
    if set(case.sources()) & set(REFUND_BY_DEFAULT_SOURCES):
        return policy.refund_provider_flagged
    return policy.refund_member_reported


def _recipients(case: Case) -> list[User]:
    people: dict[int, User] = {}
    if case.creator is not None:
        people[case.creator.pk] = case.creator
    for admin in access.members_with(case.team_id, Perm.MANAGE_MEMBERS):
        people.setdefault(admin.pk, admin)
    return list(people.values())


def case_target_url(case: Case) -> str:
    """The team's page of the case's video or asset (where its moderation panel and the appeal are)."""
    if case.job_id:
        return reverse("generations:job", kwargs={"pk": case.job_id}) + "#moderation"
    return reverse("assets:detail", kwargs={"pk": case.asset_id}) + "#moderation"


def _notify(case: Case, message: str) -> None:
    url = case_target_url(case)
    for person in _recipients(case):
        notify(
            user=person,
            kind="moderation",
            message=message[:500],
            url=url,
            key=f"case-{case.pk}-v{case.version}",
            email=True,
        )


_QUARANTINED_FIELDS = {"generationjob": ("output", "poster"), "asset": ("file", "thumbnail")}


def _quarantine(obj: GenerationJob | Asset) -> dict[str, str]:
    """Move the video and poster (of a job) or the image and thumbnail (of an asset) out of the library's storage
    into ``quarantine/`` (kept until the appeal window closes, so an overturn can restore them). Returns {field:
    original name}."""
    moved: dict[str, str] = {}
    fields = _QUARANTINED_FIELDS[obj._meta.model_name or ""]
    for field in fields:
        name = getattr(obj, field).name
        if not name or not default_storage.exists(name):
            continue
        target = f"quarantine/{name}"
        if default_storage.exists(target):
            default_storage.delete(target)
        with default_storage.open(name, "rb") as handle:
            default_storage.save(target, File(handle))
        moved[field] = name
    for name in moved.values():
        default_storage.delete(name)
    _rows_of(obj).update(**dict.fromkeys(fields, ""))  # a name whose file was already gone is cleared too
    return moved


def _rows_of(obj: GenerationJob | Asset) -> QuerySet[Any]:
    manager: Any = type(obj)._default_manager
    return cast("QuerySet[Any]", manager.filter(pk=obj.pk))


def _restore(obj: GenerationJob | Asset, moved: dict[str, str]) -> None:
    restored: dict[str, str] = {}
    for field, name in moved.items():
        source = f"quarantine/{name}"
        if not default_storage.exists(source):
            continue
        if default_storage.exists(name):
            default_storage.delete(name)
        with default_storage.open(source, "rb") as handle:
            restored[field] = default_storage.save(name, File(handle))
        default_storage.delete(source)
    if restored:
        _rows_of(obj).update(**restored)


def _charge_state(job: GenerationJob | None) -> str:
    from billing.models import HoldState

    if job is None or job.hold is None:
        return ChargeOutcome.NONE
    return ChargeOutcome.CHARGED if job.hold.state == HoldState.CAPTURED else ChargeOutcome.RELEASED


def _refund(case: Case, job: GenerationJob, *, reviewer: User, reason: str, request: HttpRequest | None) -> bool:
    """Refund the job's charge (once per job, by the ledger's key). True when credits went back now."""
    if job.hold is None:
        return False
    before = ledger.job_refunded_amount(job.hold)
    tx = ledger.job_refund(
        hold=job.hold, reason=f"moderation case {case.pk}: {reason}"[:500], created_by=reviewer, request=request
    )
    return tx is not None and not before


@transaction.atomic
def case_decide(
    *,
    case: Case,
    version: int,
    reviewer: User,
    decision: str,
    reason: str = "",
    refund: bool | None = None,
    request: HttpRequest | None = None,
) -> Case:
    """Apply one reviewer decision, as a compare-and-set on ``version``: of two reviewers acting at once exactly one
    wins; the other gets ``AlreadyDecided``. ``refund`` only matters for a takedown (``None``: the policy default)."""
    if not reviewer.is_staff:
        raise ModerationRefused("Only staff review cases.")
    if decision not in Decision.ALL:
        raise ModerationRefused(f"Unknown decision {decision!r}.")
    reason = reason.strip()
    if decision in (Decision.TAKE_DOWN, Decision.ASK_CONTEXT) and not reason:
        raise ModerationRefused(
            "Give a reason: the creator sees it."
            if decision == Decision.TAKE_DOWN
            else "Say what you need to know from the team."
        )
    if case.state == CaseState.APPEALED:
        raise ModerationRefused("This case is an appeal: overturn or uphold it.")
    job = case.job
    if job is not None and not job.is_terminal:
        raise ModerationRefused("The video is still being made; decide when it has finished.")
    if decision == Decision.DISMISS and not case.signals.filter(source=Source.MEMBER_REPORT).exists():
        raise ModerationRefused("Only a member's report can be dismissed; approve or take down a flag.")
    now = timezone.now()
    new_state = {
        Decision.APPROVE: CaseState.APPROVED,
        Decision.TAKE_DOWN: CaseState.TAKEN_DOWN,
        Decision.DISMISS: CaseState.DISMISSED,
        Decision.ASK_CONTEXT: CaseState.CONTEXT_REQUESTED,
    }[decision]
    claim_free = Q(claimed_by__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=reviewer)
    fields: dict[str, Any] = {"state": new_state, "version": version + 1, "updated_at": now}
    if decision == Decision.ASK_CONTEXT:
        fields["context_request"] = reason
    else:
        fields.update(
            decided_by=reviewer,
            decided_at=now,
            decision_reason=reason,
            claimed_by=None,
            claimed_until=None,
            hidden=decision == Decision.TAKE_DOWN,
        )
    changed = (
        Case.objects.filter(pk=case.pk, version=version, state__in=(CaseState.OPEN, CaseState.CONTEXT_REQUESTED))
        .filter(claim_free)
        .update(**fields)
    )
    if changed != 1:
        current = Case.objects.get(pk=case.pk)
        if current.version != version or not current.is_undecided:
            raise AlreadyDecided(
                f"This case was already decided or changed ({current.get_state_display()}); reload it to see it."
            )
        raise ModerationRefused(f"{current.claimed_by} is reviewing this case.")
    old_state = case.state
    case.refresh_from_db()
    outcome = case.charge_outcome
    data: dict[str, Any] = {"decision": decision, "case": case.pk}
    if decision == Decision.TAKE_DOWN and job is not None:
        refund = refund_by_default(case) if refund is None else refund
        if _charge_state(job) == ChargeOutcome.CHARGED:
            outcome = ChargeOutcome.REFUNDED if refund else ChargeOutcome.KEPT
            if refund:
                _refund(case, job, reviewer=reviewer, reason=reason, request=request)
        else:
            outcome = ChargeOutcome.RELEASED
        Strike.objects.create(
            case=case,
            user_id=case.creator_id or job.creator_id,
            team_id=case.team_id,
            reason=reason,
            decided_by=reviewer,
            appeal_until=now + timedelta(days=policy_get().appeal_window_days),
        )
        case.quarantine = _quarantine(job)
        data.update(refund=bool(refund), quarantined=sorted(case.quarantine))
    elif decision == Decision.TAKE_DOWN and case.asset is not None:
        outcome = ChargeOutcome.NONE  # an asset costs no credits
        if case.creator_id is not None:  # the uploader (None once their account is gone: no one to strike)
            Strike.objects.create(
                case=case,
                user_id=case.creator_id,
                team_id=case.team_id,
                reason=reason,
                decided_by=reviewer,
                appeal_until=now + timedelta(days=policy_get().appeal_window_days),
            )
        case.quarantine = _quarantine(case.asset)
        data["quarantined"] = sorted(case.quarantine)
    elif decision in (Decision.APPROVE, Decision.DISMISS):
        outcome = _charge_state(job)
    case.charge_outcome = outcome
    case.save(update_fields=["charge_outcome", "quarantine"])
    data["charge_outcome"] = outcome
    _history(case, action=decision, actor=reviewer, from_state=old_state, reason=reason, data=data)
    audit_record(
        action=AuditAction.MODERATION_DECISION,
        actor=reviewer,
        team=case.team,
        target=case,
        reason=reason,
        request=request,
        data=data,
    )
    _notify(case, _decision_message(case, decision))
    return case


def _decision_message(case: Case, decision: str) -> str:
    what = "Your video" if case.job_id else "Your asset"
    if decision == Decision.APPROVE:
        return f"{what} passed review and is visible to the team again."
    if decision == Decision.DISMISS:
        return f"A report on {what.lower()} was reviewed and dismissed."
    if decision == Decision.ASK_CONTEXT:
        return f"A reviewer asks about {what.lower()}: {case.context_request}"
    money_lines: dict[str, str] = {
        ChargeOutcome.REFUNDED: "Its credits were refunded.",
        ChargeOutcome.KEPT: "Its charge was kept.",
        ChargeOutcome.RELEASED: "No credits were charged.",
    }
    money = money_lines.get(case.charge_outcome, "")
    page = "the video's page" if case.job_id else "the asset's page"
    parts = [f"{what} was taken down: {case.decision_reason}.", money, f"You may appeal from {page}."]
    return " ".join(part for part in parts if part)


@transaction.atomic
def context_reply(*, case: Case, user: User, message: str) -> Case:
    """The team answers a reviewer's question; the case goes back to the queue."""
    access.require_membership(user, case.team_id, Perm.VIEW)
    message = message.strip()
    if not message or len(message) > 2000 or "\x00" in message:
        raise ModerationRefused("Write a reply of at most 2000 characters.")
    changed = Case.objects.filter(pk=case.pk, state=CaseState.CONTEXT_REQUESTED).update(
        state=CaseState.OPEN, context_reply=message, version=F("version") + 1, updated_at=timezone.now()
    )
    if changed != 1:
        raise AlreadyDecided("This case no longer waits for your reply.")
    case.refresh_from_db()
    _history(case, action="context_reply", actor=user, from_state=CaseState.CONTEXT_REQUESTED, reason=message)
    return case


# --- Appeals ------------------------------------------------------------------------------------------------------


@transaction.atomic
def appeal_file(*, strike: Strike, user: User, message: str, request: HttpRequest | None = None) -> Appeal:
    """The creator appeals a takedown: once, within the window. The case returns to the queue as an appeal."""
    if strike.user_id != user.pk:
        raise ModerationRefused(
            "Only the creator may appeal." if strike.case.asset_id else "Only the video's creator may appeal."
        )
    message = message.strip()
    if not message or len(message) > 2000 or "\x00" in message:
        raise ModerationRefused("Tell the reviewers why, in at most 2000 characters.")
    if strike.overturned_at is not None:
        raise ModerationRefused("This decision was already overturned.")
    if timezone.now() > strike.appeal_until:
        raise ModerationRefused(f"The appeal window closed on {strike.appeal_until:%d %b %Y}.")
    if Appeal.objects.filter(strike=strike).exists():
        raise ModerationRefused("This decision was already appealed; each decision can be appealed once.")
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(strike=strike, user=user, message=message)
    except IntegrityError:
        raise ModerationRefused("This decision was already appealed; each decision can be appealed once.") from None
    case = strike.case
    changed = Case.objects.filter(pk=case.pk, state=CaseState.TAKEN_DOWN).update(
        state=CaseState.APPEALED,
        version=F("version") + 1,
        updated_at=timezone.now(),
        claimed_by=None,
        claimed_until=None,
    )
    if changed != 1:
        raise ModerationRefused("This case cannot be appealed now.")
    case.refresh_from_db()
    _history(case, action="appeal", actor=user, from_state=CaseState.TAKEN_DOWN, reason=message)
    audit_record(
        action=AuditAction.MODERATION_APPEAL,
        actor=user,
        team=case.team,
        target=appeal,
        reason=message,
        request=request,
        data={"case": case.pk},
    )
    return appeal


@transaction.atomic
def appeal_decide(
    *,
    case: Case,
    version: int,
    reviewer: User,
    overturn: bool,
    reason: str,
    request: HttpRequest | None = None,
) -> Case:
    """Decide an appeal (compare-and-set like every decision). Overturn: the video comes back from quarantine, the
    strike is lifted and the charge refunded (once per job, whatever refunded it before). Uphold: it stays down."""
    if not reviewer.is_staff:
        raise ModerationRefused("Only staff review cases.")
    reason = reason.strip()
    if not reason:
        raise ModerationRefused("Give a reason: the creator sees it.")
    if _appeal_conflict(case, reviewer):
        raise ModerationRefused("You decided this case; another reviewer should decide the appeal.")
    now = timezone.now()
    new_state = CaseState.APPROVED if overturn else CaseState.TAKEN_DOWN
    claim_free = Q(claimed_by__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=reviewer)
    changed = (
        Case.objects.filter(pk=case.pk, version=version, state=CaseState.APPEALED)
        .filter(claim_free)
        .update(
            state=new_state,
            version=version + 1,
            updated_at=now,
            claimed_by=None,
            claimed_until=None,
            hidden=not overturn,
        )
    )
    if changed != 1:
        raise AlreadyDecided("This appeal was already decided or changed; reload it to see it.")
    case.refresh_from_db()
    strike = case.strike
    appeal = strike.appeal
    Appeal.objects.filter(pk=appeal.pk).update(
        state=AppealState.OVERTURNED if overturn else AppealState.UPHELD,
        decided_by=reviewer,
        decided_at=now,
        decision_reason=reason,
    )
    data: dict[str, Any] = {"overturned": overturn, "case": case.pk}
    if overturn:
        Strike.objects.filter(pk=strike.pk).update(overturned_at=now)
        job = case.job
        if case.asset is not None:
            _restore(case.asset, {k: str(v) for k, v in (case.quarantine or {}).items()})
        if job is not None:
            _restore(job, {k: str(v) for k, v in (case.quarantine or {}).items()})
            if _charge_state(job) == ChargeOutcome.CHARGED:
                _refund(case, job, reviewer=reviewer, reason=f"appeal overturned: {reason}", request=request)
                case.charge_outcome = ChargeOutcome.REFUNDED
        case.quarantine = {}
        case.save(update_fields=["quarantine", "charge_outcome"])
        data["charge_outcome"] = case.charge_outcome
    _history(
        case,
        action="appeal_overturned" if overturn else "appeal_upheld",
        actor=reviewer,
        from_state=CaseState.APPEALED,
        reason=reason,
        data=data,
    )
    audit_record(
        action=AuditAction.MODERATION_APPEAL_DECISION,
        actor=reviewer,
        team=case.team,
        target=appeal,
        reason=reason,
        request=request,
        data=data,
    )
    if overturn and case.asset_id:
        _notify(case, f"Your appeal was accepted: the asset is back in the team's library. {reason}")
    elif overturn:
        _notify(case, f"Your appeal was accepted: the video is back and its credits were refunded. {reason}")
    else:
        _notify(case, f"Your appeal was reviewed and the takedown stands: {reason}")
    return case


def quarantine_purge(*, now: Any = None) -> int:
    """Delete quarantined files whose appeal window has closed with no appeal pending. Returns cases purged."""
    now = now or timezone.now()
    purged = 0
    for case in Case.objects.filter(state=CaseState.TAKEN_DOWN, strike__appeal_until__lt=now).exclude(quarantine={}):
        for name in (case.quarantine or {}).values():
            default_storage.delete(f"quarantine/{name}")
        Case.objects.filter(pk=case.pk).update(quarantine={})
        purged += 1
    return purged


# --- Restrictions -------------------------------------------------------------------------------------------------


def generation_restriction(*, user: User, team: Team | int) -> Restriction | None:
    """The active restriction that stops ``user`` generating in ``team``, if any."""
    team_id = team if isinstance(team, int) else team.pk
    return (
        Restriction.objects.filter(lifted_at__isnull=True)
        .filter(Q(user_id=user.pk) | Q(team_id=team_id))
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def restriction_add(
    *, by: User, reason: str, user: User | None = None, team: Team | None = None, request: HttpRequest | None = None
) -> Restriction:
    if not by.is_staff:
        raise ModerationRefused("Only staff restrict generating.")
    reason = reason.strip()
    if not reason:
        raise ModerationRefused("Give a reason: the creator sees it in the composer.")
    if (user is None) == (team is None):
        raise ModerationRefused("Restrict either a user or a team.")
    restriction = Restriction.objects.create(user=user, team=team, reason=reason, created_by=by)
    audit_record(
        action=AuditAction.RESTRICTION,
        actor=by,
        team=team,
        target=restriction,
        reason=reason,
        request=request,
        data={"restricted": True, "user": user.email if user else "", "team": team.name if team else ""},
    )
    for person in [user] if user is not None else access.members_with(team, Perm.VIEW):  # type: ignore[arg-type]
        notify(user=person, kind="moderation", message=f"Generating is restricted: {reason}"[:500], email=True)
    return restriction


@transaction.atomic
def restriction_lift(*, restriction: Restriction, by: User, request: HttpRequest | None = None) -> None:
    if not by.is_staff:
        raise ModerationRefused("Only staff lift restrictions.")
    changed = Restriction.objects.filter(pk=restriction.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=by
    )
    if changed:
        audit_record(
            action=AuditAction.RESTRICTION,
            actor=by,
            team=restriction.team,
            target=restriction,
            request=request,
            reason=restriction.reason,
            data={"restricted": False},
        )
