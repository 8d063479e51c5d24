from django.urls import path

from studio.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.staff_log, name="log"),
    path("export.csv", views.staff_log_csv, name="log-csv"),
    path("teams/<int:team_id>/", views.team_log, name="team"),
    path("teams/<int:team_id>/export.csv", views.team_log_csv, name="team-csv"),
]
