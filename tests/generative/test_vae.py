"""Tests for snippets/generative/vae.py: reparameterisation, Gaussian KL, the ELBO loss.

References: ``torch.distributions`` (``kl_divergence`` of two ``Normal``s, ``Bernoulli`` and
``Normal`` log-probabilities, ``MultivariateNormal`` for an exact marginal likelihood) in
float64, plus hand computations stated in comments. The ELBO is checked on a linear-Gaussian
model where ``log p(x)`` and the true posterior are known in closed form.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, MultivariateNormal, Normal, kl_divergence

from tests.support import assert_close, cases, raises_naming, under_test

impl = under_test("snippets.generative.vae")
F64 = torch.float64


def random_latent(
    gen: torch.Generator, shape: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """mu in about [-4, 4], logvar in [-8, 4]: sigma from 0.02 to 7.4."""
    mu = torch.randn(shape, generator=gen, dtype=F64) * 2
    logvar = torch.rand(shape, generator=gen, dtype=F64) * 12 - 8
    return mu, logvar


def batches(gen: torch.Generator, n: int) -> list[tuple[int, ...]]:
    """Shapes [rows, d] for d = 1..8 whose rows add up to n cases (one case = one row)."""
    per = -(-n // 8)
    return [(per, d) for d in range(1, 9)]


def normal(mu: torch.Tensor, logvar: torch.Tensor) -> Normal:
    return Normal(mu, torch.exp(0.5 * logvar), validate_args=False)


STD = Normal(0.0, 1.0, validate_args=False)


# ---------------------------------------------------------------- reparameterize


def test_reparameterize_matches_formula() -> None:
    """2,000 seeded cases in float64: z = mu + sqrt(exp(logvar)) * eps."""
    gen = torch.Generator().manual_seed(0)
    for shape in batches(gen, cases(2000)):
        mu, logvar = random_latent(gen, shape)
        eps = torch.randn(shape, generator=gen, dtype=F64)
        expected = mu + torch.sqrt(torch.exp(logvar)) * eps
        got = impl.reparameterize(mu, logvar, eps)
        assert_close(got, expected, atol=1e-12, rtol=1e-12, inputs={"mu": mu, "logvar": logvar})


def test_reparameterize_gradients_equal_the_analytic_ones() -> None:
    """2,000 cases: d(w.z)/dmu = w, d(w.z)/dlogvar = w * sigma * eps / 2."""
    gen = torch.Generator().manual_seed(1)
    for shape in batches(gen, cases(2000)):
        mu, logvar = (t.requires_grad_() for t in random_latent(gen, shape))
        eps = torch.randn(shape, generator=gen, dtype=F64)
        w = torch.randn(shape, generator=gen, dtype=F64)
        (impl.reparameterize(mu, logvar, eps) * w).sum().backward()
        sigma = torch.exp(0.5 * logvar.detach())
        assert_close(mu.grad, w, atol=1e-12)
        assert_close(logvar.grad, w * sigma * eps / 2, atol=1e-12, rtol=1e-10)


def test_sampling_without_the_trick_gives_no_gradient() -> None:
    """torch.normal / Normal.sample give zero or no gradient; the trick gives the right one."""
    mu = torch.tensor([0.5, -1.0], dtype=F64, requires_grad=True)
    logvar = torch.tensor([0.0, 1.0], dtype=F64, requires_grad=True)
    std = torch.exp(0.5 * logvar)
    torch.manual_seed(0)
    torch.normal(mu, std).sum().backward()  # autograd defines its derivative as zero
    assert torch.equal(mu.grad, torch.zeros(2, dtype=F64))
    assert torch.equal(logvar.grad, torch.zeros(2, dtype=F64))
    assert not Normal(mu, std).sample().requires_grad  # .sample() is detached
    assert Normal(mu, std).rsample().requires_grad  # .rsample() is the reparameterisation
    mu.grad = logvar.grad = None
    eps = torch.tensor([1.0, 2.0], dtype=F64)
    impl.reparameterize(mu, logvar, eps).sum().backward()
    assert_close(mu.grad, torch.ones(2, dtype=F64))
    assert_close(logvar.grad, 0.5 * std.detach() * eps)


def test_reparameterized_samples_have_the_right_distribution() -> None:
    """200,000 samples of one Gaussian: mean and std within 5 standard errors."""
    gen = torch.Generator().manual_seed(2)
    n = cases(200_000)
    eps = torch.randn(n, 1, generator=gen, dtype=F64)
    mu, logvar = torch.full((n, 1), 1.5, dtype=F64), torch.full((n, 1), math.log(0.25), dtype=F64)
    z = impl.reparameterize(mu, logvar, eps)
    assert abs(float(z.mean()) - 1.5) < 5 * 0.5 / math.sqrt(n)
    assert abs(float(z.std()) - 0.5) < 5 * 0.5 / math.sqrt(2 * n)


# ---------------------------------------------------------------- KL


def test_gaussian_kl_matches_torch_distributions() -> None:
    """3,000 seeded cases, float64: sum over latent dims of kl_divergence(Normal, N(0, 1))."""
    gen = torch.Generator().manual_seed(3)
    for shape in batches(gen, cases(3000)):
        mu, logvar = random_latent(gen, shape)
        expected = kl_divergence(normal(mu, logvar), STD).sum(dim=-1)
        got = impl.gaussian_kl(mu, logvar)
        assert_close(got, expected, atol=1e-10, rtol=1e-10, inputs={"mu": mu, "logvar": logvar})


def test_gaussian_kl_float32_and_gradients_match_torch() -> None:
    """800 cases: float32 values (1e-4 relative) and float64 gradients w.r.t. mu, logvar."""
    gen = torch.Generator().manual_seed(4)
    for shape in batches(gen, cases(800)):
        mu, logvar = random_latent(gen, shape)
        ref = kl_divergence(normal(mu, logvar), STD).sum(-1)
        got32 = impl.gaussian_kl(mu.float(), logvar.float())
        assert got32.dtype == torch.float32
        assert_close(got32, ref, atol=1e-4, rtol=1e-4)
        a = [t.clone().requires_grad_() for t in (mu, logvar)]
        b = [t.clone().requires_grad_() for t in (mu, logvar)]
        impl.gaussian_kl(*a).sum().backward()
        kl_divergence(normal(b[0], b[1]), STD).sum().backward()
        assert_close(a[0].grad, b[0].grad, atol=1e-10, rtol=1e-10)
        assert_close(a[1].grad, b[1].grad, atol=1e-10, rtol=1e-10)


def test_gaussian_kl_two_matches_torch_distributions() -> None:
    """3,000 seeded cases, float64: the KL between two diagonal Gaussians."""
    gen = torch.Generator().manual_seed(5)
    for shape in batches(gen, cases(3000)):
        mu1, lv1 = random_latent(gen, shape)
        mu2, lv2 = random_latent(gen, shape)
        q, p = normal(mu1, lv1), normal(mu2, lv2)
        expected = kl_divergence(q, p).sum(dim=-1)
        got = impl.gaussian_kl_two(mu1, lv1, mu2, lv2)
        assert_close(got, expected, atol=1e-9, rtol=1e-10, inputs={"mu1": mu1, "mu2": mu2})


def test_kl_properties() -> None:
    """KL >= 0, = 0 for q = prior, and KL against N(0, I) equals gaussian_kl (1,000 cases)."""
    gen = torch.Generator().manual_seed(6)
    for shape in batches(gen, cases(1000)):
        mu, logvar = random_latent(gen, shape)
        kl = impl.gaussian_kl(mu, logvar)
        assert bool((kl >= 0).all())
        z = torch.zeros_like(mu)
        assert_close(impl.gaussian_kl_two(mu, logvar, z, z), kl, atol=1e-10, rtol=1e-12)
        assert_close(impl.gaussian_kl_two(mu, logvar, mu, logvar), torch.zeros_like(kl))
    assert float(impl.gaussian_kl(torch.zeros(7), torch.zeros(7))) == 0.0


# ---------------------------------------------------------------- the loss


def test_reconstruction_nll_matches_torch_distributions() -> None:
    """1,000 examples each: -Bernoulli(logits).log_prob (also a float64 transcription of
    x log sigmoid + (1 - x) log(1 - sigmoid)) and -Normal(recon, 1).log_prob, summed."""
    gen = torch.Generator().manual_seed(7)
    for shape in [(200, 1), (200, 7), (200, 1, 5, 3), (200, 3, 4, 4), (200, 2, 1, 9)][: cases(5)]:
        logits = torch.randn(shape, generator=gen, dtype=F64) * 4
        x01 = torch.rand(shape, generator=gen, dtype=F64)  # soft targets allowed
        x01[:100] = (x01[:100] > 0.5).to(F64)  # and exact 0 / 1
        b = shape[0]
        expected = -Bernoulli(logits=logits, validate_args=False).log_prob(x01)
        expected = expected.reshape(b, -1).sum(1)
        p = torch.sigmoid(logits)
        by_hand = -(x01 * torch.log(p) + (1 - x01) * torch.log1p(-p)).reshape(b, -1).sum(1)
        got = impl.reconstruction_nll(logits, x01, "bernoulli")
        assert_close(got, expected, atol=1e-10, rtol=1e-10)
        assert_close(got, by_hand, atol=1e-8, rtol=1e-8)
        x = torch.randn(shape, generator=gen, dtype=F64) * 3
        expected = -Normal(logits, 1.0, validate_args=False).log_prob(x).reshape(b, -1).sum(1)
        got = impl.reconstruction_nll(logits, x, "gaussian")
        assert_close(got, expected, atol=1e-10, rtol=1e-10)


def test_vae_loss_matches_transcription() -> None:
    """400 batches: mean over batch of (-log p(x|z) over pixels + beta * KL over latents)."""
    gen = torch.Generator().manual_seed(8)
    for trial in range(cases(400)):
        b, d, n = (int(torch.randint(1, k, (1,), generator=gen)) for k in (6, 9, 20))
        beta = [0.0, 0.5, 1.0, 4.0][trial % 4]
        likelihood = "bernoulli" if trial % 2 else "gaussian"
        mu, logvar = random_latent(gen, (b, d))
        recon = torch.randn(b, n, generator=gen, dtype=F64) * 2
        x = torch.rand(b, n, generator=gen, dtype=F64)
        if likelihood == "bernoulli":
            nll = -Bernoulli(logits=recon, validate_args=False).log_prob(x).sum(1)
        else:
            nll = -Normal(recon, 1.0, validate_args=False).log_prob(x).sum(1)
        kl = kl_divergence(normal(mu, logvar), STD).sum(1)
        expected = (nll + beta * kl).mean()
        got = impl.vae_loss(recon, x, mu, logvar, beta=beta, likelihood=likelihood)
        assert got.ndim == 0
        assert_close(got, expected, atol=1e-10, rtol=1e-10)


def linear_gaussian(
    gen: torch.Generator, k: int, dim: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x = W z + b + noise, z ~ N(0, I_k), noise ~ N(0, I_D); W = Q diag(s) with Q^T Q = I.

    Orthogonal columns make W^T W = diag(s^2), so the exact posterior is DIAGONAL:
    p(z|x) = N((x - b) . W / (s^2 + 1), 1 / (s^2 + 1)), and p(x) = N(b, W W^T + I).
    """
    q, _ = torch.linalg.qr(torch.randn(dim, k, generator=gen, dtype=F64))
    s = torch.rand(k, generator=gen, dtype=F64) * 3 + 0.1
    return q * s, torch.randn(dim, generator=gen, dtype=F64), s


