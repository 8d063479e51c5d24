"""HighwayAPI's wire format: async slugs, TASK_STATUS_*, videos[0] with a signed link that expires."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulators.conftest import Emulator, make_emulator, probe

BASE = "/highway/v3/async"
AUTH = {"Authorization": "Bearer hw-key"}
R2V = "pixverse-pixverse-c1-reference-to-video"


def submit(emu: Emulator, slug: str, body: dict) -> str:
    response = emu.client.post(f"{BASE}/{slug}", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"task_id"}
    return response.json()["task_id"]


def result(emu: Emulator, task_id: str) -> dict:
    response = emu.client.get(f"{BASE}/task-result", params={"task_id": task_id}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def refs(emu: Emulator) -> list[dict]:
    return [
        {"type": "subject", "ref_name": "hero", "image_url": emu.media.url("wide.png")},
        {"type": "background", "ref_name": "city", "image_url": emu.media.url("photo.png")},
    ]


def test_reference_to_video_end_to_end(emu: Emulator) -> None:
    task_id = submit(
        emu,
        R2V,
        {
            "images": refs(emu),
            "prompt": "@hero running through @city ",
            "duration": 2,
            "resolution": "360p",
            "aspect_ratio": "4:3",
            "generate_audio_switch": True,
        },
    )
    payload = result(emu, task_id)
    assert payload["task"]["status"] == "TASK_STATUS_SUCCEED" and payload["task"]["progress_percent"] == 100
    assert payload["images"] == [] and payload["audios"] == []
    (video,) = payload["videos"]
    assert video["video_url_ttl"] == "3600" and video["video_type"] == "mp4"
    info = probe(emu.client.get(video["video_url"]).content)
    assert (info.width, info.height, info.has_audio) == (480, 360, True)
    assert abs(info.duration - 2) <= 1 / 24
    assert set(payload["extra"]["debug_info"]) == {
        "request_info",
        "submit_time_ms",
        "execute_time_ms",
        "complete_time_ms",
    }


def test_text_and_image_slugs(emu: Emulator) -> None:
    t2v = submit(emu, "pixverse-c1-text-to-video", {"prompt": "x", "duration": 1, "resolution": "360p"})
    assert result(emu, t2v)["task"]["status"] == "TASK_STATUS_SUCCEED"
    i2v = submit(
        emu,
        "pixverse-c1-image-to-video",
        {"prompt": "x", "image": emu.media.url("tall.png"), "duration": 1, "resolution": "360p"},
    )
    url = result(emu, i2v)["videos"][0]["video_url"]
    assert (probe(emu.client.get(url).content).width, probe(emu.client.get(url).content).height) == (360, 640)


def test_output_links_expire_after_the_ttl(emu: Emulator) -> None:
    task_id = submit(emu, "pixverse-c1-text-to-video", {"prompt": "x", "duration": 1, "resolution": "360p"})
    url = result(emu, task_id)["videos"][0]["video_url"]
    assert emu.client.get(url).status_code == 200
    emu.advance(3601)
    expired = emu.client.get(url)
    assert expired.status_code == 403 and "expired" in expired.text
    fresh = result(emu, task_id)["videos"][0]["video_url"]  # a new poll signs a new link
    assert fresh != url and emu.client.get(fresh).status_code == 200
    tampered = fresh.replace("signature=", "signature=00")
    assert emu.client.get(tampered).status_code == 403
    assert emu.client.get(fresh.split("?")[0]).status_code == 403


def test_ttl_is_configurable(tmp_path: Path) -> None:
    for emu in make_emulator(tmp_path, highway_url_ttl_seconds=60):
        task_id = submit(emu, "pixverse-c1-text-to-video", {"prompt": "x", "duration": 1, "resolution": "360p"})
        video = result(emu, task_id)["videos"][0]
        assert video["video_url_ttl"] == "60"
        emu.advance(61)
        assert emu.client.get(video["video_url"]).status_code == 403


def test_queued_then_processing(slow_emu: Emulator) -> None:
    task_id = submit(slow_emu, "pixverse-c1-text-to-video", {"prompt": "x", "duration": 1})
    assert result(slow_emu, task_id)["task"]["status"] == "TASK_STATUS_QUEUED"
    slow_emu.advance(12)
    running = result(slow_emu, task_id)["task"]
    assert (running["status"], running["progress_percent"], running["eta"]) == ("TASK_STATUS_PROCESSING", 50, 8)
    assert result(slow_emu, task_id)["videos"] == []


@pytest.mark.parametrize(
    ("headers", "body", "status", "reason"),
    [
        ({}, {"prompt": "x"}, 401, "FAILED_TO_AUTH"),
        ({"Authorization": "Bearer invalid"}, {"prompt": "x"}, 403, "INVALID_API_KEY"),
        (AUTH, {"prompt": "x", "duration": 0}, 400, "INVALID_REQUEST_BODY"),
        (AUTH, {"prompt": "x", "resolution": "480p"}, 400, "INVALID_REQUEST_BODY"),
        (AUTH, {"duration": 5}, 400, "INVALID_REQUEST_BODY"),
    ],
)
def test_errors(emu: Emulator, headers: dict, body: dict, status: int, reason: str) -> None:
    response = emu.client.post(f"{BASE}/pixverse-c1-text-to-video", json=body, headers=headers)
    assert response.status_code == status
    assert response.json()["reason"] == reason and response.json()["code"] == status


def test_reference_rules(emu: Emulator) -> None:
    bad = emu.client.post(f"{BASE}/{R2V}", json={"images": refs(emu), "prompt": "@villain walks "}, headers=AUTH)
    assert bad.status_code == 400
    assert emu.client.post(f"{BASE}/{R2V}", json={"images": [], "prompt": "x"}, headers=AUTH).status_code == 400


def test_unknown_task_and_missing_id(emu: Emulator) -> None:
    assert emu.client.get(f"{BASE}/task-result", params={"task_id": "nope"}, headers=AUTH).status_code == 404
    assert emu.client.get(f"{BASE}/task-result", headers=AUTH).status_code == 400


@pytest.mark.parametrize(("prompt", "reason"), [("x #fail", "failed"), ("x #moderate", "moderation")])
def test_failures_explain_in_reason(emu: Emulator, prompt: str, reason: str) -> None:
    task = result(emu, submit(emu, "pixverse-c1-text-to-video", {"prompt": prompt, "duration": 1}))["task"]
    assert task["status"] == "TASK_STATUS_FAILED" and reason in task["reason"]


def test_unreachable_image_fails_the_task(emu: Emulator) -> None:
    task_id = submit(emu, "pixverse-c1-image-to-video", {"prompt": "x", "image": emu.media.url("gone.png")})
    task = result(emu, task_id)["task"]
    assert task["status"] == "TASK_STATUS_FAILED" and "image" in task["reason"]
