"""Draw a page's figure from code: ``figure:<chapter>/<topic>.py:<function>`` -> SVG text.

The build hook calls ``render_svg``; contributors preview a figure with
``python -m tools.figure detection/iou.py:draw_cases zh > /tmp/fig.svg``.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import re
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "figures"
# Text stays text in the SVG (small files, crisp at any zoom) and the reader's own fonts draw it.
FONT_STACK = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
    '"WenQuanYi Micro Hei", "DejaVu Sans", Arial, sans-serif'
)
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "handbook",  # stable ids: the same code gives the same SVG
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "DejaVu Sans"],
    "axes.unicode_minus": False,
}


def source_mtime() -> float:
    """Newest change under figures/ and snippets/ (cache key for live reload)."""
    return max(p.stat().st_mtime for d in ("figures", "snippets") for p in (ROOT / d).rglob("*.py"))


def load(rel: str, func: str):
    path = FIGURES / rel
    if not path.is_file():
        raise SystemExit(
            f"figure file not found: figures/{rel} (from a 'figure:{rel}:{func}' link)"
        )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    name = "figures." + rel.removesuffix(".py").replace("/", ".")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, func):
        raise SystemExit(f"figures/{rel} has no function {func}() (from 'figure:{rel}:{func}')")
    return getattr(module, func)


def render_svg(rel: str, func: str, lang: str) -> str:
    # Text stays text (svg.fonttype none) and the reader's fonts draw it, so a build machine
    # without a CJK font only mis-measures Chinese labels a little: silence its glyph warnings.
    with matplotlib.rc_context(RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*Glyph .* missing from.*")
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        fig = load(rel, func)(lang)
        if not isinstance(fig, Figure):
            raise SystemExit(f"figures/{rel}:{func}({lang!r}) must return a matplotlib Figure")
        buf = io.StringIO()
        fig.savefig(
            buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None}
        )
    svg = buf.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Let the browser pick a CJK-capable font the reader has.
    svg = re.sub(r"font-family:\s*[^;\"']+", "font-family: " + FONT_STACK.replace('"', "'"), svg)
    return re.sub(r"(font:[^;\"']*?px )'[^']*'", r"\1" + FONT_STACK.replace('"', "'"), svg)


if __name__ == "__main__":
    target, lang = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "zh")
    rel, func = target.rsplit(":", 1)
    sys.stdout.write(render_svg(rel, func, lang))