def exact_elbo_terms(w, bias, s, x, mu, logvar):
    """ELBO of q = N(mu, e^logvar) via the snippet, in closed form (no sampling):
    E_q[log N(x; Wz + b, I)] = log N(x; W mu + b, I) - tr(W^T W Sigma) / 2."""
    recon = mu @ w.T + bias
    trace = 0.5 * (s.pow(2) * logvar.exp()).sum(-1)
    return -impl.reconstruction_nll(recon, x, "gaussian") - trace - impl.gaussian_kl(mu, logvar)


def test_elbo_identity_on_a_linear_gaussian_model() -> None:
    """100 seeded models x 8 data points: log p(x) = ELBO(q) + KL(q || p(z|x)) to 1e-8, and
    ELBO(true posterior) = log p(x) to 1e-9."""
    gen = torch.Generator().manual_seed(9)
    for _ in range(cases(100)):
        k = int(torch.randint(1, 5, (1,), generator=gen))
        dim = k + int(torch.randint(0, 5, (1,), generator=gen))
        w, bias, s = linear_gaussian(gen, k, dim)
        x = torch.randn(8, dim, generator=gen, dtype=F64) * 2 + bias
        log_px = MultivariateNormal(bias, w @ w.T + torch.eye(dim, dtype=F64)).log_prob(x)
        post_mu = (x - bias) @ w / (s.pow(2) + 1)
        post_lv = (-torch.log1p(s.pow(2))).expand_as(post_mu)
        assert_close(exact_elbo_terms(w, bias, s, x, post_mu, post_lv), log_px, atol=1e-9)
        mu, logvar = random_latent(gen, (8, k))  # any other q: the gap is exactly the KL
        elbo = exact_elbo_terms(w, bias, s, x, mu, logvar)
        gap = impl.gaussian_kl_two(mu, logvar, post_mu, post_lv)
        assert_close(log_px - elbo, gap, atol=1e-8, rtol=1e-10)
        assert bool((elbo <= log_px + 1e-9).all())
        # vae_loss is the negative batch-mean ELBO once the trace term is added
        loss = impl.vae_loss(mu @ w.T + bias, x, mu, logvar, likelihood="gaussian")
        trace = 0.5 * (s.pow(2) * logvar.exp()).sum(-1).mean()
        assert_close(-(loss + trace), elbo.mean(), atol=1e-9)


