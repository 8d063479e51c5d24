"""Shared body of the live tests: real provider, real key, so opt-in twice.

A provider's module runs only when its ``<NAME>_API_KEY`` is set. The read-only check (poll an id that does not
exist) costs nothing; the paid check (one 1 s 360p job) also needs ``LIVE_SPEND=1``.
"""

from __future__ import annotations

import io
import os
import time
import uuid

import pytest

from generations.providers.base import JobSpec, Mode, ProviderConfig, ProviderState, Reference
from generations.providers.errors import MalformedResponseError, NotAccepted
from generations.providers.http import download
from generations.providers.registry import ADAPTERS, adapter_class

REAL_BASE_URLS = {name: adapter.api_base_url for name, adapter in ADAPTERS.items()}  # each adapter's fact
SAMPLE_IMAGE_URL = os.environ.get("LIVE_IMAGE_URL", "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg")


def key_env(name: str) -> str:
    return f"{ADAPTERS[name].env_prefix}_API_KEY"


def live_adapter(name: str):  # type: ignore[no-untyped-def]
    config = ProviderConfig(
        api_key=os.environ[key_env(name)],
        base_url=os.environ.get(f"{key_env(name).removesuffix('_API_KEY')}_BASE_URL", REAL_BASE_URLS[name]),
    )
    return adapter_class(name)(config)


def check_poll_unknown_id(name: str) -> None:
    """A made-up id must give a classified answer, never a crash."""
    adapter = live_adapter(name)
    try:
        result = adapter.poll("00000000-0000-0000-0000-000000000000" if name != "pixverse" else "1")
    except (NotAccepted, MalformedResponseError):
        return
    assert result.state in set(ProviderState)


def check_paid_job(name: str) -> None:
    if os.environ.get("LIVE_SPEND") != "1":
        pytest.skip("set LIVE_SPEND=1 to spend credits on one 1 s 360p job")
    adapter = live_adapter(name)
    mode = sorted(adapter.capabilities.modes)[0]
    from generations.providers.base import ImageInput

    image = ImageInput(sha256="live", url=SAMPLE_IMAGE_URL)
    spec = JobSpec(
        job_id=uuid.uuid4(),
        mode=mode,
        prompt="@cat looks around " if mode == Mode.REFERENCE_TO_VIDEO else "a cat",
        resolution="360p",
        duration=1,
        aspect_ratio=None if mode == Mode.IMAGE_TO_VIDEO else "16:9",
        image=image if mode == Mode.IMAGE_TO_VIDEO else None,
        references=(Reference(ref_name="cat", type="subject", image=image),) if mode == Mode.REFERENCE_TO_VIDEO else (),
    )
    submitted = adapter.submit(spec)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        result = adapter.poll(submitted.provider_job_id)
        if result.state.is_terminal:
            break
        time.sleep(10)
    assert result.state == ProviderState.SUCCEEDED, result
    assert download(result.output_url, io.BytesIO(), max_bytes=100 * 1024 * 1024, provider=name) > 0
