"""Tests for snippets/llm/alignment.py: DPO, sequence log-probs, PPO pieces, GAE, GRPO.

TRL is not installed, so the references are float64 transcriptions of the papers' formulas
written here (DPO eq. 7, PPO eq. 7, GAE eq. 16, DeepSeekMath eq. 3-4), plain Python loops,
``torch.nn.functional.cross_entropy`` and a tiny random ``transformers`` LlamaForCausalLM.
"""

from __future__ import annotations

import math
import statistics

import pytest
import torch
import torch.nn.functional as F

from tests.support import assert_close, cases, raises_naming, under_test

impl = under_test("snippets.llm.alignment")
F64 = torch.float64


def neg_log_sigmoid(x: float) -> float:
    """-log(sigmoid(x)) = log(1 + exp(-x)), written so that neither branch overflows."""
    return math.log1p(math.exp(-x)) if x >= 0 else -x + math.log1p(math.exp(x))


def dpo_eq7(pc: list, pr: list, rc: list, rr: list, beta: float) -> list[float]:
    """Rafailov et al. 2023, eq. 7, one pair at a time: -log s(b[(pi_c-ref_c) - (pi_r-ref_r)])."""
    return [
        neg_log_sigmoid(beta * ((a - c) - (b - d)))
        for a, b, c, d in zip(pc, pr, rc, rr, strict=True)
    ]


def random_logps(gen: torch.Generator, b: int, scale: float = 30.0) -> list[torch.Tensor]:
    return [-torch.rand(b, generator=gen, dtype=F64) * scale for _ in range(4)]


# ---------------------------------------------------------------- DPO


def test_dpo_matches_eq7_on_2000_cases() -> None:
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        b = int(torch.randint(1, 9, (1,), generator=gen))
        beta = float(10 ** (torch.rand(1, generator=gen) * 3 - 2))  # 0.01 … 10
        pc, pr, rc, rr = random_logps(gen, b)
        expected = dpo_eq7(pc.tolist(), pr.tolist(), rc.tolist(), rr.tolist(), beta)
        got = impl.dpo_loss(pc, pr, rc, rr, beta=beta)
        assert_close(
            got,
            torch.tensor(expected, dtype=F64),
            atol=1e-10,
            rtol=1e-10,
            inputs={"beta": beta, "policy_chosen_logps": pc},
        )
        assert got.shape == (b,), "dpo_loss must return one loss per pair, shape [B]"


def test_dpo_float32_and_default_beta() -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(500)):
        pc, pr, rc, rr = random_logps(gen, 5)
        expected = dpo_eq7(pc.tolist(), pr.tolist(), rc.tolist(), rr.tolist(), 0.1)
        got = impl.dpo_loss(pc.float(), pr.float(), rc.float(), rr.float())
        assert got.dtype == torch.float32
        assert_close(got, torch.tensor(expected), atol=1e-5, rtol=1e-5)


def test_dpo_gradients_match_autograd_of_the_transcription() -> None:
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(500)):
        beta = float(torch.rand(1, generator=gen)) * 2 + 0.05
        xs = [x.requires_grad_() for x in random_logps(gen, 4, scale=5.0)]
        ys = [x.detach().clone().requires_grad_() for x in xs]
        impl.dpo_loss(*xs, beta=beta).sum().backward()
        pc, pr, rc, rr = ys  # the transcription, with autograd; margins small: no overflow
        (-torch.log(torch.sigmoid(beta * ((pc - rc) - (pr - rr))))).sum().backward()
        for x, y in zip(xs, ys, strict=True):
            assert_close(x.grad, y.grad, atol=1e-10, rtol=1e-9)


