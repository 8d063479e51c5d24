from django.urls import path

from studio.projects import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.project_create, name="create"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/edit/", views.project_edit, name="edit"),
    path("<int:pk>/archive/", views.project_archive, name="archive"),
    path("<int:pk>/restore/", views.project_restore, name="restore"),
]
