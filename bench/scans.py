"""Scans made here (issue 14 class 10): a letter's text drawn on A4 page images at 200 dpi with the project's CJK
font, turned slightly, with noise and a red seal over the signature, saved as a PDF with no text layer.

The tests and ``python -m bench letters`` both read these scans back through OCR. Deterministic for a given
``seed``; nothing here touches the network.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bot.render.fonts import cjk_font_path

__all__ = ["ScanStyle", "render_pages", "scan_pdf"]

A4_INCHES = (8.27, 11.69)


@dataclass(frozen=True, slots=True)
class ScanStyle:
    """How the scan looks: resolution, type size in points, the turn in degrees, noise and the seal."""

    dpi: int = 200
    points: float = 11.0
    angle: float = 1.0
    noise: float = 10.0  # standard deviation of the grey noise, 0–255
    seal: bool = True
    seed: int = 0


def _wrap(line: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    out: list[str] = []
    current = ""
    for ch in line:
        if current and font.getlength(current + ch) > width:
            out.append(current)
            current = ""
        current += ch
    return [*out, current] if current else out


def _stamp(page: np.ndarray, centre: tuple[float, float], radius: float) -> None:
    """A round red seal printed over the page the way ink does (multiplied: black text under it stays black): a
    ring, an inner ring and a five-pointed star."""
    side = int(radius * 2 + 8)
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    c = side / 2
    draw.ellipse((c - radius, c - radius, c + radius, c + radius), outline=255, width=max(6, int(radius / 16)))
    inner = radius * 0.86
    draw.ellipse((c - inner, c - inner, c + inner, c + inner), outline=255, width=2)
    star = []
    for i in range(10):
        r = radius * (0.32 if i % 2 == 0 else 0.13)
        a = -math.pi / 2 + i * math.pi / 5
        star.append((c + r * math.cos(a), c + r * math.sin(a)))
    draw.polygon(star, fill=255)
    left, top = int(centre[0] - c), int(centre[1] - c)
    region = page[top : top + side, left : left + side]
    ink = np.asarray(mask, dtype=np.float32)[: region.shape[0], : region.shape[1], None] / 255 * 0.8
    red = np.array([205, 30, 35], dtype=np.float32) / 255
    region[:] = region * (1 - ink * (1 - red))


def render_pages(text: str, style: ScanStyle = ScanStyle()) -> list[Image.Image]:
    """The letter's non-blank lines drawn page by page; the seal sits over the unit name and the date at the end."""
    width, height = (round(side * style.dpi) for side in A4_INCHES)
    size = round(style.points * style.dpi / 72)
    font = ImageFont.truetype(str(cjk_font_path()), size)
    margin = round(0.9 * style.dpi)
    step = round(size * 1.6)
    lines = [
        wrapped for raw in text.splitlines() if raw.strip() for wrapped in _wrap(raw.strip(), font, width - 2 * margin)
    ]
    per_page = (height - 2 * margin) // step
    # the signature date: the last line near the end with 年 and 日 in it
    signature = next(
        (i for i in range(len(lines) - 1, max(0, len(lines) - 8), -1) if "年" in lines[i] and "日" in lines[i]), None
    )
    rng = np.random.default_rng(style.seed)
    pages: list[Image.Image] = []
    for first in range(0, max(len(lines), 1), per_page):  # a blank letter is one blank page
        page = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(page)
        seal_at: tuple[float, float] | None = None
        for row, line in enumerate(lines[first : first + per_page]):
            y = margin + row * step
            draw.text((margin, y), line, font=font, fill=25)
            if style.seal and signature is not None and first + row == signature:
                seal_at = (margin + font.getlength(line) * 0.6 + size, y - step * 0.3)
        turn = style.angle * (1 if rng.random() < 0.5 else -1)
        page = page.rotate(turn, Image.Resampling.BILINEAR, fillcolor=255)
        grey = np.asarray(page, dtype=np.float32)
        if style.noise:
            grey = grey + rng.normal(0, style.noise, grey.shape).astype(np.float32)
        pixels = np.repeat(np.clip(grey, 0, 255)[..., None], 3, axis=2)
        if seal_at is not None:
            _stamp(pixels, seal_at, radius=size * 4.0)
        pages.append(Image.fromarray(pixels.astype(np.uint8), "RGB"))
    return pages


def scan_pdf(text: str, style: ScanStyle = ScanStyle()) -> bytes:
    """The pages as a PDF of JPEG images only, as a scanner writes it: no text layer at all."""
    pages = render_pages(text, style)
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=float(style.dpi), quality=80)
    return buffer.getvalue()