@pytest.mark.diagnosis
def test_dpo_large_margins_stay_finite_where_log_sigmoid_overflows() -> None:
    z = torch.zeros(3, dtype=F64)
    margin = torch.tensor([-1e4, 0.0, 1e4], dtype=F64)  # policy log-ratio; reference 0
    naive = -torch.log(torch.sigmoid(1.0 * margin))  # sigmoid(-1e4) == 0.0 -> -log 0 = inf
    assert math.isinf(float(naive[0]))
    got = impl.dpo_loss(margin, z, z, z, beta=1.0)
    assert torch.isfinite(got).all(), (
        "dpo_loss overflowed to inf for a margin of -1e4: use F.logsigmoid(x), "
        "not torch.log(torch.sigmoid(x)) (sigmoid underflows to 0, log 0 = -inf)"
    )
    assert_close(got, torch.tensor([1e4, math.log(2), 0.0], dtype=F64), atol=1e-10)
    got32 = impl.dpo_loss(margin.float(), z.float(), z.float(), z.float(), beta=1.0)
    assert torch.isfinite(got32).all(), "float32: use F.logsigmoid, log(sigmoid) gives inf"


@pytest.mark.diagnosis
def test_dpo_uses_the_reference_log_probs() -> None:
    # The policy prefers chosen by 3 nats, exactly as much as the reference does: the margin
    # is 0, so the loss is log 2 (hand computation), whatever the log-ratio itself is.
    pc, pr = torch.tensor([-1.0]), torch.tensor([-4.0])
    rc, rr = torch.tensor([-2.0]), torch.tensor([-5.0])
    got = float(impl.dpo_loss(pc, pr, rc, rr, beta=0.1))
    assert abs(got - math.log(2)) < 1e-6, (
        f"loss {got:.4f}, expected log 2 = 0.6931: the DPO margin is "
        "(pi_chosen - ref_chosen) - (pi_rejected - ref_rejected); did you forget the "
        "reference log-probs?"
    )


@pytest.mark.diagnosis
def test_dpo_sign_chosen_minus_rejected() -> None:
    # The policy raised the chosen response by 10 nats relative to the reference: the margin
    # is +10 and the loss must be small, -log sigmoid(1) = 0.3133 at beta = 0.1.
    z = torch.zeros(1)
    got = float(impl.dpo_loss(torch.tensor([10.0]), z, z, z, beta=0.1))
    assert abs(got - neg_log_sigmoid(1.0)) < 1e-6, (
        f"loss {got:.4f}, expected -log sigmoid(+1) = 0.3133: raising the CHOSEN response "
        "must lower the loss; chosen and rejected (or the sign) are swapped"
    )


def test_dpo_beta_limits() -> None:
    gen = torch.Generator().manual_seed(3)
    for _ in range(cases(200)):
        pc, pr, rc, rr = random_logps(gen, 6)
        margin = (pc - rc) - (pr - rr)
        # beta -> 0: the loss is log 2 for every pair, its slope in the margin is -beta / 2.
        assert_close(
            impl.dpo_loss(pc, pr, rc, rr, beta=1e-9), torch.full((6,), math.log(2)), atol=1e-7
        )
        # beta -> inf: loss / beta -> max(0, -margin), a hinge: the policy must rank chosen
        # above rejected by any positive margin and nothing more is rewarded.
        big = 1e6
        got = impl.dpo_loss(pc, pr, rc, rr, beta=big) / big
        assert_close(got, torch.clamp(-margin, min=0), atol=1e-6)


def test_dpo_implicit_rewards() -> None:
    gen = torch.Generator().manual_seed(4)
    pc, pr, rc, rr = [x.requires_grad_() for x in random_logps(gen, 7)]
    beta = 0.3
    chosen = impl.dpo_implicit_rewards(pc, rc, beta=beta)
    rejected = impl.dpo_implicit_rewards(pr, rr, beta=beta)
    assert not chosen.requires_grad, "implicit rewards are for logging: detach them"
    assert_close(chosen, beta * (pc - rc).detach(), atol=1e-12)
    margin = chosen - rejected
    expected = dpo_eq7(pc.tolist(), pr.tolist(), rc.tolist(), rr.tolist(), beta)
    assert_close(-F.logsigmoid(margin), torch.tensor(expected, dtype=F64), atol=1e-10)


# ---------------------------------------------------------------- sequence log-probs


