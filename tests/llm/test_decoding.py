"""Tests for snippets/llm/decoding.py: logits warpers, beam search, speculative sampling.

References: ``transformers`` 5.23 (``generation/logits_process.py``: ``TemperatureLogitsWarper``,
``TopKLogitsWarper``, ``TopPLogitsWarper``, ``RepetitionPenaltyLogitsProcessor``; ``generate``
on tiny random ``LlamaForCausalLM`` models built from a ``LlamaConfig``, nothing downloaded),
scipy.stats.chisquare, and float64 transcriptions of Leviathan et al. (2023) written here.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.generation.logits_process import (
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.utils import logging as hf_logging

from tests.support import LANG, assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.llm.decoding")
hf_logging.set_verbosity_error()  # generate() warns about unused sampling flags: not our topic

_MSG = {
    "en": {
        "crossing": (
            "top-p must KEEP the token that crosses the threshold: with probabilities "
            "[0.5, 0.3, 0.2] and top_p=0.6, 0.5 alone is < 0.6, so 0.3 is needed and kept "
            "(keep the smallest set whose mass is >= top_p; shift the mask by one, or remove "
            "where the ascending cumulative sum <= 1 - top_p)"
        ),
        "min_keep": (
            "top-p must always keep at least min_tokens_to_keep=1 token (the most likely one): "
            "with a tiny top_p every cumulative sum passes the test, and a row of all -inf "
            "gives NaN after softmax"
        ),
        "largest": (
            "{fn} must keep the HIGHEST scores and remove the lowest: check the sort direction "
            "(torch.topk returns the largest; an ascending sort puts the best tokens LAST)"
        ),
        "ties_k": (
            "top-k keeps every token whose score equals the k-th largest (transformers removes "
            "only scores < the k-th value): [1, 3, 2, 2] with top_k=2 keeps 3, 2 and 2"
        ),
        "negative": (
            "repetition penalty must make a seen token LESS likely for penalty > 1: divide a "
            "positive logit by the penalty but MULTIPLY a negative one (dividing -2 by 2 gives "
            "-1, which is larger)"
        ),
        "once": "a token repeated in input_ids is penalised once, not once per occurrence",
        "unseen": "tokens that never appeared in input_ids must keep their logits unchanged",
    },
    "zh": {
        "crossing": (
            "top-p 必须保留“跨过阈值”的那个 token：概率 [0.5, 0.3, 0.2]、top_p=0.6 时，只留 0.5 "
            "还不到 0.6，所以 0.3 也要保留（保留累计概率 >= top_p 的最小集合；把掩码右移一位，"
            "或者在升序累加和 <= 1 - top_p 处删除）"
        ),
        "min_keep": (
            "top-p 至少要保留 min_tokens_to_keep=1 个 token（概率最大的那个）：top_p 很小时所有"
            "累加和都满足删除条件，整行变成 -inf，softmax 后就是 NaN"
        ),
        "largest": (
            "{fn} 必须保留分数最高的 token、删掉最低的：检查排序方向（torch.topk 返回最大值；"
            "升序排序时最好的 token 排在最后）"
        ),
        "ties_k": (
            "top-k 会保留所有等于第 k 大分数的 token（transformers 只删除 < 第 k 大值的）："
            "[1, 3, 2, 2]、top_k=2 保留 3、2、2"
        ),
        "negative": (
            "penalty > 1 时重复惩罚必须让出现过的 token 更不可能：正的 logit 除以 penalty，"
            "负的要乘以 penalty（-2 除以 2 得 -1，反而变大了）"
        ),
        "once": "input_ids 里重复出现的 token 只惩罚一次，不是每出现一次惩罚一次",
        "unseen": "没在 input_ids 里出现过的 token，logit 必须保持不变",
    },
}


def msg(key: str, **kw: object) -> str:
    return _MSG.get(LANG, _MSG["en"])[key].format(**kw)


NO_IDS = torch.zeros(1, 0, dtype=torch.long)  # the warpers ignore input_ids


def random_logits(gen: torch.Generator, trial: int) -> torch.Tensor:
    """[B, V] logits: continuous, heavy ties (small integers), or with -inf entries."""
    b = int(torch.randint(1, 5, (1,), generator=gen))
    v = int(torch.randint(1, 41, (1,), generator=gen))
    dtype = torch.float64 if trial % 2 else torch.float32
    kind = trial % 4
    if kind == 0:
        x = torch.randn(b, v, generator=gen, dtype=dtype) * 3
    elif kind == 1:  # integer-valued: many exact ties, also at the cut-offs
        x = torch.randint(-3, 4, (b, v), generator=gen).to(dtype)
    elif kind == 2:  # all equal: the uniform distribution
        x = torch.zeros(b, v, dtype=dtype)
    else:
        x = torch.randn(b, v, generator=gen, dtype=dtype) * 10
        mask = torch.rand(b, v, generator=gen) < 0.3
        mask[:, 0] = False  # at least one finite score per row
        x = x.masked_fill(mask, -math.inf)
    return x


# ---------------------------------------------------------------- warpers vs transformers


def test_top_k_matches_transformers() -> None:
    """2,000 seeded cases: ties, -inf, top_k from 1 to V + 5, min_tokens_to_keep 1-3."""
    gen = torch.Generator().manual_seed(0)
    for trial in range(cases(2000)):
        x = random_logits(gen, trial)
        v = x.shape[-1]
        top_k = int(torch.randint(1, v + 6, (1,), generator=gen))
        keep = 1 + trial % 3
        fill = -math.inf if trial % 5 else -100.0
        expected = TopKLogitsWarper(top_k, filter_value=fill, min_tokens_to_keep=keep)(NO_IDS, x)
        actual = impl.top_k_logits(x, top_k, filter_value=fill, min_tokens_to_keep=keep)
        assert_equal(actual, expected, inputs={"logits": x, "top_k": top_k, "min_keep": keep})


TOP_PS = [0.0, 1e-9, 0.25, 0.5, 0.75, 0.9, 0.95, 1 - 1e-9, 1.0, 1 / 3, 2 / 3]


def test_top_p_matches_transformers() -> None:
    """2,500 seeded cases: ties at the boundary, top_p near 0 and 1, min_tokens_to_keep 1-3."""
    gen = torch.Generator().manual_seed(1)
    for trial in range(cases(2500)):
        x = random_logits(gen, trial)
        top_p = TOP_PS[trial % len(TOP_PS)] if trial % 3 else float(torch.rand(1, generator=gen))
        keep = 1 if trial % 4 else 1 + trial % 3
        fill = -math.inf if trial % 5 else -100.0
        expected = TopPLogitsWarper(top_p, filter_value=fill, min_tokens_to_keep=keep)(NO_IDS, x)
        actual = impl.top_p_logits(x, top_p, filter_value=fill, min_tokens_to_keep=keep)
        assert_equal(actual, expected, inputs={"logits": x, "top_p": top_p, "min_keep": keep})


def test_temperature_matches_transformers() -> None:
    """500 seeded cases, temperatures from 0.05 to 5."""
    gen = torch.Generator().manual_seed(2)
    for trial in range(cases(500)):
        x = random_logits(gen, trial)
        t = float(torch.empty(1).uniform_(0.05, 5.0, generator=gen))
        expected = TemperatureLogitsWarper(t)(NO_IDS, x)
        assert_equal(impl.temperature_logits(x, t), expected, inputs={"logits": x, "t": t})


def test_repetition_penalty_matches_transformers() -> None:
    """1,000 seeded cases: repeated ids, penalties below and above 1, negative logits."""
    gen = torch.Generator().manual_seed(3)
    for trial in range(cases(1000)):
        b = int(torch.randint(1, 4, (1,), generator=gen))
        v = int(torch.randint(1, 30, (1,), generator=gen))
        n = int(torch.randint(1, 12, (1,), generator=gen))
        x = torch.randn(b, v, generator=gen, dtype=torch.float64 if trial % 2 else torch.float32)
        ids = torch.randint(0, v, (b, n), generator=gen)
        penalty = float(torch.empty(1).uniform_(0.3, 3.0, generator=gen))
        expected = RepetitionPenaltyLogitsProcessor(penalty)(ids, x.clone())
        actual = impl.repetition_penalty_logits(x, ids, penalty)
        assert_close(actual, expected, atol=0, rtol=0, inputs={"logits": x, "ids": ids})


def test_greedy_is_first_argmax_and_the_limit_of_temperature() -> None:
    """Greedy = the first maximal index (brute force); sampling at T = 1e-3 returns it."""
    gen = torch.Generator().manual_seed(4)
    for trial in range(cases(500)):
        x = random_logits(gen, trial)
        rows = x.tolist()
        expected = [max(range(len(r)), key=lambda i, r=r: (r[i], -i)) for r in rows]
        assert impl.greedy_next_token(x).tolist() == expected
    x = torch.randn(200, 10, generator=torch.Generator().manual_seed(40))
    x[torch.arange(200), x.argmax(dim=-1)] += 0.05  # gap >= 0.05: exp(-0.05 / 1e-3) = 2e-22
    sampled = impl.sample_next_token(x, gen, temperature=1e-3)
    assert_equal(sampled, x.argmax(dim=-1))


# ---------------------------------------------------------------- the order inside generate


def tiny_llama(seed: int, vocab: int, init: float = 0.5) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
        initializer_range=init,  # spread-out logits: beams are not decided by rounding noise
        bos_token_id=None,
        eos_token_id=1,
        pad_token_id=vocab - 1,
    )
    return LlamaForCausalLM(config).eval()


def test_generate_applies_penalty_then_temperature_then_top_k_then_top_p() -> None:
    """generate(do_sample=True) returns raw logits and processed scores; ours must agree.

    Applying top-p BEFORE temperature gives a different nucleus in this run: the order matters.
    """
    model = tiny_llama(0, 32, init=0.3)
    ids = torch.tensor([[5, 7, 5, 9]])
    with torch.no_grad():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=True,
            temperature=0.6,
            top_k=12,
            top_p=0.8,
            repetition_penalty=1.3,
            max_new_tokens=6,
            eos_token_id=None,
            pad_token_id=31,
            return_dict_in_generate=True,
            output_scores=True,
            output_logits=True,
        )
    differs = 0
    for step, (raw, processed) in enumerate(zip(out.logits, out.scores, strict=True)):
        prefix = out.sequences[:, : ids.shape[1] + step]
        x = impl.repetition_penalty_logits(raw, prefix, 1.3)
        ours = impl.top_p_logits(impl.top_k_logits(impl.temperature_logits(x, 0.6), 12), 0.8)
        assert_close(ours, processed, atol=1e-6, rtol=1e-6)
        wrong = impl.temperature_logits(impl.top_p_logits(impl.top_k_logits(x, 12), 0.8), 0.6)
        differs += int(not torch.equal(torch.isinf(wrong), torch.isinf(processed)))
    assert differs > 0, "top-p before temperature keeps the same tokens here: pick other values"


# ---------------------------------------------------------------- beam search vs generate


BEAM_CONFIGS = 24


def test_beam_search_matches_generate() -> None:
    """24 tiny random Llamas: num_beams 1-4, length_penalty in {-1, 0, 0.5, 1, 2},
    early_stopping in {False, True, "never"}; same tokens and same sequence score."""
    ended_early = 0
    for seed in range(cases(BEAM_CONFIGS)):
        gen = torch.Generator().manual_seed(seed)
        vocab = [8, 12, 16, 24][seed % 4]
        model = tiny_llama(seed, vocab)
        prompt = torch.randint(2, vocab, (1 + seed % 3,), generator=gen)
        num_beams = 1 + seed % 4 if vocab > 8 else 2
        length_penalty = [1.0, 0.0, 2.0, -1.0, 0.5][seed % 5]
        early_stopping = [False, True, "never"][seed % 3]
        new = 3 + seed % 5
        with torch.no_grad():
            out = model.generate(
                prompt[None],
                attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                num_beams=num_beams,
                do_sample=False,
                length_penalty=length_penalty,
                early_stopping=early_stopping,
                max_new_tokens=new,
                eos_token_id=1,
                pad_token_id=vocab - 1,
                return_dict_in_generate=True,
                output_scores=True,
            )
            tokens, score = impl.beam_search(
                lambda s, m=model: m(s).logits[:, -1],
                prompt,
                num_beams,
                new,
                1,
                length_penalty,
                early_stopping,
            )
        setting = {"seed": seed, "beams": num_beams, "lp": length_penalty, "es": early_stopping}
        assert_equal(tokens, out.sequences[0], inputs=setting)
        if out.sequences_scores is not None:  # num_beams=1 returns no score
            assert abs(score - float(out.sequences_scores[0])) < 1e-4, setting
        ended_early += int(len(tokens) < len(prompt) + new)
    assert ended_early >= cases(BEAM_CONFIGS) // 6, "too few hypotheses ended with EOS"


def test_beam_search_length_penalty_rule() -> None:
    """Hand computation: log(0.36) / 2 at length_penalty=1 beats log(0.1) / 1 = -2.30; at
    length_penalty=0 the raw sums compete, and with one beam the search is greedy."""
    table = torch.log(torch.tensor([[0.3, 0.3, 0.4], [0.9, 0.05, 0.05], [0.1, 0.4, 0.5]]))

    def fn(s: torch.Tensor) -> torch.Tensor:
        return table[s[:, -1]]

    tokens, score = impl.beam_search(fn, torch.tensor([2]), 2, 2, 0, length_penalty=1.0)
    assert tokens.tolist() == [2, 1, 0] and abs(score - math.log(0.36) / 2) < 1e-6
    tokens, score = impl.beam_search(fn, torch.tensor([2]), 2, 2, 0, length_penalty=0.0)
    assert tokens.tolist() == [2, 1, 0] and abs(score - math.log(0.36)) < 1e-6
    tokens, _ = impl.beam_search(fn, torch.tensor([2]), 1, 2, 0)
    assert tokens.tolist() == [2, 2, 2]  # greedy: 0.5, then 0.4 (row 2 again)


# ---------------------------------------------------------------- speculative sampling


def random_pair(gen: torch.Generator, v: int, trial: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Target p and draft q in float64; some entries exactly 0, sometimes p == q."""
    p = torch.rand(v, generator=gen, dtype=torch.float64) ** 3
    q = torch.rand(v, generator=gen, dtype=torch.float64) ** 3
    if trial % 3 == 0:
        p[torch.rand(v, generator=gen) < 0.3] = 0
        q[torch.rand(v, generator=gen) < 0.3] = 0
    p[0] += 1e-3
    q[-1] += 1e-3
    p, q = p / p.sum(), q / q.sum()
    return (p, p.clone()) if trial % 7 == 0 else (p, q)


