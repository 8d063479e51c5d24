"""Issue 13 finding 12: `check --deploy --fail-level WARNING` is clean with production environment values, and real
responses from gunicorn carry a CSP without 'unsafe-inline' scripts, HSTS and secure cookies."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.hardening.production import ROOT, gunicorn, manage, production_env

pytestmark = pytest.mark.e2e


def test_finding_12_check_deploy_reports_no_issues_with_production_values(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_finding_12_check_deploy_still_catches_a_weak_setting(tmp_path: Path) -> None:
    """The check is live, not silenced: turning HSTS off by env is reported."""
    result = manage(production_env(tmp_path, SECURE_HSTS_SECONDS="0"), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0 and "security.W004" in result.stdout + result.stderr


def _script_src(policy: str) -> str:
    match = re.search(r"script-src ([^;]*)", policy)
    assert match, policy
    return match.group(1)


def test_finding_12_real_responses_carry_csp_hsts_and_secure_cookies(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    https = {"X-Forwarded-Proto": "https", "Host": "studio.example.com"}
    with gunicorn(env) as base:
        login = httpx.get(f"{base}/accounts/login/", headers=https, timeout=30)
        assert login.status_code == 200
        policy = login.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in _script_src(policy) and "'unsafe-eval'" not in _script_src(policy)
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        hsts = login.headers["Strict-Transport-Security"]
        assert re.search(r"max-age=(\d+)", hsts) and int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000
        cookie = login.headers["Set-Cookie"]
        assert "csrftoken=" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
        # Every page has the policy, error pages included; plain HTTP is redirected to HTTPS (probes excepted).
        missing = httpx.get(f"{base}/no-such-page/", headers=https, timeout=30)
        assert missing.status_code == 404 and "Content-Security-Policy" in missing.headers
        plain = httpx.get(f"{base}/accounts/login/", headers={"Host": "studio.example.com"}, timeout=30)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
        assert httpx.get(f"{base}/healthz", headers={"Host": "studio.example.com"}, timeout=30).status_code == 200


def test_finding_12_templates_have_no_inline_scripts() -> None:
    """The rule CSP enforces, checked where it is cheap: no <script> without src and no on*= handlers."""
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.IGNORECASE):
            if "src=" not in tag:
                offenders.append(f"{template.relative_to(ROOT)}: {tag}")
        offenders += [f"{template.relative_to(ROOT)}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
    assert offenders == []
