"""Tests for snippets/transformer/attention.py: SDPA, the naive one-head version, MHA.

References: ``torch.nn.functional.scaled_dot_product_attention`` and ``nn.MultiheadAttention``
(torch 2.14.1) on seeded random cases, and a float64 transcription of Vaswani et al. (2017),
Eq. (1), written here (``reference_weights``) for the practice diagnostics.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.transformer.attention")

INF = float("inf")


# ---------------------------------------------------------------- helpers


def _int(gen: torch.Generator, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi]."""
    return int(torch.randint(lo, hi + 1, (1,), generator=gen))


def _coin(gen: torch.Generator, p: float) -> bool:
    return bool(torch.rand(1, generator=gen) < p)


def random_case(gen: torch.Generator, dtype: torch.dtype) -> tuple[tuple, dict]:
    """Random (query, key, value) and SDPA keyword arguments covering every option.

    0-2 leading dims, L, S, E, Ev in 1..8 (odd sizes included), GQA in a quarter of the cases
    with a head dim, key/value batch dims broadcast from 1 sometimes, masks: none, bool (some
    rows fully masked), float, float with -inf, causal; mask shapes that broadcast; a scale
    (negative and zero included) in a fifth of the cases.
    """
    nb = _int(gen, 0, 2)
    lead = [_int(gen, 1, 3) for _ in range(nb)]
    L, S, E, Ev = (_int(gen, 1, 8) for _ in range(4))
    q_lead, kv_lead = list(lead), list(lead)
    enable_gqa = nb >= 1 and _coin(gen, 0.25)
    if enable_gqa:
        h = _int(gen, 1, 3)
        q_lead[-1], kv_lead[-1] = h * _int(gen, 1, 3), h
    if nb == 2 and _coin(gen, 0.2):
        kv_lead[0] = 1  # key/value broadcast over the batch
    q = torch.randn(*q_lead, L, E, generator=gen, dtype=dtype)
    k = torch.randn(*kv_lead, S, E, generator=gen, dtype=dtype)
    v = torch.randn(*kv_lead, S, Ev, generator=gen, dtype=dtype)
    kw: dict = {"enable_gqa": enable_gqa} if enable_gqa else {}
    kv_heads = kv_lead[:-1] + q_lead[-1:] if enable_gqa else kv_lead  # after repeat_interleave
    weights_shape = [*torch.broadcast_shapes(tuple(q_lead), tuple(kv_heads)), L, S]
    kind = _int(gen, 0, 4)
    if kind == 4:
        kw["is_causal"] = True
    elif kind > 0:
        shape = list(weights_shape)
        drop = _int(gen, 0, len(shape) - 2)  # drop some leading dims, size-1 others
        shape = [1 if _coin(gen, 0.3) else n for n in shape[drop:-2]] + [L, S]
        if kind == 1:
            mask = torch.rand(*shape, generator=gen) < [0.3, 0.7, 1.0][_int(gen, 0, 2)]
        else:
            mask = torch.randn(*shape, generator=gen, dtype=dtype) * 2
            if kind == 3:
                mask = mask.masked_fill(torch.rand(*shape, generator=gen) < 0.4, -INF)
        kw["attn_mask"] = mask
    if _coin(gen, 0.2):
        # Negative scales too, but not with is_causal: see test_negative_scale_with_is_causal.
        low = 0.0 if kw.get("is_causal") else -1.0
        kw["scale"] = float(torch.rand(1, generator=gen)) * (2 - low) + low
    return (q, k, v), kw


def reference_weights(
    q: torch.Tensor,
    k: torch.Tensor,
    *,
    allowed: torch.Tensor | None = None,
    additive: torch.Tensor | None = None,
    scale: float | None = None,
    axis: int = -1,
    mask_after: bool = False,
) -> torch.Tensor:
    """Vaswani et al. Eq. (1) in float64: softmax(q k^T * scale [+ mask]) over ``axis``.

    The arguments other than the defaults produce the classic WRONG variants the diagnostics
    recognise (softmax over dim=-2, mask after the softmax, another scale).
    """
    q, k = q.double(), k.double()
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale
    if additive is not None and not mask_after:
        scores = scores + additive.double()
    if allowed is not None and not mask_after:
        scores = scores.masked_fill(~allowed, -INF)
    weights = torch.softmax(scores, dim=axis)
    if allowed is not None and mask_after:
        weights = weights.masked_fill(~allowed, 0.0)
    if additive is not None and mask_after:
        weights = weights + additive.double()
    return weights


def weights_of(fn, q: torch.Tensor, k: torch.Tensor, **kw) -> torch.Tensor:
    """The attention weights an SDPA function uses: pass value = identity, get weights @ I."""
    eye = torch.eye(k.shape[-2], dtype=k.dtype).expand(*k.shape[:-1], k.shape[-2])
    return fn(q, k, eye, **kw)


def diagnose(weights: torch.Tensor, expected: torch.Tensor, variants: dict) -> str:
    """'' if ``weights`` is right, else a sentence naming the mistake whose output it matches."""
    if weights.shape == expected.shape and torch.allclose(
        weights.double(), expected, atol=1e-6, equal_nan=True
    ):
        return ""
    for what, wrong in variants.items():
        if weights.shape == wrong.shape and torch.allclose(
            weights.double(), wrong, atol=1e-6, equal_nan=True
        ):
            return what
    return "the attention weights match neither the right answer nor a known mistake"


