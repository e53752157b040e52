"""Tests for snippets/generative/diffusion.py: schedules, forward process, loss, DDPM/DDIM, CFG.

References: diffusers 0.42.1 (``DDPMScheduler`` / ``DDIMScheduler`` ``.betas``, ``.add_noise``,
``.step``; ``models/embeddings.get_timestep_embedding``), and float64 transcriptions of the
papers' formulas written here (Ho et al. 2020 eq. 2, 4, 6-7, 14; Nichol & Dhariwal 2021 eq. 17;
Song et al. 2021 eq. 12, 16; Ho & Salimans 2022 eq. 6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from diffusers.models.embeddings import get_timestep_embedding

from tests.support import LANG, assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.generative.diffusion")

F64 = torch.float64

_MSG = {
    "en": {
        "cumprod": (
            "add_noise must scale x_0 by sqrt(alphas_cumprod[t]) = sqrt(alpha_bar_t), the "
            "CUMULATIVE product of (1 - beta) up to t (Ho et al. eq. 4), not by the one-step "
            "sqrt(alpha_t) = sqrt(1 - beta_t)"
        ),
        "std": (
            "the noise must be scaled by the STANDARD DEVIATION sqrt(1 - alpha_bar_t), not by the "
            "variance (1 - alpha_bar_t): q(x_t | x_0) = N(sqrt(ab) x_0, (1 - ab) I)"
        ),
        "broadcast": (
            "timesteps has one entry PER SAMPLE: reshape alphas_cumprod[timesteps] from [B] to "
            "[B, 1, 1, 1] so it broadcasts over C, H, W (a [B] vector broadcasts over the LAST "
            "axis instead)"
        ),
        "t0": (
            "at t = 0 the reverse step must return the posterior mean WITHOUT noise: the last "
            "step produces the final image (diffusers adds noise only if t > 0)"
        ),
        "prev": (
            "the previous step's alpha_bar is alphas_cumprod[t - 1] (and 1 before step 0): "
            "using alphas_cumprod[t] gives beta_t = 1 - ab_t / ab_prev = 0 and the step "
            "returns the sample unchanged"
        ),
        "cosine": (
            "the cosine schedule is beta_t = min(1 - f(t/T) / f((t-1)/T), 0.999) with "
            "f(u) = cos^2((u + 0.008) / 1.008 * pi / 2) (Nichol & Dhariwal eq. 17)"
        ),
    },
    "zh": {
        "cumprod": (
            "add_noise 里 x_0 的系数是 sqrt(alphas_cumprod[t]) = sqrt(ᾱ_t)，即 (1 - β) 到 t 为止的"
            "累乘（Ho et al. 式 4），不是单步的 sqrt(α_t) = sqrt(1 - β_t)"
        ),
        "std": (
            "噪声的系数是标准差 sqrt(1 - ᾱ_t)，不是方差 (1 - ᾱ_t)："
            "q(x_t | x_0) = N(sqrt(ᾱ) x_0, (1 - ᾱ) I)"
        ),
        "broadcast": (
            "timesteps 是每个样本一个：要把 alphas_cumprod[timesteps] 从 [B] reshape 成 "
            "[B, 1, 1, 1]，在 C、H、W 上广播（直接用 [B] 会在最后一维上广播）"
        ),
        "t0": "t = 0 时反向一步应直接返回后验均值，不加噪声：这是最后一步，输出就是最终图像（diffusers 只在 t > 0 时加噪声）",
        "prev": (
            "上一步的 ᾱ 是 alphas_cumprod[t - 1]（第 0 步之前是 1）：用 alphas_cumprod[t] 会让 "
            "β_t = 1 - ᾱ_t / ᾱ_prev = 0，这一步原样返回 sample"
        ),
        "cosine": (
            "cosine schedule 是 β_t = min(1 - f(t/T) / f((t-1)/T), 0.999)，"
            "f(u) = cos^2((u + 0.008) / 1.008 · π / 2)（Nichol & Dhariwal 式 17）"
        ),
    },
}
MSG = _MSG.get(LANG, _MSG["en"])

_SCHEDULES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}


def ddpm_ref(num_steps: int, schedule: str, dtype: torch.dtype = torch.float32) -> DDPMScheduler:
    """A diffusers DDPM scheduler; in float64 its alphas_cumprod are recomputed in float64."""
    sched = DDPMScheduler(num_train_timesteps=num_steps, beta_schedule=_SCHEDULES[schedule])
    if dtype == F64:
        sched.alphas_cumprod = torch.cumprod(1 - betas_ref64(num_steps, schedule), 0)
    return sched


def betas_ref64(num_steps: int, schedule: str) -> torch.Tensor:
    """Float64 transcription of the papers' schedules, in plain Python."""
    if schedule == "linear":  # Ho et al. §4: beta_1 = 1e-4 ... beta_T = 0.02, evenly spaced
        return torch.from_numpy(np.linspace(1e-4, 0.02, num_steps))

    def f(u: float) -> float:  # Nichol & Dhariwal eq. 17, s = 0.008
        return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2

    t = num_steps
    return torch.tensor([min(1 - f((i + 1) / t) / f(i / t), 0.999) for i in range(t)], dtype=F64)


