"""Project-wide wiring that no single app owns: static files, the admin, and the test command itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


def test_whitenoise_serves_our_collected_static_files(settings, tmp_path: Path) -> None:
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", "--noinput", verbosity=0)
    response = Client().get("/static/css/studio.css")  # a new client builds the middleware, which scans STATIC_ROOT
    assert response.status_code == 200
    assert b"--accent" in b"".join(response.streaming_content)
    assert response["Content-Type"].startswith("text/css")


def test_every_model_of_ours_is_in_the_admin() -> None:
    """Registered on its own, or shown as an inline of the model it belongs to (events inside their job)."""
    ours = ("studio", "generations", "billing")
    inlined = {inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines}
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model.__module__.startswith(ours) and not admin.site.is_registered(model) and model not in inlined
    ]
    assert missing == [], f"register these models (or inline them) in their app's admin.py: {missing}"


@pytest.mark.django_db
def test_admin_changelists_render_for_staff() -> None:
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    for model in admin.site._registry:
        if not model.__module__.startswith(("studio", "generations", "billing")):
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        response = client.get(url, {"q": "x"})
        assert response.status_code == 200, f"{url}?q=x answered {response.status_code}"


def test_a_test_run_that_collects_nothing_fails(tmp_path: Path) -> None:
    """pytest exits 5 when no test ran; `make pytest` passes that status on, so an empty suite can never pass CI."""
    (tmp_path / "test_nothing_here.py").write_text("x = 1\n")
    result = subprocess.run(
        ["make", "--no-print-directory", "pytest", f"PYTEST_ARGS={tmp_path} -p no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "no tests ran" in result.stdout
    assert result.returncode != 0
    assert sys.executable  # the suite itself runs under the venv make uses


def test_every_page_title_is_plain_text() -> None:
    """A page's ``{% block title %}`` is the tab's title: no markup. (Two pages once had a whole section pasted into
    it, so the section showed up in <title> and not on the page.)"""
    import re

    offenders = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        for title in re.findall(r"{% block title %}(.*?){% endblock", template.read_text(), flags=re.S):
            if "<" in title or "\n" in title:
                offenders.append(f"{template.relative_to(ROOT)}: {title[:60]!r}")
    assert offenders == []