def random_batch(gen: torch.Generator, b: int, t: int, v: int) -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.randn(b, t, v, generator=gen, dtype=F64) * 3
    labels = torch.randint(0, v, (b, t), generator=gen)
    prompt = torch.randint(0, t, (b, 1), generator=gen)
    pad = torch.randint(0, t + 1, (b, 1), generator=gen)
    pos = torch.arange(t)[None]
    labels[(pos < prompt) | (pos >= torch.maximum(pad, prompt))] = -100
    return logits, labels


def brute_sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> list[float]:
    out = []
    for b in range(logits.shape[0]):
        total = 0.0
        for t in range(1, logits.shape[1]):  # token t is predicted by the logits at t - 1
            y = int(labels[b, t])
            if y == -100:
                continue
            row = logits[b, t - 1].tolist()
            m = max(row)
            total += row[y] - (m + math.log(sum(math.exp(r - m) for r in row)))
        out.append(total)
    return out


def test_sequence_logps_matches_brute_force_loop() -> None:
    gen = torch.Generator().manual_seed(5)
    for _ in range(cases(200)):
        b, t, v = (int(torch.randint(1, k, (1,), generator=gen)) for k in (4, 9, 12))
        logits, labels = random_batch(gen, b, t, v)
        got = impl.sequence_logps(logits, labels)
        assert_close(
            got,
            torch.tensor(brute_sequence_logps(logits, labels), dtype=F64),
            atol=1e-10,
            rtol=1e-10,
            inputs={"labels": labels},
        )


def test_sequence_logps_matches_cross_entropy() -> None:
    gen = torch.Generator().manual_seed(6)
    for _ in range(cases(1000)):
        b, t, v = (int(torch.randint(2, k, (1,), generator=gen)) for k in (6, 17, 40))
        logits, labels = random_batch(gen, b, t, v)
        ce = F.cross_entropy(
            logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none", ignore_index=-100
        )  # [B, T-1], 0 at ignored positions
        assert_close(impl.sequence_logps(logits, labels), -ce.sum(-1), atol=1e-10, rtol=1e-10)


def test_sequence_logps_matches_a_tiny_llama() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=50,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    model = LlamaForCausalLM(config).eval()
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(0, 50, (3, 10), generator=gen)
    labels = ids.clone()
    labels[:, :4] = -100  # prompt
    labels[1, 8:] = -100  # padding of the second sequence
    with torch.no_grad():
        logits = model(input_ids=ids).logits
        got = impl.sequence_logps(logits, labels)
        for i in range(3):  # HF's loss is the mean over counted tokens: sum = -loss * count
            out = model(input_ids=ids[i : i + 1], labels=labels[i : i + 1])
            count = int((labels[i, 1:] != -100).sum())
            assert_close(got[i], -out.loss * count, atol=1e-5, rtol=1e-5)


@pytest.mark.diagnosis
def test_sequence_logps_shifts_by_one_token() -> None:
    # Logits at position t put all mass on token t + 1 (the next one): the response is
    # predicted perfectly and its log-prob is ~0. Without the shift it is ~-200.
    labels = torch.tensor([[0, 1, 2, 3]])
    logits = torch.full((1, 4, 5), -100.0)
    for t in range(3):
        logits[0, t, int(labels[0, t + 1])] = 100.0
    got = float(impl.sequence_logps(logits, labels))
    assert abs(got) < 1e-6, (
        f"got {got:.1f}, expected 0: the logits at position t predict the token at t + 1; "
        "shift (logits[:, :-1] against labels[:, 1:]) before gathering"
    )


@pytest.mark.diagnosis
def test_sequence_logps_ignores_prompt_and_padding() -> None:
    labels = torch.tensor([[-100, -100, 1, 2, -100]])  # prompt, prompt, 2 response, pad
    logits = torch.zeros(1, 5, 4)  # uniform: each counted token contributes log(1/4)
    got = float(impl.sequence_logps(logits, labels))
    assert abs(got - 2 * math.log(0.25)) < 1e-6, (
        f"got {got:.4f}, expected 2 * log(1/4) = -2.7726: only tokens with label != -100 "
        "count; prompt and padding must be masked out of the sum"
    )


# ---------------------------------------------------------------- PPO pieces


