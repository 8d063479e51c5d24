"""Access test over the whole URLConf (18F/tock style): no route escapes the access rules by being forgotten.

Every route found by walking ``get_resolver()`` is checked:

1. Routes named in ``PUBLIC_ROUTES`` (or served by allauth, whose pages are public by design) are skipped.
2. Every other named route must require login: an anonymous GET (and POST) gets a redirect to the login page
   (the admin's own login for ``admin:``), or 401/403/405 — never a 200.
3. Every route with a URL kwarg is an *object route*: ``OBJECT_ROUTES`` maps its name to a function that creates
   the object in ``world.team`` and returns the kwargs. Charlie (an outsider with a team of his own) must get 404
   (405 for the method the view does not take, 404 for the one it does); a member of ``world.team`` must not get
   404 (so the entry really points at a visible object). Routes whose kwargs are not an object id (signed tokens) go in
   ``NON_OBJECT_ROUTES`` with the name of the test that covers them.

A route with kwargs that is in none of these lists FAILS this test, on purpose.

HOW TO REGISTER YOUR ROUTE (other apps: generations, billing, api, …)
-----------------------------------------------------------------------
- Public (webhooks, health, signed links): add ``"<namespace>:<name>"`` to ``PUBLIC_ROUTES`` with a comment why.
- Takes an object id: add an entry to ``OBJECT_ROUTES``::

      "generations:job-detail": lambda w: {"pk": JobFactory(team=w.team, project=w.project).pk},

  ``w`` is the ``World`` of tests/conftest.py (team, owner, admin, member, viewer, outsider, project, ...). Create the
  object inside ``w.team``; import your factory inside the lambda's module if needed.
- Takes a non-object kwarg (a signed token, a provider name on a staff page, ...): add it to ``NON_OBJECT_ROUTES``
  with the test that covers its access rules.
- Staff-only pages under another namespace: add the namespace to ``STAFF_NAMESPACES``.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter
from django.urls.exceptions import NoReverseMatch
from django.utils import timezone

from tests.assets.images import make_asset, media_root
from tests.conftest import World

__all__ = ["media_root"]

# Routes anyone may call. allauth's own routes are public by design and recognised by their view's module.
PUBLIC_ROUTES: set[str] = {
    "healthz",  # liveness probe
    "readyz",  # readiness probe
    "signed-file",  # the signed, expiring token is the capability (studio/files.py)
    "admin:login",  # the admin's own login page
    "admin:logout",  # logging out of nothing is harmless
    "generations:webhook",  # provider webhooks: verified by signature, only prompt a poll
    "billing:stripe-webhook",  # Stripe: verified by signature
    "signed-file-named",  # signed-file with a cosmetic file name (HighwayAPI wants .png/.jpg URLs)
    "api-v1:api-root",  # django-ninja's URL prefix (a reverse target; answers 404 to everyone)
    "api-v1:openapi-json",  # the REST API's public description (every operation needs a Bearer token)
    "api-v1:openapi-view",  # its interactive docs
    "metrics",  # Prometheus: 404 unless METRICS_TOKEN is set, 401 without it (tests/hardening/test_operations.py)
}

# Namespaces whose pages are for platform staff: anonymous and non-staff users are sent to the admin login.
STAFF_NAMESPACES: set[str] = {"admin"}


def _membership_of(w: World, role_user: Any) -> dict[str, int]:
    return {"pk": w.team.memberships.get(user=role_user).pk}


def _invitation(w: World) -> dict[str, int]:
    from studio.teams.models import Invitation

    invitation = Invitation.objects.create(
        team=w.team, email="new@example.com", invited_by=w.owner, expires_at=timezone.now() + timedelta(days=7)
    )
    return {"pk": invitation.pk}


def _generation_job(w: World) -> dict[str, Any]:
    from tests.generations.factories import job_route_kwargs

    return job_route_kwargs(w)


def _zip_export(w: World) -> dict[str, Any]:
    from generations.models import ZipExport

    # A download belongs to the member who asked for it (the access test's member looks at it).
    return {"pk": ZipExport.objects.create(team=w.team, user=w.member, name="x.zip").pk}


def _notification(w: World) -> dict[str, Any]:
    from studio.notifications.models import Notification

    # A notification is its user's own (the access test's member); anyone else gets 404.
    return {"pk": Notification.objects.create(user=w.member, kind="video_ready", message="x", url="/").pk}


OBJECT_ROUTES: dict[str, Callable[[World], dict[str, Any]]] = {
    "teams:detail": lambda w: {"pk": w.team.pk},
    "teams:switch": lambda w: {"pk": w.team.pk},
    "teams:edit": lambda w: {"pk": w.team.pk},
    "teams:delete": lambda w: {"pk": w.team.pk},
    "teams:require-mfa": lambda w: {"pk": w.team.pk},  # owners only (issue 13, MFA)
    "teams:leave": lambda w: {"pk": w.team.pk},
    "teams:invite": lambda w: {"pk": w.team.pk},
    "teams:revoke-invitation": _invitation,
    "teams:member-role": lambda w: _membership_of(w, w.viewer),
    "teams:member-remove": lambda w: _membership_of(w, w.viewer),
    "projects:detail": lambda w: {"pk": w.project.pk},
    "projects:edit": lambda w: {"pk": w.project.pk},
    "projects:archive": lambda w: {"pk": w.project.pk},
    "projects:restore": lambda w: {"pk": w.project.pk},
    "assets:detail": lambda w: {"pk": make_asset(w.team, w.owner).pk},
    "assets:edit": lambda w: {"pk": make_asset(w.team, w.owner).pk},
    "assets:delete": lambda w: {"pk": make_asset(w.team, w.owner).pk},
    "assets:retire": lambda w: {"pk": make_asset(w.team, w.owner).pk},
    # billing (team-scoped pages; the same names also exist without a team id, for the active team)
    "billing:wallet": lambda w: {"team_id": w.team.pk},
    "billing:usage": lambda w: {"team_id": w.team.pk},
    "billing:buy": lambda w: {"team_id": w.team.pk},
    "billing:team-settings": lambda w: {"team_id": w.team.pk},
    # generations: project-scoped pages (job pages are registered by the pipeline with its own factory)
    "generations:compose": lambda w: {"project_pk": w.project.pk},
    "generations:quote": lambda w: {"project_pk": w.project.pk},
    "generations:library": lambda w: {"project_pk": w.project.pk},
    "generations:picker": lambda w: {"project_pk": w.project.pk},
    # generations: job pages (registered by the pipeline)
    "generations:job": _generation_job,
    "generations:job-status": _generation_job,
    "generations:cancel": _generation_job,
    "generations:retry": _generation_job,
    "generations:remix": _generation_job,
    # moderation: what members do (report a video, answer a reviewer, appeal a takedown)
    "moderation:report": _generation_job,
    "moderation:report-asset": lambda w: {"pk": make_asset(w.team, w.owner).pk},
    "moderation:reply": lambda w: {"pk": _moderation_case(w).pk},
    "moderation:appeal": lambda w: {"pk": _strike(w).pk},
    # audit: a team's log and its CSV (owners and admins; members 403, outsiders 404)
    "audit:team": lambda w: {"team_id": w.team.pk},
    "audit:team-csv": lambda w: {"team_id": w.team.pk},
    # studio (issue 10): library, downloads, notifications, assets
    "generations:delete": _generation_job,
    "generations:export": lambda w: _zip_export(w),
    "notifications:read": lambda w: _notification(w),
    "notifications:open": lambda w: _notification(w),
}


def _moderation_case(w: World) -> Any:
    from studio.moderation.models import Source
    from studio.moderation.services import signal_add
    from tests.generations.factories import GenerationJobFactory

    job = GenerationJobFactory(project=w.project, creator=w.member, state="succeeded")
    return signal_add(job=job, source=Source.MEMBER_REPORT, detail="x", reporter=w.owner)


def _strike(w: World) -> Any:
    from studio.moderation.models import Strike

    case = _moderation_case(w)
    return Strike.objects.create(
        case=case, user=w.member, team=w.team, reason="x", appeal_until=timezone.now() + timedelta(days=1)
    )


def _restriction(w: World) -> dict[str, int]:
    from studio.moderation.models import Restriction

    return {"pk": Restriction.objects.create(user=w.member, reason="x").pk}


# Platform-staff pages outside the admin (review queue, staff money, the all-teams audit log): everyone who is not
# staff gets 404, whatever their role; staff do not. Name -> kwargs (None when the route takes none).
STAFF_ROUTES: dict[str, Callable[[World], dict[str, Any]] | None] = {
    "moderation:queue": None,
    "moderation:bulk": None,
    "moderation:case": lambda w: {"pk": _moderation_case(w).pk},
    "moderation:claim": lambda w: {"pk": _moderation_case(w).pk},
    "moderation:decide": lambda w: {"pk": _moderation_case(w).pk},
    "moderation:decide-appeal": lambda w: {"pk": _moderation_case(w).pk},
    "moderation:terms": None,
    "moderation:policy": None,
    "moderation:restrictions": None,
    "moderation:restriction-lift": _restriction,
    "audit:log": None,
    "audit:log-csv": None,
    "billing:staff-money": None,
    "billing:staff-grant": None,
    "billing:staff-unfreeze": None,
    "billing:staff-refund": None,
}

NON_OBJECT_ROUTES: dict[str, str] = {
    "teams:accept-invitation": "signed token; tests/teams/test_invitations.py",
}


def _api_token(w: World) -> dict[str, int]:
    from studio.accounts.services import api_token_create

    token, _ = api_token_create(user=w.member, team=w.team, name="access test")
    return {"pk": token.pk}


def _webhook_endpoint(w: World) -> Any:
    from studio.webhooks.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        team=w.team, url="https://hooks.example.com/in", event_types=["generation.succeeded"], secret="whsec_dGVzdA=="
    )


def _webhook_delivery(w: World) -> dict[str, int]:
    from studio.webhooks.models import WebhookDelivery, WebhookMessage

    endpoint = _webhook_endpoint(w)
    message = WebhookMessage.objects.create(team=w.team, event_type="generation.succeeded", payload={"data": {}})
    return {"pk": WebhookDelivery.objects.create(endpoint=endpoint, message=message).pk}


# API tokens (the user's own; anyone else's is 404) and the team's outgoing webhooks (admins; outsiders 404).
OBJECT_ROUTES.update(
    {
        "accounts:token-revoke": _api_token,
        "webhooks:list": lambda w: {"team_id": w.team.pk},
        "webhooks:detail": lambda w: {"pk": _webhook_endpoint(w).pk},
        "webhooks:rotate": lambda w: {"pk": _webhook_endpoint(w).pk},
        "webhooks:test": lambda w: {"pk": _webhook_endpoint(w).pk},
        "webhooks:delete": lambda w: {"pk": _webhook_endpoint(w).pk},
        "webhooks:resend": _webhook_delivery,
    }
)

# The REST API authenticates by Bearer token only (a session is not enough: anonymous and session users get 401), so
# its object routes are checked with tokens: every one answers 404 to another team's token in
# tests/api/test_contract.py::test_outsiders_get_404_for_every_object_route.
_API_OUTSIDERS = "Bearer-token API; tests/api/test_contract.py::test_outsiders_get_404_for_every_object_route"
NON_OBJECT_ROUTES.update(
    {
        name: _API_OUTSIDERS
        for name in (
            "api-v1:asset_get",
            "api-v1:asset_patch",
            "api-v1:asset_retire",
            "api-v1:project_get",
            "api-v1:project_archive_view",
            "api-v1:generation_get",
            "api-v1:generation_cancel_view",
            "api-v1:generation_remix",
            "api-v1:generation_download",
        )
    }
)


# --- Walking the URLConf ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or "" for an unnamed route
    namespace: str
    pattern: str
    module: str
    kwarg_names: tuple[str, ...]
    converters: tuple[tuple[str, Any], ...]

    def __str__(self) -> str:
        return self.name or f"<unnamed {self.pattern}>"


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = "", kwargs: tuple[str, ...] = (), converters: Any = None
) -> Iterator[Route]:
    converters = converters or {}
    for entry in patterns:
        found = {**converters, **getattr(entry.pattern, "converters", {})}
        names = kwargs + tuple(n for n in entry.pattern.regex.groupindex if n not in kwargs)
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from _walk(entry.url_patterns, pattern, ns, names, found)
        elif isinstance(entry, URLPattern):
            callback = entry.callback
            view_class = getattr(callback, "view_class", None)
            module = (view_class or callback).__module__ or ""
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            yield Route(name, namespace, pattern, module, names, tuple(found.items()))


ROUTES = sorted(_walk(get_resolver().url_patterns), key=lambda r: (r.name, r.pattern))


def _is_public(route: Route) -> bool:
    return route.name in PUBLIC_ROUTES or route.module.startswith("allauth.")


def _candidates(route: Route, kwarg: str) -> list[str]:
    converter = dict(route.converters).get(kwarg)
    if isinstance(converter, IntConverter):
        return ["1"]
    if isinstance(converter, UUIDConverter):
        return [str(uuid.uuid4())]
    if converter is not None:
        return ["x1"]
    alternation = re.search(rf"\(\?P<{kwarg}>([\w|]+)\)", route.pattern)
    first = alternation.group(1).split("|")[0] if alternation else "1"
    return [first, "1", "x1"]


def _dummy_url(route: Route) -> str:
    options = [_candidates(route, kwarg) for kwarg in route.kwarg_names]
    for values in itertools.product(*options):
        try:
            return reverse(route.name, kwargs=dict(zip(route.kwarg_names, values, strict=True)))
        except NoReverseMatch:
            continue
    raise AssertionError(f"Cannot build a URL for {route} ({route.pattern}); teach _candidates its kwargs.")


PROTECTED = [r for r in ROUTES if r.name and not _is_public(r)]
STAFF_ONLY = [r for r in PROTECTED if r.namespace in STAFF_NAMESPACES]
WITH_KWARGS = [r for r in PROTECTED if r.kwarg_names and r.namespace not in STAFF_NAMESPACES]


# --- The checks -----------------------------------------------------------------------------------------------------


def test_every_route_is_named_or_belongs_to_a_known_app() -> None:
    unnamed = [r for r in ROUTES if not r.name and not r.module.startswith("allauth.")]
    unnamed = [r for r in unnamed if r.namespace not in STAFF_NAMESPACES]  # the admin's redirects and catch-all
    unnamed = [r for r in unnamed if not r.pattern.startswith("accounts/social/")]  # allauth's legacy redirects
    assert not unnamed, f"Give these routes a name so the access test can check them: {[r.pattern for r in unnamed]}"


def test_every_route_with_kwargs_is_registered() -> None:
    missing = [
        r.name
        for r in WITH_KWARGS
        if r.name not in OBJECT_ROUTES and r.name not in NON_OBJECT_ROUTES and r.name not in STAFF_ROUTES
    ]
    assert not missing, (
        f"New routes with URL kwargs are not registered in tests/test_access_urls.py: {missing}. Add each to "
        "OBJECT_ROUTES (name -> lambda w: kwargs of an object created in w.team) or, if the kwarg is not an object "
        "id, to NON_OBJECT_ROUTES with the test that covers it. See the docstring at the top of that file."
    )


def test_registered_object_routes_exist() -> None:
    names = {r.name for r in ROUTES}
    stale = sorted(set(OBJECT_ROUTES) - names)
    assert not stale, f"OBJECT_ROUTES lists routes that no longer exist: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize("route", PROTECTED, ids=str)
def test_anonymous_users_cannot_use_protected_routes(client: Any, route: Route) -> None:
    url = _dummy_url(route)
    login_urls = [resolve_url(settings.LOGIN_URL)]
    if route.namespace in STAFF_NAMESPACES:
        login_urls = [reverse("admin:login")]
    if route.name in NON_OBJECT_ROUTES:
        login_urls.append(reverse("account_signup"))
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if response.status_code == 302:
            assert response["Location"].startswith(tuple(login_urls)), (
                f"anonymous {method.upper()} {url} ({route}) redirects to {response['Location']}, not to login"
            )
        else:
            assert response.status_code in (401, 403, 405), (
                f"anonymous {method.upper()} {url} ({route}) answered {response.status_code}; it must require login "
                "(or be listed in PUBLIC_ROUTES)"
            )


@pytest.mark.django_db
@pytest.mark.parametrize("route", STAFF_ONLY, ids=str)
def test_logged_in_non_staff_users_get_no_staff_pages(world: World, route: Route) -> None:
    response = world.client_for(world.owner).get(_dummy_url(route))
    assert response.status_code in (302, 403, 404), f"{route} answered {response.status_code} to a non-staff user"
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(OBJECT_ROUTES))
def test_users_of_another_team_get_404_on_object_routes(world: World, media_root: Any, name: str) -> None:
    kwargs = OBJECT_ROUTES[name](world)
    url = reverse(name, kwargs=kwargs)

    outsider = world.client_for(world.outsider)
    statuses = {
        "GET": outsider.get(url).status_code,
        "POST": outsider.post(url, {"role": "owner", "name": "x", "email": "x@example.com"}).status_code,
    }
    # 405 is allowed for the method a view does not take (it reveals nothing); the method it takes must 404.
    assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), (
        f"outsider got {statuses} from {url} ({name}); a user of another team must get 404"
    )

    member_status = world.client_for(world.member).get(url).status_code
    assert member_status != 404, f"a member of the team gets 404 on {url} ({name}); the registry entry is wrong"


def test_every_moderation_and_audit_route_is_registered() -> None:
    """Moderation and audit pages are either a member's object route or a staff route: none is forgotten."""
    names = {r.name for r in ROUTES if r.namespace in ("moderation", "audit")}
    assert names, "the moderation and audit URLConfs are mounted"
    unregistered = sorted(names - set(OBJECT_ROUTES) - set(STAFF_ROUTES))
    assert not unregistered, f"register these in OBJECT_ROUTES or STAFF_ROUTES: {unregistered}"
    assert not set(STAFF_ROUTES) - {r.name for r in ROUTES}, "STAFF_ROUTES lists routes that no longer exist"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(STAFF_ROUTES))
def test_staff_routes_are_404_for_everyone_but_staff(world: World, media_root: Any, name: str) -> None:
    from tests.factories import UserFactory

    make_kwargs = STAFF_ROUTES[name]
    url = reverse(name, kwargs=make_kwargs(world) if make_kwargs else None)
    for user in (world.owner, world.admin, world.member, world.outsider):
        client = world.client_for(user)
        statuses = {"GET": client.get(url).status_code, "POST": client.post(url, {"reason": "x"}).status_code}
        assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), (
            f"{user.email} got {statuses} from {url} ({name}); non-staff must get 404"
        )
    staff = world.client_for(UserFactory(email="staff@example.com", is_staff=True))
    assert {staff.get(url).status_code, staff.post(url, {"reason": "x"}).status_code} - {404, 405}, (
        f"staff get 404 from {url} ({name}); the registry entry is wrong"
    )
