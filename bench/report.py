"""Markdown tables of benchmark results, in Chinese or English.

``bench/results.md`` is ``markdown(results)`` in English; the benchmark page uses the same
tables in its own language (``tools/bench_page.py``).
"""

from __future__ import annotations

import math
from typing import Any

OPS_ORDER = ("nms", "batched_nms", "box_iou", "conv2d", "conv2d_c64", "pos_embed", "attention")
IMPLS_ORDER = ("naive", "per_class", "tiled", "fast", "library")

TEXT: dict[str, dict[str, str]] = {
    "op.nms": {"zh": "NMS（贪心）", "en": "NMS (greedy)"},
    "op.batched_nms": {"zh": "batched NMS（4 类）", "en": "batched NMS (4 classes)"},
    "op.box_iou": {"zh": "box_iou（N×M IoU 矩阵）", "en": "box_iou (N×M IoU matrix)"},
    "op.conv2d": {"zh": "conv2d，3→64 通道，k=3，pad=1", "en": "conv2d, 3→64 channels, k=3, pad=1"},
    "op.conv2d_c64": {
        "zh": "conv2d，64→64 通道，k=3，pad=1",
        "en": "conv2d, 64→64 channels, k=3, pad=1",
    },
    "op.pos_embed": {
        "zh": "位置编码插值 resample_abs_pos_embed（bicubic）",
        "en": "position-embedding resampling resample_abs_pos_embed (bicubic)",
    },
    "op.attention": {
        "zh": "因果注意力，1 头，d=64（耗时与峰值内存）",
        "en": "causal attention, 1 head, d=64 (time and peak memory)",
    },
    "size.attention": {"zh": "序列长度 N", "en": "sequence length N"},
    "impl.tiled": {"zh": "分块（FlashAttention 循环）", "en": "tiled (FlashAttention loop)"},
    "col.peak": {"zh": "峰值内存", "en": "Peak memory"},
    "size.nms": {"zh": "框数 N", "en": "boxes N"},
    "size.batched_nms": {"zh": "框数 N", "en": "boxes N"},
    "size.box_iou": {"zh": "N = M", "en": "N = M"},
    "size.conv2d": {"zh": "特征图边长 H = W", "en": "feature-map side H = W"},
    "size.conv2d_c64": {"zh": "特征图边长 H = W", "en": "feature-map side H = W"},
    "size.pos_embed": {"zh": "新网格边长（原 14）", "en": "new grid side (from 14)"},
    "impl.naive": {"zh": "朴素（循环）", "en": "naive (loop)"},
    "impl.per_class": {"zh": "逐类循环", "en": "per-class loop"},
    "impl.fast": {"zh": "快速（向量化）", "en": "fast (vectorised)"},
    "impl.library": {"zh": "库", "en": "library"},
    "col.case": {"zh": "规模", "en": "Case"},
    "functions": {"zh": "函数：", "en": "Functions: "},
    "col.op": {"zh": "算子 · 实现", "en": "Op · implementation"},
    "col.impl": {"zh": "实现", "en": "Implementation"},
    "col.function": {"zh": "函数", "en": "Function"},
    "col.median": {"zh": "中位数", "en": "Median"},
    "col.spread": {"zh": "四分位距 IQR", "en": "IQR"},
    "col.ratio": {"zh": "相对库", "en": "× library"},
    "col.check": {"zh": "与库一致", "en": "Same output"},
    "col.target": {"zh": "目标", "en": "Target"},
    "col.measured": {"zh": "实测", "en": "Measured"},
    "col.verdict": {"zh": "结论", "en": "Verdict"},
    "col.why": {"zh": "说明", "en": "Why"},
    "met": {"zh": "✅ 达成", "en": "✅ met"},
    "missed": {"zh": "❌ 未达成", "en": "❌ missed"},
    "unmeasured": {"zh": "未测", "en": "not measured"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "**否**", "en": "**no**"},
    "all_sizes": {"zh": "所有规模中最差", "en": "worst over all sizes"},
    "at": {"zh": "", "en": "at"},
    "skipped": {
        "zh": "跳过：预计超过 {b:g} 秒/次",
        "en": "skipped: over {b:g} s per call predicted",
    },
    "unavailable": {"zh": "不可用：函数尚未实现", "en": "not available: function missing"},
    "error": {"zh": "出错", "en": "error"},
    "title": {"zh": "基准测试结果", "en": "Benchmark results"},
    "targets": {"zh": "目标", "en": "Targets"},
    "machine": {"zh": "机器", "en": "Machine"},
    "site_scale": {"zh": "站点规模", "en": "Site scale"},
    "ss.factor": {"zh": "主题页倍数", "en": "Topic pages ×"},
    "ss.pages": {"zh": "页面（两种语言）", "en": "Pages (both)"},
    "ss.build": {"zh": "构建 CPU 时间（墙钟）", "en": "Build CPU time (wall)"},
    "ss.per_page": {"zh": "每页 CPU 时间", "en": "CPU per page"},
    "ss.index_zh": {"zh": "中文索引（每页）", "en": "zh index (per page)"},
    "ss.index_en": {"zh": "英文索引（每页）", "en": "en index (per page)"},
    "ss.first_query": {"zh": "首次搜索（中/英）", "en": "First query (zh/en)"},
}


