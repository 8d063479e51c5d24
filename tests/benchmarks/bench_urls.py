"""The studio's URLConf plus the benchmark's reference: an authenticated view that runs one query and renders a small
template, in the same process configuration as the pages measured against it (only `make bench` mounts it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from generations.models import GenerationJob

_TEMPLATE = engines["django"].from_string(
    "<!doctype html><title>reference</title><ul>{% for job in jobs %}<li>{{ job.0 }} {{ job.1 }}</li>{% endfor %}</ul>"
)


@login_required
def reference(request: HttpRequest) -> HttpResponse:
    """The signed-in user's 24 newest jobs. Only their own rows: the table also holds what the bench's other sections
    left (tens of thousands of jobs), which a query over every job would sort too, making the reference slower the
    more sections ran before it. With no index on (creator, created_at) it still sorts the user's 10,012 jobs."""
    jobs = list(
        GenerationJob.objects.filter(creator_id=request.user.pk).order_by("-created_at").values_list("pk", "state")[:24]
    )
    return HttpResponse(_TEMPLATE.render({"jobs": jobs}, request))


urlpatterns = [path("bench/reference/", reference), path("", include("studio.urls"))]
