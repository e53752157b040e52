"""Figure for the RoI Align page: RoI Pool's quantised bins vs RoI Align's sample points.

Drawn in the pixel-area picture: feature cell ``i`` covers ``[i, i + 1)``, its centre is
``i + 0.5``. RoI Align reads index coordinate ``p`` (value of cell ``p``), which sits at ``p + 0.5``
in this picture; that is why ``aligned=False`` reads half a pixel down-right of the box.
"""

from __future__ import annotations

import matplotlib.figure
import torch
from matplotlib.patches import Rectangle

from snippets.detection.roi_align import roi_align_grid, roi_pool_bins

_TEXT = {
    "zh": {
        "pool": "RoI Pool：框取整，bin 取整（floor/ceil）",
        "legacy": "RoI Align, aligned=False：\n采样点整体偏右下半个像素",
        "aligned": "RoI Align, aligned=True：\n减 0.5 后采样点落在 bin 内",
        "box": "原始框",
    },
    "en": {
        "pool": "RoI Pool: box rounded, bins floor/ceil",
        "legacy": "RoI Align, aligned=False:\nsamples half a pixel down-right",
        "aligned": "RoI Align, aligned=True:\nafter -0.5, samples inside the bins",
        "box": "original box",
    },
}

SIZE = 8  # feature map of 8 x 8 cells
BOX = (1.3, 0.8, 6.6, 5.4)  # x1, y1, x2, y2 in feature-map coordinates (spatial_scale = 1)
OUT = (2, 2)
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def _grid(ax, title: str) -> None:
    for i in range(SIZE + 1):
        ax.axhline(i, color="#cccccc", lw=0.6)
        ax.axvline(i, color="#cccccc", lw=0.6)
    ax.set_xlim(0, SIZE)
    ax.set_ylim(SIZE, 0)  # y grows downwards, as in an image
    ax.set_aspect("equal")
    ax.set_xticks(range(0, SIZE + 1, 2))
    ax.set_yticks(range(0, SIZE + 1, 2))
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)


def _box(ax, label: str | None) -> None:
    x1, y1, x2, y2 = BOX
    ax.add_patch(
        Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="k", lw=1.6, ls="--", label=label)
    )


def draw_pool_vs_align(lang: str) -> matplotlib.figure.Figure:
    """Three panels for one RoI with 2 x 2 bins: RoI Pool windows, RoI Align without/with shift."""
    text = _TEXT[lang]
    rois = torch.tensor([[0.0, *BOX]], dtype=torch.float64)
    fig = matplotlib.figure.Figure(figsize=(9, 3.4), layout="constrained")
    ax_pool, ax_legacy, ax_aligned = fig.subplots(1, 3)

    _grid(ax_pool, text["pool"])
    h0, h1, w0, w1 = (t[0].tolist() for t in roi_pool_bins(rois, OUT, 1.0, SIZE, SIZE))
    for i in range(OUT[0]):
        for j in range(OUT[1]):
            c = COLORS[i * OUT[1] + j]
            ax_pool.add_patch(
                Rectangle(
                    (w0[j], h0[i]), w1[j] - w0[j], h1[i] - h0[i], fc=c, alpha=0.18, ec=c, lw=1.2
                )
            )
    _box(ax_pool, text["box"])
    ax_pool.legend(loc="lower right", fontsize=7)

    for ax, aligned, title in ((ax_legacy, False, "legacy"), (ax_aligned, True, "aligned")):
        _grid(ax, text[title])
        _box(ax, None)
        y, x, _, _ = roi_align_grid(rois, OUT, 1.0, sampling_ratio=2, aligned=aligned)
        x1, y1, x2, y2 = BOX
        for t in (1, OUT[1] - 1):  # exact bin boundaries (no rounding)
            ax.axvline(
                x1 + t * (x2 - x1) / OUT[1],
                ymin=1 - y2 / SIZE,
                ymax=1 - y1 / SIZE,
                color="k",
                lw=0.8,
            )
        ax.axhline(y1 + (y2 - y1) / 2, xmin=x1 / SIZE, xmax=x2 / SIZE, color="k", lw=0.8)
        for i in range(OUT[0]):
            for j in range(OUT[1]):
                ys, xs = torch.meshgrid(y[0, i], x[0, j], indexing="ij")
                # index coordinate p sits at p + 0.5 in the cell picture
                ax.plot(
                    xs.flatten() + 0.5, ys.flatten() + 0.5, "o", ms=4, color=COLORS[i * OUT[1] + j]
                )
    return fig