def random_batch(gen: torch.Generator, min_ndim: int = 1) -> tuple[int, ...]:
    """A random shape [B, ...] of rank min_ndim..4, every size 1..4."""
    ndim = int(torch.randint(min_ndim, 5, (1,), generator=gen))
    return tuple(int(v) for v in torch.randint(1, 5, (ndim,), generator=gen))


# ---------------------------------------------------------------- schedules


def test_beta_schedules_equal_diffusers_float32_for_many_T() -> None:
    """Bitwise equal to DDPMScheduler(beta_schedule=...).betas for 150 values of T."""
    gen = torch.Generator().manual_seed(0)
    sizes = [1, 2, 3, 10, 50, 1000, 4000]
    sizes += torch.randint(1, 2000, (cases(150) - len(sizes),), generator=gen).tolist()
    for num_steps in sizes:
        for schedule, name in _SCHEDULES.items():
            ref = DDPMScheduler(num_train_timesteps=num_steps, beta_schedule=name).betas
            got = impl.make_beta_schedule(num_steps, schedule)
            msg = MSG["cosine"] if schedule == "cosine" else ""
            assert got.dtype == torch.float32
            assert torch.equal(got, ref), f"T={num_steps}, {schedule}: {msg}"


def test_beta_schedules_float64_match_paper_transcription() -> None:
    for num_steps in [1, 2, 7, 100, 1000, 1234]:
        for schedule in _SCHEDULES:
            got = impl.make_beta_schedule(num_steps, schedule, dtype=F64)
            assert got.dtype == F64
            assert_close(got, betas_ref64(num_steps, schedule), atol=1e-15, rtol=1e-12)


def test_linear_schedule_custom_endpoints() -> None:
    got = impl.make_beta_schedule(5, "linear", beta_start=0.1, beta_end=0.5, dtype=F64)
    assert_close(got, torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5], dtype=F64), atol=1e-15)
    ref = DDPMScheduler(num_train_timesteps=77, beta_start=0.001, beta_end=0.03).betas
    assert torch.equal(impl.make_beta_schedule(77, beta_start=0.001, beta_end=0.03), ref)


def test_cosine_alpha_bar_is_f_t_over_f_0_until_the_clip() -> None:
    """Eq. 17 defines alpha_bar_t = f(t)/f(0); the betas telescope back to it (no clip hit)."""
    num_steps = 1000
    betas = impl.make_beta_schedule(num_steps, "cosine", dtype=F64)
    ab = torch.cumprod(1 - betas, 0)
    f = [math.cos((i / num_steps + 0.008) / 1.008 * math.pi / 2) ** 2 for i in range(1001)]
    clipped = int((betas >= 0.999).sum())
    assert clipped == 1 and float(betas[-1]) == 0.999  # only the last step, where f(T) = ~0
    expected = torch.tensor([f[i + 1] / f[0] for i in range(num_steps - 1)], dtype=F64)
    assert_close(ab[:-1], expected, atol=1e-13, rtol=1e-10)


# ---------------------------------------------------------------- forward process


def test_add_noise_matches_diffusers_float32() -> None:
    """1,000 seeded batches of random rank (1-4 dims), T and schedule."""
    gen = torch.Generator().manual_seed(1)
    scheds = {(n, s): ddpm_ref(n, s) for n in (10, 1000) for s in _SCHEDULES}
    for i in range(cases(1000)):
        (num_steps, schedule), sched = list(scheds.items())[i % 4]
        shape = random_batch(gen)
        x0 = torch.randn(shape, generator=gen) * 2
        eps = torch.randn(shape, generator=gen)
        t = torch.randint(0, num_steps, (shape[0],), generator=gen)
        ab = impl.make_beta_schedule(num_steps, schedule)
        got = impl.add_noise(x0, eps, t, torch.cumprod(1 - ab, 0))
        inputs = {"shape": shape, "timesteps": t, "T": num_steps, "schedule": schedule}
        assert_close(got, sched.add_noise(x0, eps, t), inputs=inputs, atol=1e-6, rtol=1e-6)


