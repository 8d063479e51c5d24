"""Billing forms. Validation only; the services in billing.ledger / billing.wallets do the writing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from billing.models import CreditPack
from studio.teams.models import Membership


class BuyForm(forms.Form):
    pack = forms.ModelChoiceField(queryset=CreditPack.objects.none(), empty_label=None)
    target = forms.ChoiceField(choices=[("personal", "My personal wallet")], initial="personal")

    def __init__(self, *args: Any, packs: QuerySet[CreditPack], allow_pool: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pack_field: Any = self.fields["pack"]
        pack_field.queryset = packs
        if allow_pool:
            target: Any = self.fields["target"]
            target.choices = [("personal", "My personal wallet"), ("pool", "The team pool")]


class TeamBillingForm(forms.Form):
    use_pool = forms.BooleanField(required=False, label="Members spend from the team pool")
    monthly_budget = forms.IntegerField(
        required=False, min_value=1, label="Monthly budget (credits)", help_text="Empty = no budget."
    )


class MemberCapForm(forms.Form):
    membership = forms.ModelChoiceField(queryset=Membership.objects.none(), label="Member")
    monthly_cap = forms.IntegerField(
        required=False, min_value=0, label="Monthly cap (credits)", help_text="Empty removes the cap."
    )

    def __init__(self, *args: Any, memberships: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["membership"]
        field.queryset = Membership.objects.filter(pk__in=[m.pk for m in memberships]).select_related("user")
        field.label_from_instance = lambda membership: str(membership.user)


class StaffCreditForm(forms.Form):
    ACTIONS = [("grant", "Grant credits (amount > 0)"), ("adjust", "Adjust / refund credits (amount may be negative)")]

    email = forms.EmailField(required=False, help_text="A user's personal wallet…")
    team_slug = forms.SlugField(required=False, help_text="…or a team's pool (give one of the two).")
    action = forms.ChoiceField(choices=ACTIONS)
    amount = forms.IntegerField()
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        from billing.wallets import personal_wallet, team_wallet
        from studio.accounts.models import User
        from studio.teams.models import Team

        email, slug = data.get("email"), data.get("team_slug")
        if bool(email) == bool(slug):
            raise forms.ValidationError("Give either an email or a team slug.")
        if email:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                raise forms.ValidationError(f"No user {email}.")
            data["wallet"] = personal_wallet(user=user)
        else:
            team = Team.objects.filter(slug=slug).first()
            if team is None:
                raise forms.ValidationError(f"No team {slug}.")
            data["wallet"] = team_wallet(team=team)
        if data.get("action") == "grant" and (data.get("amount") or 0) <= 0:
            self.add_error("amount", "A grant must be positive.")
        if data.get("amount") == 0:
            self.add_error("amount", "The amount cannot be zero.")
        if not (data.get("reason") or "").strip():
            self.add_error("reason", "A reason is required.")
        return data
