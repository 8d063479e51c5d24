"""Staff money pages: find a team or user by name and grant credits, unfreeze a disputed wallet, refund a job.

Every action is a ``billing.ledger`` call (grant, ``wallet_unfreeze``, ``job_refund``), which also writes the audit
row. Staff only: everyone else gets 404 (``studio.teams.access.require_staff``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from billing import ledger
from billing.errors import BillingError
from billing.models import HoldState, Wallet
from billing.wallets import personal_wallet, team_wallet
from studio.teams import access


class GrantForm(forms.Form):
    wallet = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.IntegerField(min_value=1, max_value=10_000_000)
    reason = forms.CharField(max_length=500)

    def clean_reason(self) -> str:
        value = str(self.cleaned_data["reason"])
        if "\x00" in value or not value.strip():
            raise forms.ValidationError("A plain-text reason is required.")
        return value.strip()


def _search(query: str) -> list[Wallet]:
    """Wallets whose owner matches ``query``: users by email or name, teams by name or slug (at most 20 each)."""
    from studio.accounts.models import User
    from studio.teams.models import Team

    if not query:
        return []
    users = User.objects.filter(Q(email__icontains=query) | Q(name__icontains=query)).order_by("email")[:20]
    teams = Team.objects.filter(Q(name__icontains=query) | Q(slug__icontains=query)).order_by("name")[:20]
    return [personal_wallet(user=user) for user in users] + [team_wallet(team=team) for team in teams]


@login_required
def money(request: HttpRequest) -> HttpResponse:
    access.require_staff(request.user)
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    context: dict[str, Any] = {
        "query": query,
        "wallets": _search(query),
        "frozen": Wallet.objects.filter(frozen=True).select_related("user", "team")[:50],
    }
    return render(request, "billing/staff_money.html", context)


@login_required
@require_POST
def grant(request: HttpRequest) -> HttpResponse:
    staff = access.require_staff(request.user)
    form = GrantForm(request.POST)
    raw = str(request.POST.get("wallet", ""))
    target = Wallet.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if not form.is_valid() or target is None:
        errors = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()) or "No such wallet."
        messages.error(request, f"Nothing granted — {errors}")
    else:
        ledger.grant(
            wallet=target,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            created_by=staff,
            request=request,
        )
        target.refresh_from_db()
        messages.success(
            request, f"Granted {form.cleaned_data['amount']} credits. {target.label} now has {target.balance} credits."
        )
    return redirect(f"{request.path.rsplit('grant/', 1)[0]}?q={request.POST.get('q', '')}")


@login_required
@require_POST
def unfreeze(request: HttpRequest) -> HttpResponse:
    staff = access.require_staff(request.user)
    raw = request.POST.get("wallet", "")
    target = Wallet.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    reason = request.POST.get("reason", "").replace("\x00", "").strip()[:500]
    if target is None:
        messages.error(request, "No such wallet.")
    elif not target.frozen:
        messages.info(request, f"{target.label} is not frozen.")
    elif not reason:
        messages.error(request, "Give a reason to unfreeze.")
    else:
        ledger.wallet_unfreeze(wallet=target, reason=reason, by=staff, request=request)
        debt = f" It still owes {target.debt} credits, which block spending until paid." if target.debt else ""
        messages.success(request, f"{target.label} is unfrozen.{debt}")
    return redirect("billing:staff-money")


@login_required
def refund(request: HttpRequest) -> HttpResponse:
    """Find a job by id and refund its charge (once per job, whoever refunds it)."""
    staff = access.require_staff(request.user)
    from generations.models import GenerationJob

    raw = (request.POST.get("job") or request.GET.get("job") or "").strip()
    job = None
    if raw:
        try:
            job = GenerationJob.objects.select_related("hold", "team", "creator").filter(pk=uuid.UUID(raw)).first()
        except ValueError:
            job = None
        if job is None:
            messages.error(request, "No job with that id.")
    refunded = ledger.job_refunded_amount(job.hold) if job is not None and job.hold is not None else 0
    if request.method == "POST" and job is not None:
        reason = request.POST.get("reason", "").replace("\x00", "").strip()[:500]
        if not reason:
            messages.error(request, "Give a reason for the refund.")
        elif job.hold is None or job.hold.state != HoldState.CAPTURED or not job.hold.captured_amount:
            messages.error(request, "This job was not charged; there is nothing to refund.")
        elif refunded:
            messages.info(request, f"This job was already refunded ({refunded} credits).")
        else:
            try:
                ledger.job_refund(hold=job.hold, reason=reason, created_by=staff, request=request)
            except (BillingError, ValueError) as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"Refunded {job.hold.captured_amount} credits for job {job.pk}.")
        return redirect(f"{request.path}?job={job.pk}")
    return render(request, "billing/staff_refund.html", {"job": job, "query": raw, "refunded": refunded})
