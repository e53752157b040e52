"""Figures for the DINO page, drawn at build time from snippets/selfsup/dino.py."""

from __future__ import annotations

import functools
import math

from matplotlib.figure import Figure

from snippets.selfsup.dino import collapse_experiment

_TEXT = {
    "zh": {
        "modes": {"centering": "只 centering", "sharpening": "只 sharpening", "both": "两者都用"},
        "left": "teacher 单样本输出的熵",
        "right": "batch 平均分布的熵",
        "step": "训练步数",
        "nats": "熵（nats）",
        "logk": "log K（均匀分布）",
    },
    "en": {
        "modes": {"centering": "centering only", "sharpening": "sharpening only", "both": "both"},
        "left": "entropy of each teacher output",
        "right": "entropy of the batch-mean output",
        "step": "training step",
        "nats": "entropy (nats)",
        "logk": "log K (uniform)",
    },
}


@functools.cache  # the same runs for both languages' figures
def _history(mode: str, k: int) -> dict[str, list[float]]:
    return collapse_experiment(mode, K=k, seed=0)


def draw_collapse(lang: str) -> Figure:
    """Teacher entropy under centring only, sharpening only and both (K = 16, seed 0)."""
    text = _TEXT[lang]
    k = 16
    fig = Figure(figsize=(8.0, 3.2), layout="constrained")
    ax_sample, ax_marginal = fig.subplots(1, 2, sharey=True)
    styles = {"centering": ("tab:blue", "-"), "sharpening": ("tab:red", "--"), "both": ("k", "-.")}
    for mode, (color, ls) in styles.items():
        hist = _history(mode, k)
        steps = range(1, len(hist["entropy"]) + 1)
        ax_sample.plot(steps, hist["entropy"], color=color, ls=ls, label=text["modes"][mode])
        ax_marginal.plot(steps, hist["marginal_entropy"], color=color, ls=ls)
    for ax, title in ((ax_sample, text["left"]), (ax_marginal, text["right"])):
        ax.axhline(math.log(k), color="gray", lw=0.8, ls=":", label=text["logk"])
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(text["step"])
        ax.set_ylim(-0.1, math.log(k) + 0.25)
    ax_sample.set_ylabel(text["nats"])
    ax_sample.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 0.1))
    return fig