def test_add_noise_matches_diffusers_float64() -> None:
    """1,000 seeded float64 batches [B, C, H, W] against diffusers at 1e-12."""
    gen = torch.Generator().manual_seed(2)
    sched = ddpm_ref(1000, "linear", F64)
    ab = sched.alphas_cumprod.clone()
    for _ in range(cases(1000)):
        b, c, h, w = (int(v) for v in torch.randint(1, 5, (4,), generator=gen))
        x0 = torch.randn(b, c, h, w, generator=gen, dtype=F64)
        eps = torch.randn(b, c, h, w, generator=gen, dtype=F64)
        t = torch.randint(0, 1000, (b,), generator=gen)
        got = impl.add_noise(x0, eps, t, ab)
        assert_close(got, sched.add_noise(x0, eps, t), inputs={"t": t}, atol=1e-12, rtol=1e-12)


def test_closed_form_equals_iterating_one_step_kernel() -> None:
    """Eq. 4 from eq. 2: iterate x_t = sqrt(1 - b_t) x_{t-1} + sqrt(b_t) e_t on mean and variance.

    add_noise(x0=1, noise=0) is the mean of q(x_t | x_0 = 1); add_noise(x0=0, noise=1) its std.
    """
    for schedule in _SCHEDULES:
        betas = impl.make_beta_schedule(1000, schedule, dtype=F64)
        ab = torch.cumprod(1 - betas, 0)
        mean, var = 1.0, 0.0
        means, stds = [], []
        for beta in betas.tolist():  # Gaussian recursion, written out
            mean, var = math.sqrt(1 - beta) * mean, (1 - beta) * var + beta
            means.append(mean)
            stds.append(math.sqrt(var))
        t = torch.arange(1000)
        ones, zeros = torch.ones(1000, 1, dtype=F64), torch.zeros(1000, 1, dtype=F64)
        got_mean = impl.add_noise(ones, zeros, t, ab).flatten()
        got_std = impl.add_noise(zeros, ones, t, ab).flatten()
        one_step = (1 - betas).sqrt()
        assert not torch.allclose(got_mean[1:], one_step[1:]), MSG["cumprod"]
        assert_close(got_mean, torch.tensor(means, dtype=F64), atol=1e-12, rtol=1e-10)
        assert not torch.allclose(got_std, 1 - ab), MSG["std"]
        assert_close(got_std, torch.tensor(stds, dtype=F64), atol=1e-12, rtol=1e-10)


def test_add_noise_uses_cumulative_product() -> None:
    ab = torch.tensor([0.9, 0.81, 0.729, 0.6561], dtype=F64)  # alpha_t = 0.9 for every t
    x0 = torch.ones(4, 1, dtype=F64)
    got = impl.add_noise(x0, torch.zeros_like(x0), torch.arange(4), ab)
    assert got.shape == (4, 1), f"{MSG['broadcast']}: got shape {tuple(got.shape)}"
    got = got.flatten()
    # sqrt(0.9 ** (t + 1)); the one-step sqrt(0.9) = 0.9487 would be the same for every t
    expected = torch.tensor([0.9 ** ((t + 1) / 2) for t in range(4)], dtype=F64)
    assert torch.allclose(got, expected, atol=1e-12), f"{MSG['cumprod']}: got {got.tolist()}"


def test_add_noise_scales_noise_by_std() -> None:
    ab = torch.tensor([0.36], dtype=F64)
    got = float(impl.add_noise(torch.zeros(1), torch.ones(1), torch.tensor([0]), ab))
    # sqrt(1 - 0.36) = 0.8; the variance 1 - 0.36 = 0.64 is the classic slip
    assert abs(got - 0.8) < 1e-6, f"{MSG['std']}: got {got}, expected 0.8"


def test_add_noise_timesteps_broadcast_per_sample() -> None:
    """B = W = 3: a [B] vector of alpha_bar broadcasts over W silently, without an error."""
    ab = torch.tensor([0.81, 0.64, 0.25], dtype=F64)
    x0 = torch.ones(3, 2, 3, 3, dtype=F64)
    got = impl.add_noise(x0, torch.zeros_like(x0), torch.tensor([0, 1, 2]), ab)
    assert got.shape == (3, 2, 3, 3), f"{MSG['broadcast']}: got shape {tuple(got.shape)}"
    for b in range(3):  # x_0 = 1 and eps = 0 everywhere: one value per sample, whatever it is
        assert bool((got[b] == got[b].flatten()[0]).all()), (
            f"{MSG['broadcast']}: sample {b} has different values along W: {got[b, 0, 0].tolist()}"
        )


