"""Tests for snippets/llm/moe.py: top-k routing, the sparse MoE layer, capacity, aux losses.

References: transformers 5.23 `models/mixtral/modeling_mixtral.py` (`MixtralTopKRouter`,
`MixtralSparseMoeBlock`, `load_balancing_loss_func`) and `models/switch_transformers/
modeling_switch_transformers.py` (`SwitchTransformersTop1Router`, `router_z_loss_func`), built
from tiny configs with seeded random weights on CPU; plus float64 transcriptions of the Switch
Transformer formulas (Fedus et al. 2022, §2.1 Eq. 3, §2.2 Eqs. 4-6) written here.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch
import torch.nn.functional as F
from transformers import MixtralConfig, MixtralForCausalLM, SwitchTransformersConfig
from transformers.models.mixtral.modeling_mixtral import (
    MixtralSparseMoeBlock,
    MixtralTopKRouter,
    load_balancing_loss_func,
)
from transformers.models.switch_transformers.modeling_switch_transformers import (
    SwitchTransformersTop1Router,
    router_z_loss_func,
)

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.llm.moe")


# ---------------------------------------------------------------- helpers


def distinct_logits(gen: torch.Generator, t: int, e: int, dtype=torch.float64) -> torch.Tensor:
    """Random [t, e] logits whose entries in a row are at least 1e-3 apart (no top-k ties)."""
    base = torch.rand(t, e, generator=gen).argsort(dim=-1).to(dtype)  # a permutation per row
    return (base + 0.5 * torch.rand(t, e, generator=gen, dtype=dtype)) * 0.8 - e / 3


@functools.cache
def tiny_config(e: int, k: int, h: int = 8, i: int = 6) -> MixtralConfig:
    cfg = MixtralConfig(
        hidden_size=h, intermediate_size=i, num_local_experts=e, num_experts_per_tok=k
    )
    cfg._experts_implementation = "eager"  # the reference loop, no dispatch warning
    return cfg


@functools.cache
def _block(e: int, k: int, dtype: torch.dtype) -> MixtralSparseMoeBlock:
    return MixtralSparseMoeBlock(tiny_config(e, k)).to(dtype).eval()


def random_block(gen: torch.Generator, e: int, k: int, dtype=torch.float32):
    """A cached tiny block (building configs is slow) refilled with fresh N(0, 0.5) weights."""
    block = _block(e, k, dtype)
    with torch.no_grad():
        for p in block.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=dtype))
    return block


@functools.cache
def _router(e: int, k: int) -> MixtralTopKRouter:
    return MixtralTopKRouter(tiny_config(e, k))


@functools.cache
def _switch_router(e: int, cap: int) -> SwitchTransformersTop1Router:
    cfg = SwitchTransformersConfig(
        d_model=8, num_experts=e, expert_capacity=cap, router_dtype="float32"
    )
    return SwitchTransformersTop1Router(cfg).eval()


def weights_of(block) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return block.gate.weight, block.experts.gate_up_proj, block.experts.down_proj


def close(actual, expected, **kw) -> None:
    """`assert_close` with a cheap fast path for the seeded loops (same tolerances)."""
    try:
        a = torch.as_tensor(actual.detach() if torch.is_tensor(actual) else actual).double()
        e = torch.as_tensor(expected.detach() if torch.is_tensor(expected) else expected).double()
        atol, rtol = kw.get("atol", 1e-6), kw.get("rtol", 1e-5)
        if a.shape == e.shape and torch.allclose(a, e, atol=atol, rtol=rtol):
            return
    except (TypeError, ValueError, RuntimeError):
        pass
    assert_close(actual, expected, **kw)


def equal(actual, expected, **kw) -> None:
    """`assert_equal` with a fast path."""
    if torch.is_tensor(actual) and actual.shape == expected.shape and torch.equal(actual, expected):
        return
    assert_equal(actual, expected, **kw)


def softmax64(z: list[float]) -> list[float]:
    m = max(z)
    ex = [math.exp(v - m) for v in z]
    return [v / sum(ex) for v in ex]


def switch_loss_reference(layers, num_experts: int, top_k: int, mask=None) -> float:
    """N * sum_i f_i * P_i in float64 Python (Switch Transformer Eqs. 4-6, top-k counts).

    f_i = (number of top-k assignments to expert i) / tokens; P_i = mean over ALL tokens of
    the router probability of i. Every layer's tokens are pooled; masked tokens are skipped.
    """
    counts = [0.0] * num_experts
    prob_sums = [0.0] * num_experts
    tokens = 0.0
    for layer in layers:
        for t, row in enumerate(layer.tolist()):
            w = 1.0 if mask is None else float(mask.reshape(-1)[t])
            p = softmax64(row)
            chosen = sorted(range(num_experts), key=lambda j: -p[j])[:top_k]
            for j in chosen:
                counts[j] += w
            for j in range(num_experts):
                prob_sums[j] += w * p[j]
            tokens += w
    return num_experts * sum(
        (c / tokens) * (s / tokens) for c, s in zip(counts, prob_sums, strict=True)
    )


# ---------------------------------------------------------------- routing


def test_topk_routing_matches_mixtral_router_on_2000_cases() -> None:
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        e = int(torch.randint(2, 9, (1,), generator=gen))
        k = int(torch.randint(1, e + 1, (1,), generator=gen))
        t = int(torch.randint(1, 7, (1,), generator=gen))
        router = _router(e, k)
        with torch.no_grad():
            router.weight.copy_(torch.randn(e, 8, generator=gen))
        x = torch.randn(t, 8, generator=gen)
        logits, ref_w, ref_e = router(x)
        w, idx = impl.topk_routing(logits.detach(), k)
        inputs = {"router_logits": logits, "top_k": k}
        equal(idx, ref_e, inputs=inputs)
        close(w, ref_w, inputs=inputs, atol=1e-6)


def test_softmax_topk_renormalised_equals_topk_softmax_on_2000_cases() -> None:
    """Proof: p_i / sum_{j in S} p_j = e^{z_i} / sum_{j in S} e^{z_j}; same S as softmax is
    monotone. So both orders give identical weights and experts once renormalised."""
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(2000)):
        e = int(torch.randint(1, 10, (1,), generator=gen))
        k = int(torch.randint(1, e + 1, (1,), generator=gen))
        z = distinct_logits(gen, int(torch.randint(1, 6, (1,), generator=gen)), e)
        w1, e1 = impl.topk_routing(z, k, "softmax_topk", renormalize=True)
        w2, e2 = impl.topk_routing(z, k, "topk_softmax")
        equal(e1, e2, inputs={"router_logits": z, "top_k": k})
        close(w1, w2, inputs={"router_logits": z, "top_k": k}, atol=1e-12, rtol=1e-12)
        # brute force: softmax of the k largest logits, float64 Python
        expected = [softmax64(sorted(row, reverse=True)[:k]) for row in z.tolist()]
        close(w2, torch.tensor(expected, dtype=torch.float64), atol=1e-12, rtol=1e-12)


def test_without_renormalisation_the_orders_differ_by_the_top_k_mass() -> None:
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(1000)):
        e = int(torch.randint(2, 10, (1,), generator=gen))
        k = int(torch.randint(1, e, (1,), generator=gen))  # k < E: some mass is left out
        z = distinct_logits(gen, 4, e)
        raw, _ = impl.topk_routing(z, k, "softmax_topk", renormalize=False)
        renorm, _ = impl.topk_routing(z, k, "topk_softmax")
        mass = torch.softmax(z, -1).topk(k, -1).values.sum(-1, keepdim=True)  # < 1
        assert bool((mass < 1).all())
        close(raw, renorm * mass, atol=1e-12, rtol=1e-12)
        assert bool((raw.sum(-1) < 1 - 1e-9).all()), "un-renormalised weights sum to < 1"


def test_routing_of_a_token_does_not_depend_on_the_other_tokens() -> None:
    gen = torch.Generator().manual_seed(3)
    for _ in range(cases(300)):
        z = distinct_logits(gen, 5, 6)
        w_all, e_all = impl.topk_routing(z, 2)
        for t in range(5):
            w_one, e_one = impl.topk_routing(z[t : t + 1], 2)
            ok = torch.equal(e_one[0], e_all[t]) and torch.allclose(w_one[0], w_all[t])
            assert ok, (
                "a token's routing changed when other tokens were in the batch: the softmax "
                "must run over the EXPERT axis (dim=-1 of [T, E]), not over tokens (dim=0)"
            )


def test_mixtral_weights_are_renormalised_to_sum_to_one() -> None:
    gen = torch.Generator().manual_seed(4)
    z = distinct_logits(gen, 50, 8)
    w, _ = impl.topk_routing(z, 2)
    assert torch.allclose(w.sum(-1), torch.ones(50, dtype=w.dtype)), (
        "Mixtral renormalises the top-k probabilities: each token's k weights must sum to 1 "
        "(divide by their sum after torch.topk)"
    )


def test_top_k_equal_to_num_experts_is_plain_softmax() -> None:
    z = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    w, e = impl.topk_routing(z, 3)
    assert_equal(e, torch.tensor([[2, 0, 1]]))
    assert_close(w, torch.softmax(z, -1)[:, [2, 0, 1]], atol=1e-15)


# ---------------------------------------------------------------- the MoE layer


def test_moe_grouped_matches_mixtral_block_on_300_cases() -> None:
    gen = torch.Generator().manual_seed(5)
    for n in range(cases(300)):
        e = int(torch.randint(1, 7, (1,), generator=gen))
        k = int(torch.randint(1, e + 1, (1,), generator=gen))
        block = random_block(gen, e, k)
        x = torch.randn(int(torch.randint(1, 3, (1,), generator=gen)), 1 + n % 5, 8, generator=gen)
        with torch.no_grad():
            ref = block(x.clone())
            out = impl.moe_grouped(x, *weights_of(block), k)
        close(out, ref, inputs={"E": e, "top_k": k, "x": x}, atol=1e-4, rtol=1e-5)


def test_moe_naive_matches_mixtral_block_on_100_cases() -> None:
    gen = torch.Generator().manual_seed(6)
    for _ in range(cases(100)):
        e = int(torch.randint(2, 6, (1,), generator=gen))
        k = int(torch.randint(1, e + 1, (1,), generator=gen))
        block = random_block(gen, e, k)
        x = torch.randn(2, 3, 8, generator=gen)
        with torch.no_grad():
            ref = block(x.clone())
            out = impl.moe_naive(x, *weights_of(block), k)
        assert_close(out, ref, inputs={"E": e, "top_k": k}, atol=1e-4, rtol=1e-5)


def test_moe_float64_and_gradients_match_mixtral_block() -> None:
    """float64: transformers' router upcasts with `.float()`, i.e. computes the routing
    weights in float32 even for float64 input, hence the 1e-6 tolerance."""
    gen = torch.Generator().manual_seed(7)
    for _ in range(cases(40)):
        block = random_block(gen, 4, 2, torch.float64)
        x = torch.randn(2, 3, 8, generator=gen, dtype=torch.float64, requires_grad=True)
        ref = block(x)
        grads_ref = torch.autograd.grad(ref.square().sum(), [x, *weights_of(block)])
        out = impl.moe_grouped(x, *weights_of(block), 2)
        grads = torch.autograd.grad(out.square().sum(), [x, *weights_of(block)])
        # relative to the largest entry: the router's float32 weights set the error scale
        assert_close(out, ref, atol=1e-6 * float(ref.detach().abs().max()), rtol=0)
        for g, g_ref in zip(grads, grads_ref, strict=True):
            assert_close(g, g_ref, atol=1e-6 * float(g_ref.abs().max()), rtol=0)


def test_moe_single_token_and_single_expert() -> None:
    gen = torch.Generator().manual_seed(8)
    block = random_block(gen, 1, 1)
    x = torch.randn(1, 1, 8, generator=gen)
    with torch.no_grad():  # one expert, weight 1: the layer is that expert's FFN
        expected = impl.expert_ffn(x[0], block.experts.gate_up_proj[0], block.experts.down_proj[0])
        assert_close(impl.moe_grouped(x, *weights_of(block), 1)[0], expected, atol=1e-6)
        assert_close(impl.moe_naive(x, *weights_of(block), 1), block(x), atol=1e-5)


# ---------------------------------------------------------------- capacity


def test_expert_capacity_is_the_switch_formula() -> None:
    # Switch Eq. 3: (tokens per batch / experts) * capacity factor; k assignments per token.
    for t, e, k, cf in [(6, 3, 1, 1.0), (10, 4, 2, 1.25), (1, 8, 2, 1.0), (1024, 64, 1, 2.0)]:
        assert impl.expert_capacity(t, e, k, cf) == math.ceil(cf * t * k / e)
    assert impl.expert_capacity(10, 4, 2, 1.25) == 7  # ceil(6.25)


def test_capacity_mask_top1_matches_switch_transformers_router_on_500_cases() -> None:
    gen = torch.Generator().manual_seed(9)
    for _ in range(cases(500)):
        e = int(torch.randint(2, 6, (1,), generator=gen))
        t = int(torch.randint(1, 12, (1,), generator=gen))
        cap = int(torch.randint(1, t + 1, (1,), generator=gen))
        router = _switch_router(e, cap)
        with torch.no_grad():
            router.classifier.weight.copy_(torch.randn(e, 8, generator=gen))
            x = torch.randn(1, t, 8, generator=gen)  # one group: Switch counts per sequence
            ref_index, _, logits = router(x)  # one-hot [1, t, e], all-zero row = dropped
        _, experts = impl.topk_routing(logits[0], 1)
        keep = impl.capacity_mask(experts, e, cap)
        equal(keep[:, 0], ref_index[0].sum(-1).bool(), inputs={"experts": experts})


def test_capacity_mask_top_k_priority_first_choices_first() -> None:
    """Brute force: visit slot 0 of every token in order, then slot 1, ...; fill experts."""
    gen = torch.Generator().manual_seed(10)
    for _ in range(cases(500)):
        e = int(torch.randint(2, 6, (1,), generator=gen))
        k = int(torch.randint(1, e + 1, (1,), generator=gen))
        t = int(torch.randint(1, 10, (1,), generator=gen))
        experts = torch.stack([torch.randperm(e, generator=gen)[:k] for _ in range(t)])
        cap = int(torch.randint(0, t + 1, (1,), generator=gen))
        load = [0] * e
        expected = [[False] * k for _ in range(t)]
        for slot in range(k):
            for tok in range(t):
                ex = int(experts[tok, slot])
                if load[ex] < cap:
                    load[ex] += 1
                    expected[tok][slot] = True
        equal(impl.capacity_mask(experts, e, cap), torch.tensor(expected))


def test_dropped_assignment_contributes_nothing() -> None:
    gen = torch.Generator().manual_seed(11)
    block = random_block(gen, 4, 2)
    x = torch.randn(1, 6, 8, generator=gen)
    w, g, d = weights_of(block)
    with torch.no_grad():
        _, experts = impl.topk_routing(F.linear(x[0], w), 2)
        keep = impl.capacity_mask(experts, 4, capacity=1)
        out = impl.moe_grouped(x, w, g, d, 2, keep=keep)
        weights, _ = impl.topk_routing(F.linear(x[0], w), 2)
        for tok in range(6):  # hand sum over the kept slots only
            ref = sum(
                weights[tok, s] * impl.expert_ffn(x[0, tok : tok + 1], g[e_], d[e_])[0]
                for s, e_ in enumerate(experts[tok].tolist())
                if keep[tok, s]
            )
            assert_close(out[0, tok], ref if torch.is_tensor(ref) else torch.zeros(8), atol=1e-5)
    assert int(keep.sum()) <= 4  # 4 experts x capacity 1


# ---------------------------------------------------------------- load-balancing loss


def test_load_balancing_loss_matches_transformers_on_2000_cases() -> None:
    gen = torch.Generator().manual_seed(12)
    for n in range(cases(2000)):
        e = int(torch.randint(2, 9, (1,), generator=gen))
        k = int(torch.randint(1, e + 1, (1,), generator=gen))
        b, s = (
            int(torch.randint(1, 4, (1,), generator=gen)),
            int(torch.randint(1, 5, (1,), generator=gen)),
        )
        layers = tuple(
            distinct_logits(gen, b * s, e, torch.float32)
            for _ in range(int(torch.randint(1, 4, (1,), generator=gen)))
        )
        mask = None
        if n % 2:
            mask = (torch.rand(b, s, generator=gen) < 0.7).long()
            mask[0, 0] = 1  # at least one real token
        ref = load_balancing_loss_func(layers, e, k, mask)
        out = impl.load_balancing_loss(layers, e, k, mask)
        close(out, ref, inputs={"E": e, "top_k": k, "mask": mask}, atol=1e-5)


def test_load_balancing_loss_matches_float64_switch_formula_on_500_cases() -> None:
    gen = torch.Generator().manual_seed(13)
    for n in range(cases(500)):
        e = int(torch.randint(2, 7, (1,), generator=gen))
        k = int(torch.randint(1, e + 1, (1,), generator=gen))
        layers = tuple(distinct_logits(gen, 4, e) for _ in range(1 + n % 3))
        mask = None if n % 2 else torch.tensor([[1, 1], [0, 1]])
        ref = switch_loss_reference(layers, e, k, mask)
        out = impl.load_balancing_loss(layers, e, k, mask)
        close(out, ref, inputs={"E": e, "top_k": k}, atol=1e-10, rtol=1e-10)


def test_load_balancing_loss_layers_with_different_token_counts_are_pooled() -> None:
    gen = torch.Generator().manual_seed(14)
    layers = (distinct_logits(gen, 3, 4, torch.float32), distinct_logits(gen, 7, 4, torch.float32))
    ref = load_balancing_loss_func(layers, 4, 2)
    assert_close(impl.load_balancing_loss(layers, 4, 2), ref, atol=1e-6)
    assert_close(impl.load_balancing_loss(torch.cat(layers), 4, 2), ref, atol=1e-6)


def test_load_balancing_loss_gradient_matches_transformers() -> None:
    gen = torch.Generator().manual_seed(15)
    for _ in range(cases(200)):
        z = distinct_logits(gen, 6, 4, torch.float32).requires_grad_(True)
        (g_ref,) = torch.autograd.grad(load_balancing_loss_func((z,), 4, 2), z)
        (g,) = torch.autograd.grad(impl.load_balancing_loss((z,), 4, 2), z)
        close(g, g_ref, atol=1e-6)


def _diagnose_loss(k: int) -> None:
    """Compare with the right value and with each classic wrong variant, name the mistake."""
    z = torch.tensor([[2.0, 0.0, -1.0], [1.5, 0.5, 0.0], [0.0, 3.0, 0.2], [2.5, -0.5, 0.1]])
    z = z.double()
    e = 3
    p = torch.softmax(z, -1)
    hard = F.one_hot(p.topk(k, -1).indices, e).sum(1).double()  # [T, E] top-k counts
    f, mean_p = hard.mean(0), p.mean(0)
    right = e * (f * mean_p).sum()
    p_chosen = (p * hard).sum(0) / hard.sum(0).clamp(min=1)  # mean prob over routed tokens
    msg_p = (
        "P_i must be the mean router probability of expert i over ALL tokens, not only "
        "the gate values of the chosen experts / of the tokens routed to i"
    )
    msg_f = (
        "f_i must count hard top-k assignments (fraction of tokens dispatched to expert i), "
        "not soft router probabilities"
    )
    msg_n = "multiply by num_experts: the loss is N * sum_i f_i * P_i (uniform router: top_k)"
    wrong = [
        (msg_p, e * (f * p_chosen).sum()),
        (msg_p, e * (f * (p * hard).mean(0)).sum()),
        (msg_f, e * (mean_p * mean_p).sum()),
        (msg_n, (f * mean_p).sum()),
    ]
    out = float(impl.load_balancing_loss((z,), e, k))
    if not math.isclose(out, float(right), rel_tol=1e-9):
        for msg, value in wrong:
            assert not math.isclose(out, float(value), rel_tol=1e-9), msg
    assert_close(out, right, atol=1e-10, inputs={"router_logits": z, "top_k": k})


def test_load_balancing_loss_diagnosis_top1() -> None:
    _diagnose_loss(1)


def test_load_balancing_loss_diagnosis_top2() -> None:
    _diagnose_loss(2)


def test_load_balancing_loss_uniform_router_gives_top_k() -> None:
    for e, k in [(4, 1), (4, 2), (8, 2), (3, 3)]:
        z = torch.zeros(12, e, dtype=torch.float64) + torch.arange(e) * 1e-9  # ~uniform
        # rows identical: one expert set gets all f mass k, P_i = 1/E -> E * k * (1/E) = k
        out = float(impl.load_balancing_loss((z,), e, k))
        if math.isclose(out, k / e, rel_tol=1e-6):
            hint = "multiply by num_experts: the loss is N * sum_i f_i * P_i"
        elif math.isclose(out, 1.0, rel_tol=1e-6):
            hint = (
                "f_i must count hard top-k assignments (they sum to top_k), not soft probabilities"
            )
        else:
            hint = "the loss is N * sum_i f_i * P_i with hard top-k counts f_i"
        assert math.isclose(out, k, rel_tol=1e-6), (
            f"{hint}; a uniform router (P_i = 1/E) gives top_k, got {out} for E={e}, top_k={k}"
        )


def test_load_balancing_loss_collapsed_router_gives_num_experts() -> None:
    z = torch.tensor([[10.0, 0, 0, 0]] * 5, dtype=torch.float64) * 10  # all to expert 0
    assert_close(impl.load_balancing_loss((z,), 4, 1), 4.0, atol=1e-10)  # f_0 = P_0 = 1


# ---------------------------------------------------------------- z-loss, parameter counts


def test_router_z_loss_matches_switch_transformers_on_500_cases() -> None:
    gen = torch.Generator().manual_seed(16)
    for _ in range(cases(500)):
        z = torch.randn(2, 5, 4, generator=gen, dtype=torch.float64) * 3
        close(impl.router_z_loss(z), router_z_loss_func(z), atol=1e-12)


def test_mixtral_8x7b_parameter_count_matches_transformers_meta_model() -> None:
    cfg = MixtralConfig()  # defaults are Mixtral-8x7B: 4096, 14336, 32 layers, 8 experts
    with torch.device("meta"):
        model = MixtralForCausalLM(cfg)
    expected_total = sum(p.numel() for p in model.parameters())
    total, active = impl.moe_param_count(4096, 14336, 32, 8, 2, 32000, 32, 8)
    assert total == expected_total == 46_702_792_704
    expert_params = 3 * 4096 * 14336 * 32  # one expert in every layer
    assert active == expected_total - 6 * expert_params  # 6 of 8 experts idle per token
    assert 12.8e9 < active < 13.0e9  # "13B active" (Jiang et al. 2024)


# ---------------------------------------------------------------- input errors


def test_input_errors() -> None:
    z = torch.zeros(3, 4)
    with raises_naming(TypeError, "router_logits", "[T, E]"):
        impl.topk_routing([[0.0, 1.0]], 1)
    with raises_naming(ValueError, "router_logits", "[T, E]"):
        impl.topk_routing(torch.zeros(4), 1)
    with raises_naming(ValueError, "top_k"):
        impl.topk_routing(z, 5)
    with raises_naming(ValueError, "top_k"):
        impl.topk_routing(z, 0)
    with raises_naming(TypeError, "top_k"):
        impl.topk_routing(z, 2.0)
    with raises_naming(ValueError, "order"):
        impl.topk_routing(z, 2, order="sideways")
    with raises_naming(TypeError, "router_logits", "tuple"):
        impl.load_balancing_loss("logits", 4, 2)
    with raises_naming(TypeError, "router_logits"):
        impl.load_balancing_loss((z.numpy(),), 4, 2)
    with raises_naming(ValueError, "attention_mask"):
        impl.load_balancing_loss((z,), 4, 2, torch.ones(2, 2))
    block_w = (torch.zeros(4, 8), torch.zeros(4, 12, 8), torch.zeros(4, 8, 6))
    with raises_naming(ValueError, "hidden_states", "H = 8"):
        impl.moe_grouped(torch.zeros(2, 7), *block_w, 2)
    with raises_naming(ValueError, "down_proj", "[E, H, I]"):
        impl.moe_naive(torch.zeros(2, 8), *block_w[:2], torch.zeros(4, 6, 8), 2)
    with raises_naming(TypeError, "gate_up_proj"):
        impl.moe_grouped(torch.zeros(2, 8), block_w[0], block_w[1].numpy(), block_w[2], 2)
    with raises_naming(ValueError, "capacity_factor"):
        impl.expert_capacity(8, 4, 2, 0.0)
    with raises_naming(TypeError, "experts", "[T, k]"):
        impl.capacity_mask(torch.zeros(3, 2), 4, 2)


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang: str) -> None:
    import matplotlib.figure

    from figures.llm.moe import draw_routing_and_capacity

    fig = draw_routing_and_capacity(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 3
