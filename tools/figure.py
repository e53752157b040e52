"""Draw a page's figure from code: ``figure:<chapter>/<topic>.py:<function>`` -> SVG text.

The build hook calls ``render_svg``; contributors preview a figure with
``python -m tools.figure detection/iou.py:draw_cases zh > /tmp/fig.svg``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import io
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable
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


_modules: dict[tuple[Path, tuple[float, ...]], object] = {}


def _figure_path(rel: str, func: str) -> Path:
    path = (FIGURES / rel).resolve()
    if not path.is_relative_to(FIGURES.resolve()) or path.suffix != ".py":
        raise SystemExit(
            f"figure:{rel}:{func} must name a .py file inside figures/ (e.g. figure:detection/nms.py:draw)"
        )
    if not path.is_file():
        raise SystemExit(
            f"figure file not found: figures/{rel} (from a 'figure:{rel}:{func}' link)"
        )
    return path


def load(rel: str, func: str):
    """The figure function, from a module loaded once per version of its file."""
    path = _figure_path(rel, func)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    deps = dependencies(path)
    key = (path, tuple(d.stat().st_mtime for d in deps))
    if key not in _modules:  # a module loaded once keeps its caches across languages
        # Live preview: a snippet edited since it was imported must be imported afresh.
        for dep in deps:
            rel_dep = dep.relative_to(ROOT).with_suffix("")
            parts = rel_dep.parts[:-1] if rel_dep.name == "__init__" else rel_dep.parts
            if parts and parts[0] in ("figures", "snippets"):
                sys.modules.pop(".".join(parts), None)
        name = "figures." + rel.removesuffix(".py").replace("/", ".")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[key] = module
    module = _modules[key]
    draw = getattr(module, func, None)
    # Only a function defined in that module: not an imported helper such as a tool's main().
    if not callable(draw) or getattr(draw, "__module__", None) != module.__name__:
        raise SystemExit(f"figures/{rel} has no function {func}() (from 'figure:{rel}:{func}')")
    return draw


CACHE = Path(os.environ.get("HANDBOOK_CACHE", ROOT / ".cache")) / "figures"


LOCAL_PACKAGES = ("figures", "snippets", "tools")


@functools.cache
def _imports(path: Path, mtime: float) -> tuple[Path, ...]:
    """The repository's own modules that ``path`` imports (figures, snippets, tools)."""
    found: list[Path] = []
    for node in ast.walk(ast.parse(path.read_bytes())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):  # from . import x / from .common import y
            package = path.relative_to(ROOT).parent.parts
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] in LOCAL_PACKAGES:
                base = ROOT.joinpath(*name.split("."))
                for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                    if candidate.is_file():
                        found.append(candidate)
    return tuple(found)


def dependencies(path: Path) -> list[Path]:
    """``path`` and every repository module it imports, directly or through another."""
    seen: dict[Path, None] = {}
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen[current] = None
        todo += _imports(current, current.stat().st_mtime)
    return sorted(seen)


@functools.cache
def _library_versions() -> str:
    """Figures run small experiments: a new torch or NumPy may change their random streams."""
    from importlib import metadata

    found = []
    for name in ("matplotlib", "numpy", "torch", "torchvision", "timm"):
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=-")
    return ",".join(found)


def _cache_key(rel: str, func: str, lang: str) -> str:
    """Same code, same figure: hash the figure module, every module of ours it imports, and this
    file (a figure changes only when one of them does, so an edit redraws only its figures)."""
    digest = hashlib.sha256(f"{rel}:{func}:{lang}:{_library_versions()}".encode())
    for path in [*dependencies(_figure_path(rel, func)), Path(__file__).resolve()]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def substitute(markdown: str, replace: Callable[[re.Match[str]], str]) -> str:
    """Apply ``replace`` to every figure link in prose; links inside code are shown, never run.

    >>> substitute("![a](figure:x/y.py:f) `![b](figure:x/y.py:g)`", lambda m: "FIG")
    'FIG `![b](figure:x/y.py:g)`'
    """
    from tools.check_site import INLINE_CODE
    from tools.pages import FENCE, FIGURE

    blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731 - keeps every offset
    code = [m.span() for m in FENCE.finditer(markdown)]
    code += [m.span() for m in INLINE_CODE.finditer(FENCE.sub(blank, markdown))]

    def one(match: re.Match[str]) -> str:
        inside = any(start <= match.start() < end for start, end in code)
        return match.group(0) if inside else replace(match)

    return FIGURE.sub(one, markdown)


def render_svg(rel: str, func: str, lang: str) -> str:
    """The SVG of one figure, from the on-disk cache when no code it may use has changed."""
    _figure_path(rel, func)
    cached = CACHE / f"{_cache_key(rel, func, lang)}.svg"
    if cached.exists():
        return cached.read_text(encoding="utf-8")
    svg = draw_svg(rel, func, lang)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")  # parallel builds: write, then rename
    tmp.write_text(svg, encoding="utf-8")
    tmp.replace(cached)
    return svg


def _draw_into_cache(item: tuple[str, str, str]) -> None:
    """One figure drawn into the cache, in a worker process; errors are left to the page."""
    import contextlib

    # Not cached on error: the page's own pass draws it again and reports it, with the page.
    with contextlib.suppress(Exception, SystemExit):
        render_svg(*item)


@functools.lru_cache(maxsize=4096)
def _figures_of(md: Path, mtime_ns: int) -> tuple[str, ...]:
    # Once per version of a page: live preview asks again on every rebuild.
    from tools import pages

    return tuple(pages.parse(md).figures)


def draw_missing(docs: Path, workers: int | None = None) -> int:
    """Draw every figure the pages under ``docs`` use and the cache lacks, on every core.

    A cold build draws about a hundred figures, one after another, as the pages render (95 s
    of a 133 s build on 2 cores). Drawn here first, in parallel, the pages then read the cache.
    A warm build or a live-preview edit finds few or none missing and draws them as before.
    Returns how many were drawn here.
    """
    items: dict[tuple[str, str, str], None] = {}
    for lang in ("zh", "en"):
        for md in sorted((docs / lang).rglob("*.md")):
            for fig in _figures_of(md, md.stat().st_mtime_ns):
                rel, func = fig.rsplit(":", 1)
                items[(rel, func, lang)] = None
    missing = []
    for rel, func, lang in items:
        try:
            if not (CACHE / f"{_cache_key(rel, func, lang)}.svg").exists():
                missing.append((rel, func, lang))
        except SystemExit:  # a bad figure link: the page's own pass reports it
            continue
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers < 2 or len(missing) < 4:
        return 0
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: the build process may hold threads (torch, node pipes), which fork would copy.
    context = multiprocessing.get_context("spawn")
    # A spawned interpreter starts with this process's sys.path, which by now may have lost the
    # repository root (MkDocs adds the config's folder only while it loads the hooks).
    sys.path.insert(0, str(ROOT))
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            list(pool.map(_draw_into_cache, missing))
    finally:
        sys.path.remove(str(ROOT))
    return len(missing)


# ---------------------------------------------------------------- published as files

PUBLISHED = "assets/figures"  # under the site root, shared by both languages
_PT = re.compile(r'<svg[^>]*?\bwidth="(?P<w>[\d.]+)pt"[^>]*?\bheight="(?P<h>[\d.]+)pt"', re.S)


def publish(svg: str, site_dir: str | Path) -> str:
    """Write the SVG to ``<site>/assets/figures/<hash>.svg`` (once) and return that path.

    A file, not a data: URI in the page: the page's HTML stays small (base64 adds a third to
    every figure), a figure below the fold loads only when the reader scrolls to it
    (``loading="lazy"``), and the same figure in zh and en is one cached file when it is equal.
    """
    name = hashlib.sha256(svg.encode("utf-8")).hexdigest()[:16] + ".svg"
    target = Path(site_dir) / PUBLISHED / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(svg, encoding="utf-8")
        tmp.replace(target)
    return f"{PUBLISHED}/{name}"


def size_px(svg: str) -> tuple[int, int] | None:
    """The SVG's size in CSS pixels (matplotlib writes points): width/height attributes for the
    <img>, so the page does not jump when a lazy figure arrives."""
    m = _PT.search(svg)
    if m is None:
        return None
    return round(float(m["w"]) * 4 / 3), round(float(m["h"]) * 4 / 3)


def _refuse_dummy_glyphs(svg: str, fig: Figure, rel: str, func: str, lang: str) -> None:
    """Fail on text that matplotlib's mathtext replaced with its dummy symbol (U+00A4, ¤).

    A label that mixes Chinese with ``$...$`` is typeset by mathtext as a whole, and mathtext
    has no CJK glyphs: every Chinese character came out as ¤ (found in the optimisers and
    Transformer-block figures). Write such labels in plain text with Unicode (mₜ, x², QKᵀ).
    """
    from matplotlib.text import Text

    if "\u00a4" not in svg or any("\u00a4" in t.get_text() for t in fig.findobj(Text)):
        return
    labels = [t.get_text() for t in fig.findobj(Text) if "$" in t.get_text()]
    mixed = [t for t in labels if re.search(r"[\u3000-\u9fff\uff00-\uffef]", t)]
    raise SystemExit(
        f"figures/{rel}:{func}({lang!r}): matplotlib drew dummy symbols (¤) for characters its "
        f"math fonts lack; labels mixing Chinese and $...$: {mixed or labels}. Write them as "
        "plain text with Unicode (m\u209c, x\u00b2, QK\u1d40) or keep the Chinese outside the label."
    )


def draw_svg(rel: str, func: str, lang: str) -> str:
    # Text stays text (svg.fonttype none) and the reader's fonts draw it, so a build machine
    # without a CJK font only mis-measures Chinese labels a little: silence its glyph warnings.
    with matplotlib.rc_context(RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*Glyph .* missing from.*")
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        draw = load(rel, func)
        if "torch" in sys.modules:  # figures run small experiments: one thread is fastest
            sys.modules["torch"].set_num_threads(1)
        fig = draw(lang)
        if not isinstance(fig, Figure):
            raise SystemExit(f"figures/{rel}:{func}({lang!r}) must return a matplotlib Figure")
        buf = io.StringIO()
        fig.savefig(
            buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None}
        )
    svg = buf.getvalue()
    _refuse_dummy_glyphs(svg, fig, rel, func, lang)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Let the browser pick a CJK-capable font the reader has.
    svg = re.sub(r"font-family:\s*[^;\"']+", "font-family: " + FONT_STACK.replace('"', "'"), svg)
    return re.sub(r"(font:[^;\"']*?px )'[^']*'", r"\1" + FONT_STACK.replace('"', "'"), svg)


if __name__ == "__main__":
    target, lang = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "zh")
    rel, func = target.rsplit(":", 1)
    sys.stdout.write(render_svg(rel, func, lang))
