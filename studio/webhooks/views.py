"""Team settings → Webhooks: register endpoints, see each one's delivery log, send a test event, resend, rotate the
secret. Team admins only (``Perm.MANAGE_WEBHOOKS``); every object comes through ``studio.teams.access``."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studio.accounts.models import User
from studio.teams import access
from studio.teams.access import Perm
from studio.webhooks import services
from studio.webhooks.models import EventType, WebhookEndpoint


class EndpointForm(forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="A public https:// URL.")
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple, initial=[EventType.GENERATION_SUCCEEDED]
    )


class EndpointEditForm(forms.Form):
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)
    enabled = forms.BooleanField(required=False)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _no_nul(data: Any) -> bool:
    return not any("\x00" in value for values in data.lists() for value in values[1]) if data else True


@login_required
def endpoint_list(request: HttpRequest, team_id: int) -> HttpResponse:
    team = access.get_team_for_user(request.user, team_id, Perm.MANAGE_WEBHOOKS)
    form = EndpointForm(request.POST or None)
    if request.method == "POST":
        if _no_nul(request.POST) and form.is_valid():
            try:
                endpoint = services.endpoint_create(
                    team=team,
                    actor=_user(request),
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["event_types"],
                    description=form.cleaned_data["description"],
                    request=request,
                )
            except services.WebhookError as exc:
                form.add_error("url", str(exc))
            else:
                messages.success(request, "Endpoint added. Copy its signing secret below to verify our signatures.")
                return redirect("webhooks:detail", pk=endpoint.pk)
        elif not _no_nul(request.POST):
            form.add_error(None, "The form contains a NUL character.")
    endpoints = WebhookEndpoint.objects.filter(team=team).order_by("created_at")
    status = 400 if form.errors else 200
    return render(request, "webhooks/list.html", {"team": team, "form": form, "endpoints": endpoints}, status=status)


@login_required
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access.get_webhook_endpoint_for_user(request.user, pk)
    initial = {"description": endpoint.description, "event_types": endpoint.event_types, "enabled": endpoint.is_enabled}
    form = EndpointEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and _no_nul(request.POST) and form.is_valid():
        try:
            services.endpoint_update(
                endpoint=endpoint,
                actor=_user(request),
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
                enabled=form.cleaned_data["enabled"],
                request=request,
            )
        except services.WebhookError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:detail", pk=endpoint.pk)
    deliveries = endpoint.deliveries.select_related("message").prefetch_related("attempt_log")
    page = Paginator(deliveries.order_by("-created_at", "-pk"), 25).get_page(request.GET.get("page"))
    status = 400 if form.errors else 200
    return render(
        request,
        "webhooks/detail.html",
        {"endpoint": endpoint, "team": endpoint.team, "form": form, "page": page},
        status=status,
    )


@login_required
@require_POST
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access.get_webhook_endpoint_for_user(request.user, pk)
    services.endpoint_rotate_secret(endpoint=endpoint, actor=_user(request), request=request)
    messages.success(request, "New secret created. The old one keeps signing beside it for the overlap period.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@login_required
@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access.get_webhook_endpoint_for_user(request.user, pk)
    services.endpoint_send_test(endpoint=endpoint)
    messages.success(request, "Test event queued; it appears in the delivery log below.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@login_required
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access.get_webhook_endpoint_for_user(request.user, pk)
    if request.method == "POST":
        team_id = endpoint.team_id
        services.endpoint_delete(endpoint=endpoint, actor=_user(request), request=request)
        messages.success(request, "Endpoint deleted.")
        return redirect("webhooks:list", team_id=team_id)
    return render(request, "webhooks/delete.html", {"endpoint": endpoint, "team": endpoint.team})


@login_required
@require_POST
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = access.get_webhook_delivery_for_user(request.user, pk)
    services.delivery_resend(delivery=delivery)
    messages.success(request, "Resend queued (same webhook-id, so your receiver can de-duplicate).")
    return redirect("webhooks:detail", pk=delivery.endpoint_id)
