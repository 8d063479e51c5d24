"""Every fault, by prompt token and by the control endpoint, on every provider where it makes sense."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from generations.emulators.faults import FaultBoard, parse_prompt
from tests.emulators.conftest import Emulator


@dataclass(frozen=True)
class Api:
    """How to create and poll one provider's job in the tests below."""

    name: str
    create: Callable[[Emulator, str, str], httpx.Response]  # (emu, prompt, idempotency key)
    job_id: Callable[[httpx.Response], str]
    poll: Callable[[Emulator, str], httpx.Response]


def _ws_create(emu: Emulator, prompt: str, key: str) -> httpx.Response:
    return emu.client.post(
        "/wavespeed/api/v3/pixverse/pixverse-c1/text-to-video",
        json={"prompt": prompt, "duration": 1},
        headers={"Authorization": "Bearer k", "Idempotency-Key": key},
    )


def _px_headers() -> dict[str, str]:
    return {"API-KEY": "k", "Ai-trace-id": str(uuid.uuid4())}


def _px_create(emu: Emulator, prompt: str, key: str) -> httpx.Response:
    body = {"model": "c1", "prompt": prompt, "duration": 1, "quality": "360p", "aspect_ratio": "16:9"}
    return emu.client.post(
        "/pixverse/openapi/v2/video/text/generate", json=body, headers={**_px_headers(), "Idempotency-Key": key}
    )


def _ds_create(emu: Emulator, prompt: str, key: str) -> httpx.Response:
    body = {
        "model": "pixverse/pixverse-c1-t2v",
        "input": {"prompt": prompt},
        "parameters": {"size": "640*360", "duration": 1},
    }
    return emu.client.post(
        "/dashscope/api/v1/services/aigc/video-generation/video-synthesis",
        json=body,
        headers={"Authorization": "Bearer k", "X-DashScope-Async": "enable", "Idempotency-Key": key},
    )


def _hw_create(emu: Emulator, prompt: str, key: str) -> httpx.Response:
    return emu.client.post(
        "/highway/v3/async/pixverse-c1-text-to-video",
        json={"prompt": prompt, "duration": 1},
        headers={"Authorization": "Bearer k", "Idempotency-Key": key},
    )


APIS = [
    Api(
        "wavespeed",
        _ws_create,
        lambda r: r.json()["data"]["id"],
        lambda emu, i: emu.client.get(
            f"/wavespeed/api/v3/predictions/{i}/result", headers={"Authorization": "Bearer k"}
        ),
    ),
    Api(
        "pixverse",
        _px_create,
        lambda r: str(r.json()["Resp"]["video_id"]),
        lambda emu, i: emu.client.get(f"/pixverse/openapi/v2/video/result/{i}", headers=_px_headers()),
    ),
    Api(
        "dashscope",
        _ds_create,
        lambda r: r.json()["output"]["task_id"],
        lambda emu, i: emu.client.get(f"/dashscope/api/v1/tasks/{i}", headers={"Authorization": "Bearer k"}),
    ),
    Api(
        "highway",
        _hw_create,
        lambda r: r.json()["task_id"],
        lambda emu, i: emu.client.get(
            "/highway/v3/async/task-result", params={"task_id": i}, headers={"Authorization": "Bearer k"}
        ),
    ),
]
BY_NAME = {api.name: api for api in APIS}
ids = [api.name for api in APIS]


def accepted(emu: Emulator, key: str) -> int:
    return emu.creates(key)["accepted"]


# --------------------------------------------------------------------------- refusals: nothing is created


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_ratelimit_is_429_with_retry_after(emu: Emulator, api: Api) -> None:
    response = api.create(emu, "x #ratelimit", "k1")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert emu.creates("k1") == {"key": "k1", "count": 1, "accepted": 0, "job_ids": []}


@pytest.mark.parametrize(("api", "status"), [(APIS[0], 500), (APIS[1], 500), (APIS[2], 500), (APIS[3], 500)], ids=ids)
def test_error500(emu: Emulator, api: Api, status: int) -> None:
    assert api.create(emu, "x #error500", "k").status_code == status
    assert accepted(emu, "k") == 0


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_error503(emu: Emulator, api: Api) -> None:
    assert api.create(emu, "x #error503", "k").status_code == 503
    assert accepted(emu, "k") == 0


