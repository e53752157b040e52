"""Tests for snippets/transformer/rope.py: sinusoidal, RoPE, complex form, scaling, ALiBi, 2D.

References: transformers 5.23 (`models.llama.modeling_llama.rotate_half`,
`apply_rotary_pos_emb`, `LlamaRotaryEmbedding`; `modeling_rope_utils.ROPE_INIT_FUNCTIONS`;
`models.bloom.modeling_bloom._get_alibi_slopes`), tiny configs with no weights downloaded, and
the official code of Meta llama (`llama/model.py`), ALiBi (`ofirpress/attention_with_linear_biases`,
`fairseq/models/transformer.py`, `get_slopes`) and RoPE-ViT (`naver-ai/rope-vit`,
`models/vit_rope.py`, `compute_axial_cis`), transcribed below.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.bloom.modeling_bloom import _get_alibi_slopes
from transformers.models.llama import modeling_llama as hf

from tests.support import assert_close, cases, raises_naming, under_test

impl = under_test("snippets.transformer.rope")

F64 = torch.float64


def tiny_config(head_dim: int, base: float, **kw: object) -> LlamaConfig:
    """A 1-layer Llama config whose rotary dimension is `head_dim` (nothing is downloaded)."""
    heads = 2
    rope = {"rope_type": "default", "rope_theta": base}
    rope.update(kw.pop("rope", {}))  # type: ignore[arg-type]
    return LlamaConfig(
        hidden_size=head_dim * heads,
        num_attention_heads=heads,
        num_hidden_layers=1,
        intermediate_size=8,
        vocab_size=8,
        rope_parameters=rope,
        **kw,
    )


@functools.cache
def hf_rotary(head_dim: int, base: float) -> hf.LlamaRotaryEmbedding:
    return hf.LlamaRotaryEmbedding(tiny_config(head_dim, base))


HEAD_DIMS = [2, 4, 6, 8, 12, 16, 32, 64]
BASES = [10000.0, 500000.0, 100.0, 1e6]


def random_case(gen: torch.Generator, trial: int) -> dict:
    """q [B, H, L, d], k [B, H_kv, L, d] (GQA: H_kv divides H), positions [B, L]."""
    d = HEAD_DIMS[trial % len(HEAD_DIMS)]
    b = int(torch.randint(1, 4, (1,), generator=gen))
    h_kv = int(torch.randint(1, 3, (1,), generator=gen))
    h = h_kv * int(torch.randint(1, 3, (1,), generator=gen))
    length = int(torch.randint(1, 7, (1,), generator=gen))
    pos = torch.randint(0, 5000, (b, length), generator=gen)
    if trial % 3 == 0:
        pos = torch.arange(length).expand(b, length) + pos[:, :1]  # contiguous, as in decoding
    return {
        "q": torch.randn(b, h, length, d, generator=gen, dtype=F64),
        "k": torch.randn(b, h_kv, length, d, generator=gen, dtype=F64),
        "pos": pos,
        "base": BASES[trial % len(BASES)],
    }


# ---------------------------------------------------------------- rotate_half / apply vs HF


def test_rotate_half_matches_transformers() -> None:
    """2,000 seeded tensors of rank 1..4, float64: bit-identical to HF's rotate_half."""
    gen = torch.Generator().manual_seed(0)
    for trial in range(cases(2000)):
        rank = 1 + trial % 4
        shape = [int(s) for s in torch.randint(1, 4, (rank - 1,), generator=gen)]
        x = torch.randn(*shape, HEAD_DIMS[trial % len(HEAD_DIMS)], generator=gen, dtype=F64)
        assert_close(impl.rotate_half(x), hf.rotate_half(x), atol=0, rtol=0, inputs={"x": x})


def test_apply_rotary_pos_emb_matches_transformers_float64() -> None:
    """2,000 seeded cases (B, H, GQA key heads, L, d = 2..64, 4 bases), float64, 1e-12.

    cos/sin come from HF's LlamaRotaryEmbedding (float32, then cast) in half the cases and
    from our rope_cos_sin in float64 in the other half; every third case uses the
    [B, L, H, d] layout with unsqueeze_dim=2.
    """
    gen = torch.Generator().manual_seed(1)
    for trial in range(cases(2000)):
        c = random_case(gen, trial)
        q, k, pos, d = c["q"], c["k"], c["pos"], c["q"].shape[-1]
        if trial % 2:
            cos, sin = (t.double() for t in hf_rotary(d, c["base"])(q, pos))
        else:
            cos, sin = impl.rope_cos_sin(pos, d, c["base"], dtype=F64)
        dim = 2 if trial % 3 == 1 else 1
        if dim == 2:
            q, k = q.transpose(1, 2), k.transpose(1, 2)
        expected = hf.apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=dim)
        actual = impl.apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=dim)
        inputs = {"q.shape": tuple(q.shape), "pos": pos, "unsqueeze_dim": dim}
        assert_close(actual[0], expected[0], atol=1e-12, rtol=0, inputs=inputs)
        assert_close(actual[1], expected[1], atol=1e-12, rtol=0, inputs=inputs)


