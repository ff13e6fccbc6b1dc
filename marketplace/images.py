"""Photos as we keep them: re-encoded without metadata, upright, with a thumbnail.

A phone photo carries EXIF: the camera, the time and often the GPS position of the customer's home.
``clean_photo`` decodes the upload, turns it upright (``ImageOps.exif_transpose``: the orientation
tag is the one piece of EXIF worth applying), copies only the pixels into a new image and encodes that,
so no EXIF, XMP, ICC profile, comment or PNG text chunk survives. It also makes the thumbnail, once,
at upload: the pages show thumbnails and never resize anything when someone looks.

Pure: no database, no storage. The caller validates the upload first (type, size, decompression
bombs: ``jobs.services.validate_photo``) and saves the two files where it keeps them.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import IO, Any

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

# What an upload is kept as: JPEG stays JPEG, PNG stays PNG (it may be a screenshot or have
# transparency), WebP stays WebP. Thumbnails are WebP: small, with transparency, read by every browser we support.
Format = tuple[str, str, dict[str, Any]]  # Pillow's format name, the file extension, the encoder's options
_FORMATS: dict[str, Format] = {"JPEG": ("JPEG", "jpg", {"quality": 88, "optimize": True}), "PNG": ("PNG", "png", {"optimize": True})}
_WEBP: Format = ("WEBP", "webp", {"quality": 85, "method": 4})
_THUMB: Format = ("WEBP", "webp", {"quality": 80, "method": 4})


@dataclass(frozen=True)
class CleanPhoto:
    """The files to store: the photo without metadata and its thumbnail, both with fresh random names."""

    original: ContentFile[bytes]
    thumbnail: ContentFile[bytes]


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image with ``image``'s pixels and nothing else (no ``info``, no EXIF, no ICC profile)."""
    if image.mode not in {"RGB", "RGBA", "L", "LA"}:
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def _encode(image: Image.Image, fmt: Format, name: str) -> ContentFile[bytes]:
    kind, extension, options = fmt
    if kind == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return ContentFile(buffer.getvalue(), name=f"{name}.{extension}")


def clean_photo(upload: IO[bytes], *, max_side: int, thumb_width: int) -> CleanPhoto:
    """The upload re-encoded upright and without metadata (at most ``max_side`` px on its longer side), and its thumbnail.

    The thumbnail is ``thumb_width`` px wide (never wider than the photo), proportional.
    Raises what Pillow raises on a file it cannot decode; the caller has validated it already.
    Leaves ``upload`` at its start.
    """
    upload.seek(0)
    with Image.open(upload) as source:
        kind = (source.format or "").upper()
        upright = ImageOps.exif_transpose(source)
        image = _pixels_only(upright)
    upload.seek(0)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    name = uuid.uuid4().hex
    original = _encode(image, _FORMATS.get(kind, _WEBP), name)
    width = min(thumb_width, image.width)
    height = max(1, round(image.height * width / image.width))
    thumbnail = _encode(image.resize((width, height), Image.Resampling.LANCZOS), _THUMB, f"{name}.thumb")
    return CleanPhoto(original=original, thumbnail=thumbnail)
