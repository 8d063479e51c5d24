"""Issue 13, finding 6: "127.0.0.1 is allowed for every output download as soon as any provider is emulated."

The allowance is now per provider and only for an emulated one (its own emulator origin and path), and an emulated
provider is not selectable beside real ones unless ``ALLOW_EMULATED_BESIDE_REAL`` is on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from generations import routing
from generations.models import AUTO
from generations.providers import ssrf
from generations.providers.base import JobSpec, Mode
from generations.providers.registry import download_allowed_hosts, provider_choices, provider_config

EMULATOR = "http://127.0.0.1:8765"
REAL = {
    "wavespeed": "https://api.wavespeed.ai/api/v3",
    "pixverse": "https://app-api.pixverse.ai/openapi/v2",
    "dashscope": "https://dashscope.aliyuncs.com/api/v1",
}


def _three_real_one_emulated(settings: Any) -> None:
    providers = {
        name: {"API_KEY": "sk-real", "BASE_URL": url, "EMULATED": False, "ENABLED": True} for name, url in REAL.items()
    }
    providers["highway"] = {
        "API_KEY": "emulator-key",
        "BASE_URL": f"{EMULATOR}/highway/v3",
        "EMULATED": True,
        "ENABLED": True,
    }
    settings.PROVIDERS = providers
    settings.SSRF_ALLOWED_HOSTS = []


def _passes(url: str, provider: str) -> bool:
    try:
        ssrf.check_url(url, allowed_hosts=download_allowed_hosts(url, provider))
    except ssrf.UnsafeURLError:
        return False
    return True


def test_finding_6_loopback_is_allowed_only_for_an_emulated_providers_own_emulator(settings: Any) -> None:
    _three_real_one_emulated(settings)
    # The review's probe: with 3 of 4 keys set, a Redis port on loopback must not pass for anyone.
    for provider in ("wavespeed", "pixverse", "dashscope", "highway", ""):
        assert not _passes("http://127.0.0.1:6379/", provider), provider
    # The emulated provider's own output URLs pass, and only for it.
    assert _passes(f"{EMULATOR}/highway/files/abc.mp4?expires=1&signature=x", "highway")
    assert not _passes(f"{EMULATOR}/highway/files/abc.mp4", "pixverse")
    # Same host, another port or another provider's emulator path: refused.
    assert not _passes("http://127.0.0.1:8766/highway/files/abc.mp4", "highway")
    assert not _passes(f"{EMULATOR}/pixverse/files/abc.mp4", "highway")
    assert not _passes("https://127.0.0.1:8765/highway/files/abc.mp4", "highway")


def test_finding_6_the_settings_no_longer_allow_loopback_globally(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    env.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        WAVESPEED_API_KEY="k1",
        PIXVERSE_API_KEY="k2",
        DASHSCOPE_API_KEY="k3",
        STUDIO_VAR_DIR=str(tmp_path),
        DEBUG="1",
    )
    code = (
        "import json; from django.conf import settings as s; "
        "emulated = {n: p['EMULATED'] for n, p in s.PROVIDERS.items()}; "
        "print(json.dumps({'hosts': s.SSRF_ALLOWED_HOSTS, 'emulated': emulated}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["emulated"] == {"wavespeed": False, "pixverse": False, "dashscope": False, "highway": True}
    assert "127.0.0.1" not in loaded["hosts"] and "localhost" not in loaded["hosts"]


@pytest.mark.django_db
def test_finding_6_an_emulated_provider_is_not_selectable_beside_real_ones(settings: Any) -> None:
    _three_real_one_emulated(settings)
    settings.ALLOW_EMULATED_BESIDE_REAL = False
    spec = JobSpec(job_id=uuid.uuid4(), mode=Mode.TEXT_TO_VIDEO, prompt="a lake", aspect_ratio="16:9")
    assert "highway" not in dict(provider_choices(enabled_only=True))
    assert provider_config("highway").enabled is False
    with pytest.raises(routing.NoProviderAvailable, match="emulator"):
        routing.choose_provider(spec=spec, requested="highway")
    with pytest.raises(routing.NoProviderAvailable):
        routing.choose_provider(spec=spec, requested=AUTO, exclude=["pixverse", "wavespeed", "dashscope"])
    # The setting opts in (e.g. a staging deployment testing one real key next to the emulators).
    settings.ALLOW_EMULATED_BESIDE_REAL = True
    assert "highway" in dict(provider_choices(enabled_only=True))
    assert routing.choose_provider(spec=spec, requested="highway").provider == "highway"


@pytest.mark.django_db
def test_finding_6_all_emulated_stays_usable(settings: Any) -> None:
    settings.PROVIDERS = {
        name: {"API_KEY": "emulator-key", "BASE_URL": f"{EMULATOR}/{name}", "EMULATED": True, "ENABLED": True}
        for name in ("wavespeed", "pixverse", "dashscope", "highway")
    }
    assert len(provider_choices(enabled_only=True)) == 4
