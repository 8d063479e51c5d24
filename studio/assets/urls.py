from django.urls import path

from studio.assets import views

app_name = "assets"

urlpatterns = [
    path("", views.asset_list, name="list"),
    path("upload/", views.asset_upload, name="upload"),
    path("<int:pk>/", views.asset_detail, name="detail"),
    path("<int:pk>/edit/", views.asset_edit, name="edit"),
    path("<int:pk>/delete/", views.asset_delete, name="delete"),
    path("<int:pk>/retire/", views.asset_retire, name="retire"),
]
