from django.urls import URLPattern, URLResolver, path

from studio.accounts import views

app_name = "accounts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