def test_apply_rotary_pos_emb_float32_matches_transformers() -> None:
    """500 float32 cases with HF's own float32 cos/sin: identical arithmetic, 1e-6."""
    gen = torch.Generator().manual_seed(2)
    for trial in range(cases(500)):
        c = random_case(gen, trial)
        q, k = c["q"].float(), c["k"].float()
        cos, sin = hf_rotary(q.shape[-1], c["base"])(q, c["pos"])
        expected = hf.apply_rotary_pos_emb(q, k, cos, sin)
        actual = impl.apply_rotary_pos_emb(q, k, cos, sin)
        assert_close(actual[0], expected[0], atol=1e-6, rtol=0)
        assert_close(actual[1], expected[1], atol=1e-6, rtol=0)


def test_rope_cos_sin_matches_llama_rotary_embedding() -> None:
    """1,000 seeded (d, base, positions up to 5,000) cases: float32, same ops as HF, 1e-6."""
    gen = torch.Generator().manual_seed(3)
    for trial in range(cases(1000)):
        c = random_case(gen, trial)
        d = c["q"].shape[-1]
        x = torch.zeros(1, dtype=torch.float32)
        exp_cos, exp_sin = hf_rotary(d, c["base"])(x, c["pos"])
        cos, sin = impl.rope_cos_sin(c["pos"], d, c["base"])
        inputs = {"position_ids": c["pos"], "head_dim": d, "base": c["base"]}
        assert_close(cos, exp_cos, atol=1e-6, rtol=0, inputs=inputs)
        assert_close(sin, exp_sin, atol=1e-6, rtol=0, inputs=inputs)


def test_rope_inv_freq_matches_transformers_default() -> None:
    for d in HEAD_DIMS:
        for base in BASES:
            inv, scale = hf.LlamaRotaryEmbedding.compute_default_rope_parameters(
                tiny_config(d, base)
            )
            assert scale == 1.0
            assert_close(impl.rope_inv_freq(d, base), inv, atol=0, rtol=1e-6)


