"""Tests for snippets/transformer/flash_attention.py: online softmax and tiled attention.

References: ``torch.softmax``, ``torch.nn.functional.scaled_dot_product_attention`` (torch 2.14.1,
which on CPU runs ``aten::_scaled_dot_product_flash_attention_for_cpu``), that kernel's own
logsumexp output, and ``torch.logsumexp`` of the scores built here from the definition.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import snippets.transformer.flash_attention as snippet
from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.transformer.flash_attention")


# ---------------------------------------------------------------- helpers


def check(actual, expected, hint: str, inputs: dict | None = None, **tol) -> None:
    """assert_close, with a plain-words diagnosis in front of the numbers."""
    try:
        assert_close(actual, expected, inputs=inputs, **tol)
    except AssertionError as err:
        raise AssertionError(f"{hint}\n{err}") from None


def random_qkv(gen: torch.Generator, dtype: torch.dtype, max_len: int = 13, big: bool = True):
    """Small random [B, H, L, E] / [B, H, S, E] / [B, H, S, Ev]; sometimes large magnitudes.

    Magnitude 30 gives scores in the thousands: fine in float64; in float32 the rounding of such
    scores alone moves the weights by ~1e-4, so the float32 test leaves it out (``big=False``).
    """
    b, h = (int(x) for x in torch.randint(1, 3, (2,), generator=gen))
    L, S = (int(x) for x in torch.randint(1, max_len + 1, (2,), generator=gen))
    e, ev = (int(x) for x in torch.randint(1, 9, (2,), generator=gen))
    mag = [1.0, 1.0, 3.0, 30.0 if big else 3.0][int(torch.randint(0, 4, (1,), generator=gen))]
    q = torch.randn(b, h, L, e, generator=gen, dtype=torch.float64) * mag
    k = torch.randn(b, h, S, e, generator=gen, dtype=torch.float64) * mag
    v = torch.randn(b, h, S, ev, generator=gen, dtype=torch.float64)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def scores_by_definition(q, k, is_causal: bool) -> torch.Tensor:
    """q k^T / sqrt(E), with -inf where j > i when causal (torch's tril(ones(L, S)))."""
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if is_causal:
        L, S = s.shape[-2:]
        j_gt_i = torch.arange(S)[None, :] > torch.arange(L)[:, None]
        s = s.masked_fill(j_gt_i, -math.inf)
    return s


CAUSAL_HINT = (
    "is_causal must mask key j for query i exactly when j > i, counted from the TOP-LEFT corner "
    "(torch.ones(L, S).tril()), also when L != S and inside tiles that are only partly masked; "
    "a tile whose first key is after its last query is skipped, never one with an allowed key"
)
RESCALE_HINT = (
    "when a later block raises a row's running max from m_old to m_new, BOTH the running sum l "
    "and the output accumulated so far must be multiplied by exp(m_old - m_new) before the new "
    "block is added (and, if O is kept normalised, O must be multiplied by l_old / l_new)"
)
GENERIC_HINT = (
    "output must equal F.scaled_dot_product_attention; if only cases with several blocks fail, "
    "look at the update of the running max m, sum l and output O between blocks"
)
TAIL_HINT = (
    "lengths that are not a multiple of block_size: the last, shorter block must be included "
    "(range(0, S, block_size) and slices up to min(start + block_size, S)), for keys AND queries"
)


# ---------------------------------------------------------------- online softmax


def test_online_softmax_rescales_the_sum_when_the_max_grows() -> None:
    x = torch.tensor([0.0, 1.0, 2.0, 5.0, 9.0], dtype=torch.float64)  # new max at every step
    check(
        impl.online_softmax(x, 1),
        torch.softmax(x, dim=-1),
        "the running sum d was computed relative to the old max: when the max grows from m_old "
        "to m_new, multiply d by exp(m_old - m_new) before adding exp(x_j - m_new)",
        {"x": x},
        atol=1e-12,
    )


def test_online_softmax_handles_leading_minus_inf() -> None:
    x = torch.tensor([[-math.inf, -math.inf, 0.0, 1.0]], dtype=torch.float64)
    check(
        impl.online_softmax(x, 1),
        torch.softmax(x, dim=-1),
        "while the running max is still -inf, exp(m_old - m_new) = exp(-inf - (-inf)) is NaN: "
        "guard it (shift by 0 when m_new is -inf) so masked entries before the first real score "
        "do not poison the row",
        {"x": x},
        atol=1e-12,
    )


def test_online_softmax_matches_torch_softmax() -> None:
    """2,000 seeded float64 rows: lengths 1-24, any block size, ±1e4 entries and -inf."""
    gen = torch.Generator().manual_seed(0)
    for trial in range(cases(2000)):
        n = int(torch.randint(1, 25, (1,), generator=gen))
        rows = int(torch.randint(1, 4, (1,), generator=gen))
        x = torch.randn(rows, n, generator=gen, dtype=torch.float64) * [1, 10, 1e4][trial % 3]
        if trial % 4 == 1:  # sprinkle ±1e4 extremes
            x = torch.where(torch.rand(rows, n, generator=gen) < 0.2, 1e4 * torch.sign(x), x)
        if trial % 2:  # masked entries, sometimes a whole row (torch gives NaN there)
            x = x.masked_fill(torch.rand(rows, n, generator=gen) < 0.3, -math.inf)
            if trial % 10 == 3:
                x[0] = -math.inf
        block = int(torch.randint(1, n + 3, (1,), generator=gen))
        check(
            impl.online_softmax(x, block),
            torch.softmax(x, dim=-1),
            "online softmax must equal torch.softmax over the last axis",
            {"x": x, "block_size": block},
            atol=1e-12,
            rtol=1e-10,
        )


# ---------------------------------------------------------------- named mistakes


def test_rescales_running_sum_and_output_when_max_grows() -> None:
    """Scores grow from one key block to the next: every block raises the running max."""
    L, S, e = 3, 8, 2
    q = torch.ones(1, 1, L, e, dtype=torch.float64)
    k = torch.arange(S, dtype=torch.float64).repeat(e, 1).T.reshape(1, 1, S, e)  # score ∝ j
    v = torch.randn(1, 1, S, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for block in (1, 2, 4):  # divide S = 8: a dropped tail block cannot be the cause here
        check(
            impl.flash_attention(q, k, v, False, block),
            F.scaled_dot_product_attention(q, k, v),
            RESCALE_HINT,
            {"block_size": block, "scores of every query": torch.arange(S) / math.sqrt(e)},
            atol=1e-10,
        )


def test_rescales_when_an_early_block_holds_the_max() -> None:
    """The max sits in the first block; later blocks are much smaller (l must not be reset)."""
    q = torch.ones(1, 1, 2, 1, dtype=torch.float64)
    k = torch.tensor([5.0, -1.0, 0.0, -3.0, 1.0, 2.0]).reshape(1, 1, 6, 1).double()
    v = torch.arange(12.0).reshape(1, 1, 6, 2).double()
    check(
        impl.flash_attention(q, k, v, False, 2),
        F.scaled_dot_product_attention(q, k, v),
        RESCALE_HINT,
        {"key scores": k.flatten()},
        atol=1e-10,
    )


def test_lengths_not_a_multiple_of_block_size() -> None:
    """All scores 0 (q = 0): the output must be the mean of v over ALL S keys, tail included."""
    gen = torch.Generator().manual_seed(6)
    for L, S, block in ((5, 7, 2), (7, 5, 3), (9, 10, 4), (3, 11, 5)):
        q = torch.zeros(1, 2, L, 4, dtype=torch.float64)
        k = torch.randn(1, 2, S, 4, generator=gen, dtype=torch.float64)
        v = torch.randn(1, 2, S, 3, generator=gen, dtype=torch.float64)
        out = impl.flash_attention(q, k, v, False, block)
        assert tuple(out.shape) == (1, 2, L, 3), f"{TAIL_HINT}; got shape {tuple(out.shape)}"
        expected = v.mean(dim=-2, keepdim=True).expand(1, 2, L, 3)  # uniform weights 1 / S
        check(out, expected, TAIL_HINT, {"L, S, block_size": (L, S, block)}, atol=1e-10)


@pytest.mark.parametrize(("L", "S"), [(3, 7), (7, 3), (6, 6), (1, 5), (5, 1)])
def test_causal_mask_is_top_left_aligned(L: int, S: int) -> None:
    gen = torch.Generator().manual_seed(7)
    q = torch.randn(1, 1, L, 4, generator=gen, dtype=torch.float64)
    k = torch.randn(1, 1, S, 4, generator=gen, dtype=torch.float64)
    v = torch.randn(1, 1, S, 2, generator=gen, dtype=torch.float64)
    for block in (1, 2, 4, 8):
        check(
            impl.flash_attention(q, k, v, True, block),
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            CAUSAL_HINT,
            {"L": L, "S": S, "block_size": block},
            atol=1e-10,
        )


# ---------------------------------------------------------------- attention vs torch


def test_flash_attention_matches_sdpa_float64() -> None:
    """1,000 seeded float64 cases: B, H in 1-2, L, S in 1-11, any block size, causal or not."""
    gen = torch.Generator().manual_seed(1)
    for trial in range(cases(1000)):
        q, k, v = random_qkv(gen, torch.float64, max_len=11)
        causal = bool(trial % 2)
        block = int(torch.randint(1, max(q.shape[-2], k.shape[-2]) + 3, (1,), generator=gen))
        out, lse = impl.flash_attention_forward(q, k, v, causal, block)
        inputs = {"shapes": (tuple(q.shape), tuple(k.shape), tuple(v.shape)), "is_causal": causal}
        inputs["block_size"] = block
        expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        hint = CAUSAL_HINT if causal else GENERIC_HINT
        check(out, expected, hint, inputs, atol=1e-10, rtol=1e-10)
        lse_expected = torch.logsumexp(scores_by_definition(q, k, causal), dim=-1)
        check(
            lse,
            lse_expected,
            "lse must be m + log(l): the natural-log logsumexp of each row of SCALED, masked "
            "scores, shape [B, H, L]",
            inputs,
            atol=1e-10,
            rtol=1e-10,
        )


def test_flash_attention_matches_sdpa_float32() -> None:
    """500 seeded float32 cases, tolerance 2e-5 (the same shapes as the float64 test)."""
    gen = torch.Generator().manual_seed(2)
    for trial in range(cases(500)):
        q, k, v = random_qkv(gen, torch.float32, max_len=11, big=False)
        causal = bool(trial % 2)
        block = int(torch.randint(1, max(q.shape[-2], k.shape[-2]) + 3, (1,), generator=gen))
        out = impl.flash_attention(q, k, v, causal, block)
        assert out.dtype == torch.float32, f"output dtype must stay float32, got {out.dtype}"
        check(
            out,
            F.scaled_dot_product_attention(q, k, v, is_causal=causal),
            CAUSAL_HINT if causal else GENERIC_HINT,
            {"shapes": (tuple(q.shape), tuple(k.shape)), "block_size": block},
            atol=2e-5,
            rtol=1e-4,
        )


def test_lse_matches_torch_cpu_flash_kernel() -> None:
    """200 cases: the logsumexp torch's own CPU flash kernel returns for its backward pass."""
    gen = torch.Generator().manual_seed(3)
    kernel = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    for trial in range(cases(200)):
        q, k, _ = random_qkv(gen, torch.float64)
        v = torch.randn(k.shape, generator=gen, dtype=torch.float64)  # the kernel needs Ev = E
        causal = bool(trial % 2)
        out_t, lse_t = kernel(q, k, v, 0.0, causal)  # S >= 1 here: S = 0 crashes this kernel
        out, lse = impl.flash_attention_forward(q, k, v, causal, 4)
        check(out, out_t, "output differs from torch's CPU flash kernel", atol=1e-10)
        check(lse, lse_t, "lse differs from the logsumexp torch's flash kernel saves", atol=1e-10)


def test_naive_attention_matches_sdpa() -> None:
    """300 seeded float64 cases."""
    gen = torch.Generator().manual_seed(4)
    for trial in range(cases(300)):
        q, k, v = random_qkv(gen, torch.float64)
        causal = bool(trial % 2)
        check(
            impl.attention_naive(q, k, v, causal),
            F.scaled_dot_product_attention(q, k, v, is_causal=causal),
            CAUSAL_HINT if causal else "softmax(q k^T / sqrt(E)) v over the key axis",
            atol=1e-10,
        )


# ---------------------------------------------------------------- edge cases


def test_edge_sizes() -> None:
    gen = torch.Generator().manual_seed(8)
    for L, S, block in ((1, 1, 1), (1, 9, 1), (9, 1, 1), (9, 9, 1), (6, 6, 6), (6, 6, 100)):
        q = torch.randn(2, 1, L, 3, generator=gen, dtype=torch.float64)
        k = torch.randn(2, 1, S, 3, generator=gen, dtype=torch.float64)
        v = torch.randn(2, 1, S, 5, generator=gen, dtype=torch.float64)
        for causal in (False, True):
            check(
                impl.flash_attention(q, k, v, causal, block),
                F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                f"L={L}, S={S}, block_size={block}, is_causal={causal}",
                atol=1e-10,
            )


def test_no_keys_gives_zero_output_like_torch() -> None:
    """S = 0: every row sees no key. torch 2.14 returns 0 (not NaN); lse is log(0) = -inf."""
    q = torch.randn(1, 2, 4, 3, dtype=torch.float64)
    k, v = (
        torch.zeros(1, 2, 0, 3, dtype=torch.float64),
        torch.zeros(1, 2, 0, 5, dtype=torch.float64),
    )
    for causal in (False, True):
        expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        assert_equal(expected, torch.zeros(1, 2, 4, 5, dtype=torch.float64))  # torch's answer
        out, lse = impl.flash_attention_forward(q, k, v, causal, 2)
        check(out, expected, "a row with no key must give output 0, as torch does (not NaN)")
        assert bool((lse == -math.inf).all()), f"lse of a row with no key is -inf, got {lse}"


def test_empty_queries() -> None:
    q = torch.zeros(1, 1, 0, 3)
    k, v = torch.randn(1, 1, 4, 3), torch.randn(1, 1, 4, 2)
    out = impl.flash_attention(q, k, v, True, 2)
    assert tuple(out.shape) == (1, 1, 0, 2)


def test_gradients_match_sdpa() -> None:
    """150 seeded float64 cases: autograd through the tiled loop equals torch's gradients."""
    gen = torch.Generator().manual_seed(9)
    for trial in range(cases(150)):
        q, k, v = random_qkv(gen, torch.float64, max_len=8)
        causal = bool(trial % 2)
        block = int(torch.randint(1, 6, (1,), generator=gen))
        w = torch.randn(*q.shape[:-1], v.shape[-1], generator=gen, dtype=torch.float64)
        grads = []
        for fn in (impl.flash_attention, F.scaled_dot_product_attention):
            leaves = [t.clone().requires_grad_() for t in (q, k, v)]
            kwargs = {"block_size": block} if fn is not F.scaled_dot_product_attention else {}
            ((fn(*leaves, is_causal=causal, **kwargs) * w).sum()).backward()
            grads.append([t.grad for t in leaves])
        for name, mine, ref in zip("qkv", *grads, strict=True):
            check(mine, ref, f"gradient wrt {name} differs from torch", atol=1e-9, rtol=1e-8)


def test_causal_skips_about_half_the_tiles() -> None:
    """Snippet only (counts the snippet's own loop): n(n+1)/2 of the n^2 tiles are computed."""
    calls = []
    original = snippet.tile_kind

    def counting(*args):
        kind = original(*args)
        calls.append(kind)
        return kind

    snippet.tile_kind = counting
    try:
        x = torch.randn(1, 1, 64, 8)
        snippet.flash_attention(x, x, x, is_causal=True, block_size=8)
    finally:
        snippet.tile_kind = original
    n = 64 // 8
    assert calls.count("skip") == n * (n - 1) // 2 and calls.count("partial") == n
    assert len(calls) - calls.count("skip") == n * (n + 1) // 2  # 36 of 64 tiles


@pytest.mark.slow  # the first TorchDispatchMode of a process costs ~4 s of lazy setup
def test_peak_memory_is_linear_not_quadratic() -> None:
    """Snippet only: the largest tensor the loop creates is a tile, not the [L, S] matrix."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Largest(TorchDispatchMode):
        biggest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, tuple | list) else (out,):
                if isinstance(t, torch.Tensor):
                    Largest.biggest = max(Largest.biggest, t.numel())
            return out

    L, e, block = 128, 16, 16
    x = torch.randn(1, 1, L, e)
    with Largest():
        snippet.flash_attention(x, x, x, block_size=block)
    assert Largest.biggest == L * e  # the output itself; a tile has 16 * 16 = 256 < 1024
    Largest.biggest = 0
    with Largest():
        snippet.attention_naive(x, x, x)
    assert Largest.biggest == L * L  # the naive version materialises all scores


# ---------------------------------------------------------------- errors


def test_input_errors() -> None:
    q, k, v = torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 5, 4), torch.zeros(1, 2, 5, 6)
    for fn in (impl.flash_attention, impl.flash_attention_forward, impl.attention_naive):
        with raises_naming(TypeError, "query", "[B, H, L, E]", "list"):
            fn(q.tolist(), k, v)
        with raises_naming(TypeError, "key", "[B, H, S, E]"):
            fn(q, k.numpy(), v)
        with raises_naming(TypeError, "value", "[B, H, S, Ev]"):
            fn(q, k, None)
        with raises_naming(ValueError, "query", "[B, H, L, E]", "(2, 3, 4)"):
            fn(q[0], k, v)
        with raises_naming(ValueError, "key", "[B, H, S, E]", "(1, 2, 5, 3)"):
            fn(q, torch.zeros(1, 2, 5, 3), v)
        with raises_naming(ValueError, "key", "[B, H, S, E]"):
            fn(q, torch.zeros(1, 3, 5, 4), v)
        with raises_naming(ValueError, "value", "[B, H, S, Ev]", "(1, 2, 4, 6)"):
            fn(q, k, torch.zeros(1, 2, 4, 6))
        with raises_naming(TypeError, "query", "floating"):
            fn(q.long(), k.long(), v.long())
        with raises_naming(TypeError, "dtype"):
            fn(q, k.double(), v)
    for fn in (impl.flash_attention, impl.flash_attention_forward):
        with raises_naming(ValueError, "block_size", ">= 1", "0"):
            fn(q, k, v, block_size=0)
        with raises_naming(TypeError, "block_size", "int", "float"):
            fn(q, k, v, block_size=2.0)
        with raises_naming(TypeError, "block_size", "int", "bool"):
            fn(q, k, v, block_size=True)
    with raises_naming(TypeError, "x", "[..., n]", "list"):
        impl.online_softmax([1.0, 2.0])
    with raises_naming(ValueError, "block_size", ">= 1"):
        impl.online_softmax(torch.zeros(3), 0)


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.transformer.flash_attention import draw_memory, draw_tiles

    for draw in (draw_tiles, draw_memory):
        fig = draw(lang)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert fig.axes
