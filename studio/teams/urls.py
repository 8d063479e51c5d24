from django.urls import path

from studio.teams import views

app_name = "teams"

urlpatterns = [
    path("", views.team_list, name="list"),
    path("new/", views.team_create, name="create"),
    path("<int:pk>/", views.team_detail, name="detail"),
    path("<int:pk>/switch/", views.team_switch, name="switch"),
    path("<int:pk>/edit/", views.team_edit, name="edit"),
    path("<int:pk>/delete/", views.team_delete, name="delete"),
    path("<int:pk>/require-mfa/", views.team_require_mfa, name="require-mfa"),
    path("<int:pk>/leave/", views.team_leave, name="leave"),
    path("<int:pk>/invite/", views.invitation_create, name="invite"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="revoke-invitation"),
    path("invitations/accept/<str:token>/", views.invitation_accept, name="accept-invitation"),
    path("members/<int:pk>/role/", views.member_change_role, name="member-role"),
    path("members/<int:pk>/remove/", views.member_remove, name="member-remove"),
]