def test_rope_cos_sin_float64_equals_formula() -> None:
    """cos(m * base**(-2i/d)) in plain Python float64 for 300 (m, d, base) triples."""
    gen = torch.Generator().manual_seed(4)
    for trial in range(cases(300)):
        d, base = HEAD_DIMS[trial % len(HEAD_DIMS)], BASES[trial % len(BASES)]
        m = int(torch.randint(0, 10000, (1,), generator=gen))
        cos, sin = impl.rope_cos_sin(torch.tensor([[m]]), d, base, dtype=F64)
        angles = [m * base ** (-2 * i / d) for i in range(d // 2)] * 2  # cat(freqs, freqs)
        assert_close(
            cos[0, 0], torch.tensor([math.cos(a) for a in angles], dtype=F64), atol=1e-10, rtol=0
        )
        assert_close(
            sin[0, 0], torch.tensor([math.sin(a) for a in angles], dtype=F64), atol=1e-10, rtol=0
        )


# ---------------------------------------------------------------- the relative property


def rope_score(
    q: torch.Tensor, k: torch.Tensor, pq: torch.Tensor, pk: torch.Tensor, base: float
) -> torch.Tensor:
    """q rotated at positions pq, k at pk, dot product per case: [cases]."""
    d = q.shape[-1]
    cq, sq = impl.rope_cos_sin(pq, d, base, dtype=F64)
    ck, sk = impl.rope_cos_sin(pk, d, base, dtype=F64)
    rq, _ = impl.apply_rotary_pos_emb(q, q, cq, sq)
    rk, _ = impl.apply_rotary_pos_emb(k, k, ck, sk)
    return (rq * rk).sum(-1).flatten()


def test_score_depends_only_on_relative_position() -> None:
    """2,000 seeded (q, k, m, n, shift) cases, float64.

    q_m . k_n after RoPE equals q_{m+t} . k_{n+t}, and equals RoFormer's closed form
    Re[sum_j q_j conj(k_j) e^{i (m - n) theta_j}] with the complex pair j = (x_j, x_{j+d/2}).
    """
    gen = torch.Generator().manual_seed(5)
    cases = 2000
    for d in (2, 8, 64, 128):
        base = 10000.0
        q = torch.randn(cases, 1, 1, d, generator=gen, dtype=F64)
        k = torch.randn(cases, 1, 1, d, generator=gen, dtype=F64)
        m = torch.randint(0, 4096, (cases, 1), generator=gen)
        n = torch.randint(0, 4096, (cases, 1), generator=gen)
        t = torch.randint(-2000, 2000, (cases, 1), generator=gen).clamp(min=-torch.minimum(m, n))

        s_mn, s_shift = rope_score(q, k, m, n, base), rope_score(q, k, m + t, n + t, base)
        half = d // 2
        zq = torch.complex(q[..., :half], q[..., half:]).flatten(1)
        zk = torch.complex(k[..., :half], k[..., half:]).flatten(1)
        theta = torch.tensor([base ** (-2 * i / d) for i in range(half)], dtype=F64)
        closed = (zq * zk.conj() * torch.polar(torch.ones(1, dtype=F64), (m - n) * theta)).real
        assert_close(s_mn, s_shift, atol=1e-10, rtol=0, inputs={"d": d})
        assert_close(s_mn, closed.sum(-1), atol=1e-10, rtol=0, inputs={"d": d})


def test_rotation_preserves_norm_and_position_zero_is_identity() -> None:
    gen = torch.Generator().manual_seed(6)
    for d in HEAD_DIMS:
        q = torch.randn(2, 3, 5, d, generator=gen, dtype=F64)
        pos = torch.randint(0, 10000, (2, 5), generator=gen)
        cos, sin = impl.rope_cos_sin(pos, d, dtype=F64)
        qe, _ = impl.apply_rotary_pos_emb(q, q, cos, sin)
        assert_close(qe.norm(dim=-1), q.norm(dim=-1), atol=1e-12, rtol=0)
        cos0, sin0 = impl.rope_cos_sin(torch.zeros(2, 5, dtype=torch.long), d, dtype=F64)
        q0, k0 = impl.apply_rotary_pos_emb(q, q, cos0, sin0)
        assert_close(q0, q, atol=0, rtol=0)  # cos 0 = 1, sin 0 = 0 exactly
        assert_close(k0, q, atol=0, rtol=0)


def test_head_dim_two_is_a_plane_rotation_by_m_radians() -> None:
    # d = 2: one pair, theta_0 = base**0 = 1, so position m turns (x, y) by m radians.
    q = torch.tensor([[[[1.0, 2.0]]]], dtype=F64)
    for m in (0, 1, 2, 7, 100):
        cos, sin = impl.rope_cos_sin(torch.tensor([[m]]), 2, dtype=F64)
        qe, _ = impl.apply_rotary_pos_emb(q, q, cos, sin)
        c, s = math.cos(m), math.sin(m)
        assert_close(
            qe.flatten(), torch.tensor([c - 2 * s, s + 2 * c], dtype=F64), atol=1e-12, rtol=0
        )


def test_unsqueeze_dim_two_layout_equals_transposed_layout() -> None:
    gen = torch.Generator().manual_seed(7)
    q = torch.randn(2, 3, 4, 8, generator=gen, dtype=F64)  # [B, H, L, d]
    k = torch.randn(2, 1, 4, 8, generator=gen, dtype=F64)
    cos, sin = impl.rope_cos_sin(torch.arange(4).expand(2, 4), 8, dtype=F64)
    q1, k1 = impl.apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1)
    q2, k2 = impl.apply_rotary_pos_emb(q.transpose(1, 2), k.transpose(1, 2), cos, sin, 2)
    assert_close(q2.transpose(1, 2), q1, atol=0, rtol=0)
    assert_close(k2.transpose(1, 2), k1, atol=0, rtol=0)


def test_gradients() -> None:
    gen = torch.Generator().manual_seed(8)
    q = torch.randn(1, 2, 3, 4, generator=gen, dtype=F64, requires_grad=True)
    k = torch.randn(1, 1, 3, 4, generator=gen, dtype=F64, requires_grad=True)
    cos, sin = impl.rope_cos_sin(torch.tensor([[0, 5, 9]]), 4, dtype=F64)
    assert torch.autograd.gradcheck(lambda a, b: impl.apply_rotary_pos_emb(a, b, cos, sin), (q, k))
    # The rotation is orthogonal: the gradient of 0.5 |R q|^2 w.r.t. q is q itself.
    qe, _ = impl.apply_rotary_pos_emb(q, k, cos, sin)
    (grad,) = torch.autograd.grad(0.5 * (qe**2).sum(), q)
    assert_close(grad, q, atol=1e-12, rtol=0)


# ---------------------------------------------------------------- complex (Meta) form


def meta_precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0) -> torch.Tensor:
    """meta-llama/llama, llama/model.py, transcribed."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device)
    freqs = torch.outer(t, freqs).float()
    return torch.polar(torch.ones_like(freqs), freqs)


def meta_apply_rotary_emb(xq, xk, freqs_cis):
    """meta-llama/llama, llama/model.py (reshape_for_broadcast inlined), transcribed."""
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    assert freqs_cis.shape == (xq_.shape[1], xq_.shape[-1])
    shape = [s if i == 1 or i == xq_.ndim - 1 else 1 for i, s in enumerate(xq_.shape)]
    freqs_cis = freqs_cis.view(*shape)
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def test_complex_form_matches_meta_llama() -> None:
    """300 seeded float32 cases against Meta's code transcribed above."""
    gen = torch.Generator().manual_seed(9)
    for trial in range(cases(300)):
        d, base = HEAD_DIMS[trial % len(HEAD_DIMS)], BASES[trial % len(BASES)]
        length = int(torch.randint(1, 9, (1,), generator=gen))
        xq = torch.randn(2, length, 3, d, generator=gen)
        xk = torch.randn(2, length, 1, d, generator=gen)
        expected_f = meta_precompute_freqs_cis(d, length, base)
        freqs = impl.precompute_freqs_cis(d, length, base)
        assert_close(torch.view_as_real(freqs), torch.view_as_real(expected_f), atol=1e-6, rtol=0)
        eq, ek = meta_apply_rotary_emb(xq, xk, expected_f)
        aq, ak = impl.apply_rotary_emb(xq, xk, expected_f)
        assert_close(aq, eq, atol=1e-6, rtol=0)
        assert_close(ak, ek, atol=1e-6, rtol=0)


def test_complex_form_is_rotate_half_on_permuted_dims() -> None:
    """1,000 seeded float64 cases: Meta's interleaved rotation, read through the permutation
    [0, 2, 4, ..., 1, 3, 5, ...], equals HF's half-split rotation of the permuted input."""
    gen = torch.Generator().manual_seed(10)
    for trial in range(cases(1000)):
        d, base = HEAD_DIMS[trial % len(HEAD_DIMS)], BASES[trial % len(BASES)]
        length = int(torch.randint(1, 7, (1,), generator=gen))
        x = torch.randn(2, length, 2, d, generator=gen, dtype=F64)  # Meta: [B, L, H, d]
        meta_q, _ = impl.apply_rotary_emb(x, x, impl.precompute_freqs_cis(d, length, base, F64))
        p = impl.interleaved_to_half(d)
        cos, sin = impl.rope_cos_sin(torch.arange(length).expand(2, length), d, base, F64)
        hf_q, _ = hf.apply_rotary_pos_emb(x[..., p], x[..., p], cos, sin, unsqueeze_dim=2)
        assert_close(hf_q, meta_q[..., p], atol=1e-12, rtol=0, inputs={"d": d})
        if d >= 4 and length > 1:  # without the permutation they differ: the porting bug
            wrong, _ = hf.apply_rotary_pos_emb(x, x, cos, sin, unsqueeze_dim=2)
            assert not torch.allclose(wrong, meta_q)


def hf_convert_permute(w: torch.Tensor, n_heads: int, dim1: int, dim2: int) -> torch.Tensor:
    """huggingface/transformers, src/transformers/models/llama/convert_llama_weights_to_hf.py."""
    return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def test_hf_weight_permutation_turns_meta_rope_into_rotate_half() -> None:
    """200 seeded projections W_q: Meta rotation of x W^T (per head) = HF rotation of
    x permute(W)^T, read in the permuted order: the conversion script's only RoPE change."""
    gen = torch.Generator().manual_seed(11)
    for trial in range(cases(200)):
        n_heads, d = 1 + trial % 3, HEAD_DIMS[1 + trial % (len(HEAD_DIMS) - 1)]
        dim, length = n_heads * d, int(torch.randint(1, 6, (1,), generator=gen))
        w = torch.randn(dim, dim, generator=gen, dtype=F64)
        x = torch.randn(1, length, dim, generator=gen, dtype=F64)
        q_meta = (x @ w.T).view(1, length, n_heads, d)
        meta = impl.apply_rotary_emb(
            q_meta, q_meta, impl.precompute_freqs_cis(d, length, dtype=F64)
        )[0]
        q_hf = (x @ hf_convert_permute(w, n_heads, dim, dim).T).view(1, length, n_heads, d)
        cos, sin = impl.rope_cos_sin(torch.arange(length)[None], d, dtype=F64)
        rot, _ = impl.apply_rotary_pos_emb(q_hf, q_hf, cos, sin, unsqueeze_dim=2)
        assert_close(rot, meta[..., impl.interleaved_to_half(d)], atol=1e-10, rtol=0)


# ---------------------------------------------------------------- context extension vs HF


def _hf_init(config: LlamaConfig, rope: dict, **kw: object) -> tuple[torch.Tensor, float]:
    config.rope_parameters = rope
    return ROPE_INIT_FUNCTIONS[rope["rope_type"]](config, **kw)


def test_linear_scaling_matches_transformers() -> None:
    """400 seeded (d, base, factor) configs vs ROPE_INIT_FUNCTIONS["linear"]."""
    gen = torch.Generator().manual_seed(12)
    configs = {d: tiny_config(d, 10000.0) for d in HEAD_DIMS}
    for trial in range(cases(400)):
        d, base = HEAD_DIMS[trial % len(HEAD_DIMS)], BASES[trial % len(BASES)]
        factor = float(1 + 15 * torch.rand(1, generator=gen))
        rope = {"rope_type": "linear", "rope_theta": base, "factor": factor}
        inv, att = _hf_init(configs[d], rope)
        assert att == 1.0
        assert_close(impl.linear_scaling_inv_freq(d, base, factor), inv, atol=0, rtol=1e-6)


def test_position_interpolation_is_scaling_positions() -> None:
    """PI: frequencies theta / s give the same angles as positions m / s."""
    pos = torch.arange(0, 16384, 7)[None]
    for d, s in ((8, 2.0), (64, 4.0), (128, 8.0)):
        cos, sin = impl.cos_sin_from_inv_freq(pos, impl.linear_scaling_inv_freq(d, 1e4, s))
        exp_cos, exp_sin = impl.rope_cos_sin(pos / s, d, 1e4, dtype=F64)
        assert_close(cos, exp_cos, atol=1e-9, rtol=0)
        assert_close(sin, exp_sin, atol=1e-9, rtol=0)


