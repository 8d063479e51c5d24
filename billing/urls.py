from django.urls import URLPattern, URLResolver, path

from billing import staff, views

app_name = "billing"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.wallet_page, name="wallet"),
    path("teams/<int:team_id>/", views.wallet_page, name="wallet"),
    path("usage/", views.usage_page, name="usage"),
    path("teams/<int:team_id>/usage/", views.usage_page, name="usage"),
    path("buy/", views.buy_page, name="buy"),
    path("teams/<int:team_id>/buy/", views.buy_page, name="buy"),
    path("buy/success/", views.buy_success, name="buy-success"),
    path("teams/<int:team_id>/settings/", views.team_settings_page, name="team-settings"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
    path("staff/credit/", views.staff_credit, name="staff-credit"),
    path("staff/reconcile/", views.staff_reconcile, name="staff-reconcile"),
    path("staff/money/", staff.money, name="staff-money"),
    path("staff/money/grant/", staff.grant, name="staff-grant"),
    path("staff/money/unfreeze/", staff.unfreeze, name="staff-unfreeze"),
    path("staff/money/refund/", staff.refund, name="staff-refund"),
]
