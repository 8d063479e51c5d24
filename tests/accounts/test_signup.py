import pytest
from django.core import mail
from django.test import Client

from studio.accounts.models import User
from studio.teams.models import Membership, Role


@pytest.mark.django_db
def test_signup_creates_a_personal_team_owned_by_the_user(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"email": "New.Person@Example.com", "password1": "a-long-unusual-pass", "password2": "a-long-unusual-pass"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.team.is_personal
    assert user.active_team_id == membership.team_id
    assert len(mail.outbox) == 1  # the verification email
    assert "confirm" in mail.outbox[0].body.lower()


@pytest.mark.django_db
def test_login_rotates_the_session_key(client: Client) -> None:
    from tests.factories import PASSWORD, UserFactory

    user = UserFactory(email="rot@example.com")
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(user.pk)
