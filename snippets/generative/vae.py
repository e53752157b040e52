"""Variational autoencoder (VAE): reparameterisation, closed-form KL, the ELBO loss.

Conventions (as in Kingma & Welling 2014 and ``CompVis/latent-diffusion``):

* the encoder outputs ``mu`` and ``logvar = log sigma**2`` of a diagonal Gaussian
  ``q(z|x)``; the prior is ``N(0, I)``;
* every KL is **summed over the latent dimensions** (it is the KL of the joint
  distribution of ``z``) and the reconstruction NLL is **summed over pixels** (it is
  ``-log p(x|z)`` of the whole image); both are per example, then averaged over the batch;
* ``likelihood="bernoulli"``: ``recon`` are logits, ``x`` lies in ``[0, 1]``;
  ``likelihood="gaussian"``: ``recon`` is the mean of ``N(recon, I)`` (variance 1,
  the ``log 2 pi`` constant included, so the loss is a true negative log-likelihood).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_tensor(x: object, name: str, shape: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of shape {shape}, got {x.dtype}")


def _check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_b} must have the same shape as {name_a} {tuple(a.shape)}, got {tuple(b.shape)}"
        )


def _check_latent(mu: Tensor, logvar: Tensor, suffix: str = "") -> None:
    _check_tensor(mu, f"mu{suffix}", "[..., d]")
    _check_tensor(logvar, f"logvar{suffix}", "[..., d]")
    if mu.ndim == 0:
        raise ValueError(f"mu{suffix} must have shape [..., d] with a latent axis, got ()")
    _check_same_shape(mu, logvar, f"mu{suffix}", f"logvar{suffix}")


# --8<-- [start:reparameterize]
def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """Sample ``z ~ N(mu, exp(logvar))`` as a differentiable function of ``mu, logvar``.

    Args:
        mu: ``[..., d]`` mean of ``q(z|x)``.
        logvar: ``[..., d]`` log-variance ``log sigma**2``.
        eps: ``[..., d]`` standard normal noise (the only random input).

    Returns:
        ``[..., d]`` the sample ``z = mu + exp(logvar / 2) * eps``.

    Examples:
        >>> mu, logvar = torch.tensor([1.0]), torch.log(torch.tensor([4.0]))
        >>> float(reparameterize(mu, logvar, torch.tensor([0.5])))  # 1 + 2 * 0.5
        2.0
    """
    _check_latent(mu, logvar)
    _check_tensor(eps, "eps", "[..., d]")
    _check_same_shape(mu, eps, "mu", "eps")
    std = torch.exp(0.5 * logvar)  # sigma = exp(log sigma^2 / 2), never exp(logvar)
    return mu + std * eps  # dz/dmu = 1, dz/dlogvar = std * eps / 2


# --8<-- [end:reparameterize]


# --8<-- [start:gaussian_kl]
def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(mu, diag exp(logvar)) || N(0, I))``, summed over the latent axis.

    Args:
        mu: ``[..., d]`` mean of ``q(z|x)``.
        logvar: ``[..., d]`` log-variance of ``q(z|x)``.

    Returns:
        ``[...]`` the KL of each distribution, in nats (``>= 0``).

    Examples:
        >>> float(gaussian_kl(torch.zeros(1, 4), torch.zeros(1, 4)))  # q equals the prior
        0.0
        >>> float(gaussian_kl(torch.tensor([1.0, 1.0]), torch.zeros(2)))  # 2 * (1 / 2)
        1.0
    """
    _check_latent(mu, logvar)
    # Kingma & Welling 2014, Appendix B: -KL = 1/2 sum(1 + log s^2 - mu^2 - s^2).
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)


# --8<-- [end:gaussian_kl]


# --8<-- [start:gaussian_kl_two]
def gaussian_kl_two(mu1: Tensor, logvar1: Tensor, mu2: Tensor, logvar2: Tensor) -> Tensor:
    """``KL(N(mu1, diag e^logvar1) || N(mu2, diag e^logvar2))``, summed over the last axis.

    Args:
        mu1: ``[..., d]`` mean of the first Gaussian ``q``.
        logvar1: ``[..., d]`` its log-variance.
        mu2: ``[..., d]`` mean of the second Gaussian ``p``.
        logvar2: ``[..., d]`` its log-variance.

    Returns:
        ``[...]`` the KL in nats.

    Examples:
        >>> z = torch.zeros(3)
        >>> float(gaussian_kl_two(torch.ones(3), z, z, z))  # = gaussian_kl: 3 / 2
        1.5
    """
    _check_latent(mu1, logvar1, "1")
    _check_latent(mu2, logvar2, "2")
    _check_same_shape(mu1, mu2, "mu1", "mu2")
    var_ratio = torch.exp(logvar1 - logvar2)  # s1^2 / s2^2, computed in log space
    mean_term = (mu1 - mu2).pow(2) * torch.exp(-logvar2)  # (mu1 - mu2)^2 / s2^2
    return 0.5 * torch.sum(var_ratio + mean_term - 1 - (logvar1 - logvar2), dim=-1)


