from __future__ import annotations

from typing import Any

from django import forms

from studio.moderation.models import Policy, ScreenTerm
from studio.moderation.policy import POLICY_FIELDS


def _plain(value: str) -> str:
    if "\x00" in value:
        raise forms.ValidationError("Plain text only.")
    return value.strip()


class ScreenTermForm(forms.ModelForm[ScreenTerm]):
    class Meta:
        model = ScreenTerm
        fields = ("term", "action", "reason")

    def clean_term(self) -> str:
        term = _plain(self.cleaned_data["term"])
        if not term:
            raise forms.ValidationError("Give a word or phrase.")
        return term.lower()


class PolicyForm(forms.ModelForm[Policy]):
    class Meta:
        model = Policy
        fields = POLICY_FIELDS
        labels = {
            "hide_until_reviewed": "Hide flagged videos from the team until reviewed",
            "refund_provider_flagged": "Takedown refunds by default when a provider or the pre-screen flagged it",
            "refund_member_reported": "Takedown refunds by default when only members reported it",
            "appeal_window_days": "Appeal window (days)",
            "claim_minutes": "A reviewer's claim lasts (minutes)",
        }

    def clean_appeal_window_days(self) -> int:
        value = int(self.cleaned_data["appeal_window_days"])
        if not 1 <= value <= 365:
            raise forms.ValidationError("Between 1 and 365 days.")
        return value

    def clean_claim_minutes(self) -> int:
        value = int(self.cleaned_data["claim_minutes"])
        if not 1 <= value <= 24 * 60:
            raise forms.ValidationError("Between 1 minute and 24 hours.")
        return value


class RestrictionForm(forms.Form):
    email = forms.EmailField(required=False, label="User (email)")
    team = forms.CharField(required=False, max_length=100, label="…or team (name)")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        from studio.accounts.models import User
        from studio.teams.models import Team

        data = super().clean() or {}
        email, team_name = data.get("email"), _plain(data.get("team") or "")
        if bool(email) == bool(team_name):
            raise forms.ValidationError("Give either a user's email or a team's name.")
        if email:
            data["user_obj"] = User.objects.filter(email__iexact=email).first()
            if data["user_obj"] is None:
                self.add_error("email", f"No user {email}.")
        else:
            teams = list(Team.objects.filter(name__iexact=team_name)[:2])
            if len(teams) != 1:
                self.add_error("team", "No team by that name." if not teams else "Several teams have that name.")
            else:
                data["team_obj"] = teams[0]
        data["reason"] = _plain(data.get("reason") or "")
        if not data["reason"]:
            self.add_error("reason", "A reason is required: the creator sees it.")
        return data
