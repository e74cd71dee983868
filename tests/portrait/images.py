"""Photos for the portrait's tests: JPEGs that carry what a phone puts in them."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

#: What must never leave the attendee's phone through the bot.
CAMERA = "PhoneMaker X-42"


def phone_photo(
    size: tuple[int, int] = (2000, 1500), colour: tuple[int, int, int] = (200, 90, 30)
) -> bytes:
    """A JPEG as a phone takes it: EXIF with the camera, a GPS position (Lille), turned
    (orientation 6: the pixels are on their side), and a comment."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to show
    gps = {1: "N", 2: (50.0, 37.0, 45.0), 3: "E", 4: (3.0, 3.0, 26.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at home", quality=90)
    return out.getvalue()


def assert_clean(content: bytes, max_side: int) -> tuple[int, int]:
    """Decode a kept image with Pillow: a JPEG with no EXIF (no GPS, no camera), no
    comment, within ``max_side``; return its size."""
    with Image.open(io.BytesIO(content)) as image:
        assert image.format == "JPEG"
        assert not image.getexif(), dict(image.getexif())
        assert "exif" not in image.info and "comment" not in image.info
        assert "icc_profile" not in image.info
        assert max(image.size) <= max_side
        size = image.size
    assert CAMERA.encode() not in content and b"taken at home" not in content
    return size


def files_in(folder: Path) -> list[Path]:
    """The files of a folder (none if it does not exist)."""
    return sorted(folder.iterdir()) if folder.is_dir() else []
