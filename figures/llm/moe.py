"""Figures for the MoE page, drawn at build time from the snippet's own routing code."""

from __future__ import annotations

import matplotlib.figure
import torch

from snippets.llm.moe import capacity_mask, expert_capacity, load_balancing_loss, topk_routing

_TEXT = {
    "zh": {
        "probs": "一个 token 的路由：softmax 概率（8 个专家，top-2 高亮）",
        "expert": "专家编号",
        "prob": "概率",
        "renorm": "top-2 重新归一化后：{a:.3f} / {b:.3f}（总和 1）",
        "raw": "不归一化：{a:.3f} / {b:.3f}（总和 {s:.3f}）",
        "load": "{t} 个 token、top-2、capacity factor 1.25：容量 {c}",
        "tokens": "分配到的 token 数",
        "kept": "保留",
        "dropped": "溢出被丢弃",
        "cap": "容量",
        "skewed": "偏向专家 0 的 router（均衡损失 {l:.2f}）",
        "uniform": "无偏 router（均衡损失 {l:.2f}）",
    },
    "en": {
        "probs": "Routing of one token: softmax probabilities (8 experts, top-2 highlighted)",
        "expert": "expert",
        "prob": "probability",
        "renorm": "top-2 renormalised: {a:.3f} / {b:.3f} (sum 1)",
        "raw": "not renormalised: {a:.3f} / {b:.3f} (sum {s:.3f})",
        "load": "{t} tokens, top-2, capacity factor 1.25: capacity {c}",
        "tokens": "tokens assigned",
        "kept": "kept",
        "dropped": "dropped (overflow)",
        "cap": "capacity",
        "skewed": "router biased towards expert 0 (balancing loss {l:.2f})",
        "uniform": "unbiased router (balancing loss {l:.2f})",
    },
}


def _loads(logits: torch.Tensor, capacity: int) -> tuple[list[int], list[int]]:
    """Kept and dropped assignments per expert, from the snippet's routing and capacity."""
    _, experts = topk_routing(logits, 2)
    keep = capacity_mask(experts, logits.shape[1], capacity)
    e = logits.shape[1]
    kept = torch.bincount(experts[keep], minlength=e).tolist()
    dropped = torch.bincount(experts[~keep], minlength=e).tolist()
    return kept, dropped


def draw_routing_and_capacity(lang: str) -> matplotlib.figure.Figure:
    """Left: one token's probabilities and top-2 weights. Right: expert load and drops."""
    text = _TEXT[lang]
    gen = torch.Generator().manual_seed(0)
    fig = matplotlib.figure.Figure(figsize=(9, 6.4), layout="constrained")
    ax_p, ax_skew, ax_flat = fig.subplots(3, 1)

    z = torch.tensor([[1.6, 0.2, -0.4, 1.1, 0.0, -1.0, 0.5, -0.2]])
    probs = torch.softmax(z, -1)[0]
    w, idx = topk_routing(z, 2)
    raw, _ = topk_routing(z, 2, renormalize=False)
    colors = ["#d62728" if i in idx[0].tolist() else "#9e9e9e" for i in range(8)]
    ax_p.bar(range(8), probs.tolist(), color=colors)
    ax_p.set_title(text["probs"], fontsize=10)
    ax_p.set_xlabel(text["expert"], fontsize=9)
    ax_p.set_ylabel(text["prob"], fontsize=9)
    label = text["renorm"].format(a=float(w[0, 0]), b=float(w[0, 1])) + "\n"
    label += text["raw"].format(a=float(raw[0, 0]), b=float(raw[0, 1]), s=float(raw.sum()))
    ax_p.text(7.4, float(probs.max()) * 0.95, label, ha="right", va="top", fontsize=9)

    t, e = 64, 8
    cap = expert_capacity(t, e, 2, 1.25)
    base = torch.randn(t, e, generator=gen)
    for ax, bias, key in [(ax_skew, 1.5, "skewed"), (ax_flat, 0.0, "uniform")]:
        logits = base + bias * torch.eye(e)[0]  # add `bias` to expert 0's logit
        kept, dropped = _loads(logits, cap)
        ax.bar(range(e), kept, color="#1f77b4", label=text["kept"])
        ax.bar(range(e), dropped, bottom=kept, color="#ff7f0e", label=text["dropped"])
        ax.axhline(cap, color="k", ls="--", lw=1, label=text["cap"])
        loss = float(load_balancing_loss((logits,), e, 2))
        ax.set_title(text["load"].format(t=t, c=cap) + " — " + text[key].format(l=loss), fontsize=9)
        ax.set_xlabel(text["expert"], fontsize=9)
        ax.set_ylabel(text["tokens"], fontsize=9)
        if key == "skewed":  # one legend; in the second panel it would cover a bar
            ax.legend(fontsize=8, loc="upper right")
    return fig
