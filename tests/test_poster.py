"""``livredor poster``: the QR code of the PNG is decoded with a real decoder (zxing-cpp) and
holds the exact link; the PDF is A4 and, rendered by poppler, decodes too; the SVG's code is
the same; clear sentences when the token is missing or Telegram cannot be reached."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from tests.e2e.cli_process import cli_env, fake_telegram, free_port, run_cli

BOT_LINK = "https://t.me/livredor_test_bot"
SESSIONS = """
[[session]]
slug = "atelier-3"
title = { en = "Workshop 3: open data", fr = "Atelier 3 : données ouvertes" }

[[session]]
slug = "keynote"
title = "Keynote"
"""


def decode(image: Image.Image) -> list[str]:
    """Every QR code zxing-cpp finds in the image."""
    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


async def _poster(tmp_path: Path, *args: str, **settings: str) -> tuple[int, str]:
    async with fake_telegram() as (_fake, server):
        code, _out, err = await run_cli(
            tmp_path, "poster", *args, env=cli_env(server, tmp_path / "db.sqlite", **settings)
        )
    assert "Traceback" not in err, err
    return code, err


async def test_png_decodes_to_the_exact_session_link(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.toml"
    sessions.write_text(SESSIONS, encoding="utf-8")
    png = tmp_path / "poster.png"
    code, err = await _poster(
        tmp_path,
        "--session",
        "atelier-3",
        "--language",
        "fr",
        "-o",
        str(png),
        sessions=str(sessions),
    )
    assert code == 0, err
    image = Image.open(png)
    assert image.height >= 1500
    assert decode(image) == [f"{BOT_LINK}?start=session-atelier-3"]
    # Error correction H: with a fifth of the code's middle painted over, it still reads.
    [found] = zxingcpp.read_barcodes(image)
    assert found.ec_level == "H"
    box = found.position
    xs = [box.top_left.x, box.top_right.x, box.bottom_left.x, box.bottom_right.x]
    ys = [box.top_left.y, box.top_right.y, box.bottom_left.y, box.bottom_right.y]
    cx, cy, side = (min(xs) + max(xs)) // 2, (min(ys) + max(ys)) // 2, max(xs) - min(xs)
    covered = image.copy()
    covered.paste((200, 40, 40), (cx - side // 5, cy - side // 5, cx + side // 5, cy + side // 5))
    assert decode(covered) == [f"{BOT_LINK}?start=session-atelier-3"]


async def test_pdf_is_a4_and_its_code_reads_once_rendered(tmp_path: Path) -> None:
    pdf = tmp_path / "poster.pdf"
    code, err = await _poster(tmp_path, "-o", str(pdf))
    assert code == 0, err
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert re.search(rb"/MediaBox \[\s*0 0 595\.27\d* 841\.88\d*\s*\]", data)
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the PDF is not rendered")
    render = await asyncio.create_subprocess_exec(
        "pdftoppm", "-png", "-r", "100", "-singlefile", str(pdf), str(tmp_path / "page")
    )
    assert await render.wait() == 0
    page = Image.open(tmp_path / "page.png")
    assert page.size == (827, 1170)  # A4 at 100 dpi
    assert decode(page) == [BOT_LINK]  # no session: the plain link (sessions are offered)


async def test_svg_and_all_sessions(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.toml"
    sessions.write_text(SESSIONS, encoding="utf-8")
    out = tmp_path / "posters"
    code, err = await _poster(
        tmp_path, "--all-sessions", "--format", "png", "-o", str(out), sessions=str(sessions)
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["poster-atelier-3.png", "poster-keynote.png"]
    assert decode(Image.open(out / "poster-keynote.png")) == [f"{BOT_LINK}?start=session-keynote"]

    svg = tmp_path / "poster.svg"
    code, err = await _poster(
        tmp_path, "--session", "keynote", "-o", str(svg), sessions=str(sessions)
    )
    assert code == 0, err
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and 'width="210mm" height="297mm"' in text
    assert f"{BOT_LINK}?start=session-keynote</text>" in text and ">Keynote</text>" in text


async def test_clear_sentences_when_it_cannot(tmp_path: Path) -> None:
    png = str(tmp_path / "p.png")
    code, _, err = await run_cli(tmp_path, "poster", "-o", png, env=cli_env(None, tmp_path / "d"))
    assert code == 1 and "LIVREDOR_BOT_TOKEN is not set" in err and "Traceback" not in err

    env = cli_env(None, tmp_path / "d", bot_token="123456:TEST-TOKEN")
    env["LIVREDOR_API_BASE_URL"] = f"http://127.0.0.1:{free_port()}/bot"
    code, _, err = await run_cli(tmp_path, "poster", "-o", png, env=env)
    assert code == 1 and "Could not reach the Bot API at 127.0.0.1" in err, err
    assert "TEST-TOKEN" not in err

    code, err = await _poster(tmp_path, "--session", "nope", "-o", png)
    assert code == 1 and "--session nope: no such session" in err
    code, err = await _poster(tmp_path, "-o", str(tmp_path / "p.jpg"))
    assert code == 1 and "must end in .pdf, .png or .svg" in err
    assert not Path(png).exists()  # noqa: ASYNC240 - a test