def test_ppo_clip_loss_matches_per_element_min_clip() -> None:
    gen = torch.Generator().manual_seed(8)
    for _ in range(cases(1000)):
        n = int(torch.randint(1, 20, (1,), generator=gen))
        eps = float(torch.rand(1, generator=gen)) * 0.5
        lp, old = (torch.randn(n, generator=gen, dtype=F64) * 0.5 for _ in range(2))
        adv = torch.randn(n, generator=gen, dtype=F64)
        expected = []
        for a, b, c in zip(lp.tolist(), old.tolist(), adv.tolist(), strict=True):
            r = math.exp(a - b)
            expected.append(-min(r * c, min(max(r, 1 - eps), 1 + eps) * c))
        assert_close(
            impl.ppo_clip_loss(lp, old, adv, eps),
            torch.tensor(expected, dtype=F64),
            atol=1e-12,
            rtol=1e-12,
        )


def test_ppo_clip_gradient_is_zero_where_clipped_in_the_advantage_direction() -> None:
    gen = torch.Generator().manual_seed(9)
    eps = 0.2
    for _ in range(cases(300)):
        ratio = torch.rand(64, generator=gen, dtype=F64) * 1.6 + 0.2
        ratio = ratio[((ratio - 0.8).abs() > 1e-6) & ((ratio - 1.2).abs() > 1e-6)]
        adv = torch.randn(ratio.shape, generator=gen, dtype=F64)
        lp = torch.log(ratio).requires_grad_()
        impl.ppo_clip_loss(lp, torch.zeros_like(lp), adv, eps).sum().backward()
        clipped = ((adv > 0) & (ratio > 1 + eps)) | ((adv < 0) & (ratio < 1 - eps))
        assert (lp.grad[clipped] == 0).all(), (
            "no gradient once the ratio left [1-eps, 1+eps] in the direction the advantage favours"
        )
        # Elsewhere d(-r A)/d(log r) = -r A.
        assert_close(lp.grad[~clipped], -(ratio * adv)[~clipped], atol=1e-12)


def test_ppo_value_loss_matches_per_element_definition() -> None:
    gen = torch.Generator().manual_seed(10)
    for _ in range(cases(1000)):
        n = int(torch.randint(1, 16, (1,), generator=gen))
        eps = float(torch.rand(1, generator=gen))
        v, old, ret = (torch.randn(n, generator=gen, dtype=F64) for _ in range(3))
        expected = []
        for a, b, c in zip(v.tolist(), old.tolist(), ret.tolist(), strict=True):
            vc = b + min(max(a - b, -eps), eps)
            expected.append(0.5 * max((a - c) ** 2, (vc - c) ** 2))
        assert_close(
            impl.ppo_value_loss(v, old, ret, eps), torch.tensor(expected, dtype=F64), atol=1e-12
        )


def test_kl_estimators_formulas_and_unbiasedness() -> None:
    gen = torch.Generator().manual_seed(11)
    lp, ref = (torch.randn(100, generator=gen, dtype=F64) for _ in range(2))
    r = torch.exp(ref - lp)
    assert_close(impl.kl_penalty(lp, ref, "k1"), -torch.log(r), atol=1e-12)
    assert_close(impl.kl_penalty(lp, ref, "k3"), (r - 1) - torch.log(r), atol=1e-12)
    assert (impl.kl_penalty(lp, ref, "k3") >= 0).all(), "k3 = r - 1 - log r is never negative"
    # Both are unbiased: averaged over tokens sampled from the policy p, they give KL(p || q).
    p = torch.softmax(torch.randn(6, generator=gen, dtype=F64), 0)
    q = torch.softmax(torch.randn(6, generator=gen, dtype=F64), 0)
    exact = float((p * (p / q).log()).sum())
    x = torch.multinomial(p, 200_000, replacement=True, generator=gen)
    for kind in ("k1", "k3"):
        est = impl.kl_penalty(p.log()[x], q.log()[x], kind)
        sem = float(est.std()) / math.sqrt(len(x))
        assert abs(float(est.mean()) - exact) < 5 * sem, f"{kind} must be unbiased"


