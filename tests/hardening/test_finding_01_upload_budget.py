"""Issue 13 finding 1: upload denial of service. Cheap checks (hash, header dimensions) run before any decode,
duplicates cost no decode, each request and each user have a pixel budget (413 / 429 with a message), decoding is
bounded per process (429 when busy), and a scaled-down version of the reported attack against a real gunicorn
finishes while /healthz keeps answering in under a second. The full-size figure: tests/benchmarks/test_upload_dos.py.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from studio.assets import budget as budget_module
from studio.assets import services
from studio.assets.budget import PixelBudget
from studio.assets.models import Asset
from studio.assets.services import UploadStatus
from tests.assets.images import media_root, upload
from tests.conftest import World
from tests.net import LOOPBACK, free_port

__all__ = ["media_root"]
ROOT = Path(__file__).resolve().parents[2]
UPLOAD = "/assets/upload/"


@pytest.fixture(autouse=True)
def _isolated_media(media_root: object) -> None:
    return None


def big_png(width: int, height: int, shade: int) -> bytes:
    """A many-pixel, few-byte PNG (a flat colour compresses to almost nothing), like the reported 131 KB file."""
    out = io.BytesIO()
    Image.new("L", (width, height), shade % 256).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def decode_counter(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Observe (not replace) the expensive step, to tell which files were decoded."""
    calls: list[str] = []
    real = services.decode_image

    def counting(file: Any, *, filename: str, header: Any) -> Any:
        calls.append(filename)
        return real(file, filename=filename, header=header)

    monkeypatch.setattr(services, "decode_image", counting)
    return calls


@pytest.mark.django_db
def test_finding_01_identical_copies_are_decoded_once(world: World, decode_counter: list[str]) -> None:
    content = big_png(1200, 1000, 7)
    files = [upload(f"copy{n}.png", content) for n in range(20)]
    response = world.client_for(world.owner).post(UPLOAD, {"files": files})
    assert response.status_code == 200
    assert decode_counter == ["copy0.png"]  # the hash check comes before decoding
    assert Asset.objects.filter(team=world.team).count() == 1
    assert response.content.decode().count("which was reused") == 19


@pytest.mark.django_db
def test_finding_01_request_pixel_budget_answers_413(world: World, settings: Any, decode_counter: list[str]) -> None:
    settings.ASSET_PIXEL_BUDGET_PER_REQUEST = 3_000_000  # 2.5 of the 1.2 MP files below
    files = [upload(f"f{n}.png", big_png(1200, 1000, n)) for n in range(6)]
    response = world.client_for(world.owner).post(UPLOAD, {"files": files})
    assert response.status_code == 413
    body = response.content.decode()
    assert "one upload may decode at most 3 megapixels" in body
    assert len(decode_counter) == 2 and Asset.objects.filter(team=world.team).count() == 2


@pytest.mark.django_db
def test_finding_01_user_pixel_budget_answers_429_across_requests(
    world: World, settings: Any, decode_counter: list[str]
) -> None:
    settings.ASSET_PIXEL_BUDGET_PER_USER = 5_000_000
    client = world.client_for(world.owner)
    first = client.post(UPLOAD, {"files": [upload(f"a{n}.png", big_png(1200, 1000, n)) for n in range(3)]})
    assert first.status_code == 200
    second = client.post(UPLOAD, {"files": [upload(f"b{n}.png", big_png(1200, 1000, 50 + n)) for n in range(3)]})
    assert second.status_code == 429
    assert "the most allowed. Try again in a few minutes" in second.content.decode()
    assert len(decode_counter) == 4  # 4 × 1.2 MP fit in 5 MP; the 5th and 6th were refused before decoding
    # Another user has a budget of their own.
    other = world.client_for(world.admin).post(UPLOAD, {"files": [upload("c.png", big_png(1200, 1000, 99))]})
    assert other.status_code == 200