# --8<-- [end:gaussian_kl_two]


# --8<-- [start:vae_loss]
def reconstruction_nll(recon: Tensor, x: Tensor, likelihood: str = "bernoulli") -> Tensor:
    """``-log p(x|z)`` of each example, summed over all its pixels.

    Args:
        recon: ``[B, ...]`` decoder output: logits (bernoulli) or the mean (gaussian).
        x: ``[B, ...]`` data, same shape; in ``[0, 1]`` for bernoulli.
        likelihood: ``"bernoulli"`` or ``"gaussian"`` (unit variance).

    Returns:
        ``[B]`` the negative log-likelihood of each example, in nats.

    Examples:
        >>> recon, x = torch.zeros(1, 3), torch.ones(1, 3)  # p = sigmoid(0) = 1/2
        >>> round(float(reconstruction_nll(recon, x)), 4)  # 3 * log 2
        2.0794
    """
    if likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}")
    _check_tensor(recon, "recon", "[B, ...]")
    _check_tensor(x, "x", "[B, ...]")
    if x.ndim < 1:
        raise ValueError("x must have shape [B, ...] with a batch axis, got ()")
    _check_same_shape(x, recon, "x", "recon")
    if likelihood == "bernoulli":
        if bool(((x < 0) | (x > 1)).any()):
            raise ValueError("x must lie in [0, 1] for likelihood='bernoulli'")
        per_pixel = F.binary_cross_entropy_with_logits(recon, x, reduction="none")
    else:  # N(x; recon, 1): (x - recon)^2 / 2 + log(2 pi) / 2 per pixel
        per_pixel = 0.5 * (x - recon).pow(2) + 0.5 * math.log(2 * math.pi)
    return per_pixel.reshape(x.shape[0], -1).sum(dim=1)  # SUM over pixels


def vae_loss(
    recon: Tensor,
    x: Tensor,
    mu: Tensor,
    logvar: Tensor,
    beta: float = 1.0,
    likelihood: str = "bernoulli",
) -> Tensor:
    """Negative ELBO (beta = 1) per example, averaged over the batch.

    Args:
        recon: ``[B, ...]`` decoder output for ``z ~ q(z|x)``.
        x: ``[B, ...]`` the data.
        mu: ``[B, d]`` mean of ``q(z|x)``.
        logvar: ``[B, d]`` log-variance of ``q(z|x)``.
        beta: weight of the KL term (beta-VAE; 1 gives the ELBO).
        likelihood: ``"bernoulli"`` or ``"gaussian"``.

    Returns:
        ``[]`` mean over the batch of ``NLL_sum_over_pixels + beta * KL_sum_over_latents``.

    Examples:
        >>> x, recon = torch.ones(2, 3), torch.zeros(2, 3)
        >>> mu, logvar = torch.ones(2, 4), torch.zeros(2, 4)  # KL = 4 * 1/2 = 2
        >>> round(float(vae_loss(recon, x, mu, logvar)), 4)  # 3 log 2 + 2
        4.0794
    """
    if isinstance(beta, bool) or not isinstance(beta, int | float) or not beta >= 0:
        raise ValueError(f"beta must be a float >= 0, got {beta!r}")
    nll = reconstruction_nll(recon, x, likelihood)  # [B]
    _check_latent(mu, logvar)
    if mu.ndim != 2 or mu.shape[0] != x.shape[0]:
        raise ValueError(
            f"mu must have shape [B, d] with B = len(x) = {x.shape[0]}, got {tuple(mu.shape)}"
        )
    kl = gaussian_kl(mu, logvar)  # [B], summed over the d latent dims
    return (nll + beta * kl).mean()  # per example first, then the batch mean


# --8<-- [end:vae_loss]


# --8<-- [start:vae_module]
class VAE(nn.Module):
    """A tiny MLP VAE: ``x -> (mu, logvar) -> z -> logits of p(x|z)``.

    Args:
        x_dim: number of input features (pixels).
        z_dim: latent dimension.
        hidden: width of the single hidden layer of encoder and decoder.
    """

    def __init__(self, x_dim: int, z_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * z_dim)
        )
        self.decoder = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, x_dim))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``[B, x_dim]`` -> ``mu, logvar``, each ``[B, z_dim]``."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)  # logvar is unconstrained: any real
        return mu, logvar

    def forward(
        self, x: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Returns ``(recon_logits [B, x_dim], mu [B, z_dim], logvar [B, z_dim])``."""
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return self.decoder(reparameterize(mu, logvar, eps)), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``[n, x_dim]`` Bernoulli means ``sigmoid(decoder(z))`` for ``z ~ N(0, I)``."""
        z_dim = self.decoder[0].in_features
        z = torch.randn(n, z_dim, generator=generator)
        return torch.sigmoid(self.decoder(z))


# --8<-- [end:vae_module]