def test_one_step_output_distribution_is_exactly_the_target() -> None:
    """1,000 pairs: q(x) min(1, p/q) + (1 - sum_y q(y) min(1, p/q)) norm(max(0, p - q)) = p."""
    gen = torch.Generator().manual_seed(5)
    for trial in range(cases(1000)):
        p, q = random_pair(gen, 1 + trial % 12, trial)
        accepted = q * impl.acceptance_probability(p, q)  # draft proposes x and it is kept
        rejected = 1 - accepted.sum()
        out = accepted + rejected * impl.residual_distribution(p, q)
        assert_close(out, p, atol=1e-12, rtol=0, inputs={"p": p, "q": q})
        beta = torch.minimum(p, q).sum()  # paper §3.1: beta per prefix, alpha = E[beta]
        assert abs(float(accepted.sum() - beta)) < 1e-12


def speculative_sequences(
    target: torch.Tensor, draft: torch.Tensor, gamma: int, n: int, gen: torch.Generator, step
) -> list[tuple[int, int]]:
    """n two-token continuations of token 0 from a bigram target, via speculative steps."""
    out = []
    for _ in range(n):
        seq = [0]
        while len(seq) < 3:
            drafts, q_rows, p_rows, last = [], [], [], seq[-1]
            for _ in range(gamma):
                q_rows.append(draft[last])
                p_rows.append(target[last])
                last = int(torch.multinomial(draft[last], 1, generator=gen))
                drafts.append(last)
            p_rows.append(target[last])
            seq += step(
                torch.stack(p_rows), torch.stack(q_rows), torch.tensor(drafts), gen
            ).tolist()
        out.append((seq[1], seq[2]))
    return out