def test_dynamic_ntk_matches_transformers() -> None:
    """400 seeded (d, base, factor, seq_len) configs vs ROPE_INIT_FUNCTIONS["dynamic"]."""
    gen = torch.Generator().manual_seed(13)
    configs = {d: tiny_config(d, 10000.0, max_position_embeddings=2048) for d in HEAD_DIMS[1:]}
    for trial in range(cases(400)):
        d = HEAD_DIMS[1 + trial % (len(HEAD_DIMS) - 1)]  # d = 2 has d - 2 = 0
        base = BASES[trial % len(BASES)]
        factor = float(1 + 7 * torch.rand(1, generator=gen))
        seq_len = int(torch.randint(1, 20000, (1,), generator=gen))
        rope = {"rope_type": "dynamic", "rope_theta": base, "factor": factor}
        inv, _ = _hf_init(configs[d], rope, seq_len=seq_len)
        actual = impl.dynamic_ntk_inv_freq(d, base, factor, seq_len, 2048)
        assert_close(actual, inv, atol=0, rtol=2e-6, inputs={"d": d, "seq_len": seq_len})


def test_ntk_aware_divides_lowest_frequency_by_s_and_keeps_highest() -> None:
    # base' = base * s**(d/(d-2)): theta_0 = 1 unchanged; theta_{d/2-1} = base'**(-(d-2)/d)
    # = base**(-(d-2)/d) / s exactly the PI value for the slowest pair.
    for d in (4, 16, 128):
        for s in (2.0, 4.0, 16.0):
            ntk = impl.ntk_scaling_inv_freq(d, 1e4, s)
            plain = impl.rope_inv_freq(d, 1e4)
            assert float(ntk[0]) == 1.0
            assert math.isclose(float(ntk[-1]), float(plain[-1]) / s, rel_tol=1e-12)


def yarn_configs(gen: torch.Generator, n: int) -> list[dict]:
    out = []
    for trial in range(n):
        out.append(
            {
                "head_dim": HEAD_DIMS[2 + trial % (len(HEAD_DIMS) - 2)],
                "base": BASES[trial % len(BASES)],
                "factor": float(1 + 31 * torch.rand(1, generator=gen)),
                "original_max_position_embeddings": [512, 2048, 4096, 8192][trial % 4],
                "beta_fast": [32.0, 16.0, 64.0][trial % 3],
                "beta_slow": [1.0, 2.0][trial % 2],
                "truncate": trial % 5 != 0,
            }
        )
    return out


def test_yarn_matches_transformers() -> None:
    """600 seeded YaRN configs: inv_freq (rtol 1e-5) and attention_factor (1e-12)."""
    gen = torch.Generator().manual_seed(14)
    configs = {d: tiny_config(d, 10000.0) for d in HEAD_DIMS}
    for c in yarn_configs(gen, 600):
        rope = {
            "rope_type": "yarn",
            "rope_theta": c["base"],
            "factor": c["factor"],
            "original_max_position_embeddings": c["original_max_position_embeddings"],
            "beta_fast": c["beta_fast"],
            "beta_slow": c["beta_slow"],
            "truncate": c["truncate"],
        }
        inv, att = _hf_init(configs[c["head_dim"]], rope)
        actual, actual_att = impl.yarn_inv_freq(**c)
        assert_close(actual, inv, atol=0, rtol=1e-5, inputs=c)
        assert math.isclose(actual_att, att, rel_tol=1e-12), c


def test_yarn_rotary_embedding_scales_cos_and_sin() -> None:
    """LlamaRotaryEmbedding with a YaRN config: cos/sin = ours times attention_factor."""
    config = tiny_config(
        16,
        10000.0,
        rope={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 256},
        max_position_embeddings=1024,
    )
    rot = hf.LlamaRotaryEmbedding(config)
    pos = torch.arange(0, 1024, 3)[None]
    exp_cos, exp_sin = rot(torch.zeros(1), pos)
    inv, att = impl.yarn_inv_freq(16, 10000.0, 4.0, 256)
    assert math.isclose(att, 0.1 * math.log(4.0) + 1, rel_tol=1e-15)
    cos, sin = impl.cos_sin_from_inv_freq(pos, inv, att)
    assert_close(cos, exp_cos, atol=2e-4, rtol=0)  # HF: float32 angles up to ~1,000 rad
    assert_close(sin, exp_sin, atol=2e-4, rtol=0)


def test_yarn_regions_follow_the_paper() -> None:
    """Pairs whose wave turns more than beta_fast times in L keep theta; fewer than beta_slow
    times get theta / s (YaRN §3.2, r = L / lambda)."""
    d, base, s, L = 128, 10000.0, 8.0, 4096
    inv, _ = impl.yarn_inv_freq(d, base, s, L)
    theta = impl.rope_inv_freq(d, base)
    rotations = L * theta / (2 * math.pi)  # r = L / lambda, lambda = 2 pi / theta
    fast, slow = rotations > 33, rotations < 0.9  # a margin for the floor / ceil rounding
    assert fast.any() and slow.any()
    assert_close(inv[fast], theta[fast], atol=0, rtol=1e-12)
    assert_close(inv[slow], theta[slow] / s, atol=0, rtol=1e-12)
    assert bool((inv <= theta + 1e-18).all() and (inv >= theta / s - 1e-18).all())