def causal(L: int, S: int, align: str = "top_left") -> torch.Tensor:
    """Allowed[i, j]: top-left j <= i (torch); bottom-right j <= i + S - L (KV-cache style)."""
    i, j = torch.arange(L)[:, None], torch.arange(S)[None, :]
    return j <= i if align == "top_left" else j <= i + (S - L)


# ---------------------------------------------------------------- agreement with torch


def test_sdpa_matches_torch_float64() -> None:
    """2,000 random cases, every option, float64 at 1e-10."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        (q, k, v), kw = random_case(gen, torch.float64)
        expected = F.scaled_dot_product_attention(q, k, v, **kw)
        actual = impl.scaled_dot_product_attention(q, k, v, **kw)
        assert_close(actual, expected, atol=1e-10, rtol=1e-10, inputs={"q": q, "k": k, **kw})


def test_sdpa_matches_torch_float32() -> None:
    """1,000 random cases in float32 (4-D inputs use torch's fused CPU kernel) at 1e-5."""
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(1000)):
        (q, k, v), kw = random_case(gen, torch.float32)
        expected = F.scaled_dot_product_attention(q, k, v, **kw)
        actual = impl.scaled_dot_product_attention(q, k, v, **kw)
        assert actual.dtype == torch.float32
        assert_close(actual, expected, atol=1e-5, rtol=1e-5, inputs={"q": q, "k": k, **kw})


def test_sdpa_gradients_match_torch() -> None:
    """300 float64 cases: d/dq, d/dk, d/dv (and d/d float mask) equal torch's at 1e-10."""
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(300)):
        (q, k, v), kw = random_case(gen, torch.float64)
        mask = kw.get("attn_mask")
        leaves = [q, k, v] + ([mask] if mask is not None and mask.is_floating_point() else [])
        grads = []
        for fn in (F.scaled_dot_product_attention, impl.scaled_dot_product_attention):
            inputs = [x.detach().clone().requires_grad_() for x in leaves]
            kw2 = dict(kw, attn_mask=inputs[3]) if len(inputs) == 4 else kw
            out = fn(*inputs[:3], **kw2)
            out.backward(torch.cos(torch.arange(out.numel(), dtype=out.dtype)).view_as(out))
            grads.append([x.grad for x in inputs])
        for expected, actual in zip(grads[0], grads[1], strict=True):
            assert_close(actual, expected, atol=1e-10, rtol=1e-10, inputs={"q": q, **kw})