def always_accept(p: torch.Tensor, q: torch.Tensor, drafts: torch.Tensor, gen) -> torch.Tensor:
    return drafts  # a broken verifier: returns the draft's distribution


def test_speculative_sampling_chi_square() -> None:
    """2,000 seeded two-token samples from a bigram target: chi-square vs the exact target
    joint p(a) p(b | a) is not rejected (p-value > 0.001); the same test rejects a verifier
    that accepts every draft (p-value < 1e-6), so it has power."""
    gen = torch.Generator().manual_seed(6)
    v = 3
    target = torch.softmax(torch.randn(v, v, generator=gen) * 1.5, dim=-1).float()
    draft = torch.softmax(torch.randn(v, v, generator=gen) * 1.5, dim=-1).float()
    expected = (target[0][:, None] * target).flatten().double()  # P(a, b) = p(a | 0) p(b | a)
    n = cases(2000)
    for step, ok in ((impl.speculative_step, True), (always_accept, False)):
        pairs = speculative_sequences(target, draft, 2, n if ok else 400, gen, step)
        counts = torch.zeros(v * v, dtype=torch.float64)
        for a, b in pairs:
            counts[a * v + b] += 1
        f_exp = expected / expected.sum() * counts.sum()
        pvalue = stats.chisquare(counts.numpy(), f_exp.numpy()).pvalue
        if ok:
            assert pvalue > 1e-3, f"speculative output differs from the target, p = {pvalue}"
        else:
            assert pvalue < 1e-6, f"the chi-square test has no power here, p = {pvalue}"


