"""Billing pages and the Stripe webhook. Access goes through ``studio.teams.access`` only:

- wallet, usage, buy: any member of the team (404 to outsiders). The team pool's balance and history and the whole
  team's usage need Perm.VIEW_BILLING; otherwise members see their personal wallet and their own usage.
- buying for the team pool, the pool setting, caps and budget: Perm.MANAGE_BILLING (403 otherwise).
- staff pages: ``is_staff`` (404 to everyone else).
Pages without a team id work on the user's active team.
"""

from __future__ import annotations

import csv
import logging
import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import ledger, stripe_gateway
from billing.errors import BillingError
from billing.forms import BuyForm, MemberCapForm, StaffCreditForm, TeamBillingForm
from billing.models import CreditPack, EventStatus, MemberCap, Purchase, StripeEvent, Wallet
from billing.purchases import checkout_start, fulfil_checkout, stripe_delivery_receive
from billing.reconcile import reconcile
from billing.selectors import USAGE_CSV_HEADER, month_totals, open_holds, usage_csv_row, usage_rows, wallet_history
from billing.wallets import (
    cap_status,
    member_cap_set,
    personal_wallet,
    team_billing,
    team_billing_update,
    team_uses_pool,
    team_wallet,
    wallet_for_spending,
)
from studio.accounts.models import User
from studio.teams.access import Perm, can, may_see_wallet, request_user, require_active_membership, require_membership
from studio.teams.models import Membership

logger = logging.getLogger(__name__)


def _membership(request: HttpRequest, team_id: int | None, perm: Perm = Perm.VIEW) -> Membership:
    if team_id is None:
        return require_active_membership(request, perm)
    return require_membership(request.user, team_id, perm)


def _user(request: HttpRequest) -> User:
    return request_user(request)


def _pool_visible(membership: Membership) -> bool:
    return not membership.team.is_personal and can(membership.user, membership.team, Perm.VIEW_BILLING)


