from django.urls import URLPattern, URLResolver, path

from generations import library, views

app_name = "generations"

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<int:project_pk>/new/", views.compose, name="compose"),
    path("projects/<int:project_pk>/quote/", views.quote, name="quote"),
    path("projects/<int:project_pk>/picker/", views.asset_picker, name="picker"),
    path("projects/<int:project_pk>/library/", library.project_library, name="library"),
    path("videos/", library.team_videos, name="videos"),
    path("library/refresh/", library.library_refresh, name="library-refresh"),
    path("library/bulk/", library.library_bulk, name="library-bulk"),
    path("exports/<uuid:pk>/", library.export_detail, name="export"),
    path("jobs/<uuid:pk>/delete/", views.job_delete, name="delete"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job"),
    path("jobs/<uuid:pk>/status/", views.job_status, name="job-status"),
    path("jobs/<uuid:pk>/cancel/", views.job_cancel, name="cancel"),
    path("jobs/<uuid:pk>/retry/", views.job_retry, name="retry"),
    path("jobs/<uuid:pk>/remix/", views.job_remix, name="remix"),
    path("webhooks/<str:provider>/", views.webhook, name="webhook"),
    path("staff/provider-bills/", views.staff_provider_bills, name="staff-provider-bills"),
]