def test_expected_tokens_formula_exact_and_simulated() -> None:
    """Eq. 1 of the paper vs the truncated-geometric sum written here, for alpha in [0, 1],
    gamma 1-8; then 2,000 simulated steps with one fixed (p, q) pair agree within 4 SE."""
    for gamma in range(1, 9):
        for alpha in [0.0, 0.1, 0.5, 0.8, 0.95, 0.999, 1.0]:
            # n tokens with n <= gamma: n - 1 accepts then a rejection; gamma + 1: all accepted
            exact = sum(n * alpha ** (n - 1) * (1 - alpha) for n in range(1, gamma + 1))
            exact += (gamma + 1) * alpha**gamma
            assert abs(impl.expected_tokens_per_step(alpha, gamma) - exact) < 1e-9
    gen = torch.Generator().manual_seed(7)
    p = torch.tensor([0.5, 0.3, 0.15, 0.05])
    q = torch.tensor([0.25, 0.25, 0.25, 0.25])
    alpha = float(torch.minimum(p, q).sum())  # 0.25 + 0.25 + 0.15 + 0.05 = 0.7
    gamma, n = 4, cases(2000)
    lengths = []
    for _ in range(n):
        drafts = torch.multinomial(q, gamma, replacement=True, generator=gen)
        out = impl.speculative_step(p.expand(gamma + 1, 4), q.expand(gamma, 4), drafts, gen)
        lengths.append(len(out))
    mean = sum(lengths) / n
    sd = (sum((x - mean) ** 2 for x in lengths) / (n - 1)) ** 0.5
    assert abs(mean - impl.expected_tokens_per_step(alpha, gamma)) < 4 * sd / n**0.5 + 1e-9


