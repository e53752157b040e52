"""Figures for the KV cache page, drawn at build time from the snippet's own size/cost formulas."""

from __future__ import annotations

import matplotlib.figure
import numpy as np

from snippets.transformer.kv_cache import decode_step_cost, kv_cache_size, mla_cache_size

_TEXT = {
    "zh": {
        "mem_title": "每条序列的缓存大小（DeepSeek-V2 的形状：60 层、128 头、d_h = 128，fp16）",
        "mem_x": "缓存的 token 数",
        "mem_y": "缓存大小（GiB，对数坐标）",
        "mha": "MHA：128 个 KV 头",
        "gqa": "GQA：8 组",
        "mqa": "MQA：1 个 KV 头",
        "mla": "MLA：d_c + d_h^R = 512 + 64",
        "gpu": "80 GB 显存",
        "ai_title": "Llama-2-7B 一个解码步的算术强度（fp16，上下文 4096）",
        "ai_x": "batch 大小（并发序列数）",
        "ai_y": "FLOP / 字节",
        "ai_mha": "MHA（32 个 KV 头，Llama-2-7B）",
        "ai_gqa": "同一模型改成 GQA-8（示意）",
        "ai_w": "只算权重（不含缓存）",
        "ridge": "A100 的拐点 ≈ 312 TFLOPS / 2.0 TB/s ≈ 153",
    },
    "en": {
        "mem_title": "Cache per sequence (DeepSeek-V2 shapes: 60 layers, 128 heads, d_h = 128, fp16)",
        "mem_x": "cached tokens",
        "mem_y": "cache size (GiB, log scale)",
        "mha": "MHA: 128 KV heads",
        "gqa": "GQA: 8 groups",
        "mqa": "MQA: 1 KV head",
        "mla": "MLA: d_c + d_h^R = 512 + 64",
        "gpu": "80 GB of GPU memory",
        "ai_title": "Arithmetic intensity of one Llama-2-7B decode step (fp16, context 4096)",
        "ai_x": "batch size (sequences decoded together)",
        "ai_y": "FLOP / byte",
        "ai_mha": "MHA (32 KV heads, Llama-2-7B)",
        "ai_gqa": "same model with GQA-8 (what-if)",
        "ai_w": "weights only (no cache)",
        "ridge": "A100 ridge point ≈ 312 TFLOPS / 2.0 TB/s ≈ 153",
    },
}


def draw_cache_memory(lang: str) -> matplotlib.figure.Figure:
    """Cache size vs sequence length for MHA / GQA / MQA / MLA of one model shape."""
    text = _TEXT[lang]
    tokens = np.array([1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072])
    gib = 2.0**30
    curves = {
        "mha": [kv_cache_size(60, 128, 128, 1, int(s)) / gib for s in tokens],
        "gqa": [kv_cache_size(60, 8, 128, 1, int(s)) / gib for s in tokens],
        "mqa": [kv_cache_size(60, 1, 128, 1, int(s)) / gib for s in tokens],
        "mla": [mla_cache_size(60, 512, 64, 1, int(s)) / gib for s in tokens],
    }
    fig = matplotlib.figure.Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for key, style in (("mha", "o-"), ("gqa", "s-"), ("mla", "^-"), ("mqa", "v-")):
        ax.plot(tokens, curves[key], style, label=text[key], ms=4)
    ax.axhline(80e9 / gib, color="#7f7f7f", ls="--", lw=1)
    ax.text(tokens[0], 80e9 / gib * 1.15, text["gpu"], fontsize=8, color="#555555")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(tokens, [f"{s // 1024}K" for s in tokens])
    ax.set_xlabel(text["mem_x"])
    ax.set_ylabel(text["mem_y"])
    ax.set_title(text["mem_title"], fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, 0.92))
    return fig


def draw_decode_intensity(lang: str) -> matplotlib.figure.Figure:
    """FLOP per byte of one decode step vs batch size: batching helps weights, not the cache."""
    text = _TEXT[lang]
    n_matmul = 6_607_077_376  # Llama-2-7B weights used in matmuls (checked in the tests)
    batches = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])

    def intensity(h_kv: int, params: int) -> list[float]:
        out = []
        for b in batches:
            flops, nbytes = decode_step_cost(params, 32, 32, h_kv, 128, 4096, int(b))
            out.append(flops / nbytes)
        return out

    weights_only = [2.0 * b * n_matmul / (2.0 * n_matmul) for b in batches]
    fig = matplotlib.figure.Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(batches, weights_only, ":", color="#7f7f7f", label=text["ai_w"])
    ax.plot(batches, intensity(32, n_matmul), "o-", label=text["ai_mha"], ms=4)
    ax.plot(batches, intensity(8, n_matmul), "s-", label=text["ai_gqa"], ms=4)
    ax.axhline(312 / 2.039, color="#d62728", ls="--", lw=1)
    ax.text(1, 312 / 2.039 * 1.12, text["ridge"], fontsize=8, color="#d62728")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(batches, [str(b) for b in batches])
    ax.set_xlabel(text["ai_x"])
    ax.set_ylabel(text["ai_y"])
    ax.set_title(text["ai_title"], fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig
