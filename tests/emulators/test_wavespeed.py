"""WaveSpeed's wire format: paths, envelope, statuses, task error codes, uploads, webhooks, queueing."""

from __future__ import annotations

import json
import time

import pytest

from generations.providers.webhooks import verify_wavespeed
from tests.emulators.conftest import Emulator, png, probe

AUTH = {"Authorization": "Bearer ws-key"}
BASE = "/wavespeed/api/v3"


def submit(emu: Emulator, task: str, body: dict[str, object], key: str = "job-1", query: str = "") -> dict:
    response = emu.client.post(
        f"{BASE}/pixverse/pixverse-c1/{task}{query}", json=body, headers={**AUTH, "Idempotency-Key": key}
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["code"] == 200 and payload["message"] == "success"
    return payload["data"]


def result(emu: Emulator, prediction_id: str, suffix: str = "/result") -> dict:
    response = emu.client.get(f"{BASE}/predictions/{prediction_id}{suffix}", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_image_to_video_end_to_end(emu: Emulator) -> None:
    upload = emu.client.post(
        f"{BASE}/media/upload/binary", headers=AUTH, files={"file": ("in.png", png(), "image/png")}
    )
    assert upload.status_code == 200
    uploaded = upload.json()["data"]
    assert uploaded["type"] == "image" and uploaded["size"] > 0 and uploaded["filename"] == "in.png"
    data = submit(
        emu,
        "image-to-video",
        {
            "image": uploaded["download_url"],
            "prompt": "pan",
            "resolution": "360p",
            "duration": 2,
            "generate_audio_switch": True,
        },
    )
    assert data["model"] == "pixverse/pixverse-c1/image-to-video"
    assert data["urls"]["get"] == f"http://emulator.test{BASE}/predictions/{data['id']}/result"
    assert data["created_at"].endswith("Z")
    done = result(emu, data["id"])
    assert done["status"] == "completed" and done["error"] == "" and done["has_nsfw_contents"] == [False]
    assert result(emu, data["id"], suffix="") == done  # the documented path without /result works too
    video = emu.client.get(done["outputs"][0])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    info = probe(video.content)
    # 640x480 is 4:3, so 360p i2v is 480x360; audio was asked for.
    assert (info.codec, info.width, info.height, info.has_audio) == ("h264", 480, 360, True)
    assert abs(info.duration - 2) <= 1 / 24


def test_statuses_follow_the_timeline(slow_emu: Emulator) -> None:
    data = submit(slow_emu, "text-to-video", {"prompt": "a cat", "resolution": "360p", "duration": 1})
    assert data["status"] == "created" and data["outputs"] == []
    slow_emu.advance(10)
    assert result(slow_emu, data["id"])["status"] == "processing"
    slow_emu.advance(10)
    done = result(slow_emu, data["id"])
    assert done["status"] == "completed" and len(done["outputs"]) == 1
    assert done["timings"]["inference"] == 10_000


def test_reference_to_video_and_aspect_ratio(emu: Emulator) -> None:
    images = [
        {"image_url": emu.media.url("wide.png"), "type": "subject", "ref_name": "cat"},
        {"image_url": emu.media.url("photo.png"), "type": "background", "ref_name": "park"},
    ]
    data = submit(
        emu,
        "reference-to-video",
        {
            "prompt": "@cat plays at @park ",
            "images": images,
            "aspect_ratio": "9:16",
            "resolution": "360p",
            "duration": 1,
        },
    )
    info = probe(emu.client.get(result(emu, data["id"])["outputs"][0]).content)
    assert (info.width, info.height, info.has_audio) == (360, 640, False)


@pytest.mark.parametrize(
    ("task", "body", "code"),
    [
        ("text-to-video", {"resolution": "360p"}, 1400),
        ("text-to-video", {"prompt": "x", "duration": 16}, 1401),
        ("text-to-video", {"prompt": "x", "aspect_ratio": "5:4"}, 1401),
        ("image-to-video", {"prompt": "x"}, 1400),
        (
            "reference-to-video",
            {
                "prompt": "@dog runs ",
                "images": [{"image_url": "http://media.test/wide.png", "type": "subject", "ref_name": "cat"}],
            },
            1401,
        ),
        (
            "reference-to-video",
            {
                "prompt": "@cat",
                "images": [{"image_url": "http://media.test/wide.png", "type": "subject", "ref_name": "cat"}],
            },
            1401,
        ),
        (
            "reference-to-video",
            {"prompt": "x", "images": [{"image_url": "http://media.test/wide.png", "type": "hero", "ref_name": "cat"}]},
            1401,
        ),
    ],
)
def test_validation_errors(emu: Emulator, task: str, body: dict, code: int) -> None:
    response = emu.client.post(f"{BASE}/pixverse/pixverse-c1/{task}", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["code"] == code


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer invalid-key"}, {"Authorization": "Basic x"}])
def test_bad_or_missing_bearer_is_401(emu: Emulator, headers: dict[str, str]) -> None:
    response = emu.client.post(f"{BASE}/pixverse/pixverse-c1/text-to-video", json={"prompt": "x"}, headers=headers)
    assert response.status_code == 401
    assert emu.client.get(f"{BASE}/predictions/abc/result", headers=headers).status_code == 401


def test_unknown_prediction_is_404(emu: Emulator) -> None:
    assert emu.client.get(f"{BASE}/predictions/nope/result", headers=AUTH).status_code == 404


def test_unreachable_image_fails_the_task_with_1402(emu: Emulator) -> None:
    data = submit(emu, "image-to-video", {"image": emu.media.url("missing.png"), "prompt": "x", "duration": 1})
    done = result(emu, data["id"])
    assert (done["status"], done["code"]) == ("failed", 1402)
    assert "not accessible" in done["error"]


@pytest.mark.parametrize(("token", "code"), [("#fail", 1403), ("#moderate", 1200)])
def test_task_failures_carry_error_codes(emu: Emulator, token: str, code: int) -> None:
    data = submit(emu, "text-to-video", {"prompt": f"x {token}", "duration": 1})
    done = result(emu, data["id"])
    assert (done["status"], done["code"], done["outputs"]) == ("failed", code, [])
    assert done["error"]


def test_nsfw_outputs_are_flagged(emu: Emulator) -> None:
    done = result(emu, submit(emu, "text-to-video", {"prompt": "x #nsfw", "duration": 1})["id"])
    assert done["status"] == "completed" and done["has_nsfw_contents"] == [True]


def test_jobs_above_the_concurrency_limit_wait_queued(slow_emu: Emulator) -> None:
    ids = [
        submit(slow_emu, "text-to-video", {"prompt": f"job {n}", "duration": 1}, key=f"k{n}")["id"] for n in range(3)
    ]
    slow_emu.advance(10)
    assert [result(slow_emu, i)["status"] for i in ids] == ["processing", "processing", "created"]
    slow_emu.advance(10)  # the first two finish at t=20, freeing slots: the third starts then
    assert [result(slow_emu, i)["status"] for i in ids] == ["completed", "completed", "processing"]
    slow_emu.advance(10)
    assert result(slow_emu, ids[2])["status"] == "completed"
    assert result(slow_emu, ids[2])["timings"]["inference"] == 10_000


def test_other_accounts_have_their_own_slots(slow_emu: Emulator) -> None:
    for n in range(2):
        submit(slow_emu, "text-to-video", {"prompt": "x", "duration": 1}, key=f"a{n}")
    other = slow_emu.client.post(
        f"{BASE}/pixverse/pixverse-c1/text-to-video",
        json={"prompt": "y", "duration": 1},
        headers={"Authorization": "Bearer other"},
    ).json()["data"]["id"]
    slow_emu.advance(10)
    status = slow_emu.client.get(f"{BASE}/predictions/{other}/result", headers={"Authorization": "Bearer other"})
    assert status.json()["data"]["status"] == "processing"


def test_signed_webhook_on_completion(emu: Emulator) -> None:
    secret = emu.client.get(f"{BASE}/webhook/secret", headers=AUTH).json()["data"]["secret"]
    assert secret.startswith("whsec_")
    hook = "https://studio.test/generations/webhooks/wavespeed/"
    data = submit(emu, "text-to-video", {"prompt": "x", "duration": 1}, query=f"?webhook={hook}")
    assert emu.app.webhooks.wait()
    (request,) = emu.webhooks
    assert str(request.url) == hook
    payload = verify_wavespeed(body=request.content, headers=dict(request.headers), secret=secret)
    assert payload["id"] == data["id"] and payload["status"] == "completed" and payload["outputs"]
    assert request.headers["webhook-signature"].startswith("v3,")
    assert emu.control("GET", "webhooks").json()["webhooks"][0]["status_code"] == 200


def test_webhook_fires_without_polling(tmp_path) -> None:
    from tests.emulators.conftest import make_emulator

    for emu in make_emulator(tmp_path, queue_seconds=0, run_seconds=0.2):
        submit(emu, "text-to-video", {"prompt": "x #fail", "duration": 1}, query="?webhook=https://studio.test/h")
        deadline = time.monotonic() + 5
        while not emu.webhooks and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emu.app.webhooks.wait()
        body = json.loads(emu.webhooks[0].content)
        assert (body["status"], body["code"]) == ("failed", 1403)


def test_sync_mode_returns_the_finished_prediction(emu: Emulator) -> None:
    data = submit(emu, "text-to-video", {"prompt": "x", "duration": 1, "enable_sync_mode": True})
    assert data["status"] == "completed" and data["outputs"]
    assert "enable_sync_mode" not in data["input"]


def test_sync_mode_times_out_with_5004(tmp_path) -> None:
    from tests.emulators.conftest import make_emulator

    for emu in make_emulator(tmp_path, run_seconds=60, sync_timeout_seconds=0.1):
        data = submit(emu, "text-to-video", {"prompt": "x", "duration": 1, "enable_sync_mode": True})
        assert (data["status"], data["code"]) == ("processing", 5004)


def test_sdk_style_ticket_upload(emu: Emulator) -> None:
    ticket = emu.client.post(
        f"{BASE}/media/uploads", headers=AUTH, json={"filename": "a.png", "size": 10, "content_type": "image/png"}
    ).json()["data"]
    assert ticket["upload"]["method"] == "PUT"
    put = emu.client.put(ticket["upload"]["url"], content=png(), headers=ticket["upload"]["headers"])
    assert put.status_code == 200
    fetched = emu.client.get(ticket["download_url"])
    assert fetched.status_code == 200 and fetched.content == png()