# ---------------------------------------------------------------- practice diagnostics


def test_top_p_keeps_the_token_that_crosses_the_threshold() -> None:
    x = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    kept = torch.isfinite(impl.top_p_logits(x, 0.6))
    assert kept.tolist() == [[True, True, False]], msg("crossing")
    x = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))  # the same in another order
    assert torch.isfinite(impl.top_p_logits(x, 0.6)).tolist() == [[False, True, True]], msg(
        "crossing"
    )


def test_top_p_always_keeps_one_token() -> None:
    x = torch.tensor([[0.0, 2.0, 1.0], [3.0, 3.0, 3.0]])
    for top_p in (0.0, 1e-9):
        out = impl.top_p_logits(x, top_p)
        probs = out.softmax(dim=-1)
        assert not torch.isnan(probs).any(), msg("min_keep")
        assert torch.isfinite(out).sum(dim=-1).tolist() == [1, 1], msg("min_keep")
        assert bool(torch.isfinite(out[0, 1])), msg("largest", fn="top_p_logits")


def test_filters_keep_the_largest_scores() -> None:
    x = torch.tensor([[0.1, 3.0, -1.0, 2.0, 0.5]])
    assert torch.isfinite(impl.top_k_logits(x, 2)).tolist() == [
        [False, True, False, True, False]
    ], msg("largest", fn="top_k_logits")
    p = torch.tensor([[0.05, 0.6, 0.05, 0.25, 0.05]])
    # top_p=0.5: the 0.6 token alone is enough, so no token "crosses" after it
    assert torch.isfinite(impl.top_p_logits(p.log(), 0.5)).tolist() == [
        [False, True, False, False, False]
    ], msg("largest", fn="top_p_logits")


