"""The providers' official Python SDKs, pointed at the emulator on a real socket, work unchanged.

Test dependencies: ``wavespeed`` (wavespeed-python) and ``dashscope``. Each test is skipped when its SDK is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dashscope
import pytest
import wavespeed

from generations.emulators.server import run_in_thread
from tests.emulators.conftest import MediaHost, png, probe


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    httpd, base_url = run_in_thread(
        "127.0.0.1",
        0,
        queue_seconds=0,
        run_seconds=0,
        media_dir=str(tmp_path / "media"),
        fetch_transport=MediaHost().transport(),
    )
    try:
        yield base_url
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_wavespeed_sdk_upload_run_and_get_result(server: str, tmp_path: Path) -> None:
    client = wavespeed.Client(api_key="ws-key", base_url=f"{server}/wavespeed", max_connection_retries=0)
    image = tmp_path / "in.png"
    image.write_bytes(png(640, 360))
    url = client.upload(str(image))
    assert url.startswith(f"{server}/wavespeed/files/uploads/")
    output = client.run(
        "pixverse/pixverse-c1/image-to-video",
        {"image": url, "prompt": "slow pan", "resolution": "360p", "duration": 1},
        poll_interval=0.05,
        timeout=30,
    )
    (video_url,) = output["outputs"]
    import httpx

    info = probe(httpx.get(video_url, timeout=10).content)
    assert (info.codec, info.width, info.height) == ("h264", 640, 360)
    failed = client.run_no_throw("pixverse/pixverse-c1/text-to-video", {"prompt": "x #fail"}, poll_interval=0.05)
    assert failed["status"] == "failed" and failed["outputs"] is None and "execution failed" in failed["error"]
    sync = client.run("pixverse/pixverse-c1/text-to-video", {"prompt": "x", "duration": 1}, enable_sync_mode=True)
    assert len(sync["outputs"]) == 1
    with pytest.raises(RuntimeError, match="401"):
        wavespeed.Client(api_key="invalid", base_url=f"{server}/wavespeed").run(
            "pixverse/pixverse-c1/text-to-video", {"prompt": "x"}
        )


def test_dashscope_sdk_async_call_wait_and_cancel(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashscope import VideoSynthesis

    monkeypatch.setattr(dashscope, "base_http_api_url", f"{server}/dashscope/api/v1")
    created = VideoSynthesis.async_call(
        model="pixverse/pixverse-c1-it2v",
        prompt="a turtle swims",
        media=[{"type": "image_url", "url": "http://media.test/photo.png"}],
        resolution="360P",
        duration=1,
        audio=True,
        api_key="sk-test",
    )
    assert created.status_code == 200, created
    assert created.output.task_status == "PENDING"
    done = VideoSynthesis.wait(created, api_key="sk-test")
    assert done.status_code == 200 and done.output.task_status == "SUCCEEDED"
    assert done.output.video_url.startswith(f"{server}/dashscope/files/")
    assert done.usage.duration == 1
    fetched = VideoSynthesis.fetch(created.output.task_id, api_key="sk-test")
    assert fetched.output.task_status == "SUCCEEDED"
    late_cancel = VideoSynthesis.cancel(created.output.task_id, api_key="sk-test")
    assert late_cancel.status_code == 400 and late_cancel.code == "UnsupportedOperation"

    bad_model = VideoSynthesis.async_call(model="pixverse/pixverse-c9", prompt="x", api_key="sk-test")
    assert (bad_model.status_code, bad_model.code) == (404, "ModelNotFound")
    bad_key = VideoSynthesis.async_call(
        model="pixverse/pixverse-c1-t2v", prompt="x", size="640*360", duration=1, api_key="invalid-key"
    )
    assert (bad_key.status_code, bad_key.code) == (401, "InvalidApiKey")
    moderated = VideoSynthesis.call(
        model="pixverse/pixverse-c1-t2v", prompt="x #moderate", size="640*360", duration=1, api_key="sk-test"
    )
    assert moderated.output.task_status == "FAILED" and moderated.output.code == "DataInspectionFailed"


def test_dashscope_sdk_cancels_a_pending_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashscope import VideoSynthesis

    httpd, base_url = run_in_thread("127.0.0.1", 0, queue_seconds=60, run_seconds=0, media_dir=str(tmp_path))
    try:
        monkeypatch.setattr(dashscope, "base_http_api_url", f"{base_url}/dashscope/api/v1")
        created = VideoSynthesis.async_call(
            model="pixverse/pixverse-c1-t2v", prompt="x", size="640*360", duration=1, api_key="sk-test"
        )
        assert VideoSynthesis.cancel(created, api_key="sk-test").status_code == 200
        assert VideoSynthesis.wait(created, api_key="sk-test").output.task_status == "CANCELED"
    finally:
        httpd.shutdown()
        httpd.server_close()
