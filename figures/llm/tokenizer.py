"""Figures for the tokenizer page, drawn at build time with the snippet's own BPE code."""

from __future__ import annotations

import functools
from collections import Counter

import matplotlib.figure
import numpy as np

from snippets.llm.tokenizer import (
    bpe_encode,
    bpe_train,
    build_vocab,
    get_pair_counts,
    merge_pair,
    pretokenize,
)

_TEXT = {
    "zh": {
        "merges_title": "玩具语料上的前 {k} 次合并（每个 pre-token 内计数）",
        "count": "被合并的 pair 在语料中的出现次数",
        "rank": "合并顺序（rank）",
        "tpc_title": "每个字符的 token 数 vs 词表大小",
        "vocab": "词表大小（256 个字节 + 合并次数）",
        "tpc": "token 数 / 字符数（留出文本）",
        "en": "英文式文本",
        "zh": "中文文本",
    },
    "en": {
        "merges_title": "First {k} merges on a toy corpus (pairs counted inside pre-tokens)",
        "count": "occurrences of the merged pair in the corpus",
        "rank": "merge order (rank)",
        "tpc_title": "Tokens per character vs vocabulary size",
        "vocab": "vocabulary size (256 bytes + merges)",
        "tpc": "tokens / characters (held-out text)",
        "en": "English-like text",
        "zh": "Chinese text",
    },
}

# Sennrich et al.'s toy example, with GPT-2 style leading spaces: low x5, lower x2, newest x6,
# widest x3.
TOY = " ".join(["low"] * 5 + ["lower"] * 2 + ["newest"] * 6 + ["widest"] * 3)

EN_WORDS = (  # noqa: SIM905 (one readable line per row of words)
    "the of and to in is that it for on with as was by at this from are be or have an not "
    "they which one you were all we can her has there been if more when will would who so "
    "model token tokenizer language training data learning vocabulary sequence attention"
).split()
ZH_WORDS = (  # noqa: SIM905
    "我们 模型 数据 训练 语言 分词 学习 问题 方法 时间 今天 工作 因为 所以 可以 没有 一个 "
    "这个 那个 什么 知道 需要 重要 计算 参数 长度 文本 中文 英文 词表"
).split()


def _sample(rng: np.random.Generator, words: list[str], n: int, sep: str) -> str:
    """Zipf-like sampling: the k-th word has weight 1 / (k + 1)."""
    p = 1.0 / np.arange(1, len(words) + 1)
    picks = rng.choice(len(words), size=n, p=p / p.sum())
    return sep.join(words[i] for i in picks)


def _zh_text(rng: np.random.Generator, sentences: int) -> str:
    # Chinese has no spaces between words: one sentence is one pre-token here.
    return " ".join(_sample(rng, ZH_WORDS, 6, "") + "。" for _ in range(sentences))


def _merge_counts(text: str, k: int) -> list[tuple[bytes, int]]:
    """Replays bpe_train's loop to record the count of each merged pair."""
    words = Counter(pretokenize(text))
    chunks, freqs = [list(w.encode("utf-8")) for w in words], list(words.values())
    merges = bpe_train(text, 256 + k)
    vocab = build_vocab(merges)
    out = []
    for pair, new_id in merges.items():
        total = sum(get_pair_counts(c).get(pair, 0) * f for c, f in zip(chunks, freqs, strict=True))
        out.append((vocab[new_id], total))
        chunks = [merge_pair(c, pair, new_id) for c in chunks]
    return out


def draw_merges(lang: str) -> matplotlib.figure.Figure:
    """Bar chart: the first merges of bpe_train on the toy corpus, with their counts."""
    text = _TEXT[lang]
    rows = _merge_counts(TOY, 10)
    fig = matplotlib.figure.Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    ax.barh(y, [c for _, c in rows], color="#1f77b4")
    for i, (token, count) in enumerate(rows):
        label = token.decode("utf-8", errors="replace").replace(" ", "␣")
        ax.text(count + 0.2, i, f"'{label}'  ({count})", va="center", fontsize=9)
    ax.set_yticks(y, [str(i + 1) for i in y])
    ax.invert_yaxis()
    ax.set_xlim(0, max(c for _, c in rows) + 6)
    ax.set_xlabel(text["count"])
    ax.set_ylabel(text["rank"])
    ax.set_title(text["merges_title"].format(k=len(rows)), fontsize=10)
    return fig


@functools.cache
def _ratios() -> tuple[list[int], list[float], list[float]]:
    """Train once on a mixed corpus; the first k merges are the run with vocab 256 + k."""
    rng = np.random.default_rng(0)
    corpus = _sample(rng, EN_WORDS, 400, " ") + " " + _zh_text(rng, 60)
    held_en, held_zh = _sample(rng, EN_WORDS, 150, " "), _zh_text(rng, 25)
    items = list(bpe_train(corpus, 256 + 240).items())
    ks = list(range(0, len(items) + 1, 20))
    en = [len(bpe_encode(held_en, dict(items[:k]))) / len(held_en) for k in ks]
    zh = [len(bpe_encode(held_zh, dict(items[:k]))) / len(held_zh) for k in ks]
    return [256 + k for k in ks], en, zh


def draw_tokens_per_char(lang: str) -> matplotlib.figure.Figure:
    """Tokens per character of held-out English-like and Chinese text vs vocabulary size."""
    text = _TEXT[lang]
    sizes, en, zh = _ratios()
    fig = matplotlib.figure.Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    for ratios, key, color in ((en, "en", "#1f77b4"), (zh, "zh", "#d62728")):
        ax.plot(sizes, ratios, marker="o", ms=3, color=color, label=text[key])
    ax.set_xlabel(text["vocab"])
    ax.set_ylabel(text["tpc"])
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(text["tpc_title"], fontsize=10)
    return fig