# ---------------------------------------------------------------- ALiBi


def official_get_slopes(n: int) -> list[float]:
    """ofirpress/attention_with_linear_biases, fairseq/models/transformer.py, transcribed."""

    def get_slopes_power_of_2(n: int) -> list[float]:
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        ratio = start
        return [start * ratio**i for i in range(n)]

    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    closest_power_of_2 = 2 ** math.floor(math.log2(n))
    return (
        get_slopes_power_of_2(closest_power_of_2)
        + official_get_slopes(2 * closest_power_of_2)[0::2][: n - closest_power_of_2]
    )


def test_alibi_slopes_match_official_code_and_bloom() -> None:
    for n in range(1, 129):
        slopes = impl.alibi_slopes(n)
        assert_close(slopes, torch.tensor(official_get_slopes(n), dtype=F64), atol=0, rtol=1e-13)
        assert_close(slopes, _get_alibi_slopes(n, torch.device("cpu")), atol=0, rtol=1e-6)
    assert impl.alibi_slopes(8).tolist() == [2.0**-i for i in range(1, 9)]  # paper: 1/2 .. 1/256


def test_alibi_bias_and_the_official_row_shift() -> None:
    """bias = -m |i - j|. The official code adds m * j instead (rows identical): with a causal
    mask each row differs by the constant m * i, which softmax ignores."""
    gen = torch.Generator().manual_seed(15)
    h, length = 6, 9
    bias = impl.alibi_bias(h, length)
    m = torch.tensor(official_get_slopes(h), dtype=F64)
    i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
    assert_close(bias, -m[:, None, None] * (i - j).abs(), atol=0, rtol=1e-13)
    logits = torch.randn(h, length, length, generator=gen, dtype=F64)
    causal = torch.where(j <= i, 0.0, -math.inf)
    ours = torch.softmax(logits + bias + causal, -1)
    official = torch.softmax(logits + m[:, None, None] * j + causal, -1)
    assert_close(ours, official, atol=1e-12, rtol=0)


# ---------------------------------------------------------------- 2D RoPE


