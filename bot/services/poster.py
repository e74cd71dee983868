"""The poster that leads attendees to the bot: the event, one sentence, a large QR code of the
bot's deep link, the link in text, and the session's title when there is one.

One layout on an A4 page (in points), drawn three ways: PDF (reportlab, print-ready, vector
QR code), PNG (Pillow, 150 dpi: 1,754 × 2,480 px) and SVG. The QR code comes from segno with
error correction H (30 % of the code can be covered or creased). The font is Bitstream Vera,
which ships inside reportlab: the machine needs no system fonts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import reportlab
import segno
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from bot.services.sessions import Session

FORMATS = ("pdf", "png", "svg")
PAGE_W, PAGE_H = A4  # points (1/72 in): 595.3 × 841.9
MARGIN = 48.0
PNG_DPI = 150
INK = (0x22, 0x22, 0x22)
ACCENT = (0x7A, 0x5C, 0x2E)
_FONTS = Path(reportlab.__file__).parent / "fonts"
REGULAR, BOLD = "Vera", "VeraBd"
SVG_FONTS = "'Bitstream Vera Sans', 'DejaVu Sans', Verdana, sans-serif"


@dataclass(frozen=True)
class PosterText:
    """What the poster says."""

    event: str
    sentence: str
    link: str
    session: str | None = None


@dataclass(frozen=True)
class Line:
    """One line of text, centred on the page; ``y`` is its baseline from the top."""

    text: str
    font: str
    size: float
    y: float
    color: tuple[int, int, int] = INK


@dataclass(frozen=True)
class Layout:
    """Where everything goes, in points from the top-left corner."""

    lines: list[Line]
    qr: segno.QRCode
    qr_x: float
    qr_y: float
    qr_size: float  # the code's side, quiet zone included


def deep_link(username: str, session: Session | None) -> str:
    """The link the QR code holds: the bot, and the session's payload when there is one."""
    base = f"https://t.me/{username}"
    return f"{base}?start={session.payload}" if session else base


def _register_fonts() -> None:
    for name in (REGULAR, BOLD):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(_FONTS / f"{name}.ttf")))


