"""Scanned letters: the images of a PDF page that has no text layer, read by OCR into lines of text.

The engine is RapidOCR (`rapidocr-onnxruntime`, the optional extra ``ocr``): its Chinese detection and recognition
models ship inside the wheel, so nothing is downloaded at run time. Without the extra, :func:`available` is False
and the readers refuse a scan as they always did. OCR takes seconds a page: callers run it off the event loop.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import logging
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["available", "read_image"]

logger = logging.getLogger(__name__)

_ENGINE_LOCK = threading.Lock()  # one page at a time: the engine is shared and each run uses every core anyway


def available() -> bool:
    """Whether the OCR extra is installed (``pip install -e '.[ocr]'``; ``make install`` does it)."""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


@functools.cache
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR  # imported here: onnxruntime and OpenCV load in about two seconds

    # Detection on the page scaled to at most 1,200 pixels a side (a 200 dpi A4 page is 1,654 × 2,339): four times
    # faster and as exact for body text. No angle classifier: a page comes upright, at most turned a little.
    return RapidOCR(max_side_len=1200, use_cls=False)


def read_image(image: Any) -> str:
    """The text of one page image (a PIL image) as lines, top to bottom, each line's pieces left to right.

    A red seal is dropped before reading: the red channel alone shows black text and a white page, and red ink
    is as light as the page there.
    """
    import numpy as np

    rgb = image.convert("RGB")
    red = np.asarray(rgb)[:, :, 0]
    page = np.ascontiguousarray(np.repeat(red[:, :, None], 3, axis=2))
    with _ENGINE_LOCK:
        found, _ = _engine()(page)
    return "\n".join(_lines(found or []))


def _lines(found: Sequence[Sequence[Any]]) -> list[str]:
    """Group the engine's boxes ([corners, text, score]) into lines by their vertical centres."""
    boxes = []
    for corners, text, _score in found:
        ys = [float(point[1]) for point in corners]
        xs = [float(point[0]) for point in corners]
        boxes.append((sum(ys) / len(ys), max(ys) - min(ys), min(xs), max(xs), str(text)))
    boxes.sort()
    rows: list[list[tuple[float, float, float, float, str]]] = []
    for box in boxes:
        if rows:
            row = rows[-1]
            centre = sum(b[0] for b in row) / len(row)
            if abs(box[0] - centre) < 0.5 * max(box[1], row[0][1]):
                row.append(box)
                continue
        rows.append([box])
    lines = []
    for row in rows:
        row.sort(key=lambda b: b[2])
        parts = [row[0][4]]
        for left, right in itertools.pairwise(row):
            gap = right[2] - left[3]
            parts.append(("  " if gap > 0.8 * left[1] else "") + right[4])  # a wide gap: two fields on one line
        lines.append("".join(parts))
    return lines
