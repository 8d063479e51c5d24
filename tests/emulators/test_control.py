"""The control API: create counter, reset, config, clock, job listing."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.emulators.conftest import Emulator

WS = "/wavespeed/api/v3/pixverse/pixverse-c1/text-to-video"
AUTH = {"Authorization": "Bearer k"}


def test_creates_are_counted_per_idempotency_key(emu: Emulator) -> None:
    for _ in range(2):
        emu.client.post(WS, json={"prompt": "x", "duration": 1}, headers={**AUTH, "Idempotency-Key": "job-a"})
    emu.client.post(WS, json={"prompt": "x"}, headers={"Idempotency-Key": "job-b"})  # 401: counted, not accepted
    a = emu.creates("job-a")
    assert (a["count"], a["accepted"], len(a["job_ids"])) == (2, 2, 2)
    assert emu.creates("job-b") == {"key": "job-b", "count": 1, "accepted": 0, "job_ids": []}
    assert emu.creates("never-seen") == {"key": "never-seen", "count": 0, "accepted": 0, "job_ids": []}
    total = emu.control("GET", "creates").json()
    assert (total["total"], total["accepted"]) == (3, 2)
    assert total["by_key"]["job-a"] == {"count": 2, "accepted": 2}


def test_without_a_key_the_body_hash_counts(emu: Emulator) -> None:
    for _ in range(2):
        emu.client.post(WS, json={"prompt": "same", "duration": 1}, headers=AUTH)
    by_key = emu.control("GET", "creates").json()["by_key"]
    (key,) = by_key
    assert key.startswith("body:") and by_key[key]["count"] == 2


def test_polls_and_uploads_are_not_creates(emu: Emulator) -> None:
    emu.client.get("/wavespeed/api/v3/predictions/x/result", headers=AUTH)
    emu.client.post("/wavespeed/api/v3/media/upload/binary", headers=AUTH, files={"file": ("a.png", b"x", "image/png")})
    assert emu.control("GET", "creates").json()["total"] == 0


def test_reset_forgets_everything(emu: Emulator) -> None:
    emu.control("POST", "config", json={"run_seconds": 99})
    emu.arm("wavespeed", "fail")
    emu.advance(100)
    job = emu.client.post(WS, json={"prompt": "x"}, headers={**AUTH, "Idempotency-Key": "a"}).json()["data"]["id"]
    emu.control("POST", "reset")
    assert emu.control("GET", "creates").json()["total"] == 0
    assert emu.control("GET", "faults").json()["armed"] == []
    assert emu.control("GET", "jobs").json()["jobs"] == []
    assert emu.control("GET", "config").json()["run_seconds"] == 0
    assert emu.app.clock.offset == 0
    assert emu.client.get(f"/wavespeed/api/v3/predictions/{job}/result", headers=AUTH).status_code == 404


def test_config_changes_timelines_and_limits(emu: Emulator) -> None:
    config = emu.control("POST", "config", json={"queue_seconds": 5, "concurrency": {"wavespeed": 1}}).json()
    assert config["queue_seconds"] == 5 and config["concurrency"]["wavespeed"] == 1
    assert "wavespeed_webhook_secret" not in config
    job = emu.client.post(WS, json={"prompt": "x"}, headers=AUTH).json()["data"]
    assert job["status"] == "created"
    emu.advance(5)
    assert (
        emu.client.get(f"/wavespeed/api/v3/predictions/{job['id']}", headers=AUTH).json()["data"]["status"]
        == "completed"
    )
    assert emu.client.post("/_control/config", json={"media_dir": "/"}).status_code == 400
    assert emu.client.post("/_control/config", json={"concurrency": {"acme": 1}}).status_code == 400


def test_clock_and_jobs_listing(emu: Emulator) -> None:
    assert emu.client.post("/_control/clock", json={"advance": -1}).status_code == 400
    emu.client.post(WS, json={"prompt": "x", "duration": 3}, headers={**AUTH, "Idempotency-Key": "j"})
    (job,) = emu.control("GET", "jobs").json()["jobs"]
    assert (job["provider"], job["state"], job["create_key"], job["duration"]) == ("wavespeed", "succeeded", "j", 3)


def test_index_and_unknown_paths(emu: Emulator) -> None:
    index = emu.client.get("/").json()
    assert index["emulators"]["dashscope"] == "http://emulator.test/dashscope/api/v1"
    assert emu.client.get("/wavespeed/api/v3/nothing").status_code == 404
    assert emu.client.get(WS).status_code == 405


def test_absolute_urls_follow_the_host_header(emu: Emulator) -> None:
    with httpx.Client(transport=emu.client._transport, base_url="http://other.host:9999") as client:
        data = client.post(WS, json={"prompt": "x"}, headers=AUTH).json()["data"]
    assert data["urls"]["get"].startswith("http://other.host:9999/wavespeed/api/v3/predictions/")


def _wait_for(condition: Any, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_render_ahead_has_the_output_ready_when_the_job_completes(slow_emu: Emulator) -> None:
    """With ``prerender_lead_seconds`` the MP4 exists before anyone downloads it (a real provider's CDN has it when
    the job reports completed); without it, nothing is rendered until the first download."""
    make = {"prompt": "a lighthouse", "duration": 1, "resolution": "360p"}
    lazy = slow_emu.client.post(WS, json=make, headers=AUTH).json()["data"]["id"]
    slow_emu.advance(20)
    assert slow_emu.app.output_size(slow_emu.app.store.get_job("wavespeed", lazy)) == 0  # nothing fetched it

    slow_emu.control("POST", "config", json={"prerender_lead_seconds": 5})
    ahead = slow_emu.client.post(WS, json=make, headers=AUTH).json()["data"]["id"]
    failing = slow_emu.client.post(WS, json={**make, "prompt": "#fail"}, headers=AUTH).json()["data"]["id"]
    job = slow_emu.app.store.get_job("wavespeed", ahead)
    slow_emu.advance(10)  # queued for 10 s, then running: 10 s to go, still outside the 5 s lead
    time.sleep(0.3)
    assert slow_emu.app.output_size(job) == 0
    slow_emu.advance(6)  # 4 s before it completes: inside the lead
    assert _wait_for(lambda: slow_emu.app.output_size(job) > 0)
    status = slow_emu.client.get(f"/wavespeed/api/v3/predictions/{ahead}/result", headers=AUTH).json()["data"]
    assert status["status"] == "processing"  # rendered ahead, not finished early
    slow_emu.advance(4)
    assert (
        slow_emu.client.get(f"/wavespeed/api/v3/predictions/{ahead}/result", headers=AUTH).json()["data"]["status"]
        == "completed"
    )
    assert slow_emu.app.output_size(slow_emu.app.store.get_job("wavespeed", failing)) == 0  # a failure has no output
    slow_emu.control("POST", "config", json={"prerender_lead_seconds": 0})
    assert _wait_for(lambda: slow_emu.app._prerenderer is None)  # the thread stops when the lead is switched off
