"""Provider-shaped answers (providers.md and the seed pages), as the unit tests replay them."""

from __future__ import annotations

from typing import Any

import httpx


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def pixverse(
    resp: dict[str, Any] | None = None, *, err_code: int = 0, err_msg: str = "success", status: int = 200
) -> httpx.Response:
    return json_response(status, {"ErrCode": err_code, "ErrMsg": err_msg, "Resp": resp if resp is not None else {}})


def pixverse_status(status: int, *, url: str = "") -> dict[str, Any]:
    return {
        "id": 384792384723984723,
        "status": status,
        "url": url,
        "prompt": "a cat",
        "negative_prompt": "",
        "seed": 1,
        "outputWidth": 1280,
        "outputHeight": 720,
        "resolution_ratio": 720,
        "size": 123,
        "style": "",
        "create_time": "2025-01-01T00:00:00Z",
        "modify_time": "2025-01-01T00:00:05Z",
        "has_audio": False,
    }


def wavespeed(data: dict[str, Any], *, code: int = 200, message: str = "success", status: int = 200) -> httpx.Response:
    return json_response(status, {"code": code, "message": message, "data": data})


def wavespeed_prediction(status: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "pred-123",
        "model": "pixverse/pixverse-c1/text-to-video",
        "outputs": [],
        "urls": {"get": "https://api.wavespeed.ai/api/v3/predictions/pred-123/result"},
        "has_nsfw_contents": [],
        "status": status,
        "created_at": "2023-04-01T12:34:56.789Z",
        "error": "",
        "timings": {"inference": 0},
    }
    data.update(extra)
    return data


def dashscope_task(task_status: str, **output: Any) -> dict[str, Any]:
    return {
        "request_id": "req-1",
        "output": {"task_id": "0385dc79-5ff8-4d82-bcb6-000000", "task_status": task_status, **output},
    }


def dashscope_succeeded(*, duration: int = 5) -> dict[str, Any]:
    body = dashscope_task(
        "SUCCEEDED",
        submit_time="2026-03-20 11:48:50.499",
        scheduled_time="2026-03-20 11:48:50.551",
        end_time="2026-03-20 11:49:46.462",
        orig_prompt="a turtle",
        video_url="https://media.pixverseai.cn/xxxx.mp4",
    )
    body["usage"] = {
        "duration": duration,
        "shot_type": "single",
        "size": "992*944",
        "fps": 24,
        "video_count": 1,
        "audio": False,
        "SR": "720",
    }
    return body


def highway_result(status: str, *, reason: str = "", videos: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "extra": {
            "seed": "123",
            "debug_info": {"request_info": "", "submit_time_ms": "1", "execute_time_ms": "2", "complete_time_ms": "3"},
        },
        "task": {
            "task_id": "task-1",
            "status": status,
            "reason": reason,
            "task_type": "pixverse",
            "eta": 0,
            "progress_percent": 40,
        },
        "images": [],
        "videos": videos or [],
        "audios": [],
    }
