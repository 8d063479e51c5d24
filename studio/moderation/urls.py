from django.urls import path

from studio.moderation import views

app_name = "moderation"

urlpatterns = [
    # staff
    path("queue/", views.queue, name="queue"),
    path("queue/bulk/", views.bulk, name="bulk"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/claim/", views.claim, name="claim"),
    path("cases/<int:pk>/decide/", views.decide, name="decide"),
    path("cases/<int:pk>/appeal-decision/", views.decide_appeal, name="decide-appeal"),
    path("terms/", views.terms, name="terms"),
    path("policy/", views.policy, name="policy"),
    path("restrictions/", views.restrictions, name="restrictions"),
    path("restrictions/<int:pk>/lift/", views.restriction_lift_view, name="restriction-lift"),
    # members
    path("jobs/<uuid:pk>/report/", views.report, name="report"),
    path("assets/<int:pk>/report/", views.report_asset, name="report-asset"),
    path("cases/<int:pk>/reply/", views.reply, name="reply"),
    path("strikes/<int:pk>/appeal/", views.appeal, name="appeal"),
]