def test_add_noise_broadcast_shapes_match_diffusers() -> None:
    """[B] data, [B, D], [B, C, H, W], one timestep for a batch, 0-d timestep."""
    sched = ddpm_ref(50, "cosine")
    ab = sched.alphas_cumprod.clone()
    gen = torch.Generator().manual_seed(3)
    for shape, t in [
        ((5,), torch.tensor([0, 1, 2, 3, 49])),
        ((5, 3), torch.tensor([4, 1, 2, 3, 49])),
        ((2, 3, 4, 4), torch.tensor([7])),
        ((2, 3, 4, 4), torch.tensor(7)),
        ((0, 3), torch.zeros(0, dtype=torch.int64)),
    ]:
        x0, eps = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
        assert_close(impl.add_noise(x0, eps, t, ab), sched.add_noise(x0, eps, t), atol=1e-6)


def test_add_noise_gradient_matches_autograd_of_formula() -> None:
    ab = torch.cumprod(1 - impl.make_beta_schedule(20, dtype=F64), 0)
    x0 = torch.randn(3, 4, dtype=F64, requires_grad=True)
    eps = torch.randn(3, 4, dtype=F64)
    t = torch.tensor([0, 5, 19])
    impl.add_noise(x0, eps, t, ab).sum().backward()
    assert_close(x0.grad, ab[t].sqrt()[:, None].expand(3, 4), atol=1e-12)  # d x_t / d x_0


# ---------------------------------------------------------------- posterior


def test_q_posterior_equals_bayes_rule() -> None:
    """Eq. 6-7 against the product of the two Gaussians q(x_t | x_{t-1}) q(x_{t-1} | x_0).

    600 seeded cases: precision = 1 / (1 - ab_prev) + alpha_t / beta_t, and the mean is
    variance * (sqrt(ab_prev) x_0 / (1 - ab_prev) + sqrt(alpha_t) x_t / beta_t).
    """
    gen = torch.Generator().manual_seed(4)
    for schedule in _SCHEDULES:
        betas = impl.make_beta_schedule(1000, schedule, dtype=F64)
        ab = torch.cumprod(1 - betas, 0)
        for _ in range(cases(300)):
            t = torch.randint(1, 1000, (4,), generator=gen)
            x0 = torch.randn(4, 3, generator=gen, dtype=F64)
            xt = torch.randn(4, 3, generator=gen, dtype=F64)
            mean, var = impl.q_posterior(x0, xt, t, ab)
            ab_prev, beta = ab[t - 1][:, None], betas[t][:, None]
            prec = 1 / (1 - ab_prev) + (1 - beta) / beta
            exp_mean = (ab_prev.sqrt() * x0 / (1 - ab_prev) + (1 - beta).sqrt() * xt / beta) / prec
            assert_close(var.expand(4, 3), (1 / prec).expand(4, 3), atol=1e-14, rtol=1e-9)
            assert_close(mean, exp_mean, inputs={"t": t}, atol=1e-10, rtol=1e-8)


def test_q_posterior_variance_equals_diffusers_and_t0_is_exact() -> None:
    sched = ddpm_ref(1000, "linear", F64)
    ab = sched.alphas_cumprod
    t = torch.arange(1, 1000)
    _, var = impl.q_posterior(torch.zeros(999, 1, dtype=F64), torch.zeros(999, 1, dtype=F64), t, ab)
    expected = torch.stack([sched._get_variance(int(i)) for i in t])
    assert_close(var.flatten(), expected, atol=1e-16, rtol=1e-12)
    # step 0: x_{-1} is the clean image, so the posterior is x_0 itself with variance 0
    x0, xt = torch.randn(2, 3, dtype=F64), torch.randn(2, 3, dtype=F64)
    mean0, var0 = impl.q_posterior(x0, xt, torch.tensor([0, 0]), ab)
    assert_close(mean0, x0, atol=1e-12)
    assert_close(var0, torch.zeros(2, 1, dtype=F64), atol=0)


# ---------------------------------------------------------------- loss


def test_ddpm_loss_equals_mse_on_given_noise_and_timesteps() -> None:
    gen = torch.Generator().manual_seed(5)
    ab = torch.cumprod(1 - impl.make_beta_schedule(100, dtype=F64), 0)
    net = torch.nn.Linear(4, 4).double()
    for _ in range(cases(200)):
        x0 = torch.randn(6, 4, generator=gen, dtype=F64)
        eps = torch.randn(6, 4, generator=gen, dtype=F64)
        t = torch.randint(0, 100, (6,), generator=gen)
        loss = impl.ddpm_loss(lambda x, _t: net(x), x0, ab, noise=eps, timesteps=t)
        a = ab[t][:, None]  # eq. 14 written out
        expected = ((eps - net(a.sqrt() * x0 + (1 - a).sqrt() * eps)) ** 2).mean()
        assert_close(loss, expected, atol=1e-12)
    loss.backward()  # differentiable in the network's parameters
    assert net.weight.grad is not None and bool(net.weight.grad.abs().sum() > 0)


