"""Uploading reference images: every rule of providers.md §6 rule 9, with real files made by Pillow."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from studio.assets import services
from studio.assets.models import Asset
from studio.assets.services import UploadStatus
from tests.assets.images import image_bytes, jpeg_with_gps, png_declaring, upload
from tests.conftest import World

UPLOAD = reverse("assets:upload")


def _upload_service(world: World, name: str, content: bytes) -> services.UploadOutcome:
    return services.asset_upload(team=world.team, user=world.member, uploaded_file=upload(name, content), filename=name)


def _stored(asset: Asset) -> Image.Image:
    with default_storage.open(asset.file.name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


# --- the rules ------------------------------------------------------------------------------------------------------


def test_a_png_renamed_jpg_is_accepted_as_png(world: World) -> None:
    outcome = _upload_service(world, "photo.jpg", image_bytes("PNG"))
    assert outcome.status == UploadStatus.ACCEPTED, outcome.message
    assert outcome.asset is not None
    assert outcome.asset.format == "PNG" and outcome.asset.content_type == "image/png"
    assert outcome.asset.file.name.endswith(".png") and "photo" not in outcome.asset.file.name
    assert _stored(outcome.asset).format == "PNG"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_accepted(world: World, fmt: str) -> None:
    outcome = _upload_service(world, f"x.{fmt.lower()}", image_bytes(fmt))
    assert outcome.status == UploadStatus.ACCEPTED and outcome.asset is not None
    assert outcome.asset.format == fmt and _stored(outcome.asset).format == fmt


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
HTML = b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"


def _psd() -> bytes:
    """A minimal Photoshop header (Pillow reads PSD but cannot write it)."""
    return (
        b"8BPS"
        + (1).to_bytes(2, "big")
        + b"\0" * 6
        + (3).to_bytes(2, "big")
        + (10).to_bytes(4, "big") * 2
        + (8).to_bytes(2, "big")
        + (3).to_bytes(2, "big")
        + b"\0" * 64
    )


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("drawing.svg", SVG, "SVG"),
        ("drawing.png", SVG, "SVG"),
        ("page.html", HTML, "HTML"),
        ("page.png", HTML, "HTML"),
        ("layers.png", _psd(), "Photoshop"),
        ("anim.png", _gif(), "GIF"),
        ("empty.png", b"", "empty"),
    ],
)
def test_files_that_are_not_jpeg_png_or_webp_are_rejected_whatever_their_name(
    world: World, name: str, content: bytes, says: str
) -> None:
    outcome = _upload_service(world, name, content)
    assert outcome.status == UploadStatus.REJECTED
    assert says in outcome.message
    if content:
        assert "JPEG, PNG and WEBP" in outcome.message
    assert not Asset.objects.exists()


def test_a_truncated_png_is_rejected_clearly(world: World) -> None:
    outcome = _upload_service(world, "cut.png", image_bytes("PNG", size=(300, 300))[:200])
    assert outcome.status == UploadStatus.REJECTED and "damaged" in outcome.message


def test_an_image_10001_px_wide_is_rejected_naming_the_limit(world: World) -> None:
    outcome = _upload_service(world, "wide.png", image_bytes("PNG", size=(10_001, 1)))
    assert outcome.status == UploadStatus.REJECTED
    assert "10,001 × 1 px" in outcome.message and "10,000 px" in outcome.message


def test_an_image_over_40_megapixels_is_rejected_naming_the_limit(world: World) -> None:
    outcome = _upload_service(world, "big.png", png_declaring(7_000, 7_000))  # 49 MP, each side under 10,000
    assert outcome.status == UploadStatus.REJECTED
    assert "40 megapixels" in outcome.message


def test_a_10000_px_side_is_still_accepted(world: World) -> None:
    assert _upload_service(world, "edge.png", image_bytes("PNG", size=(10_000, 2))).status == UploadStatus.ACCEPTED


def test_a_decompression_bomb_is_rejected_without_exhausting_memory(world: World) -> None:
    bomb = png_declaring(50_000, 50_000)  # 2.5 gigapixels declared in a ~100-byte file
    assert len(bomb) < 1_000
    tracemalloc.start()
    try:
        outcome = _upload_service(world, "bomb.png", bomb)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.status == UploadStatus.REJECTED
    assert "decompression bomb" in outcome.message or "megapixels" in outcome.message
    assert peak < 20 * 1024 * 1024, f"peak {peak} bytes: the pixels must never be allocated"


def test_a_mid_sized_bomb_between_our_limit_and_pillows_is_rejected_from_the_header(world: World) -> None:
    outcome = _upload_service(world, "bomb2.png", png_declaring(9_999, 9_999))  # 100 MP: Pillow only warns
    assert outcome.status == UploadStatus.REJECTED


def test_gps_exif_is_stripped_from_the_stored_jpeg_and_orientation_applied(world: World) -> None:
    outcome = _upload_service(world, "holiday.jpg", jpeg_with_gps())
    assert outcome.status == UploadStatus.ACCEPTED and outcome.asset is not None
    stored = _stored(outcome.asset)
    exif = stored.getexif()
    assert 0x8825 not in exif and not exif.get_ifd(0x8825)
    assert 0x010F not in exif  # camera make gone too
    assert "exif" not in stored.info
    assert stored.size == (40, 80)  # orientation 6 was baked into the pixels (was 80 × 40)
    assert (outcome.asset.width, outcome.asset.height) == (40, 80)


@pytest.mark.parametrize(("size", "thumb_size"), [((2000, 1000), (480, 240)), ((4000, 3000), (480, 360))])
def test_a_thumbnail_is_made_as_webp(world: World, size: tuple[int, int], thumb_size: tuple[int, int]) -> None:
    """Within 480 px, in the image's proportions; the larger one is made from a box-reduced image (not a copy)."""
    outcome = _upload_service(world, "big.jpg", image_bytes("JPEG", size=size))
    assert outcome.asset is not None
    with default_storage.open(outcome.asset.thumbnail.name, "rb") as handle:
        thumb = Image.open(io.BytesIO(handle.read()))
    assert thumb.format == "WEBP" and thumb.size == thumb_size


