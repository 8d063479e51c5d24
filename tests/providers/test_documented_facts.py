"""Table tests written from the providers' own documents (providers.md §10), for the adapters AND the emulators.

The expected values here are copied from the documentation, not computed: DashScope's fixed ``parameters.size``
table (t2v and r2v, every resolution × aspect ratio), its r2v media items, HighwayAPI's image-to-video endpoint and
its JPEG/PNG-only rule, and PixVerse's error codes. A wrong adapter fails against the mock transport; a wrong
emulator fails against the request a correct client sends.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from generations.providers.base import ImageInput, Mode
from generations.providers.errors import (
    AccountExhaustedError,
    ConcurrencyFullError,
    ModerationError,
    PermanentError,
    UnsupportedFeatureError,
)
from generations.providers.registry import ADAPTERS
from tests.emulators.conftest import Emulator, make_emulator
from tests.providers.conftest import MockProvider, image_input, job_spec, make_adapter

# help.aliyun.com/en/model-studio/pixverse-text-to-video-api-reference: rows 360P..1080P, columns as below.
DOC_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "3:2", "2:3", "21:9")
DOC_TABLE = {
    "360p": "640*360 640*480 640*640 480*640 360*640 640*432 432*640 640*288",
    "540p": "1024*576 1024*768 1024*1024 768*1024 576*1024 1024*688 688*1024 1024*448",
    "720p": "1280*720 1108*832 960*960 832*1108 720*1280 1200*800 800*1200 1280*560",
    "1080p": "1920*1080 1664*1248 1440*1440 1248*1664 1080*1920 1776*1184 1184*1776 1920*832",
}
DOC_SIZES = [
    (resolution, ratio, size)
    for resolution, row in DOC_TABLE.items()
    for ratio, size in zip(DOC_RATIOS, row.split(), strict=True)
]
DASHSCOPE_CREATED = {"output": {"task_status": "PENDING", "task_id": "t-1"}, "request_id": "r-1"}
DS_BASE = "/dashscope/api/v1"
DS_CREATE = f"{DS_BASE}/services/aigc/video-generation/video-synthesis"
DS_HEADERS = {"Authorization": "Bearer sk-test", "X-DashScope-Async": "enable"}


@pytest.fixture
def emu(tmp_path: Path):
    yield from make_emulator(tmp_path)


def test_the_doc_table_has_every_resolution_and_aspect_ratio() -> None:
    assert len(DOC_SIZES) == 32


# ---------------------------------------------------------------------------------------------------------------------
# DashScope sizes: adapter


@pytest.mark.parametrize("mode", [Mode.TEXT_TO_VIDEO, Mode.REFERENCE_TO_VIDEO], ids=["t2v", "r2v"])
@pytest.mark.parametrize(("resolution", "ratio", "size"), DOC_SIZES, ids=[f"{r}-{a}" for r, a, _ in DOC_SIZES])
def test_dashscope_adapter_sends_the_documented_size(
    mock_transport: MockProvider, mode: Mode, resolution: str, ratio: str, size: str
) -> None:
    mock_transport.reply(httpx.Response(200, json=DASHSCOPE_CREATED))
    make_adapter("dashscope").submit(job_spec(mode, resolution=resolution, aspect_ratio=ratio))
    body = json.loads(mock_transport.requests[0].content)
    assert (
        body["model"]
        == {Mode.TEXT_TO_VIDEO: "pixverse/pixverse-c1-t2v", Mode.REFERENCE_TO_VIDEO: "pixverse/pixverse-c1-r2v"}[mode]
    )
    assert body["parameters"]["size"] == size
    assert "resolution" not in body["parameters"]


def test_dashscope_r2v_media_items_are_type_url_ref_name_only(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=DASHSCOPE_CREATED))
    make_adapter("dashscope").submit(job_spec(Mode.REFERENCE_TO_VIDEO))
    media = json.loads(mock_transport.requests[0].content)["input"]["media"]
    assert [set(item) for item in media] == [{"type", "url", "ref_name"}] * 2
    assert [(item["type"], item["ref_name"]) for item in media] == [("image_url", "cat"), ("image_url", "park")]


def test_dashscope_t2v_has_no_media(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=DASHSCOPE_CREATED))
    make_adapter("dashscope").submit(job_spec(Mode.TEXT_TO_VIDEO, prompt="a lighthouse"))
    body = json.loads(mock_transport.requests[0].content)
    assert body["input"] == {"prompt": "a lighthouse"}


# ---------------------------------------------------------------------------------------------------------------------
# DashScope sizes: emulator


def _ds_body(mode: Mode, emu: Emulator, size: str, media: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if mode == Mode.TEXT_TO_VIDEO:
        return {
            "model": "pixverse/pixverse-c1-t2v",
            "input": {"prompt": "a city"},
            "parameters": {"size": size, "duration": 1},
        }
    items = (
        media
        if media is not None
        else [
            {"type": "image_url", "url": emu.media.url("wide.png"), "ref_name": "cat"},
            {"type": "image_url", "url": emu.media.url("photo.png"), "ref_name": "park"},
        ]
    )
    return {
        "model": "pixverse/pixverse-c1-r2v",
        "input": {"prompt": "@cat in @park ", "media": items},
        "parameters": {"size": size, "duration": 1},
    }


@pytest.mark.parametrize("mode", [Mode.TEXT_TO_VIDEO, Mode.REFERENCE_TO_VIDEO], ids=["t2v", "r2v"])
@pytest.mark.parametrize(("resolution", "ratio", "size"), DOC_SIZES, ids=[f"{r}-{a}" for r, a, _ in DOC_SIZES])
def test_dashscope_emulator_accepts_each_documented_size(
    emu: Emulator, mode: Mode, resolution: str, ratio: str, size: str
) -> None:
    created = emu.client.post(DS_CREATE, json=_ds_body(mode, emu, size), headers=DS_HEADERS)
    assert created.status_code == 200, created.text
    task_id = created.json()["output"]["task_id"]
    done = emu.client.get(f"{DS_BASE}/tasks/{task_id}", headers=DS_HEADERS).json()
    assert done["output"]["task_status"] == "SUCCEEDED"
    assert done["usage"]["size"] == size
    assert done["usage"]["SR"] == resolution.removesuffix("p")


@pytest.mark.parametrize("mode", [Mode.TEXT_TO_VIDEO, Mode.REFERENCE_TO_VIDEO], ids=["t2v", "r2v"])
# The sizes our old generic formula produced, which the docs do not list (26 of the 32 were wrong).
@pytest.mark.parametrize("size", ["960*540", "960*720", "720*720", "1260*540", "1620*1080", "1080*720"])
def test_dashscope_emulator_refuses_undocumented_sizes(emu: Emulator, mode: Mode, size: str) -> None:
    refused = emu.client.post(DS_CREATE, json=_ds_body(mode, emu, size), headers=DS_HEADERS)
    assert refused.status_code == 400
    assert refused.json()["code"] == "InvalidParameter"


def test_dashscope_emulator_refuses_an_undocumented_ref_type_field(emu: Emulator) -> None:
    media = [
        {"type": "image_url", "url": emu.media.url("wide.png"), "ref_name": "cat", "ref_type": "subject"},
        {"type": "image_url", "url": emu.media.url("photo.png"), "ref_name": "park"},
    ]
    refused = emu.client.post(
        DS_CREATE, json=_ds_body(Mode.REFERENCE_TO_VIDEO, emu, "640*360", media), headers=DS_HEADERS
    )
    assert refused.status_code == 400
    assert "ref_type" in refused.json()["message"]


def test_dashscope_emulator_needs_a_ref_name_matching_the_prompt(emu: Emulator) -> None:
    media = [
        {"type": "image_url", "url": emu.media.url("wide.png"), "ref_name": "dog"},
        {"type": "image_url", "url": emu.media.url("photo.png"), "ref_name": "park"},
    ]
    refused = emu.client.post(
        DS_CREATE, json=_ds_body(Mode.REFERENCE_TO_VIDEO, emu, "640*360", media), headers=DS_HEADERS
    )
    assert refused.status_code == 400


# ---------------------------------------------------------------------------------------------------------------------
# HighwayAPI image-to-video


def _webp_input(url: str = "https://cdn.example.com/input.webp") -> ImageInput:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(out, format="WEBP")
    return ImageInput(
        sha256="w" * 64, url=url, content=out.getvalue(), filename="input.webp", content_type="image/webp"
    )


def test_highway_i2v_endpoint_and_body(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json={"task_id": "hw-1"}))
    spec = job_spec(Mode.IMAGE_TO_VIDEO, image=image_input(url="https://cdn.example.com/a/input.png"), duration=3)
    result = make_adapter("highway").submit(spec)
    (request,) = mock_transport.requests
    assert request.url.path == "/base/async/pixverse-c1-image-to-video"
    assert json.loads(request.content) == {
        "prompt": "a cat walks in a park",
        "duration": 3,
        "resolution": "720p",
        "generate_audio_switch": False,
        "image": "https://cdn.example.com/a/input.png",
    }
    assert result.provider_job_id == "hw-1"


@pytest.mark.parametrize(
    "image",
    [
        _webp_input(),
        _webp_input(url="https://cdn.example.com/input.png"),  # a WEBP file behind a .png name is still WEBP
        ImageInput(
            sha256="p" * 64, url="https://cdn.example.com/files/token123/", content=b"", content_type="image/png"
        ),
    ],
    ids=["webp", "webp-named-png", "png-without-ending"],
)
def test_highway_refuses_webp_and_unsuffixed_images_with_a_clear_message(
    mock_transport: MockProvider, image: ImageInput
) -> None:
    with pytest.raises(UnsupportedFeatureError) as caught:
        make_adapter("highway").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))
    assert caught.value.option == "image"
    assert "JPEG or PNG" in caught.value.message
    assert mock_transport.requests == []


@pytest.mark.parametrize("url", ["https://cdn.example.com/x.jpg", "https://cdn.example.com/x.JPEG?sig=1"])
def test_highway_accepts_jpeg_urls(mock_transport: MockProvider, url: str) -> None:
    mock_transport.reply(httpx.Response(200, json={"task_id": "hw-2"}))
    image = ImageInput(sha256="j" * 64, url=url, content=b"", content_type="image/jpeg")
    make_adapter("highway").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))
    assert json.loads(mock_transport.requests[0].content)["image"] == url


def test_auto_routing_skips_highway_for_a_webp_image() -> None:
    from generations import routing

    spec = job_spec(Mode.IMAGE_TO_VIDEO, image=_webp_input())
    assert "JPEG or PNG" in routing.supports("highway", spec)
    assert routing.supports("wavespeed", spec) == ""


HW_I2V = "/highway/v3/async/pixverse-c1-image-to-video"
HW_AUTH = {"Authorization": "Bearer sk-test"}


def test_highway_emulator_i2v_accepts_a_png_url(emu: Emulator) -> None:
    created = emu.client.post(HW_I2V, json={"image": emu.media.url("wide.png"), "prompt": "go"}, headers=HW_AUTH)
    assert created.status_code == 200, created.text
    task_id = created.json()["task_id"]
    result = emu.client.get("/highway/v3/async/task-result", params={"task_id": task_id}, headers=HW_AUTH).json()
    assert result["task"]["status"] == "TASK_STATUS_SUCCEED"


def test_highway_emulator_i2v_refuses_webp(emu: Emulator) -> None:
    emu.media.files["pic.webp"] = _webp_input().content or b""
    emu.media.files["disguised.png"] = _webp_input().content or b""
    for name in ("pic.webp", "disguised.png"):
        refused = emu.client.post(HW_I2V, json={"image": emu.media.url(name), "prompt": "go"}, headers=HW_AUTH)
        assert refused.status_code == 400, name
        assert refused.json()["reason"] == "INVALID_REQUEST_BODY"


# ---------------------------------------------------------------------------------------------------------------------
# PixVerse error codes, decided by code (a neutral message proves the message is not what decides)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (500043, AccountExhaustedError),
        (500090, AccountExhaustedError),
        (500054, ModerationError),
        (500063, ModerationError),
        (500044, ConcurrencyFullError),
        (400017, PermanentError),
        (400018, PermanentError),
        (400019, PermanentError),
    ],
)
def test_pixverse_error_codes(mock_transport: MockProvider, code: int, error: type[Exception]) -> None:
    mock_transport.reply(
        httpx.Response(200, json={"ErrCode": code, "ErrMsg": "request could not be completed", "Resp": {}})
    )
    with pytest.raises(error) as caught:
        make_adapter("pixverse").submit(job_spec(Mode.TEXT_TO_VIDEO))
    assert type(caught.value) is error
    assert caught.value.code == str(code)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "fault_code"), [("dashscope", "Arrearage"), ("highway", "NOT_ENOUGH_BALANCE")])
def test_other_providers_empty_account_codes(mock_transport: MockProvider, name: str, fault_code: str) -> None:
    body = (
        {"code": fault_code, "message": "x"}
        if name == "dashscope"
        else {"code": 403, "reason": fault_code, "message": "x"}
    )
    mock_transport.reply(httpx.Response(400 if name == "dashscope" else 403, json=body))
    with pytest.raises(AccountExhaustedError):
        make_adapter(name).submit(job_spec(Mode.TEXT_TO_VIDEO))


# ---------------------------------------------------------------------------------------------------------------------
# Coverage: every documented mode on every provider.


def test_every_provider_offers_every_documented_mode() -> None:
    pairs = {(name, mode) for name, adapter in ADAPTERS.items() for mode in adapter.capabilities.modes}
    assert len(pairs) == 12
    assert {name for name, _ in pairs} == {"wavespeed", "pixverse", "dashscope", "highway"}


def test_pixverse_balance_is_read_from_the_emulator(emu: Emulator) -> None:
    from generations.emulators.transport import EmulatorTransport
    from generations.providers.base import ProviderConfig
    from generations.providers.http import use_transport
    from generations.providers.pixverse import PixVerseAdapter

    adapter = PixVerseAdapter(ProviderConfig(api_key="sk-test", base_url="http://emulator.test/pixverse/openapi/v2"))
    with use_transport(EmulatorTransport(emu.app)):
        before = adapter.balance()
        adapter.submit(job_spec(Mode.TEXT_TO_VIDEO, resolution="360p", duration=2, aspect_ratio="16:9"))
        after = adapter.balance()
    assert before - after == 12  # 6 credits/s at 360p without audio, for 2 s