def test_top_k_keeps_ties_at_the_boundary() -> None:
    out = impl.top_k_logits(torch.tensor([[1.0, 3.0, 2.0, 2.0]]), 2)
    assert torch.isfinite(out).tolist() == [[False, True, True, True]], msg("ties_k")


def test_repetition_penalty_direction_for_negative_logits() -> None:
    x = torch.tensor([[2.0, -2.0, 1.0, -1.0]])
    out = impl.repetition_penalty_logits(x, torch.tensor([[0, 1, 1, 1]]), 2.0)
    assert float(out[0, 1]) < -2.0 and float(out[0, 1]) == -4.0, msg("negative")
    assert float(out[0, 0]) == 1.0, msg("negative")
    assert out[0, 2:].tolist() == [1.0, -1.0], msg("unseen")
    out = impl.repetition_penalty_logits(x, torch.tensor([[1, 1, 1, 1]]), 2.0)
    assert float(out[0, 1]) == -4.0, msg("once")


# ---------------------------------------------------------------- input errors


def test_input_errors() -> None:
    x = torch.zeros(2, 5)
    with raises_naming(TypeError, "logits", "torch.Tensor"):
        impl.top_k_logits([[0.0, 1.0]], 1)
    with raises_naming(TypeError, "logits", "torch.Tensor"):
        impl.top_p_logits([[0.0, 1.0]], 0.5)
    with raises_naming(TypeError, "logits", "floating"):
        impl.top_k_logits(torch.zeros(2, 5, dtype=torch.long), 1)
    with raises_naming(ValueError, "logits", "[..., V]"):
        impl.top_p_logits(torch.zeros(3, 0), 0.5)
    with raises_naming(ValueError, "top_k", ">= 1"):
        impl.top_k_logits(x, 0)
    with raises_naming(TypeError, "top_k", "int"):
        impl.top_k_logits(x, 2.0)
    with raises_naming(ValueError, "top_p", "[0, 1]"):
        impl.top_p_logits(x, 1.5)
    with raises_naming(TypeError, "top_p", "float"):
        impl.top_p_logits(x, "0.9")
    with raises_naming(ValueError, "min_tokens_to_keep"):
        impl.top_p_logits(x, 0.5, min_tokens_to_keep=0)
    with raises_naming(ValueError, "temperature"):
        impl.temperature_logits(x, 0.0)
    with raises_naming(ValueError, "penalty"):
        impl.repetition_penalty_logits(x, torch.zeros(2, 3, dtype=torch.long), -1.0)
    with raises_naming(TypeError, "input_ids", "torch.Tensor"):
        impl.repetition_penalty_logits(x, [[0, 1]], 1.2)
    with raises_naming(ValueError, "input_ids", "[B, L]"):
        impl.repetition_penalty_logits(x, torch.zeros(3, 2, dtype=torch.long), 1.2)
    with raises_naming(ValueError, "early_stopping"):
        impl.beam_search(lambda s: torch.zeros(len(s), 4), torch.tensor([1]), 2, 3, 0, 1.0, "yes")
    with raises_naming(TypeError, "input_ids", "[P]"):
        impl.beam_search(lambda s: torch.zeros(len(s), 4), [1], 2, 3, 0)


def test_figure_draws() -> None:
    import matplotlib.figure

    from figures.llm.decoding import draw_filters

    for lang in ("zh", "en"):
        assert isinstance(draw_filters(lang), matplotlib.figure.Figure)


@pytest.mark.parametrize("top_p", [0.5, 0.9])
def test_top_p_kept_mass_is_minimal(top_p: float) -> None:
    """Definition check (500 continuous cases): kept mass >= top_p, and dropping the least
    likely kept token would fall below top_p (unless only one token is left)."""
    gen = torch.Generator().manual_seed(8)
    for _ in range(cases(500)):
        x = torch.randn(1, 20, generator=gen, dtype=torch.float64) * 2
        probs = x.softmax(dim=-1)[0]
        kept = torch.isfinite(impl.top_p_logits(x, top_p))[0]
        mass = float(probs[kept].sum())
        assert mass >= top_p - 1e-12, msg("crossing")
        if kept.sum() > 1:
            assert mass - float(probs[kept].min()) < top_p + 1e-12, msg("crossing")
