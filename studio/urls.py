"""The URLConf. Every route here is covered by tests/test_access_urls.py: public routes are listed there; every other
route must require login, and object routes must 404 for users of another team."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from studio import files, health, operations, views
from studio.api import api

# The admin has no login form of its own: /admin/login/ sends visitors to allauth's, which carries the login
# throttling, the lockout recovery and MFA (issue 13 finding 3).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("files/<str:token>/", files.serve_signed_file, name="signed-file"),
    # The same, with a cosmetic file name ending the path (providers.md §10: HighwayAPI wants .jpg/.jpeg/.png URLs).
    path("files/<str:token>/<str:filename>", files.serve_signed_file, name="signed-file-named"),
    path("accounts/", include("allauth.urls")),
    path("teams/", include("studio.teams.urls")),
    path("projects/", include("studio.projects.urls")),
    path("assets/", include("studio.assets.urls")),
    path("generations/", include("generations.urls")),
    path("billing/", include("billing.urls")),
    path("notifications/", include("studio.notifications.urls")),
    path("admin/", admin.site.urls),
    path("moderation/", include("studio.moderation.urls")),
    path("audit/", include("studio.audit.urls")),
    path("api/v1/", api.urls),
    path("account/", include("studio.accounts.urls")),
    path("webhooks/", include("studio.webhooks.urls")),
    path("metrics", operations.metrics, name="metrics"),
    path("system/", operations.system_page, name="system"),
]