def _width(text: str, font: str, size: float) -> float:
    _register_fonts()
    return float(pdfmetrics.stringWidth(text, font, size))


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (a single long word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _width(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines or [""]


def _fit(text: str, font: str, size: float, width: float, smallest: float) -> float:
    """The largest size up to ``size`` at which every word fits the width."""
    while size > smallest and max(_width(w, font, size) for w in text.split() or [""]) > width:
        size -= 1
    return size


def layout(text: PosterText) -> Layout:
    """Lay the poster out on A4."""
    width = PAGE_W - 2 * MARGIN
    lines: list[Line] = []
    y = MARGIN

    def block(words: str, font: str, size: float, gap: float, color: tuple[int, int, int]) -> None:
        nonlocal y
        size = _fit(words, font, size, width, 10)
        for part in _wrap(words, font, size, width)[:3]:
            y += size
            lines.append(Line(part, font, size, y, color))
            y += size * 0.25
        y += gap

    block(text.event, BOLD, 34, 10, INK)
    if text.session:
        block(text.session, REGULAR, 24, 6, ACCENT)
    block(text.sentence, REGULAR, 20, 8, INK)

    link_size = _fit(text.link, REGULAR, 16, width, 8)
    qr = segno.make(text.link, error="h", micro=False, boost_error=False)
    room = PAGE_H - MARGIN - y - 2.2 * link_size
    qr_size = min(width + 2 * MARGIN * 0.6, room)  # the quiet zone may run into the margins
    qr_x, qr_y = (PAGE_W - qr_size) / 2, y
    lines.append(Line(text.link, REGULAR, link_size, y + qr_size + link_size * 0.6))
    return Layout(lines, qr, qr_x, qr_y, qr_size)


def _modules(lay: Layout) -> tuple[list[tuple[int, int]], int]:
    """The dark modules (column, row) and the matrix side, quiet zone of 4 included."""
    matrix = [list(row) for row in lay.qr.matrix]
    side = len(matrix) + 8
    dark = [(c + 4, r + 4) for r, row in enumerate(matrix) for c, v in enumerate(row) if v]
    return dark, side


def write_pdf(lay: Layout, path: Path) -> None:
    """A4, vector: text in the embedded Vera font, the code as filled squares."""
    _register_fonts()
    pdf = canvas.Canvas(str(path), pagesize=A4, pageCompression=1)
    pdf.setTitle(lay.lines[0].text)
    pdf.setCreator("livredor")
    for line in lay.lines:
        pdf.setFillColorRGB(*(c / 255 for c in line.color))
        pdf.setFont(line.font, line.size)
        pdf.drawCentredString(PAGE_W / 2, PAGE_H - line.y, line.text)
    dark, side = _modules(lay)
    unit = lay.qr_size / side
    pdf.setFillColorRGB(0, 0, 0)
    for col, row in dark:
        x = lay.qr_x + col * unit
        top = lay.qr_y + row * unit
        # A hair wider than a module, so that neighbours join without seams when printed.
        pdf.rect(x, PAGE_H - top - unit, unit + 0.01, unit + 0.01, stroke=0, fill=1)
    pdf.showPage()
    pdf.save()


def write_png(lay: Layout, path: Path, dpi: int = PNG_DPI) -> None:
    """A4 at ``dpi`` (150: 1,754 × 2,480 px), white background."""
    scale = dpi / 72
    image = Image.new("RGB", (round(PAGE_W * scale), round(PAGE_H * scale)), "white")
    draw = ImageDraw.Draw(image)
    for line in lay.lines:
        font = ImageFont.truetype(str(_FONTS / f"{line.font}.ttf"), round(line.size * scale))
        draw.text(
            (PAGE_W * scale / 2, line.y * scale), line.text, font=font, fill=line.color, anchor="ms"
        )
    dark, side = _modules(lay)
    # Whole pixels per module: a code scaled by a fraction decodes worse.
    unit = int(lay.qr_size * scale // side)
    left = round((PAGE_W * scale - unit * side) / 2)
    top = round(lay.qr_y * scale + (lay.qr_size * scale - unit * side) / 2)
    for col, row in dark:
        x, y = left + col * unit, top + row * unit
        draw.rectangle((x, y, x + unit - 1, y + unit - 1), fill="black")
    image.save(path, optimize=True)


def write_svg(lay: Layout, path: Path) -> None:
    """A4 in points; the code as one path; text set in Vera (or the nearest sans serif)."""
    dark, side = _modules(lay)
    unit = lay.qr_size / side
    d = "".join(f"M{c} {r}h1v1h-1z" for c, r in dark)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" '
        f'viewBox="0 0 {PAGE_W:.2f} {PAGE_H:.2f}">',
        f"<title>{html.escape(lay.lines[0].text)}</title>",
        f'<rect width="{PAGE_W:.2f}" height="{PAGE_H:.2f}" fill="#fff"/>',
    ]
    for line in lay.lines:
        weight = "bold" if line.font == BOLD else "normal"
        color = "#{:02x}{:02x}{:02x}".format(*line.color)
        parts.append(
            f'<text x="{PAGE_W / 2:.2f}" y="{line.y:.2f}" text-anchor="middle" '
            f'font-family="{SVG_FONTS}" font-size="{line.size:.1f}" font-weight="{weight}" '
            f'fill="{color}">{html.escape(line.text)}</text>'
        )
    parts.append(
        f'<path transform="translate({lay.qr_x:.3f} {lay.qr_y:.3f}) scale({unit:.5f})" '
        f'fill="#000" shape-rendering="crispEdges" d="{d}"/>'
    )
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def write_poster(text: PosterText, path: Path, fmt: str | None = None) -> None:
    """Write the poster as ``fmt`` (pdf, png or svg), by default the one its extension names."""
    fmt = fmt or path.suffix.lower().lstrip(".")
    writers = {"pdf": write_pdf, "png": write_png, "svg": write_svg}
    if fmt not in writers:
        raise ValueError(f"{path.name}: the extension must be .pdf, .png or .svg")
    writers[fmt](layout(text), path)
