"""The CJK font for anything we draw (charts, and the scans the letter tests make).

The font ships inside the `mplfonts` wheel, so a fresh machine needs no OS package. There is one home for the
choice: callers ask for `cjk_font_path()` or `cjk_font()` and never look for fonts themselves.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from matplotlib import font_manager

__all__ = ["CJK_FONT_FILE", "cjk_font", "cjk_font_path"]

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"


@cache
def cjk_font_path() -> Path:
    """The path of the Noto Sans CJK SC font inside the installed `mplfonts` package."""
    path = Path(str(files("mplfonts") / "fonts" / CJK_FONT_FILE))
    if not path.is_file():
        raise FileNotFoundError(f"{CJK_FONT_FILE} is missing from the mplfonts package; reinstall with `make install`")
    return path


@cache
def cjk_font() -> font_manager.FontProperties:
    """Matplotlib font properties for the CJK font, registered once with matplotlib's font manager."""
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path))
