"""Tests for snippets/transformer/kv_cache.py: KV cache, GQA/MQA, MLA absorption, cost formulas.

References: ``transformers`` 5.23 (``models.llama.modeling_llama.repeat_kv``,
``cache_utils.DynamicLayer`` / ``DynamicCache``, tiny random ``LlamaForCausalLM`` and
``DeepseekV2ForCausalLM`` built from a config, nothing downloaded), ``torch.nn.functional.
scaled_dot_product_attention`` (``enable_gqa=True``, ``causal_lower_right``), FLOPs counted by
``torch.utils.flop_counter.FlopCounterMode``, and float64 transcriptions of the formulas
written here.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention.bias import causal_lower_right
from torch.utils.flop_counter import FlopCounterMode
from transformers import DeepseekV2Config, DeepseekV2ForCausalLM, LlamaConfig, LlamaForCausalLM
from transformers.cache_utils import DynamicCache, DynamicLayer
from transformers.models.llama.modeling_llama import repeat_kv as hf_repeat_kv

from tests.support import LANG, assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.transformer.kv_cache")

F64 = torch.float64

_MSG = {
    "en": {
        "order": (
            "repeat_kv must GROUP the copies: query head h reads KV head h // n_rep, so "
            "2 KV heads with n_rep=3 give [0, 0, 0, 1, 1, 1] (repeat_interleave / expand + "
            "reshape), not [0, 1, 0, 1, 0, 1] (Tensor.repeat tiles them)"
        ),
        "axis": (
            "the cache must grow along the SEQUENCE axis dim=-2 of [B, H_kv, S, D]: after a step "
            "with S cached and T new tokens, keys must be [B, H_kv, S + T, D] (got {got})"
        ),
        "newest": (
            "a single new query is the LAST position and must see ALL S cached keys, its own "
            "included. is_causal=True in scaled_dot_product_attention builds a top-left mask "
            "(query 0 sees key 0 only); use tril(diagonal=S - T) or no mask when T == 1"
        ),
        "chunk": (
            "with T > 1 new queries after S - T cached tokens, query i is position S - T + i and "
            "sees keys 0 .. S - T + i (bottom-right causal mask, tril(diagonal=S - T))"
        ),
        "stored": (
            "decode_step must RETURN the cache with the new tokens appended: keys[..., :S, :] = "
            "past_key and keys[..., S:, :] = k_proj of the new tokens; the next step needs them"
        ),
        "past": (
            "the new token must attend to the cached tokens too: concatenate past_key/past_value "
            "with the new keys/values BEFORE attention (and do not mask the cached keys out)"
        ),
        "full": (
            "prefill + step-by-step decoding with the cache must equal full causal attention "
            "over the whole sequence"
        ),
    },
    "zh": {
        "order": (
            "repeat_kv 的副本必须相邻：query 头 h 读取 KV 头 h // n_rep，2 个 KV 头、n_rep=3 应得到 "
            "[0, 0, 0, 1, 1, 1]（repeat_interleave / expand + reshape），而不是 "
            "[0, 1, 0, 1, 0, 1]（Tensor.repeat 是整体平铺）"
        ),
        "axis": (
            "缓存必须沿 [B, H_kv, S, D] 的序列维 dim=-2 增长：已缓存 S 个、新来 T 个 token 后，"
            "keys 应为 [B, H_kv, S + T, D]（实际 {got}）"
        ),
        "newest": (
            "单个新 query 位于最后一个位置，必须看到全部 S 个缓存的 key（包括它自己）。"
            "scaled_dot_product_attention 的 is_causal=True 生成左上对齐的 mask（query 0 只看 key 0）；"
            "应使用 tril(diagonal=S - T)，或在 T == 1 时不加 mask"
        ),
        "chunk": (
            "已缓存 S - T 个 token 后再来 T > 1 个 query 时，query i 的位置是 S - T + i，"
            "能看到 key 0 .. S - T + i（右下对齐的因果 mask，tril(diagonal=S - T)）"
        ),
        "stored": (
            "decode_step 必须返回追加了新 token 的缓存：keys[..., :S, :] = past_key，"
            "keys[..., S:, :] = 新 token 的 k_proj；下一步要用到它们"
        ),
        "past": "新 token 也要关注已缓存的 token：先把 past_key/past_value 与新的 K/V 拼接，再做注意力（也不要把缓存的 key mask 掉）",
        "full": "prefill 加逐步解码（用缓存）的结果必须等于对整条序列做完整因果注意力的结果",
    },
}


def msg(key: str, **kw: object) -> str:
    return _MSG.get(LANG, _MSG["en"])[key].format(**kw)


# ---------------------------------------------------------------- helpers


def random_layer(gen: torch.Generator, e: int, h: int, h_kv: int, d: int):
    layer = impl.CausalSelfAttention(e, h, h_kv, head_dim=d, dtype=F64)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) / e**0.5)
    return layer


def full_causal_reference(layer, x: torch.Tensor) -> torch.Tensor:
    """No cache: project the whole sequence, causal SDPA with enable_gqa, output projection."""
    b, n, _ = x.shape
    d = layer.head_dim
    q = (x @ layer.q_proj.weight.T).view(b, n, -1, d).transpose(1, 2)
    k = (x @ layer.k_proj.weight.T).view(b, n, -1, d).transpose(1, 2)
    v = (x @ layer.v_proj.weight.T).view(b, n, -1, d).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    return out.transpose(1, 2).reshape(b, n, -1) @ layer.o_proj.weight.T


def keys_of(layer, x: torch.Tensor) -> torch.Tensor:
    b, n, _ = x.shape
    return (x @ layer.k_proj.weight.T).view(b, n, -1, layer.head_dim).transpose(1, 2)


def step(layer, x, past_k=None, past_v=None):
    """impl.decode_step, with torch.cat's shape clash (cache grown on the wrong axis) explained."""
    try:
        with torch.no_grad():
            return impl.decode_step(layer, x, past_k, past_v)
    except RuntimeError as err:
        raise AssertionError(msg("axis", got=f"RuntimeError: {err}")) from None