def ropevit_compute_axial_cis(dim: int, end_x: int, end_y: int, theta: float = 100.0):
    """naver-ai/rope-vit, models/vit_rope.py (init_t_xy inlined), transcribed in float64."""
    freqs_x = 1.0 / (theta ** (torch.arange(0, dim, 4)[: (dim // 4)].double() / dim))
    freqs_y = 1.0 / (theta ** (torch.arange(0, dim, 4)[: (dim // 4)].double() / dim))
    t = torch.arange(end_x * end_y, dtype=F64)
    t_x, t_y = t % end_x, torch.div(t, end_x, rounding_mode="floor")
    freqs_x, freqs_y = torch.outer(t_x, freqs_x), torch.outer(t_y, freqs_y)
    cis_x = torch.polar(torch.ones_like(freqs_x), freqs_x)
    cis_y = torch.polar(torch.ones_like(freqs_y), freqs_y)
    return torch.cat([cis_x, cis_y], dim=-1)


def grid_xy(end_x: int, end_y: int) -> torch.Tensor:
    t = torch.arange(end_x * end_y)
    return torch.stack((t % end_x, t // end_x), dim=-1)  # [N, 2], row-major like RoPE-ViT


def test_rope_2d_matches_ropevit_axial_on_permuted_dims() -> None:
    gen = torch.Generator().manual_seed(16)
    for d, ex, ey in ((4, 3, 2), (8, 4, 4), (16, 5, 3), (64, 14, 14)):
        x = torch.randn(1, ex * ey, 2, d, generator=gen, dtype=F64)  # [B, N, H, d]
        ref, _ = impl.apply_rotary_emb(x, x, ropevit_compute_axial_cis(d, ex, ey))
        cos, sin = impl.rope_2d_cos_sin(grid_xy(ex, ey)[None], d)
        p = impl.interleaved_to_half(d)
        ours, _ = impl.apply_rotary_pos_emb(x[..., p], x[..., p], cos, sin, unsqueeze_dim=2)
        assert_close(ours, ref[..., p], atol=1e-12, rtol=0, inputs={"d": d})


def test_rope_2d_score_depends_only_on_relative_offset() -> None:
    """1,000 seeded cases: q at (x1, y1), k at (x2, y2), both shifted by (tx, ty)."""
    gen = torch.Generator().manual_seed(17)
    cases, d = 1000, 32
    q = torch.randn(cases, 1, 1, d, generator=gen, dtype=F64)
    k = torch.randn(cases, 1, 1, d, generator=gen, dtype=F64)
    pq = torch.randint(0, 64, (cases, 1, 2), generator=gen)
    pk = torch.randint(0, 64, (cases, 1, 2), generator=gen)
    shift = torch.randint(0, 64, (cases, 1, 2), generator=gen)

    def score(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        rq, _ = impl.apply_rotary_pos_emb(q, q, *impl.rope_2d_cos_sin(a, d))
        rk, _ = impl.apply_rotary_pos_emb(k, k, *impl.rope_2d_cos_sin(b, d))
        return (rq * rk).sum(-1).flatten()

    assert_close(score(pq, pk), score(pq + shift, pk + shift), atol=1e-10, rtol=0)
    # ... and it does see both axes: swapping x and y of the offset changes the score.
    assert not torch.allclose(score(pq, pk), score(pq.flip(-1), pk.flip(-1)))


# ---------------------------------------------------------------- sinusoidal / learned


def test_sinusoidal_equals_paper_formula() -> None:
    for length, d in ((1, 2), (5, 4), (50, 16), (300, 64)):
        pe = impl.sinusoidal_position_encoding(length, d, dtype=F64)
        expected = torch.tensor(
            [
                [
                    math.sin(p / 10000 ** (i / d))
                    if i % 2 == 0
                    else math.cos(p / 10000 ** ((i - 1) / d))
                    for i in range(d)
                ]
                for p in range(length)
            ],
            dtype=F64,
        )
        assert_close(pe, expected, atol=1e-12, rtol=0)


def test_sinusoidal_shift_is_a_fixed_linear_map() -> None:
    # Vaswani et al. §3.5: PE(pos + k) is a linear function of PE(pos). Each (sin, cos) pair
    # is turned by the angle k * w_i, whatever pos is.
    d, k = 16, 7
    pe = impl.sinusoidal_position_encoding(100, d, dtype=F64)
    w = torch.tensor([10000 ** (-2 * i / d) for i in range(d // 2)], dtype=F64)
    s, c = pe[:-k, 0::2], pe[:-k, 1::2]
    assert_close(pe[k:, 0::2], s * torch.cos(k * w) + c * torch.sin(k * w), atol=1e-12, rtol=0)
    assert_close(pe[k:, 1::2], c * torch.cos(k * w) - s * torch.sin(k * w), atol=1e-12, rtol=0)


def test_learned_position_embedding_has_no_row_past_max_len() -> None:
    emb = impl.LearnedPositionEmbedding(16, 8)
    out = emb(torch.arange(16)[None])
    assert out.shape == (1, 16, 8)
    assert_close(out[0], emb.weight, atol=0, rtol=0)
    with raises_naming(ValueError, "position_ids", "max_len"):
        emb(torch.tensor([[3, 16]]))


# ---------------------------------------------------------------- bad input


def test_input_errors() -> None:
    q = torch.zeros(1, 2, 3, 4)
    cos, sin = impl.rope_cos_sin(torch.arange(3)[None], 4)
    with raises_naming(TypeError, "x", "torch.Tensor"):
        impl.rotate_half([1.0, 2.0])
    with raises_naming(ValueError, "x", "even"):
        impl.rotate_half(torch.zeros(2, 5))
    with raises_naming(TypeError, "q", "torch.Tensor"):
        impl.apply_rotary_pos_emb(q.tolist(), q, cos, sin)
    with raises_naming(TypeError, "cos", "torch.Tensor"):
        impl.apply_rotary_pos_emb(q, q, cos.numpy(), sin)
    with raises_naming(ValueError, "q", "even"):
        impl.apply_rotary_pos_emb(torch.zeros(1, 2, 3, 5), torch.zeros(1, 2, 3, 5), cos, sin)
    with raises_naming(ValueError, "cos", "sin", "[B, L, d]"):
        impl.apply_rotary_pos_emb(q, q, cos, sin[..., :2])
    with raises_naming(ValueError, "cos", "[B, L, d]"):
        impl.apply_rotary_pos_emb(q, q, cos[0], sin[0])  # wrong rank: [L, d]
    with raises_naming(ValueError, "cos", "broadcast"):
        impl.apply_rotary_pos_emb(q, q, cos[:, :2], sin[:, :2])  # L = 2 vs 3
    with raises_naming(ValueError, "head_dim", "divisible by 2"):
        impl.rope_cos_sin(torch.arange(3)[None], 5)
    with raises_naming(TypeError, "position_ids", "torch.Tensor"):
        impl.rope_cos_sin([[0, 1, 2]], 4)
    with raises_naming(ValueError, "dim"):
        impl.sinusoidal_position_encoding(4, 3)
    with raises_naming(ValueError, "num_positions"):
        impl.sinusoidal_position_encoding(-1, 4)
    with raises_naming(ValueError, "xq", "freqs_cis"):
        impl.apply_rotary_emb(torch.zeros(1, 3, 2, 4), torch.zeros(1, 3, 2, 4), torch.ones(2, 2))
    with raises_naming(TypeError, "freqs_cis"):
        impl.apply_rotary_emb(torch.zeros(1, 3, 2, 4), torch.zeros(1, 3, 2, 4), [1])
    with raises_naming(ValueError, "n_heads"):
        impl.alibi_slopes(0)
    with raises_naming(ValueError, "head_dim", "divisible by 4"):
        impl.rope_2d_cos_sin(torch.zeros(3, 2), 6)
    with raises_naming(ValueError, "pos_xy", "[..., N, 2]"):
        impl.rope_2d_cos_sin(torch.zeros(3, 3), 8)


# ---------------------------------------------------------------- practice diagnostics
# Each test below catches one classic mistake and says so in plain words.


def test_rotate_half_pairs_dim_i_with_i_plus_half() -> None:
    d = 8
    for i in range(d // 2):
        e = torch.zeros(d, dtype=F64)
        e[i] = 1.0
        out = impl.rotate_half(e)
        assert out.shape == (d,), f"rotate_half must keep the shape [..., d], got {out.shape}"
        if out[i + 1].abs() > 0.5 and i % 2 == 0 and out[i + d // 2].abs() < 0.5:
            raise AssertionError(
                "rotate_half pairs neighbours (2i, 2i+1) — that is Meta's interleaved layout. "
                "HF Llama splits in halves: dim i pairs with dim i + d/2, "
                "rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2])"
            )
        assert out[i + d // 2].abs() > 0.5, (
            f"rotate_half must move dim {i} to dim {i + d // 2} (half split: pair (i, i + d/2)); "
            f"rotate_half(e_{i}) = {out.tolist()}"
        )


def test_rotate_half_sign() -> None:
    # rotate_half([x1, x2]) = [-x2, x1]: e_0 -> +e_{d/2}, e_{d/2} -> -e_0 (a +90 degree turn).
    d = 4
    out = impl.rotate_half(torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=F64))
    back = impl.rotate_half(torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=F64))
    if float(out[d // 2]) < -0.5 and float(back[0]) > 0.5:
        raise AssertionError(
            "rotate_half has the sign flipped: it must return cat(-x2, x1), not cat(x2, -x1). "
            "The flipped version rotates by -m*theta: q.k then depends on n - m, and weights "
            f"trained with HF's convention break. rotate_half(e_0) = {out.tolist()}, "
            f"rotate_half(e_2) = {back.tolist()}"
        )
    if abs(float(out[d // 2])) > 0.5:  # half split (the pairing test covers the other case)
        assert_close(out, torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=F64), atol=0, rtol=0)
        assert_close(back, torch.tensor([-1.0, 0.0, 0.0, 0.0], dtype=F64), atol=0, rtol=0)


def test_frequencies_use_exponent_2i_over_d() -> None:
    d, base = 8, 10000.0
    expected = [base ** (-2 * i / d) for i in range(d // 2)]
    wrong = [base ** (-i / d) for i in range(d // 2)]
    _, sin = impl.rope_cos_sin(torch.tensor([[1]]), d, base, dtype=F64)
    got = torch.asin(sin[0, 0, : d // 2]).tolist()  # angles at position 1 are theta_i < pi/2
    if all(math.isclose(g, w, rel_tol=1e-6) for g, w in zip(got, wrong, strict=True)):
        raise AssertionError(
            "the frequencies use base ** (-i / d); RoPE uses base ** (-2i / d) with i the pair "
            "index 0 .. d/2 - 1, i.e. 1 / base ** (torch.arange(0, d, 2) / d)"
        )
    assert_close(torch.tensor(got), torch.tensor(expected), atol=1e-9, rtol=0)


def test_cos_sin_broadcast_over_the_head_axis() -> None:
    # B = H = 2 makes the missing unsqueeze silently broadcast [B, L, d] against [H, L, d].
    gen = torch.Generator().manual_seed(18)
    q = torch.randn(2, 2, 3, 4, generator=gen, dtype=F64)
    k = torch.randn(2, 2, 3, 4, generator=gen, dtype=F64)
    pos = torch.tensor([[0, 1, 2], [10, 11, 12]])
    cos, sin = impl.rope_cos_sin(pos, 4, dtype=F64)

    def expected_with(a: torch.Tensor) -> torch.Tensor:  # uses YOUR rotate_half: only the
        return a * cos[:, None] + impl.rotate_half(a) * sin[:, None]  # broadcast is judged

    message = (
        "cos/sin are [B, L, d]: unsqueeze them at unsqueeze_dim (1 for q of shape "
        "[B, H, L, d]) so that every head of sample b gets sample b's positions"
    )
    try:
        actual = impl.apply_rotary_pos_emb(q, k, cos, sin)
    except NotImplementedError:
        raise
    except Exception as err:
        raise AssertionError(f"{message}; the call raised {type(err).__name__}: {err}") from err
    if not torch.allclose(actual[0], expected_with(q)):
        raise AssertionError(message)
    q3 = torch.randn(2, 3, 3, 4, generator=gen, dtype=F64)  # H = 3 != B
    try:
        out = impl.apply_rotary_pos_emb(q3, q3, cos, sin)
    except NotImplementedError:
        raise
    except Exception as err:
        raise AssertionError(f"{message}; the call raised {type(err).__name__}: {err}") from err
    assert_close(out[0], expected_with(q3), atol=1e-12, rtol=0)


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.transformer.rope import draw_long_term_decay, draw_wavelengths

    for draw in (draw_long_term_decay, draw_wavelengths):
        fig = draw(lang)
        assert isinstance(fig, matplotlib.figure.Figure)
