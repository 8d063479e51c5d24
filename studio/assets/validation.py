"""THE image rules for reference assets (providers.md §6 rule 9), shared by the upload page and the REST API.

``inspect_image`` takes an uploaded file and either raises ``ImageRejected`` (a user-facing message naming the rule
and its limit) or returns a ``CleanImage``: the picture re-encoded in its own format with EXIF/GPS/XMP dropped and
the EXIF orientation applied to the pixels, plus a WEBP thumbnail.

Order matters for safety:
1. size (the upload handler already skipped anything over the limit while it streamed in; this is the backstop);
2. magic bytes: JPEG, PNG or WEBP, whatever the filename says;
3. the header, read by Pillow restricted to those three formats, gives the declared size; the side and megapixel
   limits are checked *before* any pixel is decoded, so a tiny file declaring 50,000 × 50,000 px is refused without
   allocating anything. Pillow's own decompression-bomb guard is kept on, and its warning is turned into an error;
4. only then are the pixels decoded and re-encoded.

Steps 1-3 are ``peek_image`` (cheap: no pixel is decoded) and step 4 is ``decode_image``, so the upload service can
check for a duplicate and claim a pixel budget in between (issue 13 finding 1, ``studio/assets/budget.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
THUMBNAIL_SIZE = (480, 480)
_SNIFF_BYTES = 32


class ImageRejected(ValueError):
    """The file breaks an image rule. The message says which rule, with its limit, and is shown verbatim."""


@dataclass(frozen=True)
class CleanImage:
    format: str  # JPEG, PNG or WEBP, as sniffed from the bytes
    width: int
    height: int
    content: bytes  # re-encoded, without EXIF/GPS
    thumbnail: bytes  # WEBP
    sha256: str  # of the bytes as uploaded (duplicate detection)


def _mb(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


def max_bytes() -> int:
    return int(settings.ASSET_MAX_BYTES)


def size_limit_message(filename: str) -> str:
    """The message for a file refused for its size (also used for files the upload handler skipped)."""
    return f"{filename}: the file is too large; images must be under {_mb(max_bytes())}."


def sniff_format(head: bytes) -> str | None:
    """The image format from the first bytes of a file, or None when it is not a JPEG, PNG or WEBP."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _describe_unknown(head: bytes) -> str:
    stripped = head.lstrip().lower()
    if head.startswith(b"8BPS"):
        return "a Photoshop (PSD) file"
    if stripped.startswith((b"<svg", b"<?xml")):
        return "an SVG or XML file"
    if stripped.startswith((b"<!doctype html", b"<html", b"<")):
        return "an HTML or text file"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF"
    return "not an image we accept"


def _hash_and_head(file: IO[bytes]) -> tuple[str, bytes]:
    digest = hashlib.sha256()
    file.seek(0)
    head = file.read(_SNIFF_BYTES)
    digest.update(head)
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest(), head


def _check_dimensions(filename: str, width: int, height: int) -> None:
    max_side: int = settings.ASSET_MAX_SIDE
    max_pixels: int = settings.ASSET_MAX_PIXELS
    if width > max_side or height > max_side:
        raise ImageRejected(
            f"{filename}: the image is {width:,} × {height:,} px; each side must be at most {max_side:,} px."
        )
    if width * height > max_pixels:
        raise ImageRejected(
            f"{filename}: the image has {width * height / 1e6:.1f} megapixels; the limit is "
            f"{max_pixels / 1e6:g} megapixels."
        )