KERNELS = {  # ATen kernels behind F.conv2d, as the library rows name them
    "aten::mkldnn_convolution": {"zh": "oneDNN 直接卷积", "en": "oneDNN direct convolution"},
    "aten::_slow_conv2d_forward": {"zh": "ATen im2col + GEMM", "en": "ATen im2col + GEMM"},
    "aten::thnn_conv2d": {"zh": "ATen im2col + GEMM", "en": "ATen im2col + GEMM"},
    "aten::_scaled_dot_product_flash_attention_for_cpu": {
        "zh": "CPU flash attention 内核",
        "en": "CPU flash-attention kernel",
    },
    "aten::_scaled_dot_product_attention_math": {"zh": "math 实现", "en": "math fallback"},
}


def t(key: str, lang: str) -> str:
    return TEXT[key][lang]


def fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"×{ratio:.2f}" if ratio < 100 else f"×{ratio:,.0f}"


def fmt_kb(n: float) -> str:
    """Bytes in kB / MB (powers of 1000, as the 60 kB target is stated)."""
    return f"{n / 1e3:.1f} kB" if n < 1e6 else f"{n / 1e6:.2f} MB"


def case_label(op: str, size: int, lang: str) -> str:
    """The case of one row in words: ``N=1000``, ``3→64, 56×56``, ..."""
    if op == "nms":
        return f"N={size}"
    if op == "batched_nms":
        return f"N={size}，4 类" if lang == "zh" else f"N={size}, 4 classes"
    if op == "box_iou":
        return f"N=M={size}"
    if op in ("conv2d", "conv2d_c64"):
        c_in = 3 if op == "conv2d" else 64
        return f"{c_in}→64, {size}×{size}"
    if op == "pos_embed":
        return f"14×14→{size}×{size}, D=768"
    if op == "attention":
        return f"N={size}"
    return str(size)


def ops_in(results: dict[str, Any]) -> list[str]:
    present = {r["op"] for r in results["rows"]}
    return [op for op in OPS_ORDER if op in present] + sorted(present - set(OPS_ORDER))


def _note(row: dict[str, Any], results: dict[str, Any], lang: str) -> str:
    status = row["status"]
    if status == "skipped":
        budget = results["metadata"].get("settings", {}).get("naive_budget_s", 0)
        return t("skipped", lang).format(b=budget)
    if status == "unavailable":
        return t("unavailable", lang)
    return f"{t('error', lang)}: {row['note']}"