def random_config(gen: torch.Generator) -> tuple[int, int, int, int, int]:
    """(B, H, H_kv, D, E): MHA, GQA and MQA, odd head dims included."""
    h_kv = int(torch.randint(1, 4, (1,), generator=gen))
    n_rep = int(torch.randint(1, 4, (1,), generator=gen))
    b = int(torch.randint(1, 4, (1,), generator=gen))
    d = int(torch.randint(1, 8, (1,), generator=gen))
    e = int(torch.randint(2, 13, (1,), generator=gen))
    return b, h_kv * n_rep, h_kv, d, e


def chunks(gen: torch.Generator, n: int) -> list[int]:
    """A prefill of any length 0..n (0 = decode from an empty cache), then mostly 1-token steps."""
    prefill = int(torch.randint(0, n + 1, (1,), generator=gen))
    sizes = [prefill] if prefill else []
    left = n - prefill
    while left:
        step = (
            1
            if torch.rand(1, generator=gen) < 0.8
            else int(torch.randint(1, left + 1, (1,), generator=gen))
        )
        step = min(step, left)
        sizes.append(step)
        left -= step
    return sizes


# ---------------------------------------------------------------- repeat_kv


def test_repeat_kv_groups_copies_of_each_head() -> None:
    x = torch.tensor([0.0, 1.0]).view(1, 2, 1, 1)  # head index as value
    got = impl.repeat_kv(x, 3).flatten().tolist()
    assert got == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], msg("order") + f"; got {got}"


def test_repeat_kv_matches_transformers_on_2000_cases() -> None:
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        b, h_kv, s, d = (int(v) for v in torch.randint(1, 5, (4,), generator=gen))
        s -= 1  # empty sequences too
        n_rep = int(torch.randint(1, 5, (1,), generator=gen))
        x = torch.randn(b, h_kv, s, d, generator=gen, dtype=F64)
        got = impl.repeat_kv(x, n_rep)
        assert_equal(got, hf_repeat_kv(x, n_rep), inputs={"shape": tuple(x.shape), "n_rep": n_rep})
        assert_equal(got, x.repeat_interleave(n_rep, dim=1))


def test_repeat_kv_edge_cases() -> None:
    x = torch.randn(2, 3, 4, 5)
    assert_equal(impl.repeat_kv(x, 1), x)  # MHA: nothing to do
    mqa = torch.randn(2, 1, 4, 5)
    out = impl.repeat_kv(mqa, 6)  # MQA: one KV head for all 6 query heads
    assert out.shape == (2, 6, 4, 5)
    assert_equal(out, mqa.expand(2, 6, 4, 5))


# ---------------------------------------------------------------- the cache object


def test_kv_cache_update_matches_dynamic_layer_and_dynamic_cache() -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(300)):
        b, h_kv, d, d_v = (int(v) for v in torch.randint(1, 5, (4,), generator=gen))
        ours, layer, cache = impl.KVCache(), DynamicLayer(), DynamicCache()
        for t in torch.randint(1, 4, (int(torch.randint(1, 6, (1,), generator=gen)),)).tolist():
            k = torch.randn(b, h_kv, t, d, generator=gen, dtype=F64)
            v = torch.randn(b, h_kv, t, d_v, generator=gen, dtype=F64)
            got = ours.update(k, v)
            for expected in (layer.update(k, v), cache.update(k, v, layer_idx=0)):
                assert_equal(got[0], expected[0])
                assert_equal(got[1], expected[1])
        assert ours.get_seq_length() == layer.get_seq_length() == cache.get_seq_length()