# ---------------------------------------------------------------- GAE


def brute_gae(rewards: list, values: list, dones: list, gamma: float, lam: float) -> list:
    """Definition: A_t = sum_l (gamma lam)^l delta_{t+l}, summed until the episode ends."""
    t_len = len(rewards)
    deltas = [rewards[t] + gamma * values[t + 1] * (1 - dones[t]) - values[t] for t in range(t_len)]
    out = []
    for t in range(t_len):
        total, weight = 0.0, 1.0
        for k in range(t, t_len):
            total += weight * deltas[k]
            if dones[k]:
                break
            weight *= gamma * lam
        out.append(total)
    return out


def test_gae_matches_the_definition_on_2000_cases() -> None:
    gen = torch.Generator().manual_seed(12)
    for i in range(cases(2000)):
        b, t = (
            int(torch.randint(1, 4, (1,), generator=gen)),
            int(torch.randint(1, 9, (1,), generator=gen)),
        )
        gamma, lam = (float(x) for x in torch.rand(2, generator=gen, dtype=F64))
        if i % 10 == 0:
            gamma, lam = 1.0, 1.0
        rewards = torch.randn(b, t, generator=gen, dtype=F64)
        bootstrap = i % 2 == 0  # values [B, T + 1] or [B, T] (next value 0 after the end)
        values = torch.randn(b, t + bootstrap, generator=gen, dtype=F64)
        dones = torch.rand(b, t, generator=gen) < 0.2 if i % 3 else None
        adv, ret = impl.compute_gae(rewards, values, gamma, lam, dones=dones)
        full = values if bootstrap else torch.cat([values, torch.zeros(b, 1, dtype=F64)], 1)
        d = dones if dones is not None else torch.zeros(b, t, dtype=torch.bool)
        expected = torch.tensor(
            [
                brute_gae(rewards[j].tolist(), full[j].tolist(), d[j].int().tolist(), gamma, lam)
                for j in range(b)
            ],
            dtype=F64,
        )
        assert_close(adv, expected, atol=1e-10, rtol=1e-10, inputs={"gamma": gamma, "lam": lam})
        assert_close(ret, expected + full[:, :t], atol=1e-10)


@pytest.mark.diagnosis
def test_gae_runs_backwards_in_time() -> None:
    # Reward 1 only at the last step, V = 0: with gamma = lam = 1, every step sees it.
    adv, _ = impl.compute_gae(torch.tensor([[0.0, 0.0, 1.0]]), torch.zeros(1, 3), 1.0, 1.0)
    assert torch.allclose(adv, torch.ones(1, 3)), (
        f"got {adv.tolist()}, expected [[1, 1, 1]]: A_t = delta_t + gamma*lam*A_(t+1) needs "
        "A_(t+1) first; iterate t from T-1 down to 0"
    )


@pytest.mark.diagnosis
def test_gae_bootstraps_from_the_next_value() -> None:
    # Zero rewards, V(s_t) = 0 except the bootstrap value V(s_T) = 2: A_(T-1) = gamma * 2.
    values = torch.tensor([[0.0, 0.0, 2.0]])
    adv, _ = impl.compute_gae(torch.zeros(1, 2), values, 0.5, 0.0)
    assert torch.allclose(adv, torch.tensor([[0.0, 1.0]])), (
        f"got {adv.tolist()}, expected [[0, 1]]: delta_t = r_t + gamma * V(s_(t+1)) - V(s_t) "
        "bootstraps from the NEXT value (the last column of values for the last step)"
    )


def test_gae_lambda_extremes() -> None:
    gen = torch.Generator().manual_seed(13)
    r, v = torch.randn(2, 6, generator=gen, dtype=F64), torch.randn(2, 7, generator=gen, dtype=F64)
    adv0, _ = impl.compute_gae(r, v, 0.9, 0.0)  # lambda = 0: the one-step TD residual
    assert_close(adv0, r + 0.9 * v[:, 1:] - v[:, :-1], atol=1e-12)
    adv1, _ = impl.compute_gae(r, v, 1.0, 1.0)  # lambda = 1: Monte Carlo return - V
    mc = r.flip(1).cumsum(1).flip(1) + v[:, -1:]
    assert_close(adv1, mc - v[:, :-1], atol=1e-12)


