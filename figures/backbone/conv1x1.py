"""Figure for the 1x1-conv page: flatten+transpose vs plain reshape into [B, H*W, C] tokens."""

from __future__ import annotations

import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from snippets.backbone.conv1x1 import to_tokens, to_tokens_wrong

TEXT = {
    "zh": {
        "input": "输入 [1, 3, 2, 2]\n（数值 = 内存顺序）",
        "right": "flatten(2).transpose(1, 2)\n每行 = 一个像素的 3 个通道",
        "wrong": "reshape(B, H*W, C)\n每行 = 内存中连续 3 个数",
        "fake": "列（本应是通道）",
        "channel": "通道",
        "token": "token",
    },
    "en": {
        "input": "input [1, 3, 2, 2]\n(value = memory order)",
        "right": "flatten(2).transpose(1, 2)\neach row = one pixel's\n3 channels",
        "wrong": "reshape(B, H*W, C)\neach row = 3 values\nadjacent in memory",
        "fake": "column (meant to be channel)",
        "channel": "channel",
        "token": "token",
    },
}

COLORS = ListedColormap(["#9ecae1", "#fdd0a2", "#c7e9c0"])  # channel 0, 1, 2


def _table(ax, values: torch.Tensor, title: str, ylabel: str) -> None:
    channel_of = values // 4  # x = arange(12) reshaped to [1, 3, 2, 2]: channel c holds 4c..4c+3
    ax.imshow(channel_of.numpy(), cmap=COLORS, vmin=0, vmax=2)
    rows, cols = values.shape
    for i in range(rows):
        for j in range(cols):
            ax.text(j, i, str(int(values[i, j])), ha="center", va="center", fontsize=10)
    ax.set_title(title, fontsize=9)
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    ax.set_ylabel(ylabel, fontsize=8)


def draw_reshape_trap(lang: str) -> Figure:
    """Colour = which channel a value comes from; the right table mixes pixels of one channel."""
    t = TEXT[lang]
    x = torch.arange(12).reshape(1, 3, 2, 2)
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax_in, ax_right, ax_wrong = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.6, 1, 1]})
    # The input shown as its three 2x2 channel planes side by side, separated by a blank column.
    planes = torch.full((2, 8), -1)
    for c in range(3):
        planes[:, 3 * c : 3 * c + 2] = x[0, c]
    shown = planes
    ax_in.imshow(
        (shown.clamp(min=0) // 4).numpy(),
        cmap=COLORS,
        vmin=0,
        vmax=2,
        alpha=(shown >= 0).float().numpy(),
    )
    for i in range(2):
        for j in range(8):
            if shown[i, j] >= 0:
                ax_in.text(j, i, str(int(shown[i, j])), ha="center", va="center", fontsize=10)
    ax_in.set_xticks([0.5, 3.5, 6.5], [f"{t['channel']} {c}" for c in range(3)], fontsize=8)
    ax_in.set_yticks([])
    ax_in.set_title(t["input"], fontsize=9)
    _table(ax_right, to_tokens(x)[0], t["right"], t["token"])
    _table(ax_wrong, to_tokens_wrong(x)[0], t["wrong"], t["token"])
    ax_right.set_xlabel(t["channel"], fontsize=8)
    ax_wrong.set_xlabel(t["fake"], fontsize=8)
    return fig
