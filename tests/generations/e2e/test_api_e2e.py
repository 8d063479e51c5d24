"""The REST API end to end: real HTTP to the live server, the real Celery worker and the emulator on a socket.

Upload two assets, quote, create a reference-to-video job, follow it until it succeeds, download a playable MP4, and
receive ``generation.succeeded`` on a local webhook receiver with a signature that verifies the documented way."""

from __future__ import annotations

import io
import time
import uuid

import av
import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from generations.providers.base import Mode
from generations.providers.registry import adapter_class
from studio.accounts.services import api_token_create
from studio.webhooks.models import EventType
from studio.webhooks.services import endpoint_create
from tests.generations.helpers import fund, png_bytes
from tests.webhooks.receiver import receiver

pytestmark = [pytest.mark.e2e]

PROVIDER = next(
    p
    for p in ("pixverse", "wavespeed", "highway", "dashscope")
    if Mode.REFERENCE_TO_VIDEO in adapter_class(p).capabilities.modes
)


@pytest.fixture
def worker_env() -> dict[str, str]:
    return {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}  # the test's local receiver


def test_api_driven_reference_to_video_with_a_signed_webhook(e2e, world, settings, tmp_path):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    fund(world.member, world.team, 100_000)
    _, raw = api_token_create(user=world.member, team=world.team, name="e2e")
    with (
        receiver() as hooks,
        httpx.Client(
            base_url=f"{e2e.live_server_url}/api/v1", headers={"Authorization": f"Bearer {raw}"}, timeout=30
        ) as api,
    ):
        endpoint = endpoint_create(
            team=world.team, actor=world.admin, url=hooks.url, event_types=[EventType.GENERATION_SUCCEEDED]
        )
        assets = []
        for name, colour in (("cat", (200, 80, 40)), ("park", (30, 160, 60))):
            response = api.post(
                "/assets",
                files={"file": (f"{name}.png", png_bytes(colour=colour), "image/png")},
                data={"ref_name": name, "type": "subject" if name == "cat" else "background"},
            )
            assert response.status_code == 201, response.text
            assets.append(response.json()["asset"])
        body = {
            "project_id": world.project.pk,
            "mode": "r2v",
            "prompt": "@cat plays in @park at dusk",
            "resolution": "360p",
            "duration": 1,
            "aspect_ratio": "16:9",
            "provider": PROVIDER,
            "references": [
                {"asset": assets[0]["id"], "ref_name": "cat", "type": "subject"},
                {"asset": assets[1]["id"], "ref_name": "park", "type": "background"},
            ],
        }
        quote = api.post("/quotes", json=body).json()
        assert (
            quote["ok"] is True
            and quote["credits"] > 0
            and quote["balance_after"] == quote["balance"] - quote["credits"]
        )

        created = api.post("/generations", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        assert created.json()["cost"]["quoted_credits"] == quote["credits"]

        stop = time.monotonic() + 90
        job = created.json()
        while not job["terminal"] and time.monotonic() < stop:
            time.sleep(0.5)
            job = api.get(f"/generations/{job_id}").json()
        assert job["state"] == "succeeded", (job["state"], job["error_code"], job["error_message"], e2e.worker.tail())
        assert job["cost"]["charged_credits"] > 0 and job["events"][-1]["to_state"] == "succeeded"

        link = api.get(f"/generations/{job_id}/download").json()
        video = httpx.get(link["url"], timeout=30)
        assert video.status_code == 200 and len(video.content) > 1000
        with av.open(io.BytesIO(video.content)) as container:
            stream = container.streams.video[0]
            assert next(container.decode(stream)) is not None

        request = hooks.wait_for(1, deadline=60)[0]
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "generation.succeeded"
    assert payload["data"]["id"] == job_id and payload["data"]["state"] == "succeeded"
    assert request.headers["webhook-id"].startswith("msg_")
