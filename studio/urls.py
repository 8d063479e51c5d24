"""The URLConf. Every route here is covered by tests/test_access_urls.py: public routes are listed there; every other
route must require login, and object routes must 404 for users of another team."""

from django.contrib import admin
from django.urls import include, path

from studio import health, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
