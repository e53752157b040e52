"""Figures for the position-encoding page, drawn at build time from the snippet's own code."""

from __future__ import annotations

import math

import matplotlib.figure
import torch

from snippets.transformer.rope import (
    apply_rotary_pos_emb,
    linear_scaling_inv_freq,
    ntk_scaling_inv_freq,
    rope_cos_sin,
    rope_inv_freq,
    yarn_inv_freq,
)

_TEXT = {
    "zh": {
        "decay_title": "RoPE 的远程衰减（d = 128, base = 10000）",
        "distance": "相对距离 m − n",
        "score": "归一化的注意力分数",
        "qk": "q = k = 全 1 向量时的 q·k / (q·q)",
        "bound": "RoFormer §3.4.3 的衰减项 (1/(d/2)) Σ|Sⱼ|，归一化",
        "wave_title": "每一对维度的波长 2π/θᵢ（d = 128，放大 s = 4 倍）",
        "pair": "维度对下标 i",
        "wavelength": "波长（token，对数坐标）",
        "default": "原始 RoPE",
        "pi": "位置插值 PI（全部 ÷ s）",
        "ntk": "NTK-aware（base × s^(d/(d−2))）",
        "yarn": "YaRN（快维外推、慢维插值）",
        "L": "训练长度 L = 4096",
        "sL": "目标长度 sL = 16384",
    },
    "en": {
        "decay_title": "RoPE's long-term decay (d = 128, base = 10000)",
        "distance": "relative distance m − n",
        "score": "normalised attention score",
        "qk": "q·k / (q·q) for q = k = all-ones",
        "bound": "RoFormer §3.4.3 decay term (1/(d/2)) Σ|Sⱼ|, normalised",
        "wave_title": "Wavelength 2π/θᵢ of each pair (d = 128, extended s = 4 times)",
        "pair": "pair index i",
        "wavelength": "wavelength (tokens, log scale)",
        "default": "plain RoPE",
        "pi": "position interpolation (all ÷ s)",
        "ntk": "NTK-aware (base × s^(d/(d−2)))",
        "yarn": "YaRN (extrapolate fast, interpolate slow)",
        "L": "training length L = 4096",
        "sL": "target length sL = 16384",
    },
}


def draw_long_term_decay(lang: str) -> matplotlib.figure.Figure:
    """q·k of two all-ones vectors after RoPE, and RoFormer's bound, against m − n."""
    text = _TEXT[lang]
    d, distances = 128, torch.arange(0, 1001)
    ones = torch.ones(1, 1, 1, d, dtype=torch.float64)
    # k sits at position 0, q at position m: the score is a function of m - 0 only.
    cos_q, sin_q = rope_cos_sin(distances[None], d, dtype=torch.float64)
    q, _ = apply_rotary_pos_emb(ones.expand(1, 1, len(distances), d), ones, cos_q, sin_q)
    score = (q * ones).sum(-1).flatten() / d
    # RoFormer: |sum_j h_j e^{i r theta_j}| <= max|h_{j+1} - h_j| * sum_j |S_j|, S_j = partial
    # sums of e^{i r theta_k}; the curve plotted is (1 / (d/2)) sum_j |S_j|, as in its Fig. 2.
    theta = rope_inv_freq(d)
    phases = torch.polar(
        torch.ones(len(distances), d // 2, dtype=torch.float64), distances[:, None].double() * theta
    )
    bound = phases.cumsum(-1).abs().mean(-1)
    bound = bound / bound[0]
    fig = matplotlib.figure.Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(distances, score, lw=0.8, label=text["qk"])
    ax.plot(distances, bound, lw=1.5, label=text["bound"])
    ax.set_xlabel(text["distance"])
    ax.set_ylabel(text["score"])
    ax.set_title(text["decay_title"], fontsize=10)
    ax.legend(fontsize=8)
    return fig


def draw_wavelengths(lang: str) -> matplotlib.figure.Figure:
    """Wavelength per pair for plain RoPE, PI, NTK-aware and YaRN at s = 4, L = 4096."""
    text = _TEXT[lang]
    d, base, s, L = 128, 10000.0, 4.0, 4096
    curves = {
        "default": rope_inv_freq(d, base),
        "pi": linear_scaling_inv_freq(d, base, s),
        "ntk": ntk_scaling_inv_freq(d, base, s),
        "yarn": yarn_inv_freq(d, base, s, L)[0],
    }
    fig = matplotlib.figure.Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    pairs = torch.arange(d // 2)
    styles = {"default": "-", "pi": "--", "ntk": "-.", "yarn": ":"}
    for key, inv in curves.items():
        ax.plot(pairs, 2 * math.pi / inv, styles[key], lw=1.4, label=text[key])
    ax.axhline(L, color="grey", lw=0.8)
    ax.axhline(s * L, color="grey", lw=0.8, ls="--")
    ax.text(1, L * 1.2, text["L"], fontsize=8, color="grey")
    ax.text(1, s * L * 1.2, text["sL"], fontsize=8, color="grey")
    ax.set_yscale("log")
    ax.set_xlabel(text["pair"])
    ax.set_ylabel(text["wavelength"])
    ax.set_title(text["wave_title"], fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig
