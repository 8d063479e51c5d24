"""DashScope's wire format: async header, uppercase resolution, size "W*H", UNKNOWN horizon, cancel, 20 QPS."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulators.conftest import Emulator, make_emulator, png, probe

BASE = "/dashscope/api/v1"
CREATE = f"{BASE}/services/aigc/video-generation/video-synthesis"
AUTH = {"Authorization": "Bearer sk-test"}
ASYNC = {**AUTH, "X-DashScope-Async": "enable"}


def it2v(emu: Emulator, *urls: str, **params: object) -> dict:
    return {
        "model": "pixverse/pixverse-c1-it2v",
        "input": {"prompt": "turtle", "media": [{"type": "image_url", "url": u} for u in urls]},
        "parameters": {"resolution": "360P", "duration": 1, "audio": False, **params},
    }


def create(emu: Emulator, body: dict) -> str:
    response = emu.client.post(CREATE, json=body, headers=ASYNC)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["output"]["task_status"] == "PENDING" and payload["request_id"]
    return payload["output"]["task_id"]


def task(emu: Emulator, task_id: str) -> dict:
    response = emu.client.get(f"{BASE}/tasks/{task_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_image_to_video_end_to_end(emu: Emulator) -> None:
    task_id = create(emu, it2v(emu, emu.media.url("tall.png"), audio=True))
    result = task(emu, task_id)
    output = result["output"]
    assert output["task_status"] == "SUCCEEDED" and output["orig_prompt"] == "turtle"
    assert len(output["submit_time"]) == len("2026-03-20 11:48:50.499")
    assert result["usage"] == {
        "duration": 1,
        "shot_type": "single",
        "size": "360*640",
        "fps": 24,
        "video_count": 1,
        "audio": True,
        "SR": "360",
    }
    info = probe(emu.client.get(output["video_url"]).content)
    assert (info.width, info.height, info.has_audio) == (360, 640, True)


def test_it2v_uses_the_last_image(emu: Emulator) -> None:
    task_id = create(emu, it2v(emu, emu.media.url("tall.png"), emu.media.url("wide.png")))
    assert task(emu, task_id)["usage"]["size"] == "640*360"


def test_t2v_and_r2v_take_size(emu: Emulator) -> None:
    t2v = create(
        emu,
        {
            "model": "pixverse/pixverse-c1-t2v",
            "input": {"prompt": "city"},
            "parameters": {"size": "360*640", "duration": 1},
        },
    )
    assert task(emu, t2v)["usage"]["size"] == "360*640"
    v56 = create(
        emu,
        {
            "model": "pixverse/pixverse-v5.6-t2v",
            "input": {"prompt": "city"},
            "parameters": {"size": "1280*720", "duration": 5},
        },
    )
    assert task(emu, v56)["usage"]["SR"] == "720"
    r2v = create(
        emu,
        {
            "model": "pixverse/pixverse-c1-r2v",
            "input": {
                "prompt": "@cat in @park ",
                "media": [
                    {"type": "image_url", "url": emu.media.url("wide.png"), "ref_name": "cat"},
                    {"type": "image_url", "url": emu.media.url("photo.png"), "ref_name": "park"},
                ],
            },
            "parameters": {"size": "640*360", "duration": 1},
        },
    )
    assert task(emu, r2v)["output"]["task_status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"X-DashScope-Async": "enable"}, None, 401, "InvalidApiKey"),
        ({"Authorization": "Bearer invalid", "X-DashScope-Async": "enable"}, None, 401, "InvalidApiKey"),
        (AUTH, None, 403, "AccessDenied"),
        (ASYNC, {"input": {}}, 400, "BadRequest.EmptyModel"),
        (ASYNC, {"model": "pixverse/pixverse-c9-it2v", "input": {"prompt": "x"}}, 404, "ModelNotFound"),
        (ASYNC, {"model": "pixverse/pixverse-c1-it2v"}, 400, "BadRequest.EmptyInput"),
        (ASYNC, "lower", 400, "InvalidParameter"),
        (ASYNC, "size", 400, "InvalidParameter"),
        (ASYNC, "duration", 400, "InvalidParameter"),
        (ASYNC, "unreachable", 400, "InvalidURL"),
    ],
)
def test_errors(emu: Emulator, headers: dict, body: object, status: int, code: str) -> None:
    if body is None:
        body = it2v(emu, emu.media.url("wide.png"))
    elif body == "lower":
        body = it2v(emu, emu.media.url("wide.png"), resolution="720p")
    elif body == "size":
        body = {
            "model": "pixverse/pixverse-c1-t2v",
            "input": {"prompt": "x"},
            "parameters": {"size": "999*333", "duration": 1},
        }
    elif body == "duration":
        body = it2v(emu, emu.media.url("wide.png"), duration=16)
    elif body == "unreachable":
        body = it2v(emu, emu.media.url("missing.png"))
    response = emu.client.post(CREATE, json=body, headers=headers)
    assert response.status_code == status
    payload = response.json()
    assert payload["code"] == code and payload["message"] and payload["request_id"]
    if code == "AccessDenied":
        assert payload["message"] == "current user api does not support synchronous calls"


def test_long_prompts_are_silently_truncated(emu: Emulator) -> None:
    body = it2v(emu, emu.media.url("wide.png"))
    body["input"]["prompt"] = "y" * 6000
    assert len(task(emu, create(emu, body))["output"]["orig_prompt"]) == 5000


def test_unknown_and_expired_tasks_are_unknown(emu: Emulator) -> None:
    assert task(emu, "no-such-task")["output"] == {"task_id": "no-such-task", "task_status": "UNKNOWN"}
    task_id = create(emu, it2v(emu, emu.media.url("wide.png")))
    assert task(emu, task_id)["output"]["task_status"] == "SUCCEEDED"
    emu.advance(24 * 3600 + 1)
    assert task(emu, task_id)["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}


def test_ttl_is_configurable(tmp_path: Path) -> None:
    for emu in make_emulator(tmp_path, dashscope_task_ttl_seconds=5):
        task_id = create(emu, it2v(emu, emu.media.url("wide.png")))
        emu.advance(6)
        assert task(emu, task_id)["output"]["task_status"] == "UNKNOWN"


def test_statuses_and_cancel_only_while_pending(slow_emu: Emulator) -> None:
    first = create(slow_emu, it2v(slow_emu, slow_emu.media.url("wide.png")))
    second = create(slow_emu, it2v(slow_emu, slow_emu.media.url("wide.png")))
    assert task(slow_emu, first)["output"]["task_status"] == "PENDING"
    cancel = slow_emu.client.post(f"{BASE}/tasks/{first}/cancel", headers=AUTH)
    assert cancel.status_code == 200 and cancel.json()["request_id"]
    assert task(slow_emu, first)["output"]["task_status"] == "CANCELED"
    slow_emu.advance(10)
    assert task(slow_emu, second)["output"]["task_status"] == "RUNNING"
    late = slow_emu.client.post(f"{BASE}/tasks/{second}/cancel", headers=AUTH)
    assert late.status_code == 400 and late.json()["code"] == "UnsupportedOperation"
    slow_emu.advance(10)
    assert task(slow_emu, second)["output"]["task_status"] == "SUCCEEDED"
    listing = slow_emu.client.get(f"{BASE}/tasks", headers=AUTH, params={"status": "CANCELED"}).json()
    assert [row["task_id"] for row in listing["data"]] == [first]


@pytest.mark.parametrize(("token", "code"), [("#fail", "InternalError"), ("#moderate", "DataInspectionFailed")])
def test_failed_tasks_carry_code_and_message(emu: Emulator, token: str, code: str) -> None:
    body = it2v(emu, emu.media.url("wide.png"))
    body["input"]["prompt"] = f"x {token}"
    output = task(emu, create(emu, body))["output"]
    assert (output["task_status"], output["code"]) == ("FAILED", code)
    assert output["message"] and "video_url" not in output


def test_task_queries_are_limited_to_20_per_second(emu: Emulator) -> None:
    answers = [emu.client.get(f"{BASE}/tasks/x", headers=AUTH).status_code for _ in range(21)]
    assert answers[:20] == [200] * 20
    assert answers[20] == 429
    throttled = emu.client.get(f"{BASE}/tasks/x", headers=AUTH).json()
    assert throttled["code"] == "Throttling"
    other = emu.client.get(f"{BASE}/tasks/x", headers={"Authorization": "Bearer sk-other"})
    assert other.status_code == 200  # per account
    emu.advance(1.1)
    assert emu.client.get(f"{BASE}/tasks/x", headers=AUTH).status_code == 200


def test_data_uri_images_decode(emu: Emulator) -> None:
    import base64

    uri = "data:image/png;base64," + base64.b64encode(png(300, 300)).decode()
    assert task(emu, create(emu, it2v(emu, uri)))["usage"]["size"] == "360*360"