# ---------------------------------------------------------------- GRPO


def test_grpo_advantages_match_a_loop_over_groups() -> None:
    gen = torch.Generator().manual_seed(14)
    for i in range(cases(1000)):
        g, p = (
            int(torch.randint(2, 9, (1,), generator=gen)),
            int(torch.randint(1, 5, (1,), generator=gen)),
        )
        rewards = torch.randn(p * g, generator=gen, dtype=F64)
        if i % 4 == 0:
            rewards = (rewards > 0).to(F64)  # 0/1 verifier rewards: equal groups happen
        expected = []
        for k in range(p):
            group = rewards[k * g : (k + 1) * g].tolist()
            mu, sd = statistics.fmean(group), statistics.stdev(group)  # sample std, as torch.std
            expected += [(x - mu) / (sd + 1e-4) for x in group]
        assert_close(
            impl.grpo_advantages(rewards, g),
            torch.tensor(expected, dtype=F64),
            atol=1e-10,
            rtol=1e-10,
            inputs={"rewards": rewards, "group_size": g},
        )
        unscaled = impl.grpo_advantages(rewards, g, scale=False)  # Dr. GRPO
        means = rewards.view(p, g).mean(1, keepdim=True)
        assert_close(unscaled, (rewards.view(p, g) - means).reshape(-1), atol=1e-12)


@pytest.mark.diagnosis
def test_grpo_equal_rewards_give_zero_advantage_not_nan() -> None:
    adv = impl.grpo_advantages(torch.ones(8), group_size=4)
    assert torch.isfinite(adv).all() and (adv == 0).all(), (
        "all-equal rewards in a group have std 0: add eps to the std so the advantage is 0, not NaN"
    )


@pytest.mark.diagnosis
def test_grpo_normalises_per_group_not_over_the_batch() -> None:
    # Group 1 always scores 10-11, group 2 scores 0-1: within each group the better response
    # gets +0.7070 and the worse -0.7070. Normalising over the whole batch gives group 1 only
    # positive advantages.
    rewards = torch.tensor([10.0, 11.0, 0.0, 1.0])
    adv = impl.grpo_advantages(rewards, group_size=2)
    expected = torch.tensor([-1, 1, -1, 1]) * 0.5 / (math.sqrt(0.5) + 1e-4)
    assert torch.allclose(adv, expected, atol=1e-3), (
        f"got {adv.tolist()}: the baseline is the mean of the prompt's OWN group "
        "(rewards.view(-1, group_size)), not of the whole batch"
    )


def brute_grpo_loss(lp, old, ref, adv, mask, eps_lo, eps_hi, beta, loss_type) -> float:
    n, t_len = len(lp), len(lp[0])
    rows, total, count = [], 0.0, 0
    for i in range(n):
        s, c = 0.0, 0
        for t in range(t_len):
            if not mask[i][t]:
                continue
            r = math.exp(lp[i][t] - old[i][t])
            surr = min(r * adv[i], min(max(r, 1 - eps_lo), 1 + eps_hi) * adv[i])
            x = math.exp(ref[i][t] - lp[i][t])  # DeepSeekMath eq. 4: x - log x - 1
            s += -surr + beta * (x - math.log(x) - 1)
            c += 1
        rows.append(s / max(c, 1))
        total, count = total + s, count + c
    if loss_type == "grpo":
        return sum(rows) / n
    if loss_type == "dapo":
        return total / max(count, 1)
    return total / (n * t_len)