def test_a_large_palette_images_thumbnail_keeps_its_colours(world: World) -> None:
    """A checkerboard of red (index 0) and blue (index 255) in a palette PNG: its thumbnail is purple, the mix of the
    colours, not whatever colour sits between the indices in the palette (green here)."""
    palette = [0, 255, 0] * 256
    palette[0:3], palette[765:768] = [255, 0, 0], [0, 0, 255]
    image = Image.new("P", (2000, 2000))
    image.putpalette(palette)
    image.putdata([0 if (x + y) % 2 else 255 for y in range(2000) for x in range(2000)])
    out = io.BytesIO()
    image.save(out, "PNG")
    outcome = _upload_service(world, "checks.png", out.getvalue())
    assert outcome.asset is not None
    with default_storage.open(outcome.asset.thumbnail.name, "rb") as handle:
        red, green, blue = Image.open(io.BytesIO(handle.read())).convert("RGB").getpixel((240, 240))
    assert red > 100 and blue > 100 and green < 40


def test_the_same_bytes_in_the_same_team_reuse_the_asset(world: World) -> None:
    content = image_bytes("PNG")
    first = _upload_service(world, "a.png", content)
    second = _upload_service(world, "copy-of-a.png", content)
    assert second.status == UploadStatus.REUSED and second.asset == first.asset
    assert "reused" in second.message
    assert Asset.objects.count() == 1
    other_team = services.asset_upload(
        team=world.outsider_team, user=world.outsider, uploaded_file=upload("a.png", content), filename="a.png"
    )
    assert other_team.status == UploadStatus.ACCEPTED  # duplicates are per team


def test_ref_names_are_derived_valid_and_unique(world: World) -> None:
    a = _upload_service(world, "Red car (final).png", image_bytes("PNG")).asset
    b = _upload_service(world, "Red car (final).png", image_bytes("PNG")).asset
    c = _upload_service(world, "ünïcødé.png", image_bytes("PNG")).asset
    d = _upload_service(world, ("x" * 60) + ".png", image_bytes("PNG")).asset
    assert a is not None and b is not None and c is not None and d is not None
    assert a.ref_name == "Red_car_final" and b.ref_name == "Red_car_final_2"
    assert c.ref_name.isascii() and c.ref_name
    assert len(d.ref_name.encode()) <= 30
    assert a.name == "Red car (final)"


def test_a_project_of_another_team_cannot_be_pinned(world: World) -> None:
    outcome = services.asset_upload(
        team=world.team, user=world.member, uploaded_file=upload("a.png", image_bytes()), project=world.outsider_project
    )
    assert outcome.status == UploadStatus.REJECTED and not Asset.objects.exists()


# --- the upload page ------------------------------------------------------------------------------------------------


