"""Figure for the parameters/FLOPs page: what grouping, depthwise and bottlenecks save."""

from __future__ import annotations

from matplotlib.figure import Figure

from snippets.backbone.params_flops import conv2d_macs, conv2d_params

TEXT = {
    "zh": {
        "title_p": "参数量（不含 bias），单位：千",
        "title_m": "MACs（56x56 输入），单位：百万",
        "labels": [
            "标准 3x3\n256→256",
            "分组 3x3\ngroups=32",
            "深度可分离\n3x3 dw + 1x1",
            "bottleneck\n1x1→3x3→1x1",
        ],
    },
    "en": {
        "title_p": "parameters (no bias), thousands",
        "title_m": "MACs (56x56 input), millions",
        "labels": [
            "standard 3x3\n256→256",
            "grouped 3x3\ngroups=32",
            "depthwise separable\n3x3 dw + 1x1",
            "bottleneck\n1x1→3x3→1x1",
        ],
    },
}

# Each block maps 256 channels to 256 channels on a 56x56 map; layers as
# (in_channels, out_channels, kernel_size, groups, padding).
BLOCKS = [
    [(256, 256, 3, 1, 1)],
    [(256, 256, 3, 32, 1)],
    [(256, 256, 3, 256, 1), (256, 256, 1, 1, 0)],
    [(256, 64, 1, 1, 0), (64, 64, 3, 1, 1), (64, 256, 1, 1, 0)],  # ResNet-50 stage-1 bottleneck
]


def draw_cost_bars(lang: str) -> Figure:
    """Two bar charts: parameters and MACs of four ways to map 256 -> 256 channels."""
    t = TEXT[lang]
    params = [sum(conv2d_params(i, o, k, g, bias=False) for i, o, k, g, _ in b) for b in BLOCKS]
    macs = [
        sum(conv2d_macs(i, o, k, 56, padding=p, groups=g) for i, o, k, g, p in b) for b in BLOCKS
    ]
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    colors = ["#5470c6", "#91cc75", "#fac858", "#ee6666"]
    panels = ((axes[0], params, 1e3, t["title_p"]), (axes[1], macs, 1e6, t["title_m"]))
    for ax, values, unit, title in panels:
        scaled = [v / unit for v in values]
        bars = ax.barh(range(len(values)), scaled, color=colors)
        ax.set_yticks(range(len(values)), t["labels"], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.bar_label(bars, labels=[f"{v:,.1f}" for v in scaled], fontsize=8, padding=2)
        ax.set_xlim(0, max(scaled) * 1.25)
    axes[1].set_yticks(range(len(BLOCKS)), [""] * len(BLOCKS))
    return fig