def op_table(results: dict[str, Any], op: str, lang: str) -> str:
    """One op: a row per (size, implementation), ratios to the library of the same size."""
    head = [
        t("col.case", lang),
        t("col.impl", lang),
        t("col.median", lang),
        t("col.spread", lang),
        t("col.ratio", lang),
        t("col.check", lang),
    ]
    rows = [r for r in results["rows"] if r["op"] == op]
    peak = any(r.get("peak_bytes") is not None for r in rows)  # ops that measure memory
    if peak:
        head.insert(5, t("col.peak", lang))
    align = "| --- | --- | ---: | ---: | ---: |" + (" ---: |" if peak else "") + " --- |"
    lines = ["| " + " | ".join(head) + " |", align]
    rank = {impl: i for i, impl in enumerate(IMPLS_ORDER)}
    rows.sort(key=lambda r: (r["size"], rank.get(r["impl"], 99)))
    functions = {}
    for r in sorted(rows, key=lambda r: rank.get(r["impl"], 99)):
        functions.setdefault(r["impl"], r["function"])
    legend = " · ".join(
        f"{TEXT.get(f'impl.{impl}', {}).get(lang, impl)} `{function}`"
        for impl, function in functions.items()
    )
    for r in rows:
        name = TEXT.get(f"impl.{r['impl']}", {}).get(lang, r["impl"])
        kernel = r.get("library_kernel")
        if r["impl"] == "library" and kernel:
            name += (
                f"（{KERNELS.get(kernel, {}).get(lang, kernel)}）"
                if lang == "zh"
                else (f" ({KERNELS.get(kernel, {}).get(lang, kernel)})")
            )
        if r["status"] == "ok":
            spread = r["spread"] or {}
            iqr = f"{fmt_time(spread.get('q1_s'))} – {fmt_time(spread.get('q3_s'))}"
            same = t("yes", lang) if r["matches_library"] else t("no", lang)
            cells = [
                case_label(op, r["size"], lang),
                name,
                fmt_time(r["median_s"]),
                iqr,
                fmt_ratio(r["ratio_to_library"]),
                same,
            ]
        else:
            cells = [case_label(op, r["size"], lang), name, "—", "—", "—", _note(r, results, lang)]
        if peak:
            bytes_ = r.get("peak_bytes")
            cells.insert(5, "—" if bytes_ is None else f"{bytes_ / 2**20:.2f} MiB")
        lines.append("| " + " | ".join(cells) + " |")
    return f"{t('functions', lang)}{legend}\n\n" + "\n".join(lines)


def target_line(target: dict[str, Any], lang: str) -> tuple[str, str, str]:
    op = target["op"]
    if target["size"] is None:
        where = t("all_sizes", lang)
    else:
        where = f"{t('at', lang)} {case_label(op, target['size'], lang)}".strip()
    goal = (
        f"≤ ×{target['max_ratio']:g}（{where}）"
        if lang == "zh"
        else f"≤ ×{target['max_ratio']:g} ({where})"
    )
    if target["measured_ratio"] is None:
        return goal, "—", t("unmeasured", lang)
    got = f"{fmt_ratio(target['measured_ratio'])}"
    if target["size"] is None:
        got += f" ({case_label(op, target['measured_size'], lang)})"
        if target.get("largest_size") not in (None, target["measured_size"]):
            at = "；最大规模" if lang == "zh" else "; largest size"
            largest = case_label(op, target["largest_size"], lang)
            got += f"{at} {largest}: {fmt_ratio(target['ratio_at_largest'])}"
    return goal, got, t("met" if target["met"] else "missed", lang)


def targets_table(results: dict[str, Any], lang: str, link: bool = False) -> str:
    head = [
        t("col.op", lang),
        t("col.target", lang),
        t("col.measured", lang),
        t("col.verdict", lang),
    ]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- | ---: | --- |"]
    for target in results.get("targets", []):
        name = f"{t('op.' + target['op'], lang)} · {t('impl.' + target['impl'], lang)}"
        if link:
            name = f"[{name}](#{target['anchor']})"
        goal, got, verdict = target_line(target, lang)
        lines.append(f"| {name} | {goal} | {got} | {verdict} |")
    return "\n".join(lines)


