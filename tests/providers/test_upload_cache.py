"""PixVerse images are uploaded once per image (asset SHA-256) and provider account; the img_id is reused.

A fresh adapter per submit (as the pipeline builds them) still reuses the id: the cache is shared, not per instance.
"""

from __future__ import annotations

import itertools
import json

import httpx
import pytest

from generations.providers import uploads
from generations.providers.base import Mode, Reference
from generations.providers.errors import PermanentError, TransientError
from tests.providers.conftest import MockProvider, image_input, job_spec, make_adapter
from tests.providers.payloads import pixverse

_ids = itertools.count(700)


def _pixverse_api(mock_transport: MockProvider, *, stale: set[int] | None = None) -> None:
    """Uploads answer a new img_id each; creates refuse (400017) any img_id in ``stale``."""
    stale = stale or set()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/image/upload"):
            return pixverse({"img_id": next(_ids), "img_url": "https://x/y.png"})
        body = json.loads(request.content)
        used = {body.get("img_id"), *(ref["img_id"] for ref in body.get("image_references", []))}
        if used & stale:
            return pixverse(err_code=400017, err_msg="Invalid parameter: img_id not found")
        return pixverse({"video_id": 5})

    mock_transport.handler = handler


def _uploads(mock_transport: MockProvider) -> list[httpx.Request]:
    return [r for r in mock_transport.requests if r.url.path.endswith("/image/upload")]


def _created_img_ids(mock_transport: MockProvider) -> list[int]:
    return [json.loads(r.content)["img_id"] for r in mock_transport.requests if r.url.path.endswith("/img/generate")]


def test_the_same_image_is_uploaded_once_per_account(mock_transport: MockProvider) -> None:
    _pixverse_api(mock_transport)
    image = image_input()
    make_adapter("pixverse").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))
    make_adapter("pixverse").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))
    assert len(_uploads(mock_transport)) == 1
    first, second = _created_img_ids(mock_transport)
    assert first == second


def test_references_reuse_cached_ids_too(mock_transport: MockProvider) -> None:
    _pixverse_api(mock_transport)
    cat, park = image_input("cat.png"), image_input("park.png")
    refs = (
        Reference(ref_name="cat", type="subject", image=cat),
        Reference(ref_name="park", type="background", image=park),
    )
    make_adapter("pixverse").submit(job_spec(Mode.REFERENCE_TO_VIDEO, references=refs))
    make_adapter("pixverse").submit(job_spec(Mode.REFERENCE_TO_VIDEO, references=refs))
    assert len(_uploads(mock_transport)) == 2  # one per distinct image, not per submit


def test_another_account_or_another_image_uploads_again(mock_transport: MockProvider) -> None:
    _pixverse_api(mock_transport)
    image = image_input()
    make_adapter("pixverse", api_key="sk-a").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))
    make_adapter("pixverse", api_key="sk-b").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))
    make_adapter("pixverse", api_key="sk-a").submit(job_spec(Mode.IMAGE_TO_VIDEO))
    assert len(_uploads(mock_transport)) == 3
    a, b, other = _created_img_ids(mock_transport)
    assert len({a, b, other}) == 3


def test_a_stale_cached_id_is_forgotten_and_the_refusal_is_transient(mock_transport: MockProvider) -> None:
    image = image_input()
    uploads.remember(provider="pixverse", api_key="sk-test", sha256=image.sha256, handle="555")
    _pixverse_api(mock_transport, stale={555})
    with pytest.raises(TransientError) as caught:
        make_adapter("pixverse").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))
    assert caught.value.code == "400017"
    assert not _uploads(mock_transport)
    assert uploads.cached_handle(provider="pixverse", api_key="sk-test", sha256=image.sha256) is None
    make_adapter("pixverse").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))  # the retry uploads afresh
    assert len(_uploads(mock_transport)) == 1
    assert _created_img_ids(mock_transport)[-1] != 555


def test_a_400017_without_cached_ids_stays_permanent(mock_transport: MockProvider) -> None:
    mock_transport.reply(
        pixverse({"img_id": 1, "img_url": "https://x/y.png"}),
        pixverse(err_code=400017, err_msg="Invalid parameter: duration"),
    )
    with pytest.raises(PermanentError):
        make_adapter("pixverse").submit(job_spec(Mode.IMAGE_TO_VIDEO))


def test_an_explicit_provider_ref_wins_over_the_cache(mock_transport: MockProvider) -> None:
    _pixverse_api(mock_transport)
    image = image_input(provider_ref="42")
    uploads.remember(provider="pixverse", api_key="sk-test", sha256=image.sha256, handle="555")
    make_adapter("pixverse").submit(job_spec(Mode.IMAGE_TO_VIDEO, image=image))
    assert _created_img_ids(mock_transport) == [42]
