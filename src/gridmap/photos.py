"""gridmap.photos: a sent photo decoded, checked and written again as a clean image.

A photo is trusted only once Pillow has decoded every pixel of it: bytes that merely start like
a JPEG, a truncated file, or a small file that unpacks to billions of pixels (a decompression
bomb) are refused. What is stored is a fresh encoding in the same format, turned upright by its
EXIF orientation and without its metadata, so the place a phone wrote into it (EXIF GPS, XMP)
does not travel with the photo unless the sender asks to keep its EXIF.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from gridmap.errors import InvalidFile, InvalidInput

# The formats accepted, with the media type and suffix each is stored under.
FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
# The media type of a stored photo, by its file's suffix.
MEDIA_TYPES = {suffix: media for media, suffix in FORMATS.values()}
JPEG_QUALITY = 90
WEBP_QUALITY = 90
ORIENTATION = 0x0112
# Metadata of the decoded image that is kept: colour profile and transparency, which change how
# the picture looks, and nothing that may say where or by whom it was taken.
KEPT_INFO = ("icc_profile", "transparency", "dpi")


@dataclass(frozen=True)
class CleanPhoto:
    """A photo written again: its bytes, media type, file suffix and size in pixels."""

    data: bytes
    media_type: str
    suffix: str
    width: int
    height: int


def refuse_too_large(data: bytes, *, max_bytes: int) -> None:
    """Refuse a photo of more than ``max_bytes`` before anything decodes it."""
    if len(data) > max_bytes:
        raise InvalidInput(
            f"the photo is larger than {max_bytes // (1024 * 1024)} MiB", field="file"
        )


def clean_photo(data: bytes, *, max_pixels: int, keep_exif: bool = False) -> CleanPhoto:
    """Decode ``data`` (JPEG, PNG or WebP) and encode it again, upright and without metadata.

    The size is checked from the header before any pixel is decoded, so an image of more than
    ``max_pixels`` costs nothing to refuse. With ``keep_exif`` the EXIF block (GPS included) is
    written back, its orientation set to upright. Raises :class:`InvalidFile` (422) for what is
    not an image of those formats, is broken, or is too large.

    Examples
    --------
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (4, 3), "red").save(buf, "PNG")
    >>> photo = clean_photo(buf.getvalue(), max_pixels=100)
    >>> photo.media_type, photo.width, photo.height
    ('image/png', 4, 3)
    >>> clean_photo(b"GIF89a", max_pixels=100)
    Traceback (most recent call last):
    ...
    gridmap.errors.InvalidFile: the photo is not a JPEG, PNG or WebP image
    """
    fmt, width, height = _check(data, max_pixels=max_pixels)
    try:
        with Image.open(io.BytesIO(data), formats=tuple(FORMATS)) as image:
            exif = image.getexif()
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _broken(exc) from None
    upright.info = {k: v for k, v in upright.info.items() if k in KEPT_INFO}
    options: dict[str, object] = {}
    if fmt == "JPEG":
        options = {"quality": JPEG_QUALITY, "optimize": True}
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
    elif fmt == "WEBP":
        options = {"quality": WEBP_QUALITY}
    if keep_exif and len(exif):
        exif[ORIENTATION] = 1
        options["exif"] = exif.tobytes()
    if "icc_profile" in upright.info:
        options["icc_profile"] = upright.info["icc_profile"]
    out = io.BytesIO()
    upright.save(out, fmt, **options)
    media_type, suffix = FORMATS[fmt]
    return CleanPhoto(out.getvalue(), media_type, suffix, upright.width, upright.height)


def digest(photo: CleanPhoto) -> str:
    """The SHA-256 (hex) of the photo as stored."""
    return hashlib.sha256(photo.data).hexdigest()


def sent_before(
    photos: list[dict[str, Any]], *, photo: CleanPhoto, key: str | None
) -> dict[str, Any] | None:
    """The photo of ``photos`` (as stored on an incident or sub-task) that ``photo`` sent with
    ``key`` repeats: the one sent with the same ``Idempotency-Key``, else the same image; None
    when it is new. A phone sends a photo again when the answer to the first send was lost."""
    if key is not None:
        for earlier in photos:
            if earlier.get("key") == key:
                return earlier
    sha = digest(photo)
    return next((earlier for earlier in photos if earlier.get("sha256") == sha), None)


def store_photo(
    photo: CleanPhoto, *, folder: Path, url: str, by: str, key: str | None = None
) -> dict[str, Any]:
    """Write ``photo`` into ``folder`` under a name made of its SHA-256 (the same image sent
    twice is one file) and describe it as the API shows it: its address (``url``, the folder's,
    and its name), media type, size, digest, who sent it (``by``) and the ``Idempotency-Key``
    it was sent with (``key``, when one was)."""
    digest = hashlib.sha256(photo.data).hexdigest()
    name = f"{digest[:32]}{photo.suffix}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(photo.data)
    stored = {
        "url": f"{url}/{name}",
        "type": photo.media_type,
        "bytes": len(photo.data),
        "sha256": digest,
        "by": by,
    }
    if key is not None:
        stored["key"] = key
    return stored


def _check(data: bytes, *, max_pixels: int) -> tuple[str, int, int]:
    """The format and size from the header; then every pixel decoded once (``verify`` alone
    leaves a truncated JPEG unnoticed)."""
    try:
        # Image.open reads the header only. Pillow's own bomb check is process-wide and lenient
        # (89 million pixels); this one is ours and applied before anything is decoded.
        with Image.open(io.BytesIO(data), formats=tuple(FORMATS)) as image:
            # A phone's multi-picture JPEG (MPO) is a JPEG whose first picture is the photo.
            fmt = "JPEG" if image.format == "MPO" else str(image.format)
            width, height = image.size
            if width * height > max_pixels:
                raise _too_large(width, height, max_pixels)
            image.verify()
    except UnidentifiedImageError:
        claimed = _claimed(data)
        if claimed is not None:
            raise InvalidFile(
                f"the photo is a broken image: it starts as a {claimed} but cannot be read",
                field="file",
            ) from None
        raise InvalidFile("the photo is not a JPEG, PNG or WebP image", field="file") from None
    except Image.DecompressionBombError:
        raise InvalidFile(
            f"the photo has too many pixels (more than {max_pixels:,})", field="file"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _broken(exc) from None
    return fmt, width, height


def _claimed(data: bytes) -> str | None:
    """The format ``data`` says it is by its first bytes, whether or not the rest agrees."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _too_large(width: int, height: int, max_pixels: int) -> InvalidFile:
    return InvalidFile(
        f"the photo is {width}×{height} pixels; at most {max_pixels:,} pixels are accepted",
        field="file",
    )


def _broken(exc: BaseException) -> InvalidFile:
    reason = str(exc).split("\n")[0][:120] or type(exc).__name__
    return InvalidFile(f"the photo is a broken image: {reason}", field="file")