def _encode(image: Image.Image, fmt: str, icc_profile: bytes | None) -> bytes:
    out = io.BytesIO()
    extra: dict[str, object] = {"icc_profile": icc_profile} if icc_profile else {}
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        # No ``optimize``: its Huffman pass buffers every DCT coefficient of the image (a 24-megapixel photo: +60 MB
        # at peak, 4x the encode time) to save about 2% of the file (make bench, upload inspection).
        image.save(out, "JPEG", quality=92, **extra)
    elif fmt == "PNG":
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGBA")
        params: dict[str, object] = dict(extra)
        if image.mode == "P" and "transparency" in image.info:
            params["transparency"] = image.info["transparency"]
        image.save(out, "PNG", optimize=True, **params)
    else:
        if image.mode not in ("RGB", "RGBA"):
            has_alpha = "A" in image.getbands() or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
        image.save(out, "WEBP", quality=90, method=4, **extra)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    """A WEBP thumbnail within ``THUMBNAIL_SIZE``. ``thumbnail`` works in place; an RGB(A) photo is box-reduced
    first rather than copied whole (a copy of a 24-megapixel photo is 72 MB more for the upload to hold). Other modes
    are converted first: averaging a palette image's indices would give the wrong colours."""
    thumb = image
    if thumb.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in thumb.getbands() or "transparency" in thumb.info
        thumb = thumb.convert("RGBA" if has_alpha else "RGB")  # a new image
    factor = max(1, min(thumb.width // (2 * THUMBNAIL_SIZE[0]), thumb.height // (2 * THUMBNAIL_SIZE[1])))
    if factor > 1:
        thumb = thumb.reduce(factor)
    elif thumb is image:
        thumb = image.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    thumb.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


@dataclass(frozen=True)
class ImageHeader:
    """What the cheap checks learned without decoding a pixel: the upload's hash, format and declared size."""

    sha256: str
    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def peek_image(file: IO[bytes], *, filename: str, size: int | None = None) -> ImageHeader:
    """The cheap checks (steps 1-3: size, magic bytes, the header's dimensions), with no pixel decoded. Raises
    ``ImageRejected``. Callers check duplicates and pixel budgets on the result before ``decode_image``."""
    limit = max_bytes()
    if size is None:
        file.seek(0, io.SEEK_END)
        size = file.tell()
        file.seek(0)
    if size >= limit:
        raise ImageRejected(size_limit_message(filename))
    if size == 0:
        raise ImageRejected(f"{filename}: the file is empty.")

    sha256, head = _hash_and_head(file)
    sniffed = sniff_format(head)
    if sniffed is None:
        raise ImageRejected(
            f"{filename}: {_describe_unknown(head)}. Only JPEG, PNG and WEBP images are accepted "
            "(the file's contents are checked, not its name)."
        )
    with _opened(file, filename, sniffed, close=False) as image:
        _check_dimensions(filename, *image.size)
        return ImageHeader(sha256=sha256, format=sniffed, width=image.width, height=image.height)


@contextlib.contextmanager
def _opened(file: IO[bytes], filename: str, sniffed: str, *, close: bool = True) -> Iterator[Image.Image]:
    """Pillow's lazy open (header only), restricted to our formats, with the bomb warning made an error. Closing the
    image closes the file too, so the header-only peek leaves it open for the decode."""
    file.seek(0)
    with warnings.catch_warnings():
        # Past Image.MAX_IMAGE_PIXELS Pillow only warns; make that an error too. Our own, lower limits are checked
        # from the header, before decoding.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(file, formats=list(ALLOWED_FORMATS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(
                f"{filename}: the image declares an enormous size (a decompression bomb); each side must be at most "
                f"{settings.ASSET_MAX_SIDE:,} px and the image at most {settings.ASSET_MAX_PIXELS / 1e6:g} megapixels."
            ) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ImageRejected(
                f"{filename}: looks like a {sniffed} but could not be read; the file may be damaged."
            ) from None
        try:
            # Cameras write multi-picture JPEGs, which Pillow names MPO; the first picture is a plain JPEG.
            if image.format != sniffed and not (sniffed == "JPEG" and image.format == "MPO"):
                raise ImageRejected(
                    f"{filename}: the file's contents are inconsistent; upload a plain {sniffed} image."
                )
            yield image
        finally:
            if close:
                image.close()


def decode_image(file: IO[bytes], *, filename: str, header: ImageHeader) -> CleanImage:
    """Step 4: decode the pixels (known to be within the limits) and re-encode them. The expensive part: callers
    run it inside ``studio.assets.budget.decode_slot``."""
    limit = max_bytes()
    sniffed = header.format
    with _opened(file, filename, sniffed) as image:
        _check_dimensions(filename, *image.size)
        try:
            image.load()  # decode now: the pixels are known to be within the limits
            icc_profile = image.info.get("icc_profile")
            # Bakes the orientation into the pixels, in place: a copy would double the upload's memory.
            ImageOps.exif_transpose(image, in_place=True)
            image.info = {k: v for k, v in image.info.items() if k == "transparency"}  # no EXIF/XMP/comments
            upright = image
            content = _encode(upright, sniffed, icc_profile)
            thumbnail = _thumbnail(upright)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(f"{filename}: the image is too large to decode safely.") from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise ImageRejected(
                f"{filename}: looks like a {sniffed} but could not be decoded; the file may be damaged or truncated."
            ) from None
    if len(content) >= limit:
        raise ImageRejected(f"{filename}: once cleaned, the image is over {_mb(limit)}; upload a smaller image.")
    return CleanImage(
        format=sniffed,
        width=upright.width,
        height=upright.height,
        content=content,
        thumbnail=thumbnail,
        sha256=header.sha256,
    )


def inspect_image(file: IO[bytes], *, filename: str, size: int | None = None) -> CleanImage:
    """Check ``file`` against every image rule and return it cleaned; raise ``ImageRejected`` otherwise."""
    header = peek_image(file, filename=filename, size=size)
    return decode_image(file, filename=filename, header=header)