def test_ddpm_loss_is_zero_for_the_true_noise_and_draws_all_timesteps() -> None:
    ab = torch.cumprod(1 - impl.make_beta_schedule(10, dtype=F64), 0)
    x0 = torch.randn(4000, 2, dtype=F64, generator=torch.Generator().manual_seed(6))
    seen: list[torch.Tensor] = []

    def oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen.append(t)
        a = ab[t][:, None]
        return (x - a.sqrt() * x0) / (1 - a).sqrt()  # knows x_0: recovers eps exactly

    loss = impl.ddpm_loss(oracle, x0, ab, torch.Generator().manual_seed(7))
    assert float(loss) < 1e-20
    counts = torch.bincount(seen[0], minlength=10)
    assert counts.numel() == 10 and bool((counts > 300).all())  # ~400 each of 4,000, uniform


# ---------------------------------------------------------------- DDPM reverse step


def test_ddpm_step_matches_diffusers_with_same_generator() -> None:
    """1,000 float32 steps: diffusers draws z with randn_tensor(generator); we pass the same z."""
    gen = torch.Generator().manual_seed(8)
    scheds = {(n, s): ddpm_ref(n, s) for n in (10, 1000) for s in _SCHEDULES}
    keys = list(scheds)
    for i in range(cases(1000)):
        num_steps, schedule = keys[i % 4]
        sched = scheds[keys[i % 4]]
        sched.config.clip_sample = bool(i % 3)  # True (the default) two times in three
        shape = random_batch(gen, 2)  # diffusers' step reads shape[1]
        sample = torch.randn(shape, generator=gen) * 1.5
        eps_hat = torch.randn(shape, generator=gen)
        t = int(torch.randint(0, num_steps, (1,), generator=gen)) if i % 7 else 0
        seed = int(torch.randint(0, 2**31, (1,), generator=gen))
        ref = sched.step(eps_hat, t, sample, generator=torch.Generator().manual_seed(seed))
        z = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        ab = sched.alphas_cumprod
        got = impl.ddpm_step(eps_hat, t, sample, ab, z, clip_sample=bool(i % 3))
        inputs = {"t": t, "T": num_steps, "schedule": schedule, "clip": bool(i % 3)}
        assert_close(got, ref.prev_sample, inputs=inputs, atol=1e-5, rtol=1e-5)
    for sched in scheds.values():
        sched.config.clip_sample = True


def test_ddpm_step_matches_diffusers_float64() -> None:
    """1,000 float64 steps, alphas_cumprod in float64 on both sides, at 1e-10."""
    gen = torch.Generator().manual_seed(9)
    sched = ddpm_ref(1000, "cosine", F64)
    assert sched.config.variance_type == "fixed_small"  # the default we implement
    assert sched.config.clip_sample is True and sched.config.prediction_type == "epsilon"
    ab = sched.alphas_cumprod
    for i in range(cases(1000)):
        b, c = (int(v) for v in torch.randint(1, 4, (2,), generator=gen))
        sample = torch.randn(b, c, 3, 3, generator=gen, dtype=F64)
        eps_hat = torch.randn(b, c, 3, 3, generator=gen, dtype=F64)
        t = int(torch.randint(0, 1000, (1,), generator=gen)) if i % 10 else int(i % 3)
        ref = sched.step(eps_hat, t, sample, generator=torch.Generator().manual_seed(i))
        z = torch.randn(sample.shape, generator=torch.Generator().manual_seed(i), dtype=F64)
        got = impl.ddpm_step(eps_hat, t, sample, ab, z)
        assert_close(got, ref.prev_sample, inputs={"t": t}, atol=1e-10, rtol=1e-10)


def test_ddpm_step_is_posterior_mean_plus_std_noise() -> None:
    """With the true eps and no clipping, x0_hat = x_0, so the step is mu_tilde + sqrt(b~) z."""
    gen = torch.Generator().manual_seed(10)
    ab = torch.cumprod(1 - impl.make_beta_schedule(1000, dtype=F64), 0)
    for _ in range(cases(500)):
        t = int(torch.randint(0, 1000, (1,), generator=gen))
        x0 = torch.randn(2, 5, generator=gen, dtype=F64)
        eps = torch.randn(2, 5, generator=gen, dtype=F64)
        z = torch.randn(2, 5, generator=gen, dtype=F64)
        xt = impl.add_noise(x0, eps, torch.tensor([t, t]), ab)
        got = impl.ddpm_step(eps, t, xt, ab, z, clip_sample=False)
        ab_prev = float(ab[t - 1]) if t > 0 else 1.0  # eq. 7 written out
        ab_t = float(ab[t])
        beta = 1 - ab_t / ab_prev
        mean = (math.sqrt(ab_prev) * beta * x0 + math.sqrt(1 - beta) * (1 - ab_prev) * xt) / (
            1 - ab_t
        )
        std = math.sqrt((1 - ab_prev) / (1 - ab_t) * beta) if t > 0 else 0.0
        assert_close(got, mean + std * z, inputs={"t": t}, atol=1e-9, rtol=1e-8)