def test_highway_503_is_service_not_available(emu: Emulator) -> None:
    assert _hw_create(emu, "x #error503", "k").json()["reason"] == "SERVICE_NOT_AVAILABLE"


def test_busy(emu: Emulator) -> None:
    pixverse = _px_create(emu, "x #busy", "p")
    assert pixverse.status_code == 200 and pixverse.json()["ErrCode"] == 500044
    dashscope = _ds_create(emu, "x #busy", "d")
    assert dashscope.status_code == 429 and dashscope.json()["code"] == "Throttling.AllocationQuota"
    highway = _hw_create(emu, "x #busy", "h")
    assert highway.status_code == 429 and highway.json()["reason"] == "RATE_LIMIT_EXCEEDED"
    assert [accepted(emu, k) for k in "pdh"] == [0, 0, 0]
    # WaveSpeed queues instead of refusing: the job exists and stays "created".
    wavespeed = _ws_create(emu, "x #busy", "w")
    emu.advance(3600)
    assert APIS[0].poll(emu, APIS[0].job_id(wavespeed)).json()["data"]["status"] == "created"
    assert accepted(emu, "w") == 1


def test_fail200(emu: Emulator) -> None:
    pixverse = _px_create(emu, "x #fail200", "p")
    assert pixverse.status_code == 200 and pixverse.json()["ErrCode"] not in (0, 500044)
    wavespeed = _ws_create(emu, "x #fail200", "w")
    assert wavespeed.status_code == 200 and wavespeed.json()["code"] == 500 and wavespeed.json()["data"] is None
    assert _ds_create(emu, "x #fail200", "d").status_code == 500
    assert accepted(emu, "p") == accepted(emu, "w") == 0


# --------------------------------------------------------------------------- ambiguous answers: the job IS created


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_malformed_answer_after_creating(emu: Emulator, api: Api) -> None:
    response = api.create(emu, "x #malformed", "k")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert accepted(emu, "k") == 1


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_timeout_after_send_creates_the_job(emu: Emulator, api: Api) -> None:
    with pytest.raises(httpx.ReadTimeout):
        api.create(emu, "x #timeout", "k")
    summary = emu.creates("k")
    assert (summary["count"], summary["accepted"]) == (1, 1)
    (job_id,) = summary["job_ids"]
    assert api.poll(emu, job_id).status_code == 200  # reconcile by asking: the job is there


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_reset_after_send_creates_the_job(emu: Emulator, api: Api) -> None:
    with pytest.raises(httpx.ReadError):
        api.create(emu, "x #reset", "k")
    assert accepted(emu, "k") == 1


# --------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_never_finishes(emu: Emulator, api: Api) -> None:
    job_id = api.job_id(api.create(emu, "x #never", "k"))
    emu.advance(7 * 24 * 3600 if api.name != "dashscope" else 3600)
    body = api.poll(emu, job_id).json()
    state = {
        "wavespeed": lambda b: b["data"]["status"],
        "pixverse": lambda b: b["Resp"]["status"],
        "dashscope": lambda b: b["output"]["task_status"],
        "highway": lambda b: b["task"]["status"],
    }[api.name](body)
    assert state in ("processing", 5, "RUNNING", "TASK_STATUS_PROCESSING")


# --------------------------------------------------------------------------- poll-time faults


@pytest.mark.parametrize("api", APIS, ids=ids)
@pytest.mark.parametrize(("fault", "status"), [("ratelimit", 429), ("error500", 500), ("error503", 503)])
def test_poll_token_fires_once(emu: Emulator, api: Api, fault: str, status: int) -> None:
    job_id = api.job_id(api.create(emu, f"x #poll-{fault}", "k"))
    assert api.poll(emu, job_id).status_code == status
    assert api.poll(emu, job_id).status_code == 200


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_poll_transport_faults(emu: Emulator, api: Api) -> None:
    job_id = api.job_id(api.create(emu, "x #poll-timeout", "k"))
    with pytest.raises(httpx.ReadTimeout):
        api.poll(emu, job_id)
    emu.arm(api.name, "reset", on="poll")
    with pytest.raises(httpx.ReadError):
        api.poll(emu, job_id)
    emu.arm(api.name, "malformed", on="poll")
    with pytest.raises(json.JSONDecodeError):
        api.poll(emu, job_id).json()
    assert api.poll(emu, job_id).status_code == 200