def test_monte_carlo_elbo_is_below_log_px() -> None:
    """20 models, 20,000 reparameterised samples each: the Monte-Carlo ELBO estimate agrees
    with the closed form within 5 standard errors and stays below log p(x)."""
    gen = torch.Generator().manual_seed(10)
    n = cases(20_000)
    for _ in range(cases(20)):
        k, dim = 2, 5
        w, bias, s = linear_gaussian(gen, k, dim)
        x = torch.randn(1, dim, generator=gen, dtype=F64) + bias
        log_px = float(MultivariateNormal(bias, w @ w.T + torch.eye(dim, dtype=F64)).log_prob(x))
        mu, logvar = random_latent(gen, (1, k))
        mu, logvar = mu.expand(n, k), (logvar * 0.3).expand(n, k)
        z = impl.reparameterize(mu, logvar, torch.randn(n, k, generator=gen, dtype=F64))
        per = -impl.reconstruction_nll(z @ w.T + bias, x.expand(n, dim), "gaussian")
        per = per - impl.gaussian_kl(mu, logvar)
        estimate, se = float(per.mean()), float(per.std()) / math.sqrt(n)
        exact = float(exact_elbo_terms(w, bias, s, x, mu[:1], logvar[:1]))
        assert abs(estimate - exact) < 5 * se + 1e-12
        assert exact <= log_px + 1e-9 and estimate <= log_px + 5 * se
        loss = impl.vae_loss(z @ w.T + bias, x.expand(n, dim), mu, logvar, likelihood="gaussian")
        assert_close(-loss, estimate, atol=1e-9)


