"""The account page's API tokens: create (the raw token is shown once, on the answer to the POST), list, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from studio.accounts.models import ApiToken, User
from studio.accounts.services import ApiTokenError, api_token_create, api_token_revoke
from studio.teams import access
from studio.teams.models import Membership, Role

EXPIRY_CHOICES = [("", "Never"), ("7", "In 7 days"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. CI pipeline.")
    team = forms.TypedChoiceField(coerce=int, help_text="The token reaches this team only.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, help_text="At most your own role in the team.")
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")

    def __init__(self, *args: Any, memberships: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedChoiceField, self.fields["team"])
        field.choices = [(m.team_id, f"{m.team.name} (you: {m.get_role_display()})") for m in memberships]

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"])
        if "\x00" in name:
            raise forms.ValidationError("The name contains a NUL character.")
        return name


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


NEW_TOKEN_SESSION_KEY = "accounts:new-api-token"  # noqa: S105 - a session key name, not a secret


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """GET: the form and the user's tokens (plus, once, the token just created). POST: create one and redirect, so
    a reload never creates a second token; the raw value rides in the session for that one GET and is popped."""
    user = _user(request)
    memberships = list(Membership.objects.filter(user=user).select_related("team").order_by("team__name"))
    form = TokenForm(request.POST or None, memberships=memberships)
    if request.method == "POST" and form.is_valid():
        membership = next((m for m in memberships if m.team_id == form.cleaned_data["team"]), None)
        days = form.cleaned_data.get("expires") or ""
        try:
            _token, raw = api_token_create(
                user=user,
                name=form.cleaned_data["name"],
                team=membership.team if membership else None,
                role=form.cleaned_data["role"],
                expires_at=timezone.now() + timedelta(days=int(days)) if days else None,
                request=request,
            )
        except ApiTokenError as exc:
            form.add_error(None, str(exc))
        else:
            request.session[NEW_TOKEN_SESSION_KEY] = raw
            return redirect("accounts:tokens")
    created_raw = "" if request.method == "POST" else str(request.session.pop(NEW_TOKEN_SESSION_KEY, ""))
    tokens = ApiToken.objects.filter(user=user).select_related("team").order_by("-created_at")
    return render(
        request,
        "account/tokens.html",
        {"form": form, "tokens": tokens, "created_raw": created_raw, "now": timezone.now()},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = access.get_api_token_for_user(request.user, pk)
    if api_token_revoke(token=token, actor=_user(request), request=request):
        messages.success(request, f'Token "{token.name}" revoked; it no longer works.')
    return redirect("accounts:tokens")