def test_ddpm_step_adds_no_noise_at_t0() -> None:
    ab = torch.tensor([0.99, 0.9], dtype=F64)
    sample = torch.full((1, 3), 0.5, dtype=F64)
    eps_hat = torch.full((1, 3), 0.1, dtype=F64)
    got = impl.ddpm_step(eps_hat, 0, sample, ab, torch.ones(1, 3, dtype=F64))
    # t = 0: ab_prev = 1, beta = 0.01, mean = x0_hat = (0.5 - sqrt(0.01) * 0.1) / sqrt(0.99)
    expected = (0.5 - 0.1 * 0.1) / math.sqrt(0.99)
    # with beta_tilde the t = 0 variance is 0 (clamped to 1e-20 by diffusers), so even the
    # 1e-10 noise of a missing `if t == 0` counts; with sigma^2 = beta_t it would be 0.01
    why = MSG["prev"] if torch.equal(got, sample) else MSG["t0"]  # unchanged: beta_t = 0
    assert torch.allclose(got, torch.full((1, 3), expected, dtype=F64), atol=1e-13, rtol=0), (
        f"{why}: got {got.flatten().tolist()}, expected {expected}"
    )


def test_ddpm_step_uses_previous_alpha_bar() -> None:
    ab = torch.tensor([0.9, 0.5], dtype=F64)
    sample = torch.ones(1, 1, dtype=F64)
    got = float(impl.ddpm_step(torch.zeros(1, 1, dtype=F64), 1, sample, ab, torch.zeros(1, 1)))
    # x0_hat = 1 / sqrt(0.5) clipped to 1; beta = 1 - 0.5 / 0.9 = 4/9, alpha = 5/9;
    # mean = sqrt(0.9) * (4/9) * 1 / 0.5 + sqrt(5/9) * 0.1 * 1 / 0.5
    expected = math.sqrt(0.9) * 4 / 9 / 0.5 + math.sqrt(5 / 9) * 0.1 / 0.5
    assert abs(got - expected) < 1e-12, f"{MSG['prev']}: got {got}, expected {expected}"