def test_poll_fail200_on_pixverse(emu: Emulator) -> None:
    job_id = APIS[1].job_id(_px_create(emu, "x #poll-fail200", "k"))
    first = APIS[1].poll(emu, job_id)
    assert first.status_code == 200 and first.json()["ErrCode"] != 0
    assert APIS[1].poll(emu, job_id).json()["ErrCode"] == 0


# --------------------------------------------------------------------------- control-armed faults


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_armed_faults_need_no_prompt_token(emu: Emulator, api: Api) -> None:
    emu.arm(api.name, "ratelimit", times=2)
    assert api.create(emu, "plain", "a").status_code == 429
    assert api.create(emu, "plain", "b").status_code == 429
    assert api.create(emu, "plain", "c").status_code == 200
    emu.arm(api.name, "timeout")
    with pytest.raises(httpx.ReadTimeout):
        api.create(emu, "plain", "d")
    assert accepted(emu, "d") == 1


def test_armed_outcome_applies_to_the_next_job(emu: Emulator) -> None:
    emu.arm("wavespeed", "moderate")
    moderated = APIS[0].job_id(_ws_create(emu, "plain", "a"))
    normal = APIS[0].job_id(_ws_create(emu, "plain", "b"))
    assert APIS[0].poll(emu, moderated).json()["data"]["code"] == 1200
    assert APIS[0].poll(emu, normal).json()["data"]["status"] == "completed"


def test_armed_faults_are_per_provider_or_wildcard(emu: Emulator) -> None:
    emu.arm("pixverse", "error500")
    assert _ws_create(emu, "plain", "w").status_code == 200
    assert _px_create(emu, "plain", "p").status_code == 500
    emu.arm("*", "error503")
    assert _hw_create(emu, "plain", "h").status_code == 503


@pytest.mark.parametrize("api", APIS, ids=ids)
def test_connect_timeout_happens_before_the_app(emu: Emulator, api: Api) -> None:
    emu.arm(api.name, "connect_timeout")
    with pytest.raises(httpx.ConnectTimeout):
        api.create(emu, "plain", "k")
    assert emu.creates("k")["count"] == 0
    emu.arm(api.name, "connect_error", on="poll")
    job_id = api.job_id(api.create(emu, "plain", "k2"))
    with pytest.raises(httpx.ConnectError):
        api.poll(emu, job_id)
    assert api.poll(emu, job_id).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "nope", "fault": "fail"},
        {"provider": "wavespeed", "fault": "explode"},
        {"provider": "wavespeed", "fault": "fail", "on": "poll"},
        {"provider": "wavespeed", "fault": "fail", "on": "later"},
        {"provider": "wavespeed", "fault": "fail", "times": 0},
    ],
)
def test_bad_arming_is_refused(emu: Emulator, body: dict) -> None:
    assert emu.client.post("/_control/faults", json=body).status_code == 400


def test_armed_faults_are_listed_and_consumed(emu: Emulator) -> None:
    emu.arm("dashscope", "fail", times=2)
    assert emu.control("GET", "faults").json()["armed"] == [
        {"provider": "dashscope", "fault": "fail", "on": "create", "times": 2}
    ]
    _ds_create(emu, "x", "a")
    _ds_create(emu, "x", "b")
    assert emu.control("GET", "faults").json()["armed"] == []


def test_prompt_parsing() -> None:
    assert parse_prompt("a #fail and #poll-error500 #moderate") == parse_prompt("#fail #poll-error500")
    assert parse_prompt("#sunset #nofault").create is None
    assert parse_prompt("#poll-never").poll is None
    board = FaultBoard()
    board.arm(provider="*", fault="connect_timeout", on="create")
    assert board.take("wavespeed", "create", frozenset({"fail"})) is None
    assert board.take("wavespeed", "create", frozenset({"connect_timeout"})) == "connect_timeout"