def test_tiny_vae_trains() -> None:
    """Seeded smoke test: 100 Adam steps on 4 binary patterns lower the loss by over half."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    patterns = torch.tensor(
        [[1.0] * 8 + [0.0] * 8, [0.0] * 8 + [1.0] * 8, [1.0, 0.0] * 8, [0.0, 1.0] * 8]
    )
    data = patterns.repeat(2, 1)
    model = impl.VAE(x_dim=16, z_dim=2, hidden=16)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    for _ in range(100):
        recon, mu, logvar = model(data, generator=gen)
        loss = impl.vae_loss(recon, data, mu, logvar)
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < 0.5 * losses[0]  # starts near 16 log 2 = 11.1 nats (logits near 0)
    assert model.sample(3, generator=gen).shape == (3, 16)


# ---------------------------------------------------------------- classic mistakes


@pytest.mark.diagnosis
def test_std_is_exp_half_logvar() -> None:
    # logvar = log 4 -> sigma = 2; with eps = 1 and mu = 0 the sample is 2 (hand computation)
    got = float(impl.reparameterize(torch.zeros(1), torch.log(torch.tensor([4.0])), torch.ones(1)))
    assert abs(got - 4.0) > 1e-6, (
        "z = 4.0000, expected 2 for mu=0, logvar=log 4, eps=1: the standard deviation is "
        "exp(0.5 * logvar); exp(logvar) is the VARIANCE"
    )
    assert abs(got - 2.0) < 1e-6, (
        f"z = {got:.4f}, expected 2 for mu=0, logvar=log 4, eps=1: return "
        "mu + exp(0.5 * logvar) * eps with the GIVEN eps (do not draw new noise)"
    )


@pytest.mark.diagnosis
def test_gradients_reach_mu_and_logvar() -> None:
    mu = torch.zeros(3, requires_grad=True)
    logvar = torch.zeros(3, requires_grad=True)
    eps = torch.tensor([1.0, -2.0, 0.5])
    z = impl.reparameterize(mu, logvar, eps)
    assert z.requires_grad, "z has no gradient path to mu and logvar: write z = mu + std * eps"
    z.sum().backward()
    dead = all(g is None or not bool(g.abs().sum()) for g in (mu.grad, logvar.grad))
    assert not dead, (
        f"dz/dmu = {mu.grad}, dz/dlogvar = {logvar.grad}: no gradient reaches mu and logvar. "
        "torch.normal(mu, std) and Normal(...).sample() have zero or no gradient: return "
        "mu + exp(0.5 * logvar) * eps with the given eps (the reparameterisation trick)"
    )
    ok = torch.allclose(mu.grad, torch.ones(3)) and torch.allclose(logvar.grad, eps / 2)
    assert ok, (
        f"dz/dmu = {mu.grad}, dz/dlogvar = {logvar.grad}; expected 1 and "
        f"sigma * eps / 2 = {eps / 2} at logvar = 0 (sigma = exp(0.5 * logvar))"
    )
    assert_close(z, eps, atol=1e-6)  # mu = 0, sigma = 1: z must BE eps, not a fresh sample


@pytest.mark.diagnosis
def test_kl_sign() -> None:
    # mu = 1, sigma = 1: KL = (1 + 1 - 1 - 0) / 2 = 0.5 (hand computation)
    got = float(impl.gaussian_kl(torch.ones(1), torch.zeros(1)))
    assert abs(got - 0.5) < 1e-6, (
        f"KL = {got:.4f}, expected 0.5 for mu=1, logvar=0: a KL is never negative; the formula is "
        "-0.5 * sum(1 + logvar - mu**2 - exp(logvar)) (note the leading MINUS)"
    )


@pytest.mark.diagnosis
def test_kl_summed_over_latent_dims() -> None:
    # 4 latent dims with mu = 1, logvar = 0: 4 * 0.5 = 2 nats (hand computation)
    got = impl.gaussian_kl(torch.ones(2, 4), torch.zeros(2, 4))
    assert got.shape == (2,), (
        f"gaussian_kl must return one KL per example, shape [2], got {tuple(got.shape)}"
    )
    assert torch.allclose(got, torch.full((2,), 2.0)), (
        f"KL = {got.tolist()}, expected 2.0 each: SUM the KL over the latent dims (the KL of "
        "independent dims adds up); a mean over dims shrinks it by d and upsets the balance "
        "with the reconstruction term, which is a sum over pixels"
    )


@pytest.mark.diagnosis
def test_reconstruction_summed_over_pixels() -> None:
    # 8 pixels, logits 0 (p = 1/2), targets 1: -log p(x|z) = 8 log 2 = 5.545 per example
    x, recon = torch.ones(3, 8), torch.zeros(3, 8)
    got = float(impl.vae_loss(recon, x, torch.zeros(3, 2), torch.zeros(3, 2)))
    assert abs(got - 8 * math.log(2)) < 1e-5, (
        f"loss {got:.4f}, expected 8 log 2 = 5.5452: SUM the reconstruction term over the pixels "
        "of each example (it is -log p(x|z) of the whole image), then MEAN over the batch; "
        "a mean over pixels (F.binary_cross_entropy(..., reduction='mean')) gives log 2 = 0.693 "
        "and lets the KL term dominate"
    )


@pytest.mark.diagnosis
def test_vae_loss_is_a_mean_over_the_batch() -> None:
    # Same example repeated: the loss must not depend on the batch size (3 log 2 + 0.5 each)
    x, recon = torch.ones(1, 3), torch.zeros(1, 3)
    mu, logvar = torch.ones(1, 1), torch.zeros(1, 1)
    one = float(impl.vae_loss(recon, x, mu, logvar))
    five = float(
        impl.vae_loss(recon.repeat(5, 1), x.repeat(5, 1), mu.repeat(5, 1), logvar.repeat(5, 1))
    )
    assert abs(one - (3 * math.log(2) + 0.5)) < 1e-5 and abs(five - one) < 1e-5, (
        f"loss {one:.4f} for one example and {five:.4f} for five copies, expected "
        f"{3 * math.log(2) + 0.5:.4f} both: per-example NLL + beta * KL, then the batch MEAN"
    )


@pytest.mark.diagnosis
def test_beta_weights_only_the_kl() -> None:
    x, recon = torch.ones(1, 3), torch.zeros(1, 3)
    mu, logvar = torch.ones(1, 2), torch.zeros(1, 2)  # KL = 1
    got = float(impl.vae_loss(recon, x, mu, logvar, beta=4.0))
    assert abs(got - (3 * math.log(2) + 4.0)) < 1e-5, (
        f"loss {got:.4f}, expected 3 log 2 + 4 * 1 = 6.0794: beta multiplies the KL term only"
    )


# ---------------------------------------------------------------- input checks


def test_input_errors() -> None:
    t = torch.zeros(2, 3)
    with raises_naming(TypeError, "mu", "torch.Tensor"):
        impl.reparameterize([0.0], t, t)
    with raises_naming(TypeError, "eps", "torch.Tensor"):
        impl.reparameterize(t, t, t.numpy())
    with raises_naming(ValueError, "logvar", "shape"):
        impl.gaussian_kl(t, torch.zeros(2, 4))
    with raises_naming(ValueError, "eps", "shape"):
        impl.reparameterize(t, t, torch.zeros(3))
    with raises_naming(TypeError, "logvar", "floating"):
        impl.gaussian_kl(t, torch.zeros(2, 3, dtype=torch.int64))
    with raises_naming(ValueError, "mu2", "shape"):
        impl.gaussian_kl_two(t, t, torch.zeros(2, 2), torch.zeros(2, 2))
    with raises_naming(TypeError, "logvar2", "torch.Tensor"):
        impl.gaussian_kl_two(t, t, t, None)
    with raises_naming(ValueError, "likelihood"):
        impl.vae_loss(t, t, t, t, likelihood="mse")
    with raises_naming(ValueError, "beta"):
        impl.vae_loss(t, t, t, t, beta=-1.0)
    with raises_naming(ValueError, "recon", "shape"):
        impl.vae_loss(torch.zeros(2, 4), t, t, t)
    with raises_naming(ValueError, "x", "[0, 1]"):
        impl.vae_loss(t, t + 2, t, t)
    with raises_naming(ValueError, "mu", "[B, d]"):
        impl.vae_loss(t, t, torch.zeros(5, 3), torch.zeros(5, 3))
    with raises_naming(TypeError, "x", "torch.Tensor"):
        impl.vae_loss(t, [[0.0] * 3] * 2, t, t)
    assert impl.vae_loss(t, t + 5, t, t, likelihood="gaussian").ndim == 0  # any real x


def test_figures_draw() -> None:
    import matplotlib.figure

    from figures.generative.vae import draw_kl_and_elbo

    for lang in ("zh", "en"):
        assert isinstance(draw_kl_and_elbo(lang), matplotlib.figure.Figure)
