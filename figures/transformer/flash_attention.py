"""Figures for the FlashAttention page.

``draw_tiles`` runs the snippet's own ``flash_attention`` and records, through its ``tile_kind``,
which tiles the loop computes under a causal mask. ``draw_memory`` plots the byte counts of the
formulas on the page (no measurement: the measured numbers are on the benchmark page).
"""

from __future__ import annotations

import matplotlib.figure
import torch
from matplotlib.patches import Rectangle

import snippets.transformer.flash_attention as fa

_TEXT = {
    "zh": {
        "square": "因果，L = S = 8 块：计算 {n} / {t} 个 tile",
        "wide": "因果，L = 4 块 < S = 8 块（左上角对齐）：计算 {n} / {t}",
        "key": "K/V 块 j（外层循环 →）",
        "query": "Q 块 i（内层循环 ↓）",
        "full": "完整计算",
        "partial": "部分 mask",
        "skip": "跳过",
        "mem_title": "单层注意力的显存（fp16，32 头，d = 128，batch 1）",
        "naive": "标准注意力：N×N 分数矩阵",
        "flash": "FlashAttention：Q、K、V、O + logsumexp",
        "n": "序列长度 N",
        "bytes": "字节",
    },
    "en": {
        "square": "causal, L = S = 8 blocks: {n} of {t} tiles computed",
        "wide": "causal, L = 4 < S = 8 blocks (top-left): {n} of {t}",
        "key": "K/V block j (outer loop →)",
        "query": "Q block i (inner loop ↓)",
        "full": "computed in full",
        "partial": "partly masked",
        "skip": "skipped",
        "mem_title": "Memory of one attention layer (fp16, 32 heads, d = 128, batch 1)",
        "naive": "standard: the N×N score matrix",
        "flash": "FlashAttention: Q, K, V, O + logsumexp",
        "n": "sequence length N",
        "bytes": "bytes",
    },
}
_COLOURS = {"full": "#2e5cb8", "partial": "#e69f00", "skip": "#e6e6e6"}


def visited_tiles(L: int, S: int, block: int) -> dict[tuple[int, int], str]:
    """(query block, key block) -> kind, as the snippet's causal loop decides them."""
    seen: dict[tuple[int, int], str] = {}
    original = fa.tile_kind

    def record(q0: int, q1: int, k0: int, k1: int, is_causal: bool) -> str:
        kind = original(q0, q1, k0, k1, is_causal)
        seen[(q0 // block, k0 // block)] = kind
        return kind

    fa.tile_kind = record  # the loop looks the name up in its module at each tile
    try:
        x = torch.zeros(1, 1, max(L, S), 2)
        fa.flash_attention(x[:, :, :L], x[:, :, :S], x[:, :, :S], True, block)
    finally:
        fa.tile_kind = original
    return seen


def _grid(ax, seen: dict[tuple[int, int], str], rows: int, cols: int, title: str, text) -> None:
    for (i, j), kind in seen.items():
        ax.add_patch(Rectangle((j, i), 1, 1, fc=_COLOURS[kind], ec="white", lw=1.5))
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.set_aspect("equal")
    ax.set_xticks([c + 0.5 for c in range(cols)], [str(c) for c in range(cols)], fontsize=8)
    ax.set_yticks([r + 0.5 for r in range(rows)], [str(r) for r in range(rows)], fontsize=8)
    ax.set_xlabel(text["key"], fontsize=9)
    ax.set_ylabel(text["query"], fontsize=9)
    ax.set_title(title, fontsize=9.5)


def draw_tiles(lang: str) -> matplotlib.figure.Figure:
    """Which tiles the causal loop computes (blue, orange) and skips (grey)."""
    text = _TEXT[lang]
    block = 4
    fig = matplotlib.figure.Figure(figsize=(8.6, 3.6), layout="constrained")
    ax_sq, ax_wide = fig.subplots(1, 2, width_ratios=[1, 1.25])
    for ax, (rows, cols), key in ((ax_sq, (8, 8), "square"), (ax_wide, (4, 8), "wide")):
        seen = visited_tiles(rows * block, cols * block, block)
        done = sum(kind != "skip" for kind in seen.values())
        _grid(ax, seen, rows, cols, text[key].format(n=done, t=rows * cols), text)
    handles = [Rectangle((0, 0), 1, 1, fc=_COLOURS[k]) for k in ("full", "partial", "skip")]
    fig.legend(
        handles,
        [text[k] for k in ("full", "partial", "skip")],
        loc="outside lower center",
        ncols=3,
        fontsize=8.5,
        frameon=False,
    )
    return fig


def draw_memory(lang: str) -> matplotlib.figure.Figure:
    """Bytes of the N×N scores (standard attention) vs Q, K, V, O and lse (FlashAttention)."""
    text = _TEXT[lang]
    heads, d, fp16 = 32, 128, 2
    ns = [1024 * 2**i for i in range(7)]  # 1k ... 64k
    naive = [heads * n * n * fp16 for n in ns]
    flash = [4 * heads * n * d * fp16 + heads * n * 4 for n in ns]  # lse is float32
    fig = matplotlib.figure.Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(ns, naive, "o-", color="#c0392b", label=text["naive"])
    ax.plot(ns, flash, "s-", color="#2e5cb8", label=text["flash"])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xticks(ns, [f"{n // 1024}k" for n in ns])
    gib = [2**k for k in range(26, 39, 2)]
    ax.set_yticks(gib, [f"{g / 2**30:g} GiB" if g >= 2**30 else f"{g // 2**20} MiB" for g in gib])
    ax.annotate(
        "8k: 4 GiB",
        (8192, naive[3]),
        textcoords="offset points",
        xytext=(-55, 8),
        fontsize=8.5,
        color="#c0392b",
    )
    ax.set_xlabel(text["n"], fontsize=9)
    ax.set_ylabel(text["bytes"], fontsize=9)
    ax.set_title(text["mem_title"], fontsize=9.5)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8.5)
    return fig