def test_several_files_at_once_get_per_file_results(world: World) -> None:
    dup = image_bytes("PNG")
    files = [
        upload("one.png", image_bytes("PNG")),
        upload("two.jpg", image_bytes("JPEG")),
        upload("dup.png", dup),
        upload("dup-again.png", dup),
        upload("evil.png", SVG),
    ]
    response = world.client_for(world.member).post(
        UPLOAD, {"files": files, "default_type": "background", "tags": "Car, red"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "3 accepted · 1 reused duplicate · 1 rejected" in body
    assert "evil.png" in body and "SVG" in body
    assert Asset.objects.filter(team=world.team).count() == 3
    asset = Asset.objects.get(ref_name="one")
    assert asset.default_type == "background" and sorted(t.name for t in asset.tags.all()) == ["car", "red"]
    assert asset.uploaded_by == world.member


def test_a_25_mb_file_is_refused_while_streaming_with_the_limit_named(world: World) -> None:
    big = io.BytesIO()
    Image.frombytes("RGB", (2_900, 2_900), os.urandom(2_900 * 2_900 * 3)).save(big, "PNG", compress_level=0)
    assert big.tell() > 25_000_000
    small = upload("ok.png", image_bytes("PNG"))
    response = world.client_for(world.member).post(UPLOAD, {"files": [upload("huge.png", big.getvalue()), small]})
    body = response.content.decode()
    assert "huge.png" in body and "under 20 MB" in body
    assert "1 accepted" in body and "1 rejected" in body
    assert Asset.objects.count() == 1


def test_a_request_larger_than_the_upload_maximum_is_refused_before_reading(world: World) -> None:
    client = world.client_for(world.member)
    response = client.post(UPLOAD, {"files": [upload("a.png", image_bytes())]}, CONTENT_LENGTH=str(10**10))
    assert response.status_code == 413
    assert "too large" in response.content.decode() and "20 MB" in response.content.decode()
    assert not Asset.objects.exists()


def test_the_upload_page_still_checks_csrf(world: World) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member)
    response = client.post(UPLOAD, {"files": [upload("a.png", image_bytes())]})
    assert response.status_code == 403
    assert not Asset.objects.exists()


def test_no_files_is_a_clear_error(world: World) -> None:
    response = world.client_for(world.member).post(UPLOAD, {"default_type": "subject"})
    assert response.status_code == 400 and "Choose at least one image" in response.content.decode()


def test_htmx_upload_returns_the_results_fragment(world: World) -> None:
    response = world.client_for(world.member).post(
        UPLOAD, {"files": [upload("a.png", image_bytes())]}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and "1 accepted" in body and "<html" not in body


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("admin", 200), ("member", 200), ("viewer", 403)])
def test_upload_from_every_role(world: World, who: str, status: int) -> None:
    client = world.client_for(getattr(world, who))
    assert client.get(UPLOAD).status_code == status
    assert client.post(UPLOAD, {"files": [upload("a.png", image_bytes())]}).status_code == status
    assert Asset.objects.filter(team=world.team).exists() == (status == 200)


def test_an_outsider_uploads_into_their_own_team_only(world: World) -> None:
    world.client_for(world.outsider).post(UPLOAD, {"files": [upload("a.png", image_bytes())]})
    assert Asset.objects.get().team == world.outsider_team


def test_an_outsider_cannot_pin_to_another_teams_project(world: World) -> None:
    response = world.client_for(world.outsider).post(
        UPLOAD, {"files": [upload("a.png", image_bytes())], "project": world.project.pk}
    )
    assert response.status_code == 400
    assert not Asset.objects.exists()


def test_an_oversized_file_is_cut_off_while_streaming_not_after_buffering(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size handler stops the file mid-stream: the handlers after it (the temporary file) never receive more
    than the limit plus one chunk, and the service never sees the file at all."""
    from django.conf import settings
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    received: dict[str, int] = {}
    real_receive = TemporaryFileUploadHandler.receive_data_chunk

    def counting(self: TemporaryFileUploadHandler, raw_data: bytes, start: int) -> bytes | None:
        received[self.file_name or ""] = received.get(self.file_name or "", 0) + len(raw_data)
        return real_receive(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting)
    seen_by_service: list[str] = []
    real_upload = services.asset_upload

    def spy(**kwargs: object) -> services.UploadOutcome:
        seen_by_service.append(str(kwargs.get("filename")))
        return real_upload(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "asset_upload", spy)
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (25 * 1024 * 1024)
    response = world.client_for(world.member).post(UPLOAD, {"files": [upload("huge.png", huge)]})
    assert "under 20 MB" in response.content.decode()
    assert received.get("huge.png", 0) <= settings.ASSET_MAX_BYTES + 64 * 1024 * 4
    assert "huge.png" not in seen_by_service
    assert not Asset.objects.exists()
