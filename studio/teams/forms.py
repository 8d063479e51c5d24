from __future__ import annotations

from typing import Any, cast

from django import forms

from studio.teams.access import assignable_roles
from studio.teams.models import Role


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)


class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = [
            (role.value, role.label) for role in assignable_roles(actor_role)
        ]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = [
            (role.value, role.label) for role in assignable_roles(actor_role)
        ]
