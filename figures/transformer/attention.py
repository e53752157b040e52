"""Figures for the attention page, drawn at build time from the snippet's own functions."""

from __future__ import annotations

import math

import matplotlib.figure
import torch

from snippets.transformer.attention import scaled_dot_product_attention

_TEXT = {
    "zh": {
        "causal": "因果 mask",
        "right": "因果 + 右侧 padding（key 4、5）",
        "left": "因果 + 左侧 padding（key 0、1）",
        "dead": "整行被 mask → 输出 0",
        "key": "key 位置 j",
        "query": "query 位置 i",
        "var_title": "q·k 的方差（分量独立、方差 1）",
        "var_raw": "未缩放 q·k",
        "var_scaled": "q·k / √d",
        "var_line": "y = d",
        "dim": "维度 d",
        "var": "方差",
        "max_title": "softmax 最大权重（32 个 key 的平均）",
        "max_raw": "scale = 1（未缩放）",
        "max_scaled": "scale = 1/√d",
        "max": "最大注意力权重",
    },
    "en": {
        "causal": "causal mask",
        "right": "causal + right padding (keys 4, 5)",
        "left": "causal + left padding (keys 0, 1)",
        "dead": "fully masked row → output 0",
        "key": "key position j",
        "query": "query position i",
        "var_title": "variance of q·k (iid unit-variance components)",
        "var_raw": "q·k, unscaled",
        "var_scaled": "q·k / √d",
        "var_line": "y = d",
        "dim": "dimension d",
        "var": "variance",
        "max_title": "largest softmax weight (mean over queries, 32 keys)",
        "max_raw": "scale = 1 (unscaled)",
        "max_scaled": "scale = 1/√d",
        "max": "largest attention weight",
    },
}


def _weights(q: torch.Tensor, k: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """The snippet's SDPA with value = identity returns its attention weights."""
    eye = torch.eye(k.shape[-2], dtype=k.dtype)
    return scaled_dot_product_attention(q, k, eye, attn_mask=allowed)


def draw_masks(lang: str) -> matplotlib.figure.Figure:
    """Attention weights of one head (6 tokens) under a causal mask, with right/left padding."""
    text = _TEXT[lang]
    gen = torch.Generator().manual_seed(0)
    n = 6
    q = torch.randn(n, 8, generator=gen)
    k = torch.randn(n, 8, generator=gen)
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    keys = torch.arange(n)
    panels = [
        (text["causal"], causal),
        (text["right"], causal & (keys < 4)[None, :]),  # True = allowed (SDPA convention)
        (text["left"], causal & (keys >= 2)[None, :]),
    ]
    fig = matplotlib.figure.Figure(figsize=(10, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (title, allowed) in zip(axes, panels, strict=True):
        w = _weights(q, k, allowed)
        image = ax.imshow(w.numpy(), cmap="Blues", vmin=0, vmax=1)
        for i in range(n):
            for j in range(n):
                if not allowed[i, j]:
                    ax.text(j, i, "×", ha="center", va="center", color="#bbbbbb", fontsize=9)
                else:
                    color = "white" if w[i, j] > 0.6 else "black"
                    ax.text(
                        j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=7, color=color
                    )
        dead = [i for i in range(n) if not allowed[i].any()]
        if dead:
            ax.text(
                (n - 1) / 2,
                (dead[0] + dead[-1]) / 2,
                text["dead"],
                ha="center",
                va="center",
                fontsize=8,
                color="#d62728",
                bbox={"facecolor": "white", "edgecolor": "#d62728", "pad": 2},
            )
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xlabel(text["key"], fontsize=8)
    axes[0].set_ylabel(text["query"], fontsize=8)
    fig.colorbar(image, ax=list(axes), shrink=0.8)
    return fig


def draw_scaling(lang: str) -> matplotlib.figure.Figure:
    """Var(q·k) grows like d; dividing by √d keeps it at 1 and the softmax from saturating."""
    text = _TEXT[lang]
    gen = torch.Generator().manual_seed(1)
    dims = [2, 4, 8, 16, 32, 64, 128, 256, 512]
    var_raw, var_scaled, max_raw, max_scaled = [], [], [], []
    for d in dims:
        q = torch.randn(4000, d, generator=gen, dtype=torch.float64)
        k = torch.randn(4000, d, generator=gen, dtype=torch.float64)
        dots = (q * k).sum(-1)
        var_raw.append(float(dots.var()))
        var_scaled.append(float((dots / math.sqrt(d)).var()))
        qs = torch.randn(64, d, generator=gen, dtype=torch.float64)
        ks = torch.randn(32, d, generator=gen, dtype=torch.float64)
        eye = torch.eye(32, dtype=torch.float64)
        w_raw = scaled_dot_product_attention(qs, ks, eye, scale=1.0)
        w_scaled = scaled_dot_product_attention(qs, ks, eye)  # default 1/sqrt(d)
        max_raw.append(float(w_raw.max(-1).values.mean()))
        max_scaled.append(float(w_scaled.max(-1).values.mean()))
    fig = matplotlib.figure.Figure(figsize=(9, 3.6), layout="constrained")
    ax_var, ax_max = fig.subplots(1, 2)
    ax_var.loglog(dims, var_raw, "o-", color="#d62728", label=text["var_raw"])
    ax_var.loglog(dims, var_scaled, "s-", color="#1f77b4", label=text["var_scaled"])
    ax_var.loglog(dims, dims, ":", color="#7f7f7f", label=text["var_line"])
    ax_var.set_xscale("log", base=2)
    ax_var.set_title(text["var_title"], fontsize=9)
    ax_var.set_xlabel(text["dim"], fontsize=8)
    ax_var.set_ylabel(text["var"], fontsize=8)
    ax_var.legend(fontsize=8)
    ax_max.semilogx(dims, max_raw, "o-", color="#d62728", label=text["max_raw"], base=2)
    ax_max.semilogx(dims, max_scaled, "s-", color="#1f77b4", label=text["max_scaled"], base=2)
    ax_max.axhline(1 / 32, ls=":", color="#7f7f7f")
    ax_max.set_ylim(0, 1.05)
    ax_max.set_title(text["max_title"], fontsize=9)
    ax_max.set_xlabel(text["dim"], fontsize=8)
    ax_max.set_ylabel(text["max"], fontsize=8)
    ax_max.legend(fontsize=8)
    return fig
