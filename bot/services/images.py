"""The one image livredor keeps of a photo, and the book's smaller copy: Pillow only.

Upright (the EXIF orientation applied), RGB, within a size, saved as a fresh JPEG that
carries no metadata at all (no EXIF, so no GPS position or camera; no ICC, XMP or comment).
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageOps, UnidentifiedImageError

#: The longest side of a kept portrait: Telegram's own photos are at most 2,560 pixels; the
#: channel, the cards and a printed page need far less.
MAX_SIDE = 1280
#: The book's size: 3.2 cm beside the name is about 380 pixels at 300 dpi.
BOOK_SIDE = 400
JPEG_QUALITY = 85
#: What replaces a photo the bot can no longer delete (after Telegram's 48 hours): a plain
#: light square, nobody's data.
BLANK_SIDE = 320
BLANK_COLOUR = (236, 236, 236)


class NotAnImage(Exception):
    """The file is not an image Pillow can read."""


def normalise(content: bytes, max_side: int = MAX_SIDE) -> bytes:
    """Return the image as livredor keeps it, within ``max_side`` pixels."""
    try:
        with Image.open(io.BytesIO(content)) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAnImage(str(exc)) from None
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A new image: no info dict, so nothing of the original's metadata can be written.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def book_image(content: bytes) -> bytes:
    """The portrait at the book's print size (a kept portrait is clean already)."""
    return normalise(content, BOOK_SIDE)


@functools.cache
def blank_image() -> bytes:
    """The neutral image that takes a withdrawn photo's place (made once, a few hundred bytes)."""
    out = io.BytesIO()
    Image.new("RGB", (BLANK_SIDE, BLANK_SIDE), BLANK_COLOUR).save(out, "PNG", optimize=True)
    return out.getvalue()
