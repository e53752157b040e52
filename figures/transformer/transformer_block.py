"""Figures for the Transformer-block page, drawn at build time.

``draw_pre_post``: where the norm sits in a post-norm and a pre-norm block (data flow).
``draw_params_flops``: Llama-2-7B's parameters by component and the share of attention-score
FLOPs against sequence length, both computed by the snippet's own counting functions.
"""

from __future__ import annotations

import itertools

import matplotlib.figure
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch

from snippets.transformer.transformer_block import block_forward_flops, decoder_parameter_count

_TEXT = {
    "zh": {
        "post": "Post-norm（原始 Transformer）",
        "pre": "Pre-norm（GPT-2、Llama）",
        "stream": "残差流",
        "final": "最终 norm\n（最后一层之后，只一次）",
        "attn": "Attention",
        "ffn": "FFN",
        "norm": "LayerNorm",
        "in": "输入 x",
        "out": "输出",
        "params": "Llama-2-7B 参数（共 {total:.2f}B）",
        "parts": {
            "attention": "Attention",
            "ffn": "FFN (SwiGLU)",
            "embeddings": "Embedding + lm_head",
        },
        "flops": "一层前向 FLOPs 中注意力分数（QKᵀ、AV）的占比",
        "n": "序列长度 n（token）",
        "share": "占比",
        "cross": "n = {n:,}：与矩阵乘持平",
    },
    "en": {
        "post": "Post-norm (original Transformer)",
        "pre": "Pre-norm (GPT-2, Llama)",
        "stream": "residual stream",
        "final": "final norm\n(after the last block, once)",
        "attn": "Attention",
        "ffn": "FFN",
        "norm": "LayerNorm",
        "in": "input x",
        "out": "output",
        "params": "Llama-2-7B parameters ({total:.2f}B in all)",
        "parts": {
            "attention": "Attention",
            "ffn": "FFN (SwiGLU)",
            "embeddings": "Embedding + lm_head",
        },
        "flops": "Share of attention scores ($QK^T$, $AV$) in one block's forward FLOPs",
        "n": "sequence length n (tokens)",
        "share": "share",
        "cross": "n = {n:,}: equal to the matmuls",
    },
}
_NORM, _SUB, _STREAM = "#f4a259", "#8cb7d9", "#555555"


def _box(
    ax: Axes, x: float, y: float, text: str, color: str, dashed: bool = False, h: float = 0.7
) -> None:
    w = 3.6 if dashed else 2.6
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.05",
            fc=color,
            ec="black",
            ls="--" if dashed else "-",
            zorder=3,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=9, zorder=4)


def _plus(ax: Axes, y: float) -> None:
    ax.plot([2], [y], marker="o", ms=16, mfc="white", mec="black", zorder=3)
    ax.text(2, y, "+", ha="center", va="center", fontsize=12, zorder=4)


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "lw": 1.2}, zorder=2)


def _branch(ax: Axes, y_from: float, y_to: float, boxes: list[tuple[str, str]]) -> None:
    """A side branch leaving the stream at ``y_from`` and added back at ``y_to``."""
    ys = [y_from - 0.6 - 1.0 * i for i in range(len(boxes))]
    _arrow(ax, 2, y_from, 5 - 1.3, ys[0])
    for (text, color), y in zip(boxes, ys, strict=True):
        _box(ax, 5, y, text, color)
    for y0, y1 in itertools.pairwise(ys):
        _arrow(ax, 5, y0 - 0.35, 5, y1 + 0.35)
    _arrow(ax, 5 - 1.3, ys[-1], 2.25, y_to)
    _plus(ax, y_to)