def test_kv_cache_starts_empty() -> None:
    cache = impl.KVCache()
    assert cache.get_seq_length() == 0
    k, v = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4)
    keys, values = cache.update(k, v)
    assert keys is k and values is v and cache.get_seq_length() == 3


# ---------------------------------------------------------------- cached decoding


def test_decode_step_grows_the_cache_on_the_sequence_axis() -> None:
    gen = torch.Generator().manual_seed(4)
    layer = random_layer(gen, 6, 2, 2, 3)  # H = H_kv: cat on dim=1 would also "work" shape-wise
    x = torch.randn(1, 4, 6, generator=gen, dtype=F64)
    with torch.no_grad():
        _, k, v = impl.decode_step(layer, x[:, :3])
        assert k is not None and v is not None, msg("stored")
        _, k, v = step(layer, x[:, 3:], k, v)
    assert k is not None and v is not None, msg("stored")
    assert tuple(k.shape) == (1, 2, 4, 3), msg("axis", got=tuple(k.shape))
    assert tuple(v.shape) == (1, 2, 4, 3), msg("axis", got=tuple(v.shape))


def test_decode_step_returns_the_new_keys_and_values() -> None:
    gen = torch.Generator().manual_seed(5)
    layer = random_layer(gen, 8, 4, 2, 2)
    x = torch.randn(2, 5, 8, generator=gen, dtype=F64)
    past_k, past_v = keys_of(layer, x[:, :4]), torch.randn(2, 2, 4, 2, generator=gen, dtype=F64)
    _, k, v = step(layer, x[:, 4:], past_k, past_v)  # step() calls impl.decode_step
    assert k is not None and v is not None, msg("stored")
    assert k.shape[-2] == 5 and v.shape[-2] == 5, msg("stored")
    assert torch.allclose(k[..., :4, :], past_k) and torch.allclose(v[..., :4, :], past_v), msg(
        "stored"
    )
    assert torch.allclose(k[..., 4:, :], keys_of(layer, x[:, 4:])), msg("stored")


def test_single_new_query_sees_every_cached_key() -> None:
    # Zero query: equal scores, so the output is the MEAN of the visible values. Values 0..S-1.
    for s in (1, 2, 5):
        q = torch.zeros(1, 2, 1, 3, dtype=F64)
        k = torch.zeros(1, 1, s, 3, dtype=F64)
        v = torch.arange(s, dtype=F64).view(1, 1, s, 1)
        got = impl.cached_attention(q, k, v)
        mean = (s - 1) / 2  # of 0..S-1; top-left masking would give 0, dropping the newest key
        assert torch.allclose(got, torch.full_like(got, mean)), msg("newest") + f"; S={s}: {got}"


def test_chunked_queries_use_a_bottom_right_causal_mask() -> None:
    # S = 5 keys with values 0..4, T = 3 new queries at positions 2, 3, 4: means 1, 1.5, 2.
    q = torch.zeros(1, 1, 3, 2, dtype=F64)
    k = torch.zeros(1, 1, 5, 2, dtype=F64)
    v = torch.arange(5, dtype=F64).view(1, 1, 5, 1)
    got = impl.cached_attention(q, k, v).flatten().tolist()
    assert got == pytest.approx([1.0, 1.5, 2.0], abs=1e-12), msg("chunk") + f"; got {got}"


def test_decode_step_attends_to_the_cached_tokens() -> None:
    gen = torch.Generator().manual_seed(6)
    layer = random_layer(gen, 8, 4, 1, 2)
    x = torch.randn(2, 6, 8, generator=gen, dtype=F64)
    _, k, v = step(layer, x[:, :5])
    out, _, _ = step(layer, x[:, 5:], k, v)
    with torch.no_grad():
        alone, _, _ = impl.decode_step(layer, x[:, 5:])  # no past: sees itself only
        expected = full_causal_reference(layer, x)[:, 5:]
    assert not torch.allclose(expected, alone)  # the test can tell the two apart
    assert torch.allclose(out, expected, atol=1e-10), msg("past")