@pytest.mark.parametrize("hq", range(1, 9))
def test_gqa_every_group_size(hq: int) -> None:
    """Hq = 1..8 query heads and every H dividing Hq: torch's output, and query head i uses
    key/value head i // (Hq // H) (repeat_interleave, not repeat)."""
    gen = torch.Generator().manual_seed(100 + hq)
    for h in [d for d in range(1, hq + 1) if hq % d == 0]:
        q = torch.randn(2, hq, 3, 5, generator=gen, dtype=torch.float64)
        k = torch.randn(2, h, 4, 5, generator=gen, dtype=torch.float64)
        v = torch.randn(2, h, 4, 3, generator=gen, dtype=torch.float64)
        out = impl.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        expected = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        assert_close(out, expected, atol=1e-12, inputs={"Hq": hq, "H": h})
        g = hq // h
        for i in range(hq):
            one = F.scaled_dot_product_attention(q[:, i], k[:, i // g], v[:, i // g])
            assert_close(out[:, i], one, atol=1e-12, inputs={"Hq": hq, "H": h, "head": i})


def test_edge_shapes() -> None:
    """L=1, S=1, L != S with is_causal, Ev != E, 2-D inputs, odd head dims, S=0, L=0."""
    gen = torch.Generator().manual_seed(3)
    shapes = [(1, 1, 1, 1), (1, 7, 3, 2), (7, 1, 3, 5), (2, 6, 5, 9), (6, 2, 9, 1), (5, 5, 1, 1)]
    for L, S, E, Ev in shapes:
        for lead in [(), (3,), (2, 3)]:
            q = torch.randn(*lead, L, E, generator=gen, dtype=torch.float64)
            k = torch.randn(*lead, S, E, generator=gen, dtype=torch.float64)
            v = torch.randn(*lead, S, Ev, generator=gen, dtype=torch.float64)
            for kw in ({}, {"is_causal": True}, {"scale": 0.37}):
                expected = F.scaled_dot_product_attention(q, k, v, **kw)
                actual = impl.scaled_dot_product_attention(q, k, v, **kw)
                assert_close(actual, expected, atol=1e-12, inputs={"shape": (L, S, E, Ev), **kw})
    # S = 1: the only key gets weight 1, whatever the scores: output = v for every query.
    q, k, v = torch.randn(4, 3), torch.randn(1, 3), torch.randn(1, 2)
    assert_close(impl.scaled_dot_product_attention(q, k, v), v.expand(4, 2), atol=1e-7)
    # S = 0: nothing to attend to, torch returns zeros; L = 0: an empty output.
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 0, 4), torch.randn(2, 0, 5)
    assert_equal(impl.scaled_dot_product_attention(q, k, v), torch.zeros(2, 3, 5))
    assert_equal(F.scaled_dot_product_attention(q, k, v), torch.zeros(2, 3, 5))
    out = impl.scaled_dot_product_attention(torch.randn(0, 4), torch.randn(3, 4), torch.randn(3, 2))
    assert out.shape == (0, 2)


def test_scale_zero_gives_the_mean_of_the_values() -> None:
    # scale = 0: every score is 0, softmax is uniform, the output is the mean of v's rows.
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    out = impl.scaled_dot_product_attention(q, k, v, scale=0.0)
    assert_close(out, v.mean(0).expand(3, 2), atol=1e-6)


def test_is_causal_with_L_not_S_is_top_left() -> None:
    """is_causal = the bool mask ones(L, S).tril(): query i sees keys 0..i, for L < S and L > S."""
    gen = torch.Generator().manual_seed(4)
    for L, S in [(3, 6), (6, 3), (4, 4), (1, 5), (5, 1)]:
        q = torch.randn(2, L, 4, generator=gen, dtype=torch.float64)
        k = torch.randn(2, S, 4, generator=gen, dtype=torch.float64)
        v = torch.randn(2, S, 3, generator=gen, dtype=torch.float64)
        by_flag = impl.scaled_dot_product_attention(q, k, v, is_causal=True)
        by_mask = F.scaled_dot_product_attention(q, k, v, attn_mask=causal(L, S))
        assert_close(by_flag, by_mask, atol=1e-12, inputs={"L": L, "S": S})


def test_negative_scale_with_is_causal() -> None:
    """Measured on torch 2.14.1 (CPU): is_causal=True with a negative scale gives NaN in the
    rows that have masked keys on the fused CPU flash kernel (chosen for 4-D inputs with
    Ev = E), while torch's math backend and the same mask passed explicitly give finite
    weights. We match the latter."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    gen = torch.Generator().manual_seed(30)
    q = torch.randn(1, 2, 4, 5, generator=gen, dtype=torch.float64)
    k = torch.randn(1, 2, 4, 5, generator=gen, dtype=torch.float64)
    v = torch.randn(1, 2, 4, 5, generator=gen, dtype=torch.float64)  # Ev = E: flash kernel
    ours = impl.scaled_dot_product_attention(q, k, v, is_causal=True, scale=-0.43)
    with sdpa_kernel(SDPBackend.MATH):
        math_backend = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=-0.43)
    explicit = F.scaled_dot_product_attention(q, k, v, attn_mask=causal(4, 4), scale=-0.43)
    assert_close(ours, math_backend, atol=1e-12)
    assert_close(ours, explicit, atol=1e-12)
    default = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=-0.43)
    assert torch.isnan(default[..., :3, :]).all() and torch.isfinite(default[..., 3, :]).all()


def test_fully_masked_rows_give_zeros_like_torch() -> None:
    """A query with no allowed key: torch 2.14.1 returns 0 (not NaN), and a zero gradient."""
    q = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 5, 6, dtype=torch.float64, requires_grad=True)
    allowed = torch.ones(3, 5, dtype=torch.bool)
    allowed[1] = False  # query 1 may see nothing
    additive = torch.zeros(3, 5, dtype=torch.float64)
    additive[1] = -INF
    for mask in (allowed, additive):
        for fn in (impl.scaled_dot_product_attention, F.scaled_dot_product_attention):
            out = fn(q, k, v, attn_mask=mask)
            assert_equal(out[:, 1], torch.zeros(2, 6, dtype=torch.float64))
            assert torch.isfinite(out).all()
            (grad_q,) = torch.autograd.grad(out.sum(), q)
            assert_equal(grad_q[:, 1], torch.zeros(2, 4, dtype=torch.float64))
            assert torch.isfinite(grad_q).all()
    # A large but finite bias is NOT "fully masked": the row is a plain softmax again.
    big = torch.zeros(3, 5, dtype=torch.float64)
    big[1] = -1e9
    out = impl.scaled_dot_product_attention(q, k, v, attn_mask=big)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=big), atol=1e-12)
    assert out[:, 1].abs().sum() > 0


def test_naive_softmax_gives_nan_on_a_fully_masked_row_and_softmax_safe_fixes_it() -> None:
    scores = torch.tensor([[0.5, -INF, 1.0], [-INF, -INF, -INF]], requires_grad=True)
    mask = torch.tensor([[True, True, True], [False, False, False]])
    _, w = impl.attention_naive(torch.randn(2, 4), torch.randn(3, 4), torch.randn(3, 2), mask)
    assert torch.isnan(w[1]).all() and torch.isfinite(w[0]).all()
    assert torch.isnan(torch.softmax(scores, dim=-1)[1]).all()  # torch.softmax as well
    safe = impl.softmax_safe(scores)
    expected = torch.tensor([[1 / (1 + math.e**0.5), 0.0, 1 / (1 + math.e**-0.5)], [0.0, 0.0, 0.0]])
    assert_close(safe, expected, atol=1e-7)  # row 0 by hand: e^0.5 / (e^0.5 + e^1) etc.
    # Zeroing the NaN row afterwards is not enough: its gradient would still be NaN.
    (grad,) = torch.autograd.grad(safe.pow(2).sum(), scores)
    assert torch.isfinite(grad).all()
    dead = torch.tensor([[False], [True]])
    naive_fix = torch.softmax(scores, dim=-1).masked_fill(dead, 0.0)
    (grad_naive,) = torch.autograd.grad(naive_fix.pow(2).sum(), scores)
    assert torch.isnan(grad_naive[1]).all()


def test_naive_matches_torch_single_head() -> None:
    """500 one-head float64 cases with a bool mask (no fully masked row): weights and output."""
    gen = torch.Generator().manual_seed(5)
    for _ in range(cases(500)):
        L, S, E, Ev = (_int(gen, 1, 8) for _ in range(4))
        q = torch.randn(L, E, generator=gen, dtype=torch.float64)
        k = torch.randn(S, E, generator=gen, dtype=torch.float64)
        v = torch.randn(S, Ev, generator=gen, dtype=torch.float64)
        mask = torch.rand(L, S, generator=gen) < 0.6
        mask[torch.arange(L), torch.randint(0, S, (L,), generator=gen)] = True
        out, w = impl.attention_naive(q, k, v, mask)
        assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-12)
        assert_close(w, reference_weights(q, k, allowed=mask), atol=1e-12)
        assert_close(w.sum(-1), torch.ones(L, dtype=torch.float64), atol=1e-12)


# ---------------------------------------------------------------- dropout


def test_dropout_uses_the_same_random_draws_as_torch_cpu() -> None:
    """Same seed, same result: on CPU torch's math path applies F.dropout to the weights.

    (An implementation detail of torch 2.14.1 on CPU, not a promise; the statistical test
    below checks what dropout must do whatever the random draws.)
    """
    gen = torch.Generator().manual_seed(6)
    for trial in range(cases(60)):
        (q, k, v), kw = random_case(gen, torch.float64 if trial % 2 else torch.float32)
        p = [0.1, 0.5, 0.9][trial % 3]
        torch.manual_seed(trial)
        expected = F.scaled_dot_product_attention(q, k, v, dropout_p=p, **kw)
        torch.manual_seed(trial)
        actual = impl.scaled_dot_product_attention(q, k, v, dropout_p=p, **kw)
        assert_close(actual, expected, atol=1e-5, rtol=1e-5, inputs={"p": p, **kw})


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_statistics(p: float) -> None:
    """value = I exposes the dropped weights: a fraction p are 0, the others are w / (1 - p),
    and the mean over 20,000 draws is the output without dropout (within 5 standard errors)."""
    gen = torch.Generator().manual_seed(7)
    n, L, S = 20_000, 3, 6
    q = torch.randn(L, 4, generator=gen, dtype=torch.float64)
    k = torch.randn(S, 4, generator=gen, dtype=torch.float64)
    v = torch.randn(S, 2, generator=gen, dtype=torch.float64)
    w = reference_weights(q, k)
    torch.manual_seed(8)
    dropped = impl.scaled_dot_product_attention(
        q.expand(n, L, 4), k.expand(n, S, 4), torch.eye(S, dtype=torch.float64), dropout_p=p
    )
    zero = dropped == 0
    sigma = math.sqrt(p * (1 - p) / zero.numel())
    assert abs(float(zero.double().mean()) - p) < 5 * sigma
    assert_close(dropped[~zero], (w / (1 - p)).expand(n, L, S)[~zero], atol=1e-12)
    torch.manual_seed(9)
    out = impl.scaled_dot_product_attention(q.expand(n, L, 4), k.expand(n, S, 4), v, dropout_p=p)
    # out = sum_j w_j b_j v_j / (1 - p) with b_j ~ Bernoulli(1 - p): variance per entry below.
    var = (w.pow(2) @ v.pow(2)) * p / (1 - p)
    assert ((out.mean(0) - w @ v).abs() < 5 * (var / n).sqrt() + 1e-12).all()


def test_dropout_one_zeroes_everything_and_zero_changes_nothing() -> None:
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 3)
    assert_equal(impl.scaled_dot_product_attention(q, k, v, dropout_p=1.0), torch.zeros(2, 3, 3))
    assert_close(
        impl.scaled_dot_product_attention(q, k, v, dropout_p=0.0),
        F.scaled_dot_product_attention(q, k, v),
        atol=1e-6,
    )


# ---------------------------------------------------------------- why sqrt(d)


def test_dot_product_variance_is_d_and_scaling_makes_it_one() -> None:
    """q, k with iid N(0, 1) components: Var(q . k) = d (Vaswani et al., footnote 4).

    Var of the sample variance: Var(X^2) = E[X^4] - d^2 = 2 d^2 + 6 d, so with 20,000 samples the
    relative standard error is sqrt((2 + 6/d) / 20000) <= 1.4 %; the test allows 6 %.
    """
    gen = torch.Generator().manual_seed(10)
    for d in (4, 16, 64, 256):
        q = torch.randn(20_000, d, generator=gen, dtype=torch.float64)
        k = torch.randn(20_000, d, generator=gen, dtype=torch.float64)
        dots = (q * k).sum(-1)
        assert abs(float(dots.var()) / d - 1) < 0.06
        assert abs(float((dots / math.sqrt(d)).var()) - 1) < 0.06


# ---------------------------------------------------------------- practice diagnostics


def _qk(seed: int, L: int, S: int, E: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(L, E, generator=gen, dtype=torch.float64) * 2,
        torch.randn(S, E, generator=gen, dtype=torch.float64) * 2,
    )


@pytest.mark.diagnosis
def test_softmax_is_over_the_key_axis() -> None:
    """Each query's weights sum to 1 over the keys: softmax(dim=-1), not dim=-2."""
    q, k = _qk(11, 3, 5)
    w = weights_of(impl.scaled_dot_product_attention, q, k)
    problem = diagnose(
        w,
        reference_weights(q, k),
        {
            "softmax over the wrong axis: your weights sum to 1 over the QUERY axis (dim=-2); "
            "each query's row of weights must sum to 1 over the KEY axis: softmax(scores, dim=-1)": reference_weights(
                q, k, axis=-2
            ),
        },
    )
    assert not problem, problem
    assert_close(w.sum(-1), torch.ones(3, dtype=torch.float64), atol=1e-9)


@pytest.mark.diagnosis
def test_default_scale_is_one_over_sqrt_E() -> None:
    """scale=None means 1/sqrt(E), E = query.size(-1); a given scale replaces it."""
    q, k = _qk(12, 3, 5, E=9)
    variants = {
        "the scores were not scaled: the default scale is 1/sqrt(E) with E = query.size(-1) "
        "(Vaswani et al. Eq. 1); without it the softmax saturates as E grows": reference_weights(
            q, k, scale=1.0
        ),
        "the scores were divided by E instead of sqrt(E): the default scale is 1/sqrt(E), "
        "because q . k of unit-variance components has variance E, i.e. std sqrt(E)": reference_weights(
            q, k, scale=1 / 9
        ),
    }
    w = weights_of(impl.scaled_dot_product_attention, q, k)
    problem = diagnose(w, reference_weights(q, k), variants)
    assert not problem, problem
    w = weights_of(impl.scaled_dot_product_attention, q, k, scale=0.7)
    problem = diagnose(
        w,
        reference_weights(q, k, scale=0.7),
        {"scale=0.7 was ignored: a given scale replaces 1/sqrt(E)": reference_weights(q, k)},
    )
    assert not problem, problem


@pytest.mark.diagnosis
def test_boolean_mask_true_means_allowed() -> None:
    """In F.scaled_dot_product_attention a bool attn_mask is True where attention is ALLOWED."""
    q, k = _qk(13, 4, 5)
    allowed = torch.tensor(
        [[1, 1, 0, 1, 0], [0, 1, 1, 0, 1], [1, 0, 1, 1, 1], [0, 0, 1, 1, 0]], dtype=torch.bool
    )
    w = weights_of(impl.scaled_dot_product_attention, q, k, attn_mask=allowed)
    problem = diagnose(
        w,
        reference_weights(q, k, allowed=allowed),
        {
            "the boolean mask is inverted: in F.scaled_dot_product_attention True means the "
            "query MAY attend to that key (nn.MultiheadAttention uses the opposite: True = "
            "masked out); fill the scores with -inf where the mask is False": reference_weights(
                q, k, allowed=~allowed
            ),
            "the boolean mask was ignored": reference_weights(q, k),
            "the mask was applied AFTER the softmax (fill the scores with -inf BEFORE it)": reference_weights(
                q, k, allowed=allowed, mask_after=True
            ),
        },
    )
    assert not problem, problem


@pytest.mark.diagnosis
def test_mask_is_applied_before_the_softmax() -> None:
    """Masked scores become -inf BEFORE the softmax, so the remaining weights sum to 1."""
    q, k = _qk(14, 4, 5)
    allowed = torch.tensor(
        [[1, 1, 0, 1, 0], [0, 1, 1, 0, 1], [1, 0, 1, 1, 1], [0, 0, 1, 1, 0]], dtype=torch.bool
    )
    before = "the mask was applied AFTER the softmax: "
    w = weights_of(impl.scaled_dot_product_attention, q, k, attn_mask=allowed)
    problem = diagnose(
        w,
        reference_weights(q, k, allowed=allowed),
        {
            before + "the masked weights are 0 but each row now sums to less than 1; fill the "
            "SCORES with -inf where the mask is False, then softmax (it renormalises)": reference_weights(
                q, k, allowed=allowed, mask_after=True
            ),
            "the boolean mask is inverted (True = allowed)": reference_weights(
                q, k, allowed=~allowed
            ),
        },
    )
    assert not problem, problem
    bias = torch.randn(4, 5, generator=torch.Generator().manual_seed(15), dtype=torch.float64)
    w = weights_of(impl.scaled_dot_product_attention, q, k, attn_mask=bias)
    problem = diagnose(
        w,
        reference_weights(q, k, additive=bias),
        {
            before + "a float attn_mask is ADDED to the scores before the softmax, not to the "
            "weights after it": reference_weights(q, k, additive=bias, mask_after=True),
            "the float mask was ignored": reference_weights(q, k),
        },
    )
    assert not problem, problem


@pytest.mark.diagnosis
def test_is_causal_is_aligned_top_left() -> None:
    """With L != S, torch's is_causal keeps key j for query i when j <= i (tril of L x S)."""
    q, k = _qk(16, 3, 6)
    w = weights_of(impl.scaled_dot_product_attention, q, k, is_causal=True)
    problem = diagnose(
        w,
        reference_weights(q, k, allowed=causal(3, 6)),
        {
            "is_causal is aligned bottom-right (query i sees keys j <= i + S - L, the KV-cache "
            "convention); torch aligns it TOP-LEFT: ones(L, S).tril(), query i sees keys 0..i": reference_weights(
                q, k, allowed=causal(3, 6, "bottom_right")
            ),
            "is_causal was ignored": reference_weights(q, k),
            "the causal mask is transposed (triu instead of tril): query i must see keys j <= i": reference_weights(
                q, k, allowed=causal(6, 3).T
            ),
        },
    )
    assert not problem, problem


def test_diagnostics_recognise_each_mistake() -> None:
    """The diagnostics must be able to fail: each wrong variant is told apart from the right one."""
    q, k = _qk(11, 3, 5)
    right = reference_weights(q, k)
    assert diagnose(right, right, {}) == ""
    assert (
        diagnose(
            reference_weights(q, k, axis=-2), right, {"axis": reference_weights(q, k, axis=-2)}
        )
        == "axis"
    )
    allowed = causal(3, 5)
    for wrong in (
        reference_weights(q, k, allowed=allowed, mask_after=True),
        reference_weights(q, k, allowed=~allowed | torch.eye(3, 5, dtype=torch.bool)),
        reference_weights(q, k, allowed=causal(3, 5, "bottom_right")),
        reference_weights(q, k, scale=1.0),
        reference_weights(q, k, scale=1 / 4),
    ):
        assert diagnose(wrong, reference_weights(q, k, allowed=allowed), {}) != ""


# ---------------------------------------------------------------- bad input


def test_sdpa_input_errors() -> None:
    sdpa = impl.scaled_dot_product_attention
    q, k, v = torch.randn(2, 4, 3, 8), torch.randn(2, 4, 5, 8), torch.randn(2, 4, 5, 6)
    cases = [  # (call, exception, words the message must contain, does torch raise too?)
        (lambda f: f(q.tolist(), k, v), TypeError, ["query", "[..., L, E]", "list"], True),
        (lambda f: f(q, k.numpy(), v), TypeError, ["key", "[..., S, E]", "ndarray"], True),
        (lambda f: f(q, k, "v"), TypeError, ["value", "[..., S, Ev]", "str"], True),
        (lambda f: f(q[0, 0, 0], k, v), ValueError, ["query", "[..., L, E]", "(8,)"], True),
        (lambda f: f(q, torch.randn(2, 4, 5, 7), v), ValueError, ["key", "E =", "8"], True),
        (lambda f: f(q, k, torch.randn(2, 4, 6, 6)), ValueError, ["value", "S =", "5"], True),
        (lambda f: f(q, k.double(), v), TypeError, ["key", "dtype"], True),
        (lambda f: f(q.long(), k.long(), v.long()), TypeError, ["query", "floating"], True),
        (
            lambda f: f(q, k[:, :3], v[:, :3], enable_gqa=True),
            ValueError,
            ["key", "H dividing", "Hq = 4", "H = 3"],
            True,
        ),
        (lambda f: f(q, k[:, :2], v[:, :2]), ValueError, ["batch dims", "broadcast"], True),
        (
            lambda f: f(q[0, 0], k[0, 0], v[0, 0], enable_gqa=True),
            ValueError,
            ["enable_gqa", "[..., Hq, L, E]"],
            True,
        ),
        (
            lambda f: f(q, k, v, attn_mask=torch.ones(3, 5, dtype=torch.bool), is_causal=True),
            ValueError,
            ["attn_mask", "is_causal"],
            True,
        ),
        (
            lambda f: f(q, k, v, attn_mask=torch.ones(3, 4, dtype=torch.bool)),
            ValueError,
            ["attn_mask", "[..., L, S]", "(2, 4, 3, 5)", "(3, 4)"],
            True,
        ),
        (
            lambda f: f(q, k, v, attn_mask=torch.ones(1, 2, 4, 3, 5, dtype=torch.bool)),
            ValueError,
            ["attn_mask", "(2, 4, 3, 5)"],
            True,
        ),
        (
            lambda f: f(q, k, v, attn_mask=torch.ones(3, 5, dtype=torch.int64)),
            TypeError,
            ["attn_mask", "bool", "torch.int64"],
            True,
        ),
        (
            lambda f: f(q, k, v, attn_mask=torch.ones(3, 5, dtype=torch.float64)),
            TypeError,
            ["attn_mask", "torch.float32"],
            True,
        ),
        (lambda f: f(q, k, v, attn_mask=[[True] * 5] * 3), TypeError, ["attn_mask", "list"], True),
        (lambda f: f(q, k, v, is_causal=1), TypeError, ["is_causal", "bool"], True),
        (lambda f: f(q, k, v, dropout_p=1.5), ValueError, ["dropout_p", "[0, 1]"], True),
        # torch accepts these silently; the snippet refuses them:
        (lambda f: f(q, k, v, dropout_p=-0.1), ValueError, ["dropout_p", "[0, 1]", "-0.1"], False),
        (lambda f: f(q[..., :0], k[..., :0], v), ValueError, ["query", "E >= 1"], False),
        (lambda f: f(q, k, v, scale="0.5"), TypeError, ["scale", "float"], True),
    ]
    for call, exc, words, torch_raises in cases:
        with raises_naming(exc, *words):
            call(sdpa)
        if torch_raises:
            with pytest.raises((RuntimeError, TypeError, ValueError, IndexError)):
                call(F.scaled_dot_product_attention)
        else:
            call(F.scaled_dot_product_attention)


def test_scale_and_enable_gqa_are_keyword_only_like_torch() -> None:
    q = torch.randn(3, 4)
    for fn in (impl.scaled_dot_product_attention, F.scaled_dot_product_attention):
        with pytest.raises(TypeError):
            fn(q, q, q, None, 0.0, False, 0.5)


def test_naive_input_errors() -> None:
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    with raises_naming(TypeError, "query", "list"):
        impl.attention_naive(q.tolist(), k, v)
    with raises_naming(ValueError, "query [L, E]"):
        impl.attention_naive(q[None], k[None], v[None])
    with raises_naming(ValueError, "mask", "[L, S]", "(3, 5)", "(5, 3)"):
        impl.attention_naive(q, k, v, torch.ones(5, 3, dtype=torch.bool))
    with raises_naming(TypeError, "mask", "bool"):
        impl.attention_naive(q, k, v, torch.ones(3, 5))


# ---------------------------------------------------------------- multi-head attention


def _pair(e: int, h: int, bias: bool, seed: int) -> tuple[nn.MultiheadAttention, nn.Module]:
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(e, h, bias=bias, batch_first=True)
    if bias:  # torch initialises the biases to 0: make them non-zero so they are tested
        with torch.no_grad():
            ref.in_proj_bias.normal_()
            ref.out_proj.bias.normal_()
    ours = impl.MultiHeadAttention(e, h, bias=bias)
    ours.load_state_dict(ref.state_dict())  # strict: same names, same shapes
    return ref, ours


def test_mha_state_dict_names_and_parameter_count() -> None:
    """Same keys and shapes as nn.MultiheadAttention; 4 E^2 + 4 E parameters (4 E^2 without bias)."""
    for e, h in [(8, 1), (8, 2), (12, 3), (64, 8), (512, 8)]:
        for bias in (True, False):
            ref = nn.MultiheadAttention(e, h, bias=bias, batch_first=True)
            ours = impl.MultiHeadAttention(e, h, bias=bias)
            expected_keys = {k: tuple(t.shape) for k, t in ref.state_dict().items()}
            assert {k: tuple(t.shape) for k, t in ours.state_dict().items()} == expected_keys
            n = sum(p.numel() for p in ours.parameters())
            assert n == sum(p.numel() for p in ref.parameters())
            assert n == 4 * e * e + (4 * e if bias else 0)
    assert sum(p.numel() for p in impl.MultiHeadAttention(512, 8).parameters()) == 1_050_624


def _mha_case(gen: torch.Generator, e: int, h: int):
    """Random batch, self- or cross-attention, masks in both conventions and both dtypes."""
    n, L = _int(gen, 1, 3), _int(gen, 1, 6)
    self_attn = _coin(gen, 0.5)
    S = L if self_attn else _int(gen, 1, 7)
    x = torch.randn(n, L, e, generator=gen)
    if self_attn:
        query = key = value = x
    else:
        query, key, value = (
            x,
            torch.randn(n, S, e, generator=gen),
            torch.randn(n, S, e, generator=gen),
        )
    kw = {}
    if _coin(gen, 0.6):  # padding at the end of each sequence; key 0 always real
        lengths = torch.randint(1, S + 1, (n,), generator=gen)
        pad = torch.arange(S)[None, :] >= lengths[:, None]
        kw["key_padding_mask"] = pad if _coin(gen, 0.7) else pad.float().masked_fill(pad, -INF)
    if _coin(gen, 0.6):
        shape = (L, S) if _coin(gen, 0.5) else (n * h, L, S)
        blocked = torch.rand(*shape, generator=gen) < 0.4
        blocked[..., 0] = False  # every query may see key 0: no fully masked row here
        kw["attn_mask"] = blocked if _coin(gen, 0.6) else torch.randn(*shape, generator=gen)
    return (query, key, value), kw


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
def test_mha_matches_torch_multihead_attention() -> None:
    """300 seeded configs (E, h, bias, self/cross, masks): train and eval, need_weights on/off."""
    gen = torch.Generator().manual_seed(20)
    configs = [(4, 1), (4, 2), (6, 3), (8, 2), (8, 4), (12, 3), (10, 5)]
    for trial in range(cases(300)):
        e, h = configs[trial % len(configs)]
        ref, ours = _pair(e, h, bias=trial % 4 != 0, seed=trial)
        (query, key, value), kw = _mha_case(gen, e, h)
        out = ours(query, key, value, **kw)
        for training in (True, False):
            ref.train(training)
            for need_weights in (True, False):
                with torch.set_grad_enabled(training):  # eval + no_grad: torch's fast path
                    expected, _ = ref(query, key, value, need_weights=need_weights, **kw)
                assert_close(out, expected, atol=1e-5, rtol=1e-5, inputs={"E": e, "h": h, **kw})


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
def test_mha_gradients_match_torch() -> None:
    """40 configs: gradients of every parameter and of the inputs equal torch's (float64)."""
    gen = torch.Generator().manual_seed(21)
    for trial in range(40):
        e, h = [(4, 2), (6, 3), (8, 4)][trial % 3]
        ref, ours = _pair(e, h, bias=True, seed=trial)
        ref, ours = ref.double(), ours.double()
        (query, key, value), kw = _mha_case(gen, e, h)
        kw = {k: (m.double() if m.is_floating_point() else m) for k, m in kw.items()}
        query = query.double().requires_grad_()
        key, value = key.double(), value.double()
        grads = []
        for module, get in ((ref, lambda *a, m=ref, **k: m(*a, **k)[0]), (ours, ours)):
            module.zero_grad()
            query.grad = None
            get(query, key, value, **kw).pow(2).sum().backward()
            grads.append([query.grad.clone()] + [p.grad.clone() for p in module.parameters()])
        for expected, actual in zip(*grads, strict=True):
            assert_close(actual, expected, atol=1e-10, rtol=1e-10)


def test_mha_boolean_masks_mean_the_opposite_of_sdpa() -> None:
    """nn.MultiheadAttention: True = NOT allowed. The same bool tensor given to SDPA means
    allowed; inverting it (~mask) gives the same output."""
    ref, ours = _pair(8, 2, bias=True, seed=0)
    x = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(22))
    blocked = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)  # causal, MHA style
    out = ours(x, x, x, attn_mask=blocked)
    assert_close(out, ref(x, x, x, attn_mask=blocked)[0], atol=1e-5)
    # By hand with SDPA: project, split heads, pass ~blocked (True = allowed), merge.
    w_q, w_k, w_v = ref.in_proj_weight.chunk(3)
    b_q, b_k, b_v = ref.in_proj_bias.chunk(3)
    heads = [F.linear(x, w, b).view(2, 4, 2, 4).transpose(1, 2) for w, b in
             ((w_q, b_q), (w_k, b_k), (w_v, b_v))]  # fmt: skip
    by_sdpa = F.scaled_dot_product_attention(*heads, attn_mask=~blocked)
    assert_close(out, ref.out_proj(by_sdpa.transpose(1, 2).reshape(2, 4, 8)), atol=1e-5)
    wrong = F.scaled_dot_product_attention(*heads, attn_mask=blocked)  # the classic trap
    assert not torch.allclose(out, ref.out_proj(wrong.transpose(1, 2).reshape(2, 4, 8)))