def _panel(ax: Axes, t: dict, pre: bool) -> None:
    ax.set_xlim(0, 7.5)
    ax.set_ylim(0, 12)
    ax.axis("off")
    ax.plot([2, 2], [1.3, 11.2], color=_STREAM, lw=3, zorder=1)
    ax.text(2, 11.5, t["in"], ha="center", fontsize=9)
    y_label = 5.9 if pre else 2.9  # a stretch of the stream with nothing on it
    ax.text(1.75, y_label, t["stream"], rotation=90, ha="right", va="center", fontsize=8)
    if pre:
        _branch(ax, 10.8, 8.0, [(t["norm"], _NORM), (t["attn"], _SUB)])
        _branch(ax, 7.2, 4.4, [(t["norm"], _NORM), (t["ffn"], _SUB)])
        _box(ax, 2.6, 2.2, t["final"], _NORM, dashed=True, h=1.1)
    else:
        _branch(ax, 10.8, 9.2, [(t["attn"], _SUB)])
        _box(ax, 2, 8.2, t["norm"], _NORM)  # ON the stream: every token re-normalised
        _branch(ax, 7.4, 5.8, [(t["ffn"], _SUB)])
        _box(ax, 2, 4.8, t["norm"], _NORM)
    ax.text(2, 0.7, t["out"], ha="center", fontsize=9)
    ax.set_title(t["pre"] if pre else t["post"], fontsize=10)


def draw_pre_post(lang: str) -> matplotlib.figure.Figure:
    """Post-norm puts LayerNorm on the residual stream; pre-norm only on each branch input."""
    t = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(7.5, 5), layout="constrained")
    ax_post, ax_pre = fig.subplots(1, 2)
    _panel(ax_post, t, pre=False)
    _panel(ax_pre, t, pre=True)
    return fig


def draw_params_flops(lang: str) -> matplotlib.figure.Figure:
    """Llama-2-7B's parameter split, and attention's FLOP share as the sequence grows."""
    t = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(8, 3.4), layout="constrained")
    ax_p, ax_f = fig.subplots(1, 2, width_ratios=[1, 1.4])
    counts = decoder_parameter_count(4096, 32, 11008, 32000, 32, 32)
    parts = ["ffn", "attention", "embeddings"]  # norms: 266,240 = 0.004 %, not drawn
    values = [counts[p] / 1e9 for p in parts]
    bars = ax_p.barh([t["parts"][p] for p in parts], values, color=[_SUB, "#5b8fb9", "#bbbbbb"])
    for bar, v in zip(bars, values, strict=True):
        share = 100 * v * 1e9 / counts["total"]
        ax_p.text(v, bar.get_y() + 0.4, f" {v:.2f}B ({share:.1f}%)", va="center", fontsize=8)
    ax_p.set_xlim(0, 6.2)
    ax_p.set_xlabel("B = 10^9")
    ax_p.set_title(t["params"].format(total=counts["total"] / 1e9), fontsize=10)
    ns = [2**k for k in range(7, 18)]
    for d, d_ff, swiglu, label in [
        (768, 3072, False, "d = 768, FFN 4d"),
        (4096, 11008, True, "d = 4096, SwiGLU 11008"),
    ]:
        shares = []
        for n in ns:
            f = block_forward_flops(n, d, d_ff, swiglu)
            shares.append(f["scores"] / sum(f.values()))
        ax_f.plot(ns, shares, marker="o", ms=3, label=label)
    ax_f.axhline(0.5, color="gray", lw=0.8, ls=":")
    for n_star in (6 * 768, 2 * 4096 + 3 * 11008 // 2):
        ax_f.axvline(n_star, color="gray", lw=0.8, ls="--")
        ax_f.text(n_star * 1.08, 0.05, t["cross"].format(n=n_star), fontsize=7, rotation=90)
    ax_f.set_xscale("log", base=2)
    ax_f.set_xlabel(t["n"])
    ax_f.set_ylabel(t["share"])
    ax_f.set_ylim(0, 1)
    ax_f.legend(fontsize=8, loc="upper left")
    ax_f.set_title(t["flops"], fontsize=9)
    return fig