def test_decode_step_equals_full_causal_attention_on_600_configs() -> None:
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(600)):
        b, h, h_kv, d, e = random_config(gen)
        n = int(torch.randint(1, 9, (1,), generator=gen))
        layer = random_layer(gen, e, h, h_kv, d)
        x = torch.randn(b, n, e, generator=gen, dtype=F64)
        sizes = chunks(gen, n)
        past_k = past_v = None
        outs, start = [], 0
        with torch.no_grad():
            for t in sizes:
                out, past_k, past_v = impl.decode_step(
                    layer, x[:, start : start + t], past_k, past_v
                )
                outs.append(out)
                start += t
            expected = full_causal_reference(layer, x)
        inputs = {"B, H, H_kv, D, E": (b, h, h_kv, d, e), "chunk sizes": sizes}
        assert past_k is not None, msg("stored")
        assert past_k.shape == (b, h_kv, n, d), msg("axis", got=tuple(past_k.shape))
        try:
            assert_close(torch.cat(outs, dim=1), expected, atol=1e-10, rtol=1e-10, inputs=inputs)
        except AssertionError as err:
            raise AssertionError(msg("full") + "\n" + str(err)) from None
        assert_close(past_k, keys_of(layer, x), atol=1e-12, rtol=0, inputs=inputs)


def test_decode_step_float32_batch_of_equal_lengths() -> None:
    gen = torch.Generator().manual_seed(3)
    layer = random_layer(gen, 32, 8, 2, 4).float()
    x = torch.randn(4, 10, 32, generator=gen)
    with torch.no_grad():
        out, k, v = impl.decode_step(layer, x[:, :6])  # prefill 6 tokens for 4 sequences
        steps = [out]
        for i in range(6, 10):
            out, k, v = impl.decode_step(layer, x[:, i : i + 1], k, v)
            steps.append(out)
        expected = full_causal_reference(layer, x)
    assert_close(torch.cat(steps, dim=1), expected, atol=1e-5, rtol=1e-5)


def test_cached_attention_matches_sdpa_enable_gqa_on_1500_cases() -> None:
    gen = torch.Generator().manual_seed(7)
    for _ in range(cases(1500)):
        b, h, h_kv, d, _ = random_config(gen)
        s = int(torch.randint(1, 9, (1,), generator=gen))
        t = int(torch.randint(1, s + 1, (1,), generator=gen))
        d_v = int(torch.randint(1, 6, (1,), generator=gen))
        q = torch.randn(b, h, t, d, generator=gen, dtype=F64)
        k = torch.randn(b, h_kv, s, d, generator=gen, dtype=F64)
        v = torch.randn(b, h_kv, s, d_v, generator=gen, dtype=F64)
        expected = F.scaled_dot_product_attention(
            q, k, v, attn_mask=causal_lower_right(t, s), enable_gqa=True
        )
        inputs = {"q": tuple(q.shape), "k": tuple(k.shape), "v": tuple(v.shape)}
        assert_close(
            impl.cached_attention(q, k, v), expected, atol=1e-12, rtol=1e-12, inputs=inputs
        )


def test_decode_step_matches_transformers_llama_attention_with_dynamic_cache() -> None:
    """LlamaAttention with RoPE switched off (cos = 1, sin = 0) and a DynamicCache, step by step."""
    from transformers.models.llama.modeling_llama import LlamaAttention

    gen = torch.Generator().manual_seed(8)
    for h, h_kv, d in ((4, 4, 4), (4, 2, 4), (6, 1, 3)):
        cfg = LlamaConfig(
            hidden_size=12, num_attention_heads=h, num_key_value_heads=h_kv, head_dim=d
        )
        cfg._attn_implementation = "eager"
        ref = LlamaAttention(cfg, layer_idx=0).double().eval()
        ours = impl.CausalSelfAttention(12, h, h_kv, head_dim=d, dtype=F64)
        ours.load_state_dict(ref.state_dict())
        x = torch.randn(2, 7, 12, generator=gen, dtype=F64)
        cache, past_k, past_v, start = DynamicCache(), None, None, 0
        for t in (4, 1, 1, 1):  # prefill 4, then three decode steps
            chunk = x[:, start : start + t]
            cos = torch.ones(2, t, d, dtype=F64)
            mask = (
                None
                if t == 1
                else torch.zeros(t, t, dtype=F64).masked_fill(
                    ~torch.ones(t, t, dtype=torch.bool).tril(), float("-inf")
                )[None, None]
            )
            with torch.no_grad():
                expected, _ = ref(chunk, (cos, torch.zeros_like(cos)), mask, past_key_values=cache)
                got, past_k, past_v = impl.decode_step(ours, chunk, past_k, past_v)
            # eager_attention_forward runs its softmax in float32: agreement to ~1e-8, not 1e-12.
            assert_close(got, expected, atol=1e-7, rtol=1e-6, inputs={"step size": t})
            assert_close(past_k, cache.layers[0].keys, atol=0, rtol=0)
            start += t


# ---------------------------------------------------------------- GQA / MQA savings


