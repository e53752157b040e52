"""Figures for the decoding page, drawn at build time from the snippet's own warpers."""

from __future__ import annotations

import matplotlib.figure
import torch

from snippets.llm.decoding import temperature_logits, top_k_logits, top_p_logits

_TEXT = {
    "zh": {
        "temp": "温度改变分布的形状（同一组 logits）",
        "rank": "token（按概率排序）",
        "prob": "概率",
        "t": "T = {t}",
        "cut": "top-k = {k} 与 top-p = {p} 保留的 token",
        "both": "两者都保留",
        "k_only": "只有 top-k 保留",
        "p_only": "只有 top-p 保留",
        "none": "都删除",
    },
    "en": {
        "temp": "Temperature reshapes the distribution (same logits)",
        "rank": "token (sorted by probability)",
        "prob": "probability",
        "t": "T = {t}",
        "cut": "Tokens kept by top-k = {k} and top-p = {p}",
        "both": "kept by both",
        "k_only": "kept by top-k only",
        "p_only": "kept by top-p only",
        "none": "removed by both",
    },
}


def _logits() -> torch.Tensor:
    """Twelve sorted logits with a clear head and a long tail."""
    return torch.tensor([3.0, 2.4, 2.1, 1.2, 1.0, 0.6, 0.3, 0.0, -0.4, -0.8, -1.2, -1.5])


def draw_filters(lang: str) -> matplotlib.figure.Figure:
    """Left: softmax at three temperatures. Right: which tokens top-k and top-p keep."""
    text = _TEXT[lang]
    x = _logits()
    ranks = torch.arange(1, len(x) + 1).numpy()
    fig = matplotlib.figure.Figure(figsize=(9, 3.6), layout="constrained")
    ax_t, ax_c = fig.subplots(1, 2)
    for t, style in ((0.5, "o-"), (1.0, "s-"), (2.0, "^-")):
        probs = temperature_logits(x, t).softmax(dim=-1).numpy()
        ax_t.plot(ranks, probs, style, ms=4, label=text["t"].format(t=t))
    ax_t.set_title(text["temp"], fontsize=10)
    ax_t.set_xlabel(text["rank"])
    ax_t.set_ylabel(text["prob"])
    ax_t.legend(fontsize=8)

    k, p = 3, 0.8
    probs = x.softmax(dim=-1)
    by_k = torch.isfinite(top_k_logits(x, k))
    by_p = torch.isfinite(top_p_logits(x, p))
    colors = {"both": "#2ca02c", "k_only": "#1f77b4", "p_only": "#ff7f0e", "none": "#c7c7c7"}
    used = []
    for i in range(len(x)):
        key = ("both" if by_p[i] else "k_only") if by_k[i] else ("p_only" if by_p[i] else "none")
        label = text[key] if key not in used else None
        used.append(key)
        ax_c.bar(ranks[i], float(probs[i]), color=colors[key], label=label)
    cum = probs.cumsum(dim=0).numpy()
    ax_c.plot(ranks, cum, "k--", lw=1)
    ax_c.axhline(p, color="k", lw=0.6, ls=":")
    ax_c.text(len(x), p + 0.02, f"top_p = {p}", ha="right", fontsize=8)
    ax_c.set_title(text["cut"].format(k=k, p=p), fontsize=10)
    ax_c.set_xlabel(text["rank"])
    ax_c.set_ylim(0, 1.05)
    ax_c.legend(fontsize=8, loc="center right")
    return fig