def test_grpo_loss_matches_a_loop_for_every_aggregation() -> None:
    gen = torch.Generator().manual_seed(15)
    for i in range(cases(600)):
        n, t = (
            int(torch.randint(1, 6, (1,), generator=gen)),
            int(torch.randint(1, 7, (1,), generator=gen)),
        )
        lp, old, ref = (torch.randn(n, t, generator=gen, dtype=F64) * 0.3 for _ in range(3))
        adv = torch.randn(n, generator=gen, dtype=F64)
        mask = (torch.rand(n, t, generator=gen) < 0.8).to(F64)
        loss_type = ("grpo", "dapo", "dr_grpo")[i % 3]
        hi = 0.28 if i % 2 else None
        beta = float(torch.rand(1, generator=gen))
        got = impl.grpo_loss(
            lp, old, ref, adv, mask, clip_eps=0.2, beta=beta, loss_type=loss_type, clip_eps_high=hi
        )
        expected = brute_grpo_loss(
            lp.tolist(),
            old.tolist(),
            ref.tolist(),
            adv.tolist(),
            mask.tolist(),
            0.2,
            hi or 0.2,
            beta,
            loss_type,
        )
        assert_close(
            got,
            torch.tensor(expected, dtype=F64),
            atol=1e-10,
            rtol=1e-10,
            inputs={"loss_type": loss_type, "mask": mask},
        )


# ---------------------------------------------------------------- input checks


def test_input_errors() -> None:
    z = torch.zeros(3)
    with raises_naming(TypeError, "policy_chosen_logps", "torch.Tensor"):
        impl.dpo_loss([0.0, 1.0], z, z, z)
    with raises_naming(ValueError, "reference_rejected_logps", "shape"):
        impl.dpo_loss(z, z, z, torch.zeros(4))
    with raises_naming(ValueError, "beta"):
        impl.dpo_loss(z, z, z, z, beta=0.0)
    with raises_naming(TypeError, "logits"):
        impl.sequence_logps(torch.zeros(1, 3, 4).numpy(), torch.zeros(1, 3, dtype=torch.long))
    with raises_naming(ValueError, "labels", "[B, T]"):
        impl.sequence_logps(torch.zeros(1, 3, 4), torch.zeros(1, 4, dtype=torch.long))
    with raises_naming(TypeError, "labels", "integer"):
        impl.sequence_logps(torch.zeros(1, 3, 4), torch.zeros(1, 3))
    with raises_naming(ValueError, "advantages", "shape"):
        impl.ppo_clip_loss(z, z, torch.zeros(2))
    with raises_naming(ValueError, "kind"):
        impl.kl_penalty(z, z, "k2")
    with raises_naming(ValueError, "values", "[B, T + 1]"):
        impl.compute_gae(torch.zeros(2, 3), torch.zeros(2, 5))
    with raises_naming(ValueError, "gamma"):
        impl.compute_gae(torch.zeros(2, 3), torch.zeros(2, 3), gamma=1.5)
    with raises_naming(TypeError, "rewards", "torch.Tensor"):
        impl.grpo_advantages([1.0, 2.0], 2)
    with raises_naming(ValueError, "group_size"):
        impl.grpo_advantages(torch.zeros(6), 4)
    with raises_naming(ValueError, "group_size", ">= 2"):
        impl.grpo_advantages(torch.zeros(6), 1)
    with raises_naming(ValueError, "mask", "[N, T]"):
        impl.grpo_loss(
            torch.zeros(2, 3),
            torch.zeros(2, 3),
            torch.zeros(2, 3),
            torch.zeros(2),
            torch.ones(2, 4),
        )
    with raises_naming(ValueError, "old_logprobs", "shape"):
        impl.grpo_loss(
            torch.zeros(2, 3),
            torch.zeros(2, 4),
            torch.zeros(2, 3),
            torch.zeros(2),
            torch.ones(2, 3),
        )
    with raises_naming(ValueError, "loss_type"):
        impl.grpo_loss(
            torch.zeros(2, 3),
            torch.zeros(2, 3),
            torch.zeros(2, 3),
            torch.zeros(2),
            torch.ones(2, 3),
            loss_type="ppo",
        )


def test_figures_draw() -> None:
    import matplotlib.figure

    from figures.llm import alignment as fig

    for lang in ("zh", "en"):
        for draw in (fig.draw_dpo_loss, fig.draw_ppo_clip):
            assert isinstance(draw(lang), matplotlib.figure.Figure)
