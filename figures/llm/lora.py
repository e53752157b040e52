"""Figures for the LoRA page, drawn at build time from the snippet's own functions."""

from __future__ import annotations

import matplotlib.figure
import torch

from snippets.llm.lora import lora_init, lora_num_parameters, merge_lora_weight

_TEXT = {
    "zh": {
        "params": "4096×4096 投影：LoRA 可训练参数 r(d+k)",
        "r": "秩 r",
        "count": "可训练参数量",
        "full": "全量微调 d·k = 16,777,216",
        "lora": "LoRA r(d+k)",
        "sv": "ΔW = W' − W 的奇异值（64×48，r = 4）",
        "index": "奇异值序号",
        "value": "奇异值（对数轴）",
    },
    "en": {
        "params": "4096×4096 projection: LoRA trainable parameters r(d+k)",
        "r": "rank r",
        "count": "trainable parameters",
        "full": "full fine-tuning d·k = 16,777,216",
        "lora": "LoRA r(d+k)",
        "sv": "Singular values of ΔW = W' − W (64×48, r = 4)",
        "index": "index",
        "value": "singular value (log scale)",
    },
}


def draw_params_and_rank(lang: str) -> matplotlib.figure.Figure:
    """Left: parameter count vs r. Right: the merged update has exactly r non-zero singular values."""
    text = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(9, 3.6), layout="constrained")
    ax_p, ax_s = fig.subplots(1, 2)

    ranks = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    counts = [lora_num_parameters(4096, 4096, r) for r in ranks]
    ax_p.plot(ranks, counts, "o-", color="#1f77b4", label=text["lora"])
    ax_p.axhline(4096 * 4096, color="#d62728", ls="--", label=text["full"])
    for r, c in zip(ranks, counts, strict=True):
        if r in (8, 64):
            ax_p.annotate(
                f"r={r}: {c:,}", (r, c), textcoords="offset points", xytext=(6, -12), fontsize=8
            )
    ax_p.set_xscale("log", base=2)
    ax_p.set_yscale("log")
    ax_p.set_xlabel(text["r"])
    ax_p.set_ylabel(text["count"])
    ax_p.set_title(text["params"], fontsize=10)
    ax_p.legend(fontsize=8, loc="lower right")

    # A trained-looking update: random A from lora_init, and a random B (B starts at 0).
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(64, 48, generator=gen, dtype=torch.float64)
    A, _ = lora_init(48, 64, 4, generator=gen, dtype=torch.float64)
    B = torch.randn(64, 4, generator=gen, dtype=torch.float64)
    delta = merge_lora_weight(W, A, B, 2.0) - W
    sv = torch.linalg.svdvals(delta).clamp(min=1e-18)
    ax_s.semilogy(range(1, len(sv) + 1), sv.tolist(), "o", ms=3, color="#2ca02c")
    ax_s.axvline(4.5, color="#7f7f7f", ls=":")
    ax_s.set_xlabel(text["index"])
    ax_s.set_ylabel(text["value"])
    ax_s.set_title(text["sv"], fontsize=10)
    return fig
