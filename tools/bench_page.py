"""The generated part of the benchmark page (``<!-- generated: bench -->``), from bench/results.json.

``render(lang)`` returns Markdown: the machine and versions the numbers were measured on, the
targets and whether they were met, the log-log scaling plot (drawn here with matplotlib and inlined
as an SVG data URI, like the figures of topic pages), one table per op and the site-scale table.
Preview with ``python -m tools.bench_page en > /tmp/bench.md``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.report import t  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"

TEXT = {
    "missing": {
        "zh": '!!! warning "还没有结果"\n\n    `bench/results.json` 不存在：运行 `nox -s bench` 生成。',
        "en": '!!! warning "No results yet"\n\n    `bench/results.json` is missing: run `nox -s bench`.',
    },
    "machine": {"zh": "**测量环境**：", "en": "**Measured on**: "},
    "targets": {"zh": "目标与实测", "en": "Targets and measurements"},
    "plot": {"zh": "耗时与规模（双对数坐标）", "en": "Time against size (log-log)"},
    "data": {"zh": "各算子数据", "en": "Data per op"},
    "caption": {
        "zh": "各实现每次调用的中位耗时随规模的变化（双对数坐标，CPU，torch 与 NumPy 各 {n} 线程）。"
        "斜率即复杂度的指数：斜率 2 表示规模翻倍、耗时变为 4 倍。",
        "en": "Median time per call against size for each implementation (log-log, CPU, {n} thread(s) "
        "for torch and NumPy). The slope is the exponent of the complexity: slope 2 means doubling "
        "the size multiplies the time by 4.",
    },
    "time_axis": {"zh": "每次调用耗时（秒）", "en": "time per call (s)"},
    "site": {"zh": "站点规模", "en": "Site scale"},
    "test_times": {"zh": "各章测试耗时", "en": "Test time per chapter"},
    "test_times_note": {
        "zh": "`nox -s tests` 在 {workers} 个 worker 上的一次完整运行（不含 slow 与浏览器测试），各章测试的 setup + 执行 + teardown 耗时之和；新加的慢测试会在这里显形。",
        "en": "One full `nox -s tests` run on {workers} workers (slow and browser tests excluded): the sum of setup + call + teardown of each chapter's tests, so a slow test shows the day it is added.",
    },
    "chapter": {"zh": "章节", "en": "Chapter"},
    "tests": {"zh": "测试数", "en": "Tests"},
    "seconds": {"zh": "秒", "en": "Seconds"},
    "site_verdict": {
        "zh": "按 CPU 时间拟合：固定开销 {fixed:.1f} 秒，每页 {per:.0f} 毫秒；{lin}。搜索索引：每页最多 {idx}（目标 ≤ {lim}），{ok}。",
        "en": "Fit of the CPU time: {fixed:.1f} s fixed cost, {per:.0f} ms per page; {lin}. Search index: at most "
        "{idx} per page (target ≤ {lim}), {ok}.",
    },
    "linear_yes": {
        "zh": "从第一段到最后一段，每页的边际成本变为 ×{rise:.2f}，在为噪声留出的 ×{slack:g} 以内：线性增长",
        "en": "the marginal cost per page changed ×{rise:.2f} from the first step to the last, within "
        "the ×{slack:g} allowed for noise: linear growth",
    },
    "linear_no": {
        "zh": "从第一段到最后一段，每页的边际成本变为 ×{rise:.2f}，超过 ×{slack:g}：超线性增长",
        "en": "the marginal cost per page changed ×{rise:.2f} from the first step to the last, more "
        "than ×{slack:g}: superlinear growth",
    },
    "linear_na": {"zh": "只有两个规模，无法判断线性", "en": "two sizes only, linearity not judged"},
    "marginal": {
        "zh": "新增一页使索引增加 zh {zh} · en {en}",
        "en": "One more page adds zh {zh} · en {en} to the index",
    },
    "first_query": {
        "zh": "读者的第一次搜索（打开搜索框后第一次按键到结果出现，无头 Chromium，3 个新上下文的中位数）："
        "最大规模下 zh {zh} · en {en}（目标 < {lim} 毫秒），{ok}。",
        "en": "A reader's first search (the first keystroke after opening the search box to the results, "
        "headless Chromium, median of 3 new contexts): zh {zh} · en {en} at the largest size "
        "(target < {lim} ms), {ok}.",
    },
    "weight": {
        "zh": "首屏重量：`{topic}` 页首次访问（缓存关闭，直到页面安静）传输 zh {zb} / en {eb}，"
        "是同一份 Markdown 用原版 Material（无 hook、默认搜索）构建的 ×{zr:.2f} / ×{er:.2f}（目标 ≤ ×1.3）；"
        "请求数 {zq} 对 {bq}：多出的是本站的样式表（含 Material 的配色和 KaTeX 的规则）与搜索脚本；"
        "公式用到的 KaTeX 字体按本页字符裁剪后内联在页面里，不另发请求（原版页面不渲染公式，显示 TeX 源码）。",
        "en": "First view: the `{topic}` page's first visit (cache off, until the page is quiet) transfers "
        "zh {zb} / en {eb}, ×{zr:.2f} / ×{er:.2f} the same Markdown built with bare Material (no hooks, "
        "default search; target ≤ ×1.3); {zq} requests against {bq}: the extra ones are the "
        "handbook's stylesheet (with Material's palette and KaTeX's rules) and its search script; "
        "the KaTeX fonts the formulas use are cut to the page's characters and inlined, no request "
        "of their own (the bare page does not render formulas, it shows their TeX source).",
    },
    "site_meta": {
        "zh": "{date} 测于 {cpu}（{cores} 核），mkdocs {mkdocs} · Material {material}，运行时负载 {load}，"
        "非严格模式构建的警告数见 JSON。",
        "en": "Measured {date} on {cpu} ({cores} cores), mkdocs {mkdocs} · Material {material}, load "
        "average {load}; warnings of the non-strict builds are in the JSON.",
    },
    "ok": {"zh": "达成", "en": "met"},
    "missed": {"zh": "未达成", "en": "missed"},
}

PLOT_TITLES = {
    "nms": "NMS",
    "batched_nms": "batched NMS",
    "box_iou": "box_iou",
    "conv2d": "conv2d 3→64",
    "conv2d_c64": "conv2d 64→64",
    "pos_embed": "resample_abs_pos_embed",
    "attention": "attention (causal, d=64)",
}
STYLE = {  # impl -> (colour, line style, marker)
    "naive": ("#c0392b", "-", "o"),
    "per_class": ("#e67e22", "-", "D"),
    "fast": ("#2e5cb8", "-", "s"),
    "tiled": ("#27ae60", "-", "D"),
    "library": ("#333333", "--", "^"),
}


def _tr(key: str, lang: str) -> str:
    return TEXT[key][lang]


def load(path: Path = RESULTS) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def plot(results: dict[str, Any], lang: str) -> Any:
    """The log-log scaling plot: one panel per op, one line per implementation, labels in ``lang``."""
    from matplotlib import ticker
    from matplotlib.figure import Figure

    ops = [
        op
        for op in report.ops_in(results)
        if any(r["status"] == "ok" for r in results["rows"] if r["op"] == op)
    ]
    cols = 3
    rows_n = max(1, -(-len(ops) // cols))
    fig = Figure(figsize=(11, 3.4 * rows_n))
    axes = fig.subplots(rows_n, cols, squeeze=False)
    for ax, op in zip(axes.flat, ops, strict=False):
        for impl in report.IMPLS_ORDER:
            pts = sorted(
                (r["size"], r["median_s"])
                for r in results["rows"]
                if r["op"] == op and r["impl"] == impl and r["status"] == "ok"
            )
            if not pts:
                continue
            colour, style, marker = STYLE.get(impl, ("#777777", ":", "x"))
            xs, ys = zip(*pts, strict=True)
            label = t(f"impl.{impl}", lang)
            ax.plot(xs, ys, style, color=colour, marker=marker, markersize=4, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted(
            {r["size"] for r in results["rows"] if r["op"] == op and r["status"] == "ok"}
        )
        # Ticks at the measured sizes, written as plain numbers.
        ax.xaxis.set_major_locator(ticker.FixedLocator(sizes))
        labels, shown = [], 0.0
        for x in sizes:  # skip a label that would overlap its neighbour (56 and 64 on a log axis)
            labels.append(str(x) if x >= shown * 1.3 else "")
            shown = x if labels[-1] else shown
        ax.xaxis.set_major_formatter(ticker.FixedFormatter(labels))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        if len(sizes) == 1:
            ax.set_xlim(sizes[0] / 1.5, sizes[0] * 1.5)
        ax.set_title(PLOT_TITLES.get(op, op), fontsize=10)
        ax.set_xlabel(t(f"size.{op}", lang) if f"size.{op}" in report.TEXT else "size", fontsize=9)
        ax.set_ylabel(_tr("time_axis", lang), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper left")
    for ax in list(axes.flat)[len(ops) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_svg(results: dict[str, Any], lang: str) -> str:
    """The scaling plot as SVG, cached on disk by the results and the code that draws them."""
    import hashlib

    from tools import figure as figure_tool

    digest = hashlib.sha256(json.dumps(results, sort_keys=True).encode() + lang.encode())
    for path in (Path(__file__), Path(figure_tool.__file__)):
        digest.update(path.read_bytes())
    cached = figure_tool.CACHE / f"bench-{digest.hexdigest()[:32]}.svg"
    if cached.exists():
        return cached.read_text(encoding="utf-8")
    svg = _draw_plot_svg(results, lang)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(svg, encoding="utf-8")
    tmp.replace(cached)
    return svg


def _draw_plot_svg(results: dict[str, Any], lang: str) -> str:
    """The scaling plot as SVG text, post-processed as ``tools/figure.py`` does for figures."""
    import matplotlib

    matplotlib.use("Agg")
    from tools import figure as figure_tool

    with matplotlib.rc_context(figure_tool.RC), warnings.catch_warnings():
        # Text stays text in the SVG (the reader's CJK font draws it): a missing glyph here only
        # affects matplotlib's layout estimate.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing", category=UserWarning)
        fig = plot(results, lang)
        buf = io.StringIO()
        fig.savefig(
            buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None}
        )
    svg = re.sub(r"<metadata>.*?</metadata>", "", buf.getvalue(), flags=re.S)
    stack = figure_tool.FONT_STACK.replace('"', "'")
    svg = re.sub(r"font-family:\s*[^;\"']+", "font-family: " + stack, svg)
    return re.sub(r"(font:[^;\"']*?px )'[^']*'", r"\1" + stack, svg)


def _figure_html(svg: str, caption: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    cap = html.escape(caption)
    return (
        f'<figure class="hb-figure" id="fig-bench-scaling">'
        f'<img src="data:image/svg+xml;base64,{data}" alt="{cap}">'
        f"<figcaption>{cap}</figcaption></figure>"
    )


def _kb(n: float) -> str:
    return f"{n / 1000:.1f} kB"


def site_scale(site: dict[str, Any], lang: str) -> str:
    fit, targets, meta = site.get("fit", {}), site.get("targets", {}), site.get("metadata", {})
    out = [report.site_scale_table(site, lang), ""]
    if fit.get("per_page_s") is not None:
        lin = {True: "linear_yes", False: "linear_no", None: "linear_na"}[fit.get("linear")]
        out.append(
            _tr("site_verdict", lang).format(
                fixed=fit["fixed_s"],
                per=fit["per_page_s"] * 1e3,
                lin=_tr(lin, lang).format(
                    rise=fit.get("marginal_rise") or 0, slack=targets.get("linear_slack", 0)
                ),
                idx=_kb(targets["index_worst_bytes_per_page"]),
                lim=_kb(targets["index_bytes_per_page_max"]),
                ok=_tr("ok" if targets["index_met"] else "missed", lang),
            )
        )
        marginal = targets.get("index_marginal_bytes_per_page") or {}
        if marginal:
            out[-1] += (
                ("" if lang == "zh" else " ")
                + _tr("marginal", lang).format(
                    zh=_kb(marginal.get("zh", 0)), en=_kb(marginal.get("en", 0))
                )
                + ("。" if lang == "zh" else ".")
            )
        out.append("")
    first = targets.get("first_query_ms_at_largest") or {}
    if first.get("zh") is not None:
        out += [
            _tr("first_query", lang).format(
                zh=f"{first['zh']:.0f} ms",
                en=f"{first['en']:.0f} ms",
                lim=targets["first_query_ms_max"],
                ok=_tr("ok" if targets["first_query_met"] else "missed", lang),
            ),
            "",
        ]
    weight = site.get("page_weight")
    if weight:
        zh, en = weight["zh"], weight["en"]
        out += [
            _tr("weight", lang).format(
                topic=weight["topic"],
                zb=f"{zh['bytes'] / 1024:.0f} KiB",
                eb=f"{en['bytes'] / 1024:.0f} KiB",
                zr=zh["ratio_bytes"],
                er=en["ratio_bytes"],
                zq=zh["requests"],
                bq=zh["bare_requests"],
            ),
            "",
        ]
    out.append(
        _tr("site_meta", lang).format(
            date=meta.get("date"),
            cpu=meta.get("cpu_model"),
            cores=meta.get("cpu_count"),
            mkdocs=meta.get("mkdocs"),
            material=meta.get("material"),
            load=meta.get("load_average"),
        )
    )
    return "\n".join(out)


_cache: dict[tuple[str, float], str] = {}


def test_times(times: dict[str, Any], lang: str) -> str:
    """The per-chapter table from ``.cache/test-times.json``, as recorded by ``bench.run``."""
    rows = [
        f"| {c} | {v['tests']} | {v['seconds']:.1f} |"
        for c, v in sorted(times["chapters"].items(), key=lambda kv: -kv[1]["seconds"])
    ]
    head = f"| {_tr('chapter', lang)} | {_tr('tests', lang)} | {_tr('seconds', lang)} |"
    note = _tr("test_times_note", lang).format(workers=times.get("workers", "?"))
    return "\n".join([note, "", head, "| --- | ---: | ---: |", *rows])


def render(lang: str, path: Path = RESULTS) -> str:
    """Markdown for ``<!-- generated: bench -->`` on ``docs/<lang>/benchmarks.md``."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    results = load(path)
    if results is None:
        return _tr("missing", lang)
    key = (f"{lang}:{path}", path.stat().st_mtime)
    if key in _cache:
        return _cache[key]
    meta = results["metadata"]
    threads = (meta.get("threads") or {}).get("torch", "?")
    caption = _tr("caption", lang).format(n=threads)
    out = [
        _tr("machine", lang) + report.machine_line(meta, lang),
        "",
        f"### {_tr('targets', lang)} {{ #targets }}",
        "",
        report.targets_table(results, lang, link=True),
        "",
        f"### {_tr('plot', lang)} {{ #plot }}",
        "",
        _figure_html(plot_svg(results, lang), caption),
        "",
        f"### {_tr('data', lang)} {{ #data }}",
        "",
    ]
    for op in report.ops_in(results):
        out += [
            f"#### {t('op.' + op, lang)} {{ #data-{op.replace('_', '-')} }}",
            "",
            report.op_table(results, op, lang),
            "",
        ]
    site = results.get("site_scale")
    if site:
        out += [f"### {_tr('site', lang)} {{ #data-site-scale }}", "", site_scale(site, lang), ""]
    times = results.get("test_times")
    if times:
        out += [f"### {_tr('test_times', lang)} {{ #test-times }}", "", test_times(times, lang), ""]
    text = "\n".join(out)
    _cache[key] = text
    return text


if __name__ == "__main__":
    sys.stdout.write(render(sys.argv[1] if len(sys.argv) > 1 else "zh"))