def test_mha_fully_masked_query_gives_the_output_bias() -> None:
    """All keys padded for one sequence: our attention is 0, so the output is out_proj.bias.

    torch's MHA agrees on its SDPA path (need_weights=False, training or grad enabled) but
    returns NaN with need_weights=True (its explicit softmax) and on the eval fast path.
    """
    ref, ours = _pair(8, 2, bias=True, seed=1)
    x = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(23))
    pad = torch.tensor([[False, False, True], [True, True, True]])
    out = ours(x, x, x, key_padding_mask=pad)
    assert_close(out[1], ref.out_proj.bias.detach().expand(3, 8), atol=1e-6)
    assert torch.isfinite(out).all()
    ref.train()
    assert_close(out, ref(x, x, x, key_padding_mask=pad, need_weights=False)[0], atol=1e-5)
    assert torch.isnan(ref(x, x, x, key_padding_mask=pad, need_weights=True)[0][1]).all()
    ref.eval()
    with torch.no_grad():
        assert torch.isnan(ref(x, x, x, key_padding_mask=pad, need_weights=False)[0][1]).all()


def test_mha_input_errors() -> None:
    with raises_naming(ValueError, "embed_dim", "divisible", "num_heads"):
        impl.MultiHeadAttention(10, 3)
    with raises_naming(ValueError, "num_heads", "positive"):
        impl.MultiHeadAttention(8, 0)
    mha = impl.MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    with raises_naming(TypeError, "query", "[N, L, E]", "list"):
        mha(x.tolist(), x, x)
    with raises_naming(ValueError, "key", "[N, S, E]", "embed_dim = 8", "(2, 3, 6)"):
        mha(x, torch.randn(2, 3, 6), x)
    with raises_naming(ValueError, "query", "[N, L, E]", "(3, 8)"):
        mha(x[0], x, x)
    with raises_naming(ValueError, "key and value", "[N, S, E]"):
        mha(x, x, torch.randn(2, 4, 8))
    with raises_naming(TypeError, "query", "dtype"):
        mha(x.double(), x, x)
    with raises_naming(ValueError, "key_padding_mask", "(2, 3)", "(3, 2)"):
        mha(x, x, x, key_padding_mask=torch.zeros(3, 2, dtype=torch.bool))
    with raises_naming(ValueError, "attn_mask", "(3, 3)", "(4, 3, 3)", "(2, 3, 3)"):
        mha(x, x, x, attn_mask=torch.zeros(2, 3, 3, dtype=torch.bool))
    with raises_naming(TypeError, "attn_mask", "bool or float", "torch.int64"):
        mha(x, x, x, attn_mask=torch.zeros(3, 3, dtype=torch.int64))
    with raises_naming(TypeError, "key_padding_mask", "list"):
        mha(x, x, x, key_padding_mask=[[False] * 3] * 2)


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.transformer.attention import draw_masks, draw_scaling

    fig = draw_masks(lang)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) >= 3
    fig = draw_scaling(lang)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) >= 2
