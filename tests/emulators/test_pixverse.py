"""PixVerse's wire format: envelope inside HTTP 200, int64 ids, trace ids, 400013/400017/500044, status codes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from generations.providers.webhooks import verify_pixverse
from tests.emulators.conftest import Emulator, make_emulator, png, probe

BASE = "/pixverse/openapi/v2"


def headers(key: str = "px-key", trace: str | None = None) -> dict[str, str]:
    return {"API-KEY": key, "Ai-trace-id": trace or str(uuid.uuid4())}


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["ErrCode"] == 0, payload
    return payload["Resp"]


def upload(emu: Emulator, data: bytes | None = None) -> int:
    resp = ok(
        emu.client.post(
            f"{BASE}/image/upload", headers=headers(), files={"image": ("a.png", data or png(), "image/png")}
        )
    )
    assert resp["img_url"].startswith("http://emulator.test/pixverse/files/uploads/")
    return resp["img_id"]


def generate(emu: Emulator, kind: str, body: dict, **kw) -> dict:
    return emu.client.post(f"{BASE}/video/{kind}/generate", json=body, headers=headers(**kw)).json()


def status(emu: Emulator, video_id: int) -> dict:
    return ok(emu.client.get(f"{BASE}/video/result/{video_id}", headers=headers()))


T2V = {"model": "c1", "prompt": "a fox", "duration": 1, "quality": "360p", "aspect_ratio": "16:9"}


def test_image_to_video_end_to_end(emu: Emulator) -> None:
    img_id = upload(emu)
    assert img_id > 2**53
    created = generate(
        emu,
        "img",
        {
            "model": "c1",
            "prompt": "x",
            "img_id": img_id,
            "duration": 2,
            "quality": "360p",
            "seed": 7,
            "generate_audio_switch": False,
        },
    )
    assert created["ErrCode"] == 0 and created["ErrMsg"] == "success"
    video_id = created["Resp"]["video_id"]
    assert isinstance(video_id, int) and video_id > 2**53 and created["Resp"]["credits"] == 12
    resp = status(emu, video_id)
    assert (resp["status"], resp["id"], resp["seed"]) == (1, video_id, 7)
    assert (resp["outputWidth"], resp["outputHeight"], resp["resolution_ratio"]) == (480, 360, 360)
    info = probe(emu.client.get(resp["url"]).content)
    assert (info.codec, info.width, info.height, info.has_audio) == ("h264", 480, 360, False)
    assert status(emu, video_id)["size"] > 0  # rendered now


def test_upload_by_image_url_and_bad_images(emu: Emulator) -> None:
    resp = ok(emu.client.post(f"{BASE}/image/upload", headers=headers(), data={"image_url": emu.media.url("wide.png")}))
    assert resp["img_id"] > 2**53
    missing = emu.client.post(f"{BASE}/image/upload", headers=headers(), data={"image_url": emu.media.url("no.png")})
    assert missing.status_code == 200 and missing.json()["ErrCode"] == 400017
    gif = emu.client.post(f"{BASE}/image/upload", headers=headers(), files={"image": ("a.txt", b"hello", "text/plain")})
    assert gif.json()["ErrCode"] == 400017
    neither = emu.client.post(f"{BASE}/image/upload", headers=headers(), data={})
    assert neither.json()["ErrCode"] == 400013


def test_fusion_and_text(emu: Emulator) -> None:
    refs = [
        {"type": "subject", "img_id": upload(emu), "ref_name": "cat"},
        {"type": "background", "img_id": upload(emu), "ref_name": "park"},
    ]
    fusion = generate(
        emu,
        "fusion",
        {
            **T2V,
            "prompt": "@cat plays at @park ",
            "image_references": refs,
            "aspect_ratio": "1:1",
            "generate_audio_switch": True,
        },
    )
    resp = status(emu, fusion["Resp"]["video_id"])
    assert (resp["outputWidth"], resp["outputHeight"], resp["has_audio"]) == (360, 360, True)
    text = generate(emu, "text", T2V)
    assert status(emu, text["Resp"]["video_id"])["status"] == 1


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        ("text", {**T2V, "motion_mode": "normal"}, 400017),
        ("text", {**T2V, "camera_movement": "zoom_in"}, 400017),
        ("text", {k: v for k, v in T2V.items() if k != "quality"}, 400013),
        ("text", {**T2V, "duration": "5"}, 400013),
        ("text", {**T2V, "quality": "4k"}, 400017),
        ("text", {**T2V, "seed": -1}, 400017),
        ("img", {**T2V, "img_id": 12345}, 400017),
        (
            "fusion",
            {**T2V, "prompt": "@dog ", "image_references": [{"type": "subject", "img_id": 1, "ref_name": "cat"}]},
            400017,
        ),
    ],
)
def test_errors_come_inside_http_200(emu: Emulator, kind: str, body: dict, code: int) -> None:
    response = emu.client.post(f"{BASE}/video/{kind}/generate", json=body, headers=headers())
    assert response.status_code == 200
    assert response.json()["ErrCode"] == code and response.json()["ErrMsg"]


def test_auth_and_trace_id_are_required(emu: Emulator) -> None:
    bad_key = emu.client.post(f"{BASE}/video/text/generate", json=T2V, headers=headers(key="invalid"))
    assert bad_key.status_code == 401 and bad_key.json()["ErrCode"] != 0
    no_trace = emu.client.post(f"{BASE}/video/text/generate", json=T2V, headers={"API-KEY": "k"})
    assert no_trace.status_code == 200 and no_trace.json()["ErrCode"] == 400017


def test_reused_trace_id_leaves_the_job_stuck_generating(emu: Emulator) -> None:
    trace = str(uuid.uuid4())
    first = generate(emu, "text", T2V, trace=trace)["Resp"]["video_id"]
    second = generate(emu, "text", T2V, trace=trace)["Resp"]["video_id"]
    assert first != second
    emu.advance(3600)
    assert status(emu, first)["status"] == 1
    assert status(emu, second)["status"] == 5 and status(emu, second)["url"] == ""


@pytest.mark.parametrize(("token", "code"), [("#moderate", 7), ("#nsfw", 7), ("#fail", 8)])
def test_terminal_failure_statuses(emu: Emulator, token: str, code: int) -> None:
    video_id = generate(emu, "text", {**T2V, "prompt": f"x {token}"})["Resp"]["video_id"]
    resp = status(emu, video_id)
    assert resp["status"] == code and resp["url"] == ""


def test_generating_status_is_5(slow_emu: Emulator) -> None:
    video_id = generate(slow_emu, "text", T2V)["Resp"]["video_id"]
    assert status(slow_emu, video_id)["status"] == 5
    slow_emu.advance(10)
    assert status(slow_emu, video_id)["status"] == 5
    slow_emu.advance(10)
    assert status(slow_emu, video_id)["status"] == 1


def test_concurrency_limit_answers_500044(tmp_path: Path) -> None:
    for emu in make_emulator(tmp_path, run_seconds=10, concurrency={"pixverse": 2}):
        for _ in range(2):
            assert generate(emu, "text", T2V)["ErrCode"] == 0
        full = generate(emu, "text", T2V)
        assert full["ErrCode"] == 500044 and "concurrent" in full["ErrMsg"]
        emu.advance(10)
        assert generate(emu, "text", T2V)["ErrCode"] == 0  # slots freed


def test_unknown_video_and_balance(emu: Emulator) -> None:
    missing = emu.client.get(f"{BASE}/video/result/42", headers=headers()).json()
    assert missing["ErrCode"] != 0
    before = ok(emu.client.get(f"{BASE}/account/balance", headers=headers()))
    generate(emu, "text", T2V)
    after = ok(emu.client.get(f"{BASE}/account/balance", headers=headers()))
    assert before["credit_package"] - after["credit_package"] == 6
    assert set(after) == {"account_id", "credit_monthly", "credit_package"}


def test_webhook_is_sent_for_a_create_that_names_the_console_webhook(tmp_path: Path) -> None:
    hooks = {"pixverse_webhook_url": "https://studio.test/hook", "pixverse_webhook_secret": "s3"}
    for emu in make_emulator(tmp_path, pixverse_webhook_id="wh_1", **hooks):
        trace = str(uuid.uuid4())
        video_id = generate(emu, "text", {**T2V, "webhook_id": "wh_1"}, trace=trace)["Resp"]["video_id"]
        generate(emu, "text", T2V)  # no webhook_id: no delivery
        assert emu.app.webhooks.wait()
        (request,) = emu.webhooks
        assert len(request.headers["Webhook-Nonce"]) == 32
        payload = verify_pixverse(body=request.content, headers=dict(request.headers), secret="s3", verify=True)
        assert payload["id"] == video_id and payload["status"] == 1
        assert request.headers["Ai-Trace-Id"] == trace
        (logged,) = emu.control("GET", "webhooks").json()["webhooks"]
        assert logged["acknowledged"] is True  # the receiver answered 200 "ok"
    for emu in make_emulator(tmp_path / "off", pixverse_webhook_id="wh_1"):
        generate(emu, "text", {**T2V, "webhook_id": "wh_1"})
        assert emu.app.webhooks.wait() and emu.webhooks == []


def test_webhook_id_is_checked(tmp_path: Path) -> None:
    for emu in make_emulator(tmp_path, pixverse_webhook_id="wh_1"):
        unknown = emu.client.post(f"{BASE}/video/text/generate", json={**T2V, "webhook_id": "wh_x"}, headers=headers())
        assert unknown.json()["ErrCode"] == 400017


def test_ids_survive_json_round_trip_as_integers(emu: Emulator) -> None:
    raw = emu.client.post(f"{BASE}/video/text/generate", json=T2V, headers=headers()).text
    video_id = json.loads(raw)["Resp"]["video_id"]
    assert str(video_id) in raw and video_id > 2**53
