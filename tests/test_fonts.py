"""The CJK font ships with a package from the registry and has glyphs for the Chinese our charts print."""

from __future__ import annotations

from matplotlib.ft2font import FT2Font

from bot.render.fonts import cjk_font, cjk_font_path


def test_cjk_font_is_inside_an_installed_package() -> None:
    path = cjk_font_path()
    assert path.is_file()
    assert "site-packages" in path.parts or "mplfonts" in path.parts


def test_cjk_font_has_glyphs_for_chart_labels() -> None:
    font = FT2Font(str(cjk_font_path()))
    for char in "已答复逾期未答复办理中解决或采纳长宁区":
        assert font.get_char_index(ord(char)) != 0, char
    assert cjk_font().get_name()