@pytest.mark.parametrize("h_kv", [1, 2, 4, 8])
def test_gqa_parameter_and_cache_savings(h_kv: int) -> None:
    h, d, e = 8, 4, 32
    layer = impl.CausalSelfAttention(e, h, h_kv, head_dim=d)
    kv_params = layer.k_proj.weight.numel() + layer.v_proj.weight.numel()
    assert kv_params == 2 * e * h_kv * d  # K/V projections shrink by H_kv / H
    assert sum(p.numel() for p in layer.parameters()) == impl.attention_params(e, h, h_kv, d)
    x = torch.randn(3, 5, e)
    with torch.no_grad():
        _, k, v = impl.decode_step(layer, x)
    real = k.numel() * k.element_size() + v.numel() * v.element_size()
    assert real == impl.kv_cache_size(1, h_kv, d, 3, 5, bytes_per_element=4)
    assert impl.kv_cache_size(1, h_kv, d, 3, 5) / impl.kv_cache_size(1, h, d, 3, 5) == h_kv / h


# ---------------------------------------------------------------- cache size vs real caches


def tiny_llama(h: int, h_kv: int, layers: int, dtype: torch.dtype, eager: bool = False):
    cfg = LlamaConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=layers,
        num_attention_heads=h,
        num_key_value_heads=h_kv,
        max_position_embeddings=64,
    )
    if eager:
        cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg).to(dtype).eval(), cfg


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(("h", "h_kv", "layers"), [(4, 2, 2), (4, 4, 1), (8, 1, 3)])
def test_kv_cache_size_matches_a_real_llama_dynamic_cache(
    h: int, h_kv: int, layers: int, dtype: torch.dtype
) -> None:
    model, cfg = tiny_llama(h, h_kv, layers, dtype)
    ids = torch.randint(0, 128, (3, 7), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        cache = model(ids, use_cache=True).past_key_values
    assert isinstance(cache, DynamicCache) and len(cache.layers) == layers
    real = sum(t.numel() * t.element_size() for lay in cache.layers for t in (lay.keys, lay.values))
    head_dim = cfg.hidden_size // h
    size = impl.kv_cache_size(layers, h_kv, head_dim, 3, 7, torch.finfo(dtype).bits // 8)
    assert real == size


def test_mla_cache_size_matches_a_real_deepseek_v2_cache() -> None:
    # transformers 5.23 caches MLA compressed: per layer, "keys" = c^KV [B, 1, S, d_c] and
    # "values" = the RoPE key [B, 1, S, d_h^R].
    cfg = DeepseekV2Config(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        kv_lora_rank=24,
        q_lora_rank=None,
        qk_nope_head_dim=16,
        qk_rope_head_dim=8,
        v_head_dim=16,
        n_routed_experts=4,
        num_experts_per_tok=2,
        n_shared_experts=1,
        moe_intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    model = DeepseekV2ForCausalLM(cfg).eval()
    ids = torch.randint(0, 128, (2, 5), generator=torch.Generator().manual_seed(10))
    with torch.no_grad():
        cache = model(ids, use_cache=True).past_key_values
    assert cache.layers[0].keys.shape == (2, 1, 5, 24)
    assert cache.layers[0].values.shape == (2, 1, 5, 8)
    real = sum(t.numel() * t.element_size() for lay in cache.layers for t in (lay.keys, lay.values))
    assert real == impl.mla_cache_size(2, 24, 8, 2, 5, bytes_per_element=4)
    # The same model as MHA would cache 2 * 4 heads * (16 + 8) key dims... per token and layer:
    assert impl.kv_cache_size(2, 4, 24, 2, 5, 4) / real == 2 * 4 * 24 / (24 + 8)


def test_llama2_7b_numbers_from_the_default_config() -> None:
    cfg = LlamaConfig()  # the defaults are Llama-2-7B; nothing is downloaded
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == 6_738_415_616
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.ndim == 2 and "embed" not in n)
    assert matmul == 6_607_077_376  # used in decode_step_cost's doctest
    h_kv, d = cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
    assert (cfg.num_hidden_layers, h_kv, d) == (32, 32, 128)
    size = impl.kv_cache_size(cfg.num_hidden_layers, h_kv, d, 1, 4096)
    assert size == 2 * 2**30  # 2 GiB at 4k tokens, fp16, batch 1
    assert impl.kv_cache_size(32, 32, 128, 1, 1) == 512 * 1024  # 0.5 MiB per token


# ---------------------------------------------------------------- costs


def test_decode_step_flops_and_bytes_match_a_real_llama_step() -> None:
    for b, prefill, h_kv in ((1, 7, 2), (3, 5, 4), (2, 9, 1)):
        model, _ = tiny_llama(4, h_kv, 2, torch.float32, eager=True)  # eager: matmuls counted
        ids = torch.randint(0, 128, (b, prefill + 1), generator=torch.Generator().manual_seed(11))
        with torch.no_grad():
            cache = model(ids[:, :prefill], use_cache=True).past_key_values
            with FlopCounterMode(display=False) as counter:
                model(ids[:, prefill:], past_key_values=cache, use_cache=True)
        weights = [p for n, p in model.named_parameters() if p.ndim == 2 and "embed" not in n]
        n_matmul = sum(p.numel() for p in weights)
        flops, nbytes = impl.decode_step_cost(n_matmul, 2, 4, h_kv, 16, prefill + 1, b, 4)
        assert flops == counter.get_total_flops()
        cache_bytes = sum(
            t.numel() * t.element_size() for lay in cache.layers for t in (lay.keys, lay.values)
        )
        assert nbytes == sum(p.numel() * p.element_size() for p in weights) + cache_bytes


def test_decode_intensity_grows_with_batch_for_weights_but_not_for_the_mha_cache() -> None:
    n, args = 6_607_077_376, (32, 32, 32, 128)
    one = impl.decode_step_cost(n, *args, context_len=1, batch_size=1)
    many = impl.decode_step_cost(n, *args, context_len=1, batch_size=64)
    assert many[0] / many[1] > 50 * one[0] / one[1]  # weights dominate: ~B FLOP/byte
    long_one = impl.decode_step_cost(0, *args, context_len=4096, batch_size=1)
    long_many = impl.decode_step_cost(0, *args, context_len=4096, batch_size=64)
    assert long_one[0] / long_one[1] == long_many[0] / long_many[1] == 1.0  # cache part: 1


def _explicit_generation_flops(n: int, h: int, d: int, use_cache: bool) -> int:
    """Generate n tokens with explicit matmuls and count them with FlopCounterMode."""
    gen = torch.Generator().manual_seed(12)
    q, k, v = (torch.randn(1, h, n, d, generator=gen) for _ in range(3))
    with FlopCounterMode(display=False) as counter:
        for t in range(1, n + 1):
            if use_cache:  # the newest query against the t cached keys
                scores = q[:, :, t - 1 : t] @ k[:, :, :t].transpose(-1, -2)
            else:  # recompute the whole prefix: t x t scores (a masked dense matmul)
                scores = q[:, :, :t] @ k[:, :, :t].transpose(-1, -2)
            scores.softmax(-1) @ v[:, :, :t]
    return counter.get_total_flops()


@pytest.mark.parametrize("use_cache", [True, False])
def test_generation_attention_flops_match_counted_flops(use_cache: bool) -> None:
    for n in range(0, 13):
        for h, d in ((1, 1), (2, 3), (4, 8)):
            expected = _explicit_generation_flops(n, h, d, use_cache)
            assert impl.generation_attention_flops(n, h, d, use_cache) == expected


def test_uncached_generation_is_cubic_cached_is_quadratic() -> None:
    f = impl.generation_attention_flops
    assert f(2000, 1, 1) / f(1000, 1, 1) == pytest.approx(4, rel=1e-3)
    assert f(2000, 1, 1, False) / f(1000, 1, 1, False) == pytest.approx(8, rel=1e-2)


# ---------------------------------------------------------------- MLA


def mla_args(gen: torch.Generator, t_max: int = 3):
    b, h, d, d_v, c = (int(v) for v in torch.randint(1, 6, (5,), generator=gen))
    s = int(torch.randint(1, 7, (1,), generator=gen))
    t = int(torch.randint(1, min(s, t_max) + 1, (1,), generator=gen))
    e = int(torch.randint(1, 9, (1,), generator=gen))
    shapes = ((b, h, t, d), (b, s, c), (h, d, c), (h, d_v, c), (e, h * d_v))
    return [torch.randn(*shape, generator=gen, dtype=F64) for shape in shapes]


def mla_brute_force(query, latent, w_uk, w_uv, w_o) -> torch.Tensor:
    """DeepSeek-V2 eq. (10)-(11) without RoPE, one head and one query at a time, in float64."""
    b, h, t, d = query.shape
    s = latent.shape[1]
    out = torch.zeros(b, t, h * w_uv.shape[1], dtype=F64)
    for bi in range(b):
        for ti in range(t):
            pos = s - t + ti
            for hi in range(h):
                keys = [w_uk[hi] @ latent[bi, j] for j in range(pos + 1)]  # k_j = W^UK c_j
                vals = [w_uv[hi] @ latent[bi, j] for j in range(pos + 1)]
                scores = torch.stack([query[bi, hi, ti] @ kj for kj in keys]) / d**0.5
                p = scores.softmax(0)
                o = sum(p[j] * vals[j] for j in range(pos + 1))
                out[bi, ti, hi * w_uv.shape[1] : (hi + 1) * w_uv.shape[1]] = o
    return out @ w_o.T


def test_mla_naive_matches_brute_force_transcription() -> None:
    gen = torch.Generator().manual_seed(13)
    for _ in range(cases(100)):
        args = mla_args(gen)
        assert_close(impl.mla_attention_naive(*args), mla_brute_force(*args), atol=1e-10)


def test_mla_absorbed_equals_naive_on_1000_cases() -> None:
    gen = torch.Generator().manual_seed(14)
    for _ in range(cases(1000)):
        args = mla_args(gen)
        inputs = {"shapes": [tuple(a.shape) for a in args]}
        got = impl.mla_attention_absorbed(*args)
        assert_close(got, impl.mla_attention_naive(*args), atol=1e-10, rtol=1e-10, inputs=inputs)


def test_absorption_identity_for_scores() -> None:
    # q^T (W^UK c) = (W^UK^T q)^T c, for every head and cached token.
    gen = torch.Generator().manual_seed(15)
    for _ in range(cases(500)):
        d, c = (int(v) for v in torch.randint(1, 9, (2,), generator=gen))
        q = torch.randn(d, generator=gen, dtype=F64)
        w_uk = torch.randn(d, c, generator=gen, dtype=F64)
        lat = torch.randn(c, generator=gen, dtype=F64)
        assert_close(q @ (w_uk @ lat), (w_uk.T @ q) @ lat, atol=1e-12)


def rope_matrix(pos: int, d: int) -> torch.Tensor:
    """The RoPE rotation of position pos (pairs (2i, 2i+1), base 10000), as a [d, d] matrix."""
    r = torch.zeros(d, d, dtype=F64)
    for i in range(d // 2):
        theta = pos * 10000 ** (-2 * i / d)
        c, s = torch.cos(torch.tensor(theta, dtype=F64)), torch.sin(torch.tensor(theta, dtype=F64))
        r[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, -s], [s, c]], dtype=F64)
    return r


def test_rope_on_the_decompressed_key_breaks_absorption() -> None:
    # With RoPE on k_j = R_j W^UK c_j, the score is q^T R_j W^UK c_j: the matrix between q and
    # c_j is (R_j W^UK)^T, different for every cached position j, so no single absorbed query.
    gen = torch.Generator().manual_seed(16)
    d, c = 8, 5
    w_uk = torch.randn(d, c, generator=gen, dtype=F64)
    absorbed = [(rope_matrix(j, d) @ w_uk).T for j in range(4)]
    for j in range(1, 4):
        assert not torch.allclose(absorbed[j], absorbed[0])
    # Decoupled RoPE: rotating a separate shared key k^R_j (and q^R) leaves the latent part alone,
    # so the score splits into an absorbable part plus a small RoPE part.
    q_c, q_r = torch.randn(d, generator=gen, dtype=F64), torch.randn(4, generator=gen, dtype=F64)
    lat, k_r = torch.randn(c, generator=gen, dtype=F64), torch.randn(4, generator=gen, dtype=F64)
    m, n = 7, 3  # query position, key position
    full = torch.cat([q_c, rope_matrix(m, 4) @ q_r]) @ torch.cat(
        [w_uk @ lat, rope_matrix(n, 4) @ k_r]
    )
    split = (w_uk.T @ q_c) @ lat + (rope_matrix(m, 4) @ q_r) @ (rope_matrix(n, 4) @ k_r)
    assert_close(full, split, atol=1e-12)


# ---------------------------------------------------------------- errors


def test_input_errors() -> None:
    good = torch.zeros(1, 2, 3, 4)
    with raises_naming(TypeError, "hidden_states", "[B, H_kv, S, D]"):
        impl.repeat_kv([[0.0]], 2)
    with raises_naming(ValueError, "hidden_states", "[B, H_kv, S, D]", "(2, 3, 4)"):
        impl.repeat_kv(torch.zeros(2, 3, 4), 2)
    with raises_naming(ValueError, "n_rep", ">= 1", "0"):
        impl.repeat_kv(good, 0)
    with raises_naming(TypeError, "n_rep", "int"):
        impl.repeat_kv(good, 2.0)
    with raises_naming(TypeError, "n_rep", "int"):
        impl.repeat_kv(good, True)

    cache = impl.KVCache()
    with raises_naming(TypeError, "key_states", "[B, H_kv, S, D]"):
        cache.update([0.0], good)
    with raises_naming(ValueError, "value_states", "(1, 2, 5, 4)"):
        cache.update(good, torch.zeros(1, 2, 5, 4))
    cache.update(good, good)
    with raises_naming(ValueError, "key_states", "matching the cache", "(2, 2, 1, 4)"):
        cache.update(torch.zeros(2, 2, 1, 4), torch.zeros(2, 2, 1, 4))  # batch differs
    with raises_naming(ValueError, "key_states", "(1, 3, 1, 4)"):
        cache.update(torch.zeros(1, 3, 1, 4), torch.zeros(1, 3, 1, 4))  # heads differ

    q, k = torch.zeros(1, 4, 1, 4), torch.zeros(1, 2, 3, 4)
    with raises_naming(TypeError, "query", "[B, H, T, D]"):
        impl.cached_attention(q.numpy(), k, k)
    with raises_naming(ValueError, "key", "divisible", "(1, 3, 3, 4)"):
        impl.cached_attention(q, torch.zeros(1, 3, 3, 4), torch.zeros(1, 3, 3, 4))
    with raises_naming(ValueError, "key", "S >= T"):
        impl.cached_attention(torch.zeros(1, 4, 5, 4), k, k)
    with raises_naming(ValueError, "value", "[B, H_kv, S, D_v]"):
        impl.cached_attention(q, k, torch.zeros(1, 2, 2, 4))

    with raises_naming(ValueError, "num_heads", "divisible by num_kv_heads"):
        impl.CausalSelfAttention(8, 4, 3)
    with raises_naming(ValueError, "num_kv_heads", ">= 1"):
        impl.CausalSelfAttention(8, 4, 0)
    layer = impl.CausalSelfAttention(8, 4, 2)
    with raises_naming(TypeError, "x", "[B, T, E]"):
        impl.decode_step(layer, [[0.0] * 8])
    with raises_naming(ValueError, "x", "E = 8", "(1, 2, 6)"):
        impl.decode_step(layer, torch.zeros(1, 2, 6))
    with raises_naming(ValueError, "x", "T >= 1"):
        impl.decode_step(layer, torch.zeros(1, 0, 8))
    with raises_naming(ValueError, "past_key", "both"):
        impl.decode_step(layer, torch.zeros(1, 1, 8), torch.zeros(1, 2, 3, 2), None)
    with raises_naming(ValueError, "past_key", "[1, 2, S, 2]", "(2, 2, 3, 2)"):
        impl.decode_step(
            layer, torch.zeros(1, 1, 8), torch.zeros(2, 2, 3, 2), torch.zeros(2, 2, 3, 2)
        )
    with raises_naming(ValueError, "past_key", "[1, 2, S, 2]", "(1, 4, 3, 2)"):
        impl.decode_step(
            layer, torch.zeros(1, 1, 8), torch.zeros(1, 4, 3, 2), torch.zeros(1, 4, 3, 2)
        )
    with raises_naming(TypeError, "layer", "CausalSelfAttention"):
        impl.decode_step(torch.nn.Linear(8, 8), torch.zeros(1, 1, 8))

    gen = torch.Generator().manual_seed(17)
    args = mla_args(gen)
    for fn in (impl.mla_attention_naive, impl.mla_attention_absorbed):
        with raises_naming(TypeError, "latent", "[B, S, d_c]"):
            fn(args[0], args[1].tolist(), *args[2:])
        with raises_naming(ValueError, "w_uk", "[H, D, d_c]"):
            fn(args[0], args[1], args[2][:, :, None], *args[3:])
        with raises_naming(ValueError, "w_uk", "[H, D, d_c]"):
            fn(args[0], args[1], torch.zeros(9, 9, 9, dtype=F64), *args[3:])
        with raises_naming(ValueError, "w_o", "[E, H * D_v]"):
            fn(*args[:4], torch.zeros(2, 999, dtype=F64))

    with raises_naming(ValueError, "num_layers", ">= 1"):
        impl.kv_cache_size(0, 8, 128, 1, 10)
    with raises_naming(TypeError, "seq_len", "int"):
        impl.kv_cache_size(1, 8, 128, 1, 10.5)
    with raises_naming(ValueError, "batch_size", ">= 0"):
        impl.mla_cache_size(1, 512, 64, -1, 10)
    with raises_naming(ValueError, "batch_size", ">= 1"):
        impl.decode_step_cost(10, 1, 1, 1, 1, 1, batch_size=0)
    with raises_naming(ValueError, "num_tokens", ">= 0"):
        impl.generation_attention_flops(-1, 1, 1)


def test_empty_sizes_are_zero() -> None:
    assert impl.kv_cache_size(2, 2, 4, 0, 10) == impl.kv_cache_size(2, 2, 4, 3, 0) == 0
    assert impl.mla_cache_size(2, 8, 0, 1, 0) == 0
    assert impl.generation_attention_flops(0, 4, 4, use_cache=False) == 0


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.transformer.kv_cache import draw_cache_memory, draw_decode_intensity

    for draw in (draw_cache_memory, draw_decode_intensity):
        fig = draw(lang)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert len(fig.axes) == 1
