"""Pages that belong to no single app: the dashboard."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from studio.projects.models import Project
from studio.teams.access import require_active_membership


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    membership = require_active_membership(request)
    projects = Project.objects.filter(team=membership.team, archived_at__isnull=True).order_by("-updated_at")[:12]
    return render(request, "dashboard.html", {"projects": projects})
