"""Image intake: the content decides the type (never the file name), the size is capped, and
the picture is re-encoded so that no metadata (EXIF GPS position, camera serial, comments)
leaves the student's phone for anybody else to see."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from fastapi import UploadFile
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from app.kit.errors import ImageRejected, ImageTooLarge

ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageTooLarge(
            f"image is larger than the limit of {max_bytes // (1024 * 1024)} MB ({max_bytes} bytes)",
            limit_bytes=max_bytes,
        )
    return data


def clean_image(data: bytes, max_bytes: int, max_pixels: int) -> CleanImage:
    if len(data) > max_bytes:
        raise ImageTooLarge(f"image is larger than the limit of {max_bytes} bytes", limit_bytes=max_bytes)
    if not data:
        raise ImageRejected("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            probe = PILImage.open(io.BytesIO(data))
            fmt = probe.format
            if fmt not in ALLOWED:
                raise ImageRejected(f"only JPEG, PNG and WebP images are accepted (this is {fmt or 'unknown'})")
            if probe.width * probe.height > max_pixels:
                raise ImageRejected(f"image has more than {max_pixels} pixels", limit_pixels=max_pixels)
            probe.verify()  # structural check; the object is unusable afterwards
            img = PILImage.open(io.BytesIO(data))
            img.load()
    except ImageRejected:
        raise
    except (UnidentifiedImageError, PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise ImageRejected("not a JPEG, PNG or WebP image") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected("the image is damaged or truncated") from None

    # Turn the picture the way the phone held it, then drop every metadata block on re-encode.
    img = ImageOps.exif_transpose(img)  # type: ignore[assignment]  # an Image, no longer the ImageFile it was read as
    # Pillow writes back what it read into `info` (a JPEG comment, EXIF and XMP in WebP, ICC
    # profiles, PNG text): keep only the palette transparency, which is part of the picture.
    img.info = {k: v for k, v in img.info.items() if k == "transparency"}
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    elif fmt == "PNG":
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            img = img.convert("RGBA")  # type: ignore[assignment]  # the same: a plain Image from here on
        img.save(out, "PNG", optimize=True)
    else:
        img.save(out, "WEBP", quality=88)
    return CleanImage(out.getvalue(), ALLOWED[fmt], img.width, img.height)
