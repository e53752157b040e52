"""Figures for the NumPy convolution page: the sliding window, im2col as a matrix product, and
the uneven overlap of a transposed convolution (checkerboard artefacts)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from snippets.backbone.conv_numpy import conv2d, im2col
from snippets.backbone.conv_numpy_backward import col2im

TEXT = {
    "zh": {
        "input": "输入 5×5，padding=1（灰色为补的 0）",
        "kernel": "卷积核 3×3（不翻转）",
        "output": "输出 3×3（stride=2）",
        "sum": "窗口与卷积核逐元素相乘再求和",
        "cols": "im2col：每个窗口展平成一列\n[C·kH·kW, H_out·W_out] = [4, 9]",
        "weight": "权重展平\n[C_out, C·kH·kW] = [1, 4]",
        "out": "输出 = 权重 @ 列矩阵\n[1, 9] → reshape 成 3×3",
        "x": "输入 4×4（C=1）\n卷积核 2×2，stride=1",
        "k3": "转置卷积 k=3, s=2：k 不能被 s 整除\n每个输出像素被 1/2/4 个窗口覆盖",
        "k4": "转置卷积 k=4, s=2：k 能被 s 整除\n内部每个像素都被 4 个窗口覆盖",
    },
    "en": {
        "input": "input 5×5, padding=1 (grey = padded zeros)",
        "kernel": "kernel 3×3 (not flipped)",
        "output": "output 3×3 (stride=2)",
        "sum": "multiply window and kernel elementwise, then sum",
        "cols": "im2col: each window flattened into a column\n[C·kH·kW, H_out·W_out] = [4, 9]",
        "weight": "flattened weight\n[C_out, C·kH·kW] = [1, 4]",
        "out": "output = weight @ columns\n[1, 9] → reshape to 3×3",
        "x": "input 4×4 (C=1)\nkernel 2×2, stride=1",
        "k3": "transposed conv k=3, s=2: s does not divide k\neach output pixel gets 1, 2 or 4 windows",
        "k4": "transposed conv k=4, s=2: s divides k\nevery interior pixel gets 4 windows",
    },
}

HIGHLIGHT = "#d62728"


def _grid(ax: Axes, values: np.ndarray, title: str, shade: np.ndarray | None = None) -> None:
    """Draw an integer matrix as a table of cells; ``shade`` marks cells to paint grey."""
    rows, cols = values.shape
    base = np.zeros((rows, cols)) if shade is None else shade.astype(float) * 0.25
    ax.imshow(base, cmap="Greys", vmin=0, vmax=1)
    for i in range(rows):
        for j in range(cols):
            ax.text(j, i, f"{values[i, j]:g}", ha="center", va="center", fontsize=9)
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="#888888", linewidth=0.6)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(title, fontsize=9)


def draw_sliding_window(lang: str) -> Figure:
    """Padded input with one window, the kernel, and the output cell that window produces."""
    t = TEXT[lang]
    rng = np.random.default_rng(0)
    image = rng.integers(0, 5, size=(5, 5)).astype(float)
    kernel = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
    out = conv2d(image[None, None], kernel[None, None], stride=2, padding=1)[0, 0]
    padded = np.pad(image, 1)
    is_pad = np.pad(np.zeros((5, 5), bool), 1, constant_values=True)

    fig = Figure(figsize=(8.4, 3.2))
    ax_in, ax_k, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": [7, 3, 3]})
    _grid(ax_in, padded, t["input"], shade=is_pad)
    _grid(ax_k, kernel, t["kernel"])
    _grid(ax_out, out, t["output"])
    # Output cell (1, 2) reads the window whose top-left corner is (1*2, 2*2) in padded coords.
    i, j = 1, 2
    ax_in.add_patch(Rectangle((2 * j - 0.5, 2 * i - 0.5), 3, 3, fill=False, lw=2.5, ec=HIGHLIGHT))
    ax_out.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.5, ec=HIGHLIGHT))
    ax_k.add_patch(Rectangle((-0.5, -0.5), 3, 3, fill=False, lw=2.5, ec=HIGHLIGHT))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.1, wspace=0.25)
    # Operators between the panels: window (x) kernel, summed, = output cell.
    for left, right, symbol in ((ax_in, ax_k, "⊙"), (ax_k, ax_out, "=")):
        x = (left.get_position().x1 + right.get_position().x0) / 2
        fig.text(x, 0.5, symbol, ha="center", va="center", fontsize=18, color=HIGHLIGHT)
    fig.text(0.5, 0.04, t["sum"], ha="center", fontsize=9, color=HIGHLIGHT)
    return fig


def draw_im2col(lang: str) -> Figure:
    """A 4x4 single-channel input unfolded by ``im2col`` and multiplied by the flattened kernel."""
    t = TEXT[lang]
    image = np.arange(16.0).reshape(4, 4)
    kernel = np.array([[1.0, 2.0], [0.0, -1.0]])
    cols = im2col(image[None, None], 2)[0]  # [4, 9]
    out = kernel.reshape(1, 4) @ cols  # [1, 9]

    fig = Figure(figsize=(8.4, 3.6))
    grid = fig.add_gridspec(2, 3, width_ratios=[4, 9, 9], height_ratios=[4, 1.4])
    ax_x = fig.add_subplot(grid[0, 0])
    ax_c = fig.add_subplot(grid[0, 1:])
    ax_w = fig.add_subplot(grid[1, 0])
    ax_o = fig.add_subplot(grid[1, 1:])
    _grid(ax_x, image, t["x"])
    _grid(ax_c, cols, t["cols"])
    _grid(ax_w, kernel.reshape(1, 4), t["weight"])
    _grid(ax_o, out, t["out"])
    # Column 0 of the unfolded matrix is the first 2x2 window of the input.
    ax_x.add_patch(Rectangle((-0.5, -0.5), 2, 2, fill=False, lw=2.5, ec=HIGHLIGHT))
    ax_c.add_patch(Rectangle((-0.5, -0.5), 1, 4, fill=False, lw=2.5, ec=HIGHLIGHT))
    ax_o.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, lw=2.5, ec=HIGHLIGHT))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.84, bottom=0.03, wspace=0.15, hspace=0.9)
    return fig


def draw_checkerboard(lang: str) -> Figure:
    """How many input positions a stride-2 transposed conv adds onto each output pixel.

    The count is ``col2im`` of all-ones columns (a transposed conv with an all-ones input and
    kernel); unequal counts are the checkerboard pattern of Odena et al., Distill 2016.
    """
    t = TEXT[lang]
    fig = Figure(figsize=(8.4, 3.9))
    axes = fig.subplots(1, 2)
    for ax, k, key in ((axes[0], 3, "k3"), (axes[1], 4, "k4")):
        n_in = 4  # a 4x4 input: output (4 - 1) * 2 + k, cropped to the interior below
        size = (n_in - 1) * 2 + k
        cover = col2im(np.ones((1, k * k, n_in * n_in)), (size, size), k, stride=2)[0, 0]
        inner = cover[k - 2 : size - k + 2, k - 2 : size - k + 2]  # drop the thin border
        ax.imshow(inner, cmap="Blues", vmin=0, vmax=8)
        for i in range(inner.shape[0]):
            for j in range(inner.shape[1]):
                ax.text(j, i, f"{inner[i, j]:g}", ha="center", va="center", fontsize=9)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(t[key], fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.84, bottom=0.03, wspace=0.1)
    return fig