@login_required
def wallet_page(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    membership = _membership(request, team_id)
    team, user = membership.team, _user(request)
    show = request.GET.get("wallet", "")
    pool_visible = _pool_visible(membership)
    uses_pool = team_uses_pool(team=team)
    if show == "pool":
        if team.is_personal:
            raise Http404("A personal team has no pool.")
        require_membership(user, team, Perm.VIEW_BILLING)
        wallet = team_wallet(team=team)
    elif show == "personal" or not (uses_pool and pool_visible):
        wallet = personal_wallet(user=user)
    else:
        wallet = team_wallet(team=team)
    spending = wallet_for_spending(user=user, team=team)
    page = Paginator(wallet_history(wallet=wallet), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/wallet.html",
        {
            "team": team,
            "wallet": wallet,
            "spending_wallet": spending,
            "caps": cap_status(wallet=spending, user=user, team=team),
            "pool_visible": pool_visible,
            "uses_pool": uses_pool,
            "holds": open_holds(wallet=wallet),
            "page": page,
            "can_manage": can(user, team, Perm.MANAGE_BILLING),
        },
    )


@login_required
def usage_page(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    membership = _membership(request, team_id)
    team, user = membership.team, _user(request)
    whole_team = can(user, team, Perm.VIEW_BILLING)
    rows = usage_rows(team=team, user=None if whole_team else user)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="usage-{team.slug}.csv"'
        writer = csv.writer(response)
        writer.writerow(USAGE_CSV_HEADER)
        writer.writerows(usage_csv_row(r) for r in rows)
        return response
    months = month_totals(rows)
    return render(
        request,
        "billing/usage.html",
        {
            "team": team,
            "rows": rows,
            "months": months,
            "chart_width": 100 * max(1, len(months)),
            "whole_team": whole_team,
        },
    )


@login_required
def buy_page(request: HttpRequest, team_id: int | None = None) -> HttpResponseBase:
    membership = _membership(request, team_id)
    team, user = membership.team, _user(request)
    can_buy_pool = not team.is_personal and can(user, team, Perm.MANAGE_BILLING)
    packs = CreditPack.objects.filter(active=True)
    configured = stripe_gateway.is_configured()
    form = BuyForm(request.POST or None, packs=packs, allow_pool=not team.is_personal)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["target"] == "pool":
            require_membership(user, team, Perm.MANAGE_BILLING)
            wallet = team_wallet(team=team)
        else:
            wallet = personal_wallet(user=user)
        if not configured:
            messages.error(request, "Purchasing is not configured on this server; staff can grant credits.")
            return redirect(request.path)
        success = request.build_absolute_uri(reverse("billing:buy-success")) + "?session_id={CHECKOUT_SESSION_ID}"
        try:
            session = checkout_start(
                wallet=wallet,
                pack=form.cleaned_data["pack"],
                user=user,
                success_url=success,
                cancel_url=request.build_absolute_uri(request.path),
            )
        except (BillingError, stripe_gateway.GatewayError, ValueError) as exc:
            messages.error(request, str(exc))
            return redirect(request.path)
        return redirect(session.url, permanent=False)
    return render(
        request,
        "billing/buy.html",
        {"team": team, "packs": packs, "form": form, "configured": configured, "can_buy_pool": can_buy_pool},
    )


@login_required
def buy_success(request: HttpRequest) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    if not _SESSION_ID.fullmatch(session_id):
        return HttpResponse("session_id must be a Stripe Checkout Session id.", status=400, content_type="text/plain")
    purchase = Purchase.objects.select_related("wallet").filter(session_id=session_id).first()
    if purchase is None or not may_see_wallet(_user(request), purchase.wallet):
        raise Http404("No such purchase.")
    if not stripe_gateway.is_configured():
        messages.error(request, "Purchasing is not configured on this server, so the payment cannot be confirmed.")
        return render(request, "billing/buy_success.html", {"purchase": purchase}, status=400)
    try:
        purchase = fulfil_checkout(session_id=session_id) or purchase
    except stripe_gateway.GatewayError as exc:
        messages.warning(request, f"We could not confirm the payment yet ({exc}); credits arrive when Stripe tells us.")
    return render(request, "billing/buy_success.html", {"purchase": purchase})


# Stripe's ids are short ASCII tokens (cs_test_a1B2…); anything else cannot be one of our sessions.
_SESSION_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


@login_required
def team_settings_page(request: HttpRequest, team_id: int) -> HttpResponseBase:
    membership = require_membership(request.user, team_id, Perm.VIEW_BILLING)
    team = membership.team
    if team.is_personal:
        raise Http404("A personal team has no pool settings.")
    settings_row = team_billing(team=team)
    memberships = list(Membership.objects.filter(team=team).select_related("user").order_by("created_at"))
    caps = dict(MemberCap.objects.filter(membership__team=team).values_list("membership_id", "monthly_cap"))
    form = TeamBillingForm(
        request.POST or None,
        initial={"use_pool": settings_row.use_pool, "monthly_budget": settings_row.monthly_budget},
    )
    cap_form = MemberCapForm(request.POST or None, memberships=memberships)
    if request.method == "POST":
        require_membership(request.user, team, Perm.MANAGE_BILLING)
        if request.POST.get("action") == "cap":
            if cap_form.is_valid():
                member_cap_set(
                    membership=cap_form.cleaned_data["membership"], monthly_cap=cap_form.cleaned_data["monthly_cap"]
                )
                messages.success(request, "Cap saved.")
                return redirect(request.path)
        elif form.is_valid():
            team_billing_update(
                team=team, use_pool=form.cleaned_data["use_pool"], monthly_budget=form.cleaned_data["monthly_budget"]
            )
            messages.success(request, "Team billing saved.")
            return redirect(request.path)
    rows = [(m, caps.get(m.pk)) for m in memberships]
    return render(
        request,
        "billing/team_settings.html",
        {
            "team": team,
            "form": form,
            "cap_form": cap_form,
            "rows": rows,
            "can_manage": can(request.user, team, Perm.MANAGE_BILLING),
        },
    )


# --- Stripe webhook ------------------------------------------------------------------------------------------------

_STORED_HEADERS = ("Stripe-Signature", "Content-Type", "User-Agent", "Content-Length")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify the delivery's signature on the raw body, then store and process it. 413 for a body over
    STRIPE_WEBHOOK_MAX_BYTES; 400 for anything not signed by Stripe (only a capped record of it is kept); 500 when
    processing failed (Stripe retries); 200 otherwise."""
    limit = settings.STRIPE_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return HttpResponse("Invalid Content-Length", status=400, content_type="text/plain")
    # Refused before the body is read: a Stripe event is a few kilobytes, never STRIPE_WEBHOOK_MAX_BYTES.
    if declared > limit:
        return HttpResponse(f"Body larger than {limit} bytes", status=413, content_type="text/plain")
    body = request.read(limit + 1)
    if len(body) > limit:
        return HttpResponse(f"Body larger than {limit} bytes", status=413, content_type="text/plain")
    headers = {h: request.headers[h] for h in _STORED_HEADERS if h in request.headers}
    status = stripe_delivery_receive(body=body, headers=headers)
    if status == EventStatus.INVALID:
        return HttpResponse("Invalid signature", status=400, content_type="text/plain")
    if status == EventStatus.FAILED:
        return HttpResponse("Processing failed", status=500, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


# --- Staff ------------------------------------------------------------------------------------------------------------


def _require_staff(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_staff:
        raise Http404("Not found.")
    return user


@login_required
def staff_credit(request: HttpRequest) -> HttpResponseBase:
    staff = _require_staff(request)
    form = StaffCreditForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wallet: Wallet = form.cleaned_data["wallet"]
        amount: int = form.cleaned_data["amount"]
        reason: str = form.cleaned_data["reason"]
        try:
            if form.cleaned_data["action"] == "grant":
                ledger.grant(wallet=wallet, amount=amount, reason=reason, created_by=staff)
            else:
                ledger.adjust(wallet=wallet, amount=amount, reason=reason, created_by=staff)
        except (BillingError, ValueError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Done: {wallet.label} now has {wallet.balance} credits.")
            return redirect("billing:staff-credit")
    return render(request, "billing/staff_credit.html", {"form": form})


@login_required
def staff_reconcile(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    report = reconcile()
    events = StripeEvent.objects.exclude(status__in=[EventStatus.PROCESSED, EventStatus.IGNORED])[:50]
    context: dict[str, Any] = {"report": report, "events": events}
    return render(request, "billing/staff_reconcile.html", context)