@pytest.mark.django_db
def test_finding_01_busy_decoder_answers_429(world: World, settings: Any) -> None:
    settings.ASSET_DECODE_CONCURRENCY = 1
    settings.ASSET_DECODE_WAIT_SECONDS = 0.2
    slot = budget_module._slots.get()
    assert slot.acquire(timeout=5)  # another request is decoding
    try:
        outcome = services.asset_upload(
            team=world.team,
            user=world.owner,
            uploaded_file=upload("x.png", big_png(300, 200, 3)),
            filename="x.png",
            budget=PixelBudget(user_id=world.owner.pk),
        )
    finally:
        slot.release()
    assert outcome.status == UploadStatus.REJECTED and outcome.http_status == 429
    assert "the server is busy" in outcome.message


@pytest.mark.django_db
def test_finding_01_header_dimensions_refuse_without_decoding(world: World, decode_counter: list[str]) -> None:
    from tests.assets.images import png_declaring

    response = world.client_for(world.owner).post(UPLOAD, {"files": [upload("bomb.png", png_declaring(9000, 9000))]})
    assert "megapixels" in response.content.decode()
    assert decode_counter == []


# --- The scaled-down attack against a real server -------------------------------------------------------------------


def _login(base: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=180)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/accounts/login/",
        data={"login": email, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{base}/accounts/login/"},
    )
    assert response.status_code == 302, response.text[:500]
    return client


@pytest.mark.e2e
def test_finding_01_scaled_attack_finishes_while_healthz_answers(tmp_path: Path) -> None:
    """Four concurrent requests of twenty distinct 2-megapixel PNGs each (the report: 4 × 20 × 39.9 MP), against
    gunicorn's threaded worker as the Dockerfile runs it, budgets scaled down by the same factor (÷ 20)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DEBUG": "1",
        "STUDIO_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "ASSET_PIXEL_BUDGET_PER_REQUEST": str(12_500_000),
        "ASSET_PIXEL_BUDGET_PER_USER": str(50_000_000),
        "ASSET_DECODE_CONCURRENCY": "1",
        "ASSET_DECODE_WAIT_SECONDS": "5",
    }
    for command in (["migrate", "--noinput"], ["seed_demo", "--quiet"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "studio.wsgi:application", "--bind", f"{LOOPBACK}:{port}"),
            *("--workers", "1", "--worker-class", "gthread", "--threads", "8", "--timeout", "300"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        from studio.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD

        clients = [_login(base, DEMO_EMAIL, DEMO_PASSWORD) for _ in range(4)]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', clients[0].get(UPLOAD).text)
        assert token
        batches = [
            [("files", (f"r{r}-{n}.png", big_png(1600, 1250, r * 20 + n), "image/png")) for n in range(20)]
            for r in range(4)
        ]

        answers: list[tuple[float, int | str]] = []  # (when the probe's answer came, its status or error)
        stop = threading.Event()

        def probe() -> None:
            with httpx.Client(timeout=60) as probe_client:
                while not stop.is_set():
                    try:
                        status: int | str = probe_client.get(f"{base}/healthz").status_code
                    except httpx.HTTPError as exc:
                        status = f"{type(exc).__name__}: {exc}"
                    answers.append((time.monotonic(), status))
                    time.sleep(0.05)

        def attack(index: int) -> int:
            client = clients[index]
            csrf = client.cookies.get("csrftoken") or ""
            response = client.post(
                UPLOAD,
                files=batches[index],
                data={"csrfmiddlewaretoken": csrf or token.group(1), "default_type": "subject"},
                headers={"Referer": f"{base}{UPLOAD}", "X-CSRFToken": csrf},
            )
            return response.status_code

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        with ThreadPoolExecutor(max_workers=4) as pool:
            attacks = [pool.submit(attack, index) for index in range(4)]
            opened = time.monotonic()
            wait(attacks)
            closed = time.monotonic()
            statuses = [future.result() for future in attacks]  # bounded: each request ends, none hangs
        stop.set()
        prober.join(timeout=70)
        assert set(statuses) <= {200, 413, 429} and {413, 429} & set(statuses), statuses
        assert [status for _, status in answers if status != 200] == [], "every health check answered 200"
        # Health checks answered while the attack's requests were open: the server kept serving them during the
        # attack, not after it (as a server busy decoding, or out of threads, would).
        during = sum(opened <= when <= closed for when, _ in answers)
        assert during >= 5, f"only {during} health checks were answered while the attack was open"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