def test_reverse_process_on_gaussian_data_has_the_right_mean_and_variance() -> None:
    """End to end: data N(0.3, 0.5^2), the exact eps predictor, T = 1000 linear, no clipping.

    Everything is linear-Gaussian, so instead of sampling we push the mean and variance through
    the 1,000 calls of ddpm_step exactly (each step is x -> a x + b + sigma z; a, b, sigma are
    read off three calls). The mean comes out right (off only by x_T not being exactly N(0, 1)).
    The variance comes out 1.6% low: fixed_small uses beta_tilde, the LOWER bound of Ho et al.
    §3.2, which ignores Var(x_0 | x_t).
    """
    mu, s = 0.3, 0.5
    ab = torch.cumprod(1 - impl.make_beta_schedule(1000, dtype=F64), 0)

    def eps_true(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # E[eps | x_t]
        a = ab[t][:, None]
        return (1 - a).sqrt() * (x - a.sqrt() * mu) / (a * s * s + 1 - a)

    mean, var = 0.0, 1.0  # x_T ~ N(0, 1)
    pts = torch.tensor([[0.0], [1.0], [0.0]], dtype=F64)
    z = torch.tensor([[0.0], [0.0], [1.0]], dtype=F64)
    for t in reversed(range(1000)):
        out = impl.ddpm_step(
            eps_true(pts, torch.full((3,), t)), t, pts, ab, z if t else None, clip_sample=False
        ).flatten()
        b, a, sigma = float(out[0]), float(out[1] - out[0]), float(out[2] - out[0])
        mean, var = a * mean + b, a * a * var + sigma * sigma
    assert abs(mean - mu) < 1e-5, mean
    assert 0.98 * s * s < var < s * s, var


def test_ddpm_sample_runs_the_loop_with_one_generator() -> None:
    ab = torch.cumprod(1 - impl.make_beta_schedule(20), 0)
    calls: list[int] = []

    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        calls.append(int(t[0]))
        return torch.zeros_like(x)

    out = impl.ddpm_sample(model, (3, 2), ab, torch.Generator().manual_seed(11))
    assert calls == list(range(19, -1, -1))
    # same loop written with diffusers' scheduler and the same generator stream
    gen = torch.Generator().manual_seed(11)
    sched = ddpm_ref(20, "linear")
    x = torch.randn(3, 2, generator=gen)
    for t in sched.timesteps:
        x = sched.step(torch.zeros_like(x), int(t), x, generator=gen).prev_sample
    assert_close(out, x, atol=1e-6)


# ---------------------------------------------------------------- DDIM


def test_ddim_defaults_are_leading_spacing_and_eta_zero() -> None:
    sched = DDIMScheduler()
    assert sched.config.timestep_spacing == "leading" and sched.config.set_alpha_to_one
    sched.set_timesteps(50)
    assert_equal(sched.timesteps, torch.arange(980, -1, -20))  # 1000 // 50 = 20, from 0 up


def test_ddim_step_matches_diffusers() -> None:
    """1,000 steps (half float64 at 1e-10, half float32): eta = 0 (default) two times in three, else eta in (0, 1] with given noise."""
    gen = torch.Generator().manual_seed(12)
    for i in range(cases(1000)):
        dtype = F64 if i % 2 else torch.float32
        num_steps = [10, 50, 1000][i % 3]
        n_inf = int(torch.randint(1, num_steps + 1, (1,), generator=gen))
        sched = DDIMScheduler(num_train_timesteps=num_steps, clip_sample=bool(i % 4))
        if dtype == F64:
            sched.alphas_cumprod = torch.cumprod(1 - betas_ref64(num_steps, "linear"), 0)
        sched.set_timesteps(n_inf)
        k = int(torch.randint(0, n_inf, (1,), generator=gen))
        t = int(sched.timesteps[k])
        prev = t - num_steps // n_inf  # diffusers' rule; < 0 means alpha_bar = 1
        shape = random_batch(gen, 2)
        sample = torch.randn(shape, generator=gen, dtype=dtype)
        eps_hat = torch.randn(shape, generator=gen, dtype=dtype)
        eta = 0.0 if i % 3 else float(torch.rand(1, generator=gen)) + 1e-3
        noise = torch.randn(shape, generator=gen, dtype=dtype) if eta else None
        ref = sched.step(eps_hat, t, sample, eta=eta, variance_noise=noise).prev_sample
        got = impl.ddim_step(
            eps_hat, t, prev, sample, sched.alphas_cumprod, eta, noise, clip_sample=bool(i % 4)
        )
        tol = 1e-10 if dtype == F64 else 1e-5
        inputs = {"t": t, "prev": prev, "eta": eta, "T": num_steps, "dtype": dtype}
        assert_close(got, ref, inputs=inputs, atol=tol, rtol=tol)


def test_ddim_with_true_eps_is_exact_and_deterministic() -> None:
    """eta = 0: x_prev = sqrt(ab_prev) x_0 + sqrt(1 - ab_prev) eps, the SAME eps: no new noise."""
    gen = torch.Generator().manual_seed(13)
    ab = torch.cumprod(1 - impl.make_beta_schedule(1000, "cosine", dtype=F64), 0)
    for _ in range(cases(300)):
        t = int(torch.randint(1, 1000, (1,), generator=gen))
        prev = int(torch.randint(-1, t, (1,), generator=gen))
        x0 = torch.randn(3, 4, generator=gen, dtype=F64)
        eps = torch.randn(3, 4, generator=gen, dtype=F64)
        xt = impl.add_noise(x0, eps, torch.full((3,), t), ab)
        got = impl.ddim_step(eps, t, prev, xt, ab, clip_sample=False)
        expected = x0 if prev < 0 else impl.add_noise(x0, eps, torch.full((3,), prev), ab)
        assert_close(got, expected, inputs={"t": t, "prev": prev}, atol=1e-8, rtol=1e-8)


def test_ddim_eta_one_has_the_ddpm_variance() -> None:
    """Song et al. eq. 16 with eta = 1 and one-step spacing is DDPM's beta_tilde."""
    ab = torch.cumprod(1 - impl.make_beta_schedule(100, dtype=F64), 0)
    eps, x = torch.zeros(1, 1, dtype=F64), torch.zeros(1, 1, dtype=F64)
    for t in range(1, 100):
        std = impl.ddim_step(eps, t, t - 1, x, ab, 1.0, torch.ones(1, 1, dtype=F64), False)
        _, var = impl.q_posterior(x, x, torch.tensor([t]), ab)
        assert_close(std, var.sqrt(), atol=1e-14)


# ---------------------------------------------------------------- CFG and embedding


def test_classifier_free_guidance_conventions() -> None:
    """diffusers: uncond + w (cond - uncond); Ho & Salimans eq. 6: (1 + w') cond - w' uncond."""
    gen = torch.Generator().manual_seed(14)
    for _ in range(cases(500)):
        u = torch.randn(2, 4, 3, 3, generator=gen, dtype=F64)
        c = torch.randn(2, 4, 3, 3, generator=gen, dtype=F64)
        w_paper = float(torch.rand(1, generator=gen)) * 10
        got = impl.classifier_free_guidance(u, c, 1 + w_paper)
        assert_close(got, (1 + w_paper) * c - w_paper * u, atol=1e-12)
    assert_close(impl.classifier_free_guidance(u, c, 1.0), c, atol=0)  # no guidance
    assert_close(impl.classifier_free_guidance(u, c, 0.0), u, atol=0)  # unconditional


def test_timestep_embedding_matches_diffusers() -> None:
    gen = torch.Generator().manual_seed(15)
    for i in range(cases(400)):
        dim = int(torch.randint(2, 65, (1,), generator=gen))
        t = torch.randint(0, 1000, (int(torch.randint(1, 6, (1,), generator=gen)),), generator=gen)
        kwargs = {"flip_sin_to_cos": bool(i % 2), "downscale_freq_shift": [0, 1][(i // 2) % 2]}
        got = impl.timestep_embedding(t, dim, **kwargs)
        assert_close(got, get_timestep_embedding(t, dim, **kwargs), atol=0, rtol=0)


# ---------------------------------------------------------------- errors


def test_input_errors() -> None:
    ab = torch.cumprod(1 - impl.make_beta_schedule(10), 0)
    x = torch.zeros(2, 3)
    t = torch.tensor([0, 1])
    with raises_naming(TypeError, "original_samples", "[B, ...]"):
        impl.add_noise([[0.0]], x, t, ab)
    with raises_naming(TypeError, "noise"):
        impl.add_noise(x, np.zeros((2, 3)), t, ab)
    with raises_naming(TypeError, "timesteps", "[B]"):
        impl.add_noise(x, x, [0, 1], ab)
    with raises_naming(TypeError, "alphas_cumprod", "[T]"):
        impl.add_noise(x, x, t, [0.9, 0.8])
    with raises_naming(ValueError, "alphas_cumprod", "[T]"):
        impl.add_noise(x, x, t, ab[None])
    with raises_naming(ValueError, "noise", "(2, 3)"):
        impl.add_noise(x, torch.zeros(2, 4), t, ab)
    with raises_naming(ValueError, "timesteps", "[B]"):
        impl.add_noise(x, x, torch.tensor([0, 1, 2]), ab)
    with raises_naming(ValueError, "timesteps", "integer"):
        impl.add_noise(x, x, torch.tensor([0.5, 1.0]), ab)
    with raises_naming(TypeError, "num_train_timesteps"):
        impl.make_beta_schedule(10.0)
    with raises_naming(ValueError, "num_train_timesteps"):
        impl.make_beta_schedule(0)
    with raises_naming(ValueError, "schedule", "cosine"):
        impl.make_beta_schedule(10, "squaredcos")
    with raises_naming(TypeError, "model_output"):
        impl.ddpm_step(None, 1, x, ab, x)
    with raises_naming(ValueError, "model_output", "(2, 3)"):
        impl.ddpm_step(torch.zeros(2, 4), 1, x, ab, x)
    with raises_naming(ValueError, "timestep", "[0, T)", "10"):
        impl.ddpm_step(x, 10, x, ab, x)
    with raises_naming(TypeError, "timestep"):
        impl.ddpm_step(x, 1.0, x, ab, x)
    with raises_naming(ValueError, "noise", "t > 0"):
        impl.ddpm_step(x, 3, x, ab, None)
    with raises_naming(ValueError, "noise", "eta > 0"):
        impl.ddim_step(x, 3, 1, x, ab, eta=0.5)
    with raises_naming(ValueError, "prev_timestep"):
        impl.ddim_step(x, 3, 10, x, ab)
    with raises_naming(ValueError, "noise_pred_cond", "(2, 3)"):
        impl.classifier_free_guidance(x, torch.zeros(3, 2), 7.5)
    with raises_naming(ValueError, "timesteps", "[N]"):
        impl.timestep_embedding(torch.zeros(2, 2), 8)


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.generative.diffusion import draw_alpha_bar, draw_noising

    for draw in (draw_alpha_bar, draw_noising):
        fig = draw(lang)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert len(fig.axes) >= 1