def machine_line(meta: dict[str, Any], lang: str) -> str:
    threads = meta.get("threads", {})
    env = {k: v for k, v in (meta.get("env") or {}).items() if v}
    env_text = ", ".join(f"{k}={v}" for k, v in env.items()) or (
        "未设置 OPENBLAS_CORETYPE 等变量" if lang == "zh" else "OPENBLAS_CORETYPE etc. unset"
    )
    if lang == "zh":
        return (
            f"{meta.get('date', '?')} 测于 {meta.get('cpu_model') or '未知 CPU'}（{meta.get('cpu_count')} 核，"
            f"{meta.get('machine')}），torch 线程 {threads.get('torch')}，NumPy BLAS 线程 "
            f"{threads.get('numpy_blas')}；Python {meta.get('python')} · NumPy {meta.get('numpy')}"
            f"（{meta.get('numpy_blas')}）· torch {meta.get('torch')} · torchvision "
            f"{meta.get('torchvision')} · timm {meta.get('timm')}；{env_text}；"
            f"运行开始时负载 {meta.get('load_average_start')}，共 {meta.get('duration_s')} 秒"
            f"（档位 {meta.get('profile')}，提交 {meta.get('git_commit')}）。"
        )
    return (
        f"Measured {meta.get('date', '?')} on {meta.get('cpu_model') or 'unknown CPU'} "
        f"({meta.get('cpu_count')} cores, {meta.get('machine')}), torch threads "
        f"{threads.get('torch')}, NumPy BLAS threads {threads.get('numpy_blas')}; Python "
        f"{meta.get('python')} · NumPy {meta.get('numpy')} ({meta.get('numpy_blas')}) · torch "
        f"{meta.get('torch')} · torchvision {meta.get('torchvision')} · timm {meta.get('timm')}; "
        f"{env_text}; load average {meta.get('load_average_start')} at the start, "
        f"{meta.get('duration_s')} s in all (profile {meta.get('profile')}, commit "
        f"{meta.get('git_commit')})."
    )


def _first_query(run: dict[str, Any]) -> str:
    """Keystroke to results of a reader's first search, zh / en (older runs did not measure it)."""
    ms = run.get("first_query_ms") or {}
    shown = [f"{ms[k]:.0f}" if ms.get(k) is not None else "—" for k in ("zh", "en")]
    return "—" if shown == ["—", "—"] else f"{' / '.join(shown)} ms"


def site_scale_table(site: dict[str, Any], lang: str) -> str:
    head = [
        t("ss.factor", lang),
        t("ss.pages", lang),
        t("ss.build", lang),
        t("ss.per_page", lang),
        t("ss.index_zh", lang),
        t("ss.index_en", lang),
        t("ss.first_query", lang),
    ]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---:"] * len(head)) + " |"]
    per = "/页" if lang == "zh" else "/page"
    for run in site.get("runs", []):
        cpu = run.get("build_cpu_s")
        cpu_per_page = run.get("build_cpu_s_per_page")
        build = f"{'—' if cpu is None else f'{cpu:.1f} s'} ({run['build_s']:.1f} s)"
        index = {
            lang_: f"{fmt_kb(run['index_bytes'][lang_])} "
            f"({fmt_kb(run['index_bytes_per_page'][lang_])}{per})"
            for lang_ in ("zh", "en")
        }
        lines.append(
            f"| ×{run['factor']} | {run['pages']['zh'] + run['pages']['en']} | {build} | "
            f"{'—' if cpu_per_page is None else f'{cpu_per_page * 1e3:.0f} ms'} | "
            f"{index['zh']} | {index['en']} | {_first_query(run)} |"
        )
    return "\n".join(lines)


def markdown(results: dict[str, Any], lang: str = "en") -> str:
    """The whole of ``bench/results.md``: machine, targets, a table per op, site scale."""
    out = [f"# {t('title', lang)}", ""]
    out += [
        "Generated by `python -m bench.run` from `results.json`; do not edit by hand."
        if lang == "en"
        else "由 `python -m bench.run` 从 `results.json` 生成，请勿手改。",
        "",
        machine_line(results["metadata"], lang),
        "",
        f"## {t('targets', lang)}",
        "",
        targets_table(results, lang),
        "",
    ]
    for op in ops_in(results):
        out += [
            f"## {t('op.' + op, lang) if 'op.' + op in TEXT else op}",
            "",
            op_table(results, op, lang),
            "",
        ]
    site = results.get("site_scale")
    if site:
        out += [f"## {t('site_scale', lang)}", "", site_scale_table(site, lang), ""]
    return "\n".join(out)
