"""Logistic regression: stable sigmoid and log-loss, gradient, Hessian, GD and Newton (IRLS).

Conventions (chosen to match scikit-learn 1.9 ``LogisticRegression`` with an L2 penalty):

* ``X`` is a NumPy array (or nested list) of shape ``[n, d]``, ``y`` has shape ``[n]`` with
  labels 0 or 1 (bool, int or float); everything is computed in float64;
* the model is ``p = sigmoid(X @ w + b)`` with weights ``w`` ``[d]`` and an intercept ``b``;
* the objective is the MEAN log-loss plus ``lam / 2 * ||w||^2``; the intercept is not
  penalised. sklearn minimises ``C * sum(log-loss) + ||w||^2 / 2``, the same minimiser
  when ``C = 1 / (lam * n)`` (it divides by ``C * n`` itself: ``l2_reg_strength``).
"""

from __future__ import annotations

import numpy as np


def _check_real(a: object, name: str, shape: str) -> np.ndarray:
    if not isinstance(a, np.ndarray | list | tuple | int | float | np.number):
        raise TypeError(
            f"{name} must be a numpy.ndarray (or nested list) of shape {shape}, "
            f"got {type(a).__name__}"
        )
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _check_X(X: object) -> np.ndarray:
    X = _check_real(X, "X", "[n, d]")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have shape [n, d] with n, d >= 1, got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X must be finite (no NaN or inf)")
    return X


def _check_y(y: object, n: int) -> np.ndarray:
    y = _check_real(y, "y", "[n]")
    if y.shape != (n,):
        raise ValueError(f"y must have shape [n] = ({n},) (one label per row), got {y.shape}")
    if not np.isin(y, (0.0, 1.0)).all():  # also rejects NaN
        raise ValueError("y must hold binary labels 0 or 1 (no NaN)")
    return y


def _check_params(w: object, b: object, d: int) -> tuple[np.ndarray, float]:
    w = _check_real(w, "w", "[d]")
    if w.shape != (d,) or not np.isfinite(w).all():
        raise ValueError(f"w must be finite with shape [d] = ({d},), got {w.shape}")
    if isinstance(b, bool) or not isinstance(b, int | float | np.number) or not np.isfinite(b):
        raise TypeError(f"b must be a finite real number (the intercept), got {b!r}")
    return w, float(b)


def _check_nonneg(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name} must be a float >= 0, got {value!r}")
    return float(value)


def _check_iter(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"max_iter must be an int >= 0, got {value!r}")
    return int(value)


# --8<-- [start:sigmoid]
def sigmoid(z: np.ndarray | float) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))`` without overflow for any ``z``.

    Args:
        z: logits, any shape (a scalar gives a 0-d array).

    Returns:
        float64 array of the same shape, values in ``[0, 1]``.

    Examples:
        >>> float(sigmoid(0.0)), float(sigmoid(-1000.0)), float(sigmoid(1000.0))
        (0.5, 0.0, 1.0)
    """
    z = _check_real(z, "z", "[...]")
    if np.isnan(z).any():
        raise ValueError("z must not contain NaN")
    out = np.empty_like(z)
    pos = z >= 0
    # exp of a NON-POSITIVE number only: it lies in (0, 1], it cannot overflow.
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])  # z < 0: sigmoid(z) = e^z / (1 + e^z)
    out[~pos] = ez / (1.0 + ez)
    return out


# --8<-- [end:sigmoid]


# --8<-- [start:log_loss]
def log_loss(y: np.ndarray, z: np.ndarray) -> float:
    """Mean binary cross-entropy from LOGITS: ``mean(log(1 + e^z) - y z)``.

    Args:
        y: ``[n]`` labels 0 or 1.
        z: ``[n]`` logits ``X @ w + b``.

    Returns:
        The mean log-loss (natural log), as a float.

    Examples:
        >>> round(log_loss(np.array([1, 0]), np.array([0.0, 0.0])), 6)  # log 2
        0.693147
        >>> log_loss(np.array([1]), np.array([-1000.0]))  # log(sigmoid) would be -inf
        1000.0
    """
    z = _check_real(z, "z", "[n]")
    if z.ndim != 1 or not np.isfinite(z).all():
        raise ValueError(f"z must be finite with shape [n], got {z.shape}")
    y = _check_y(y, len(z))
    # -log p = log(1 + e^-z), -log(1 - p) = log(1 + e^z); both are
    # log(1 + e^z) - y z, and logaddexp(0, z) = log(e^0 + e^z) never overflows.
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


# --8<-- [end:log_loss]


def objective(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, lam: float = 0.0) -> float:
    """What both fits minimise: ``log_loss(y, X @ w + b) + lam / 2 * ||w||^2``.

    Args:
        X: ``[n, d]`` features.
        y: ``[n]`` labels 0 or 1.
        w: ``[d]`` weights.
        b: intercept (not penalised).
        lam: L2 strength ``>= 0``.

    Returns:
        The objective value, as a float.

    Examples:
        >>> round(objective(np.ones((2, 1)), np.array([0, 1]), np.array([1.0]), -1.0, 1.0), 6)
        1.193147
    """
    X = _check_X(X)
    w, b = _check_params(w, b, X.shape[1])
    lam = _check_nonneg(lam, "lam")
    return log_loss(y, X @ w + b) + 0.5 * lam * float(w @ w)


# --8<-- [start:gradient_naive]
def gradient_naive(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, lam: float = 0.0
) -> tuple[np.ndarray, float]:
    """Gradient of :func:`objective`, one sample at a time.

    Args:
        X: ``[n, d]`` features.
        y: ``[n]`` labels 0 or 1.
        w: ``[d]`` weights.
        b: intercept.
        lam: L2 strength ``>= 0``.

    Returns:
        ``(grad_w, grad_b)``: ``[d]`` array and float.

    Examples:
        >>> gw, gb = gradient_naive(np.array([[2.0]]), np.array([1]), np.zeros(1), 0.0)
        >>> float(gw[0]), gb  # (p - y) x = (0.5 - 1) * 2
        (-1.0, -0.5)
    """
    X = _check_X(X)
    n, d = X.shape
    y = _check_y(y, n)
    w, b = _check_params(w, b, d)
    lam = _check_nonneg(lam, "lam")
    grad_w, grad_b = np.zeros(d), 0.0
    for i in range(n):
        p = float(sigmoid(X[i] @ w + b))
        grad_w += (p - y[i]) * X[i]  # d/dz of the loss is p - y (not y - p)
        grad_b += p - y[i]
    return grad_w / n + lam * w, float(grad_b / n)  # mean; no penalty on b


# --8<-- [end:gradient_naive]


# --8<-- [start:gradient]
def gradient(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, lam: float = 0.0
) -> tuple[np.ndarray, float]:
    """Gradient of :func:`objective`: ``X^T (p - y) / n + lam w`` and ``mean(p - y)``.

    Args:
        X: ``[n, d]`` features.
        y: ``[n]`` labels 0 or 1.
        w: ``[d]`` weights.
        b: intercept.
        lam: L2 strength ``>= 0``.

    Returns:
        ``(grad_w, grad_b)``: ``[d]`` array and float.

    Examples:
        >>> gw, gb = gradient(np.array([[2.0]]), np.array([1]), np.zeros(1), 0.0)
        >>> float(gw[0]), gb
        (-1.0, -0.5)
    """
    X = _check_X(X)
    n, d = X.shape
    y = _check_y(y, n)
    w, b = _check_params(w, b, d)
    lam = _check_nonneg(lam, "lam")
    r = sigmoid(X @ w + b) - y  # [n] residuals p - y
    return X.T @ r / n + lam * w, float(r.mean())


# --8<-- [end:gradient]


# --8<-- [start:hessian]
def hessian(X: np.ndarray, w: np.ndarray, b: float, lam: float = 0.0) -> np.ndarray:
    """Hessian of :func:`objective` in ``(w, b)``: ``A^T S A / n + lam I`` (not on ``b``).

    ``A = [X, 1]`` and ``S = diag(p (1 - p))``; it does not depend on ``y``.

    Args:
        X: ``[n, d]`` features.
        w: ``[d]`` weights.
        b: intercept.
        lam: L2 strength ``>= 0``.

    Returns:
        ``[d + 1, d + 1]`` matrix; the last row and column belong to ``b``.

    Examples:
        >>> hessian(np.array([[2.0]]), np.zeros(1), 0.0).tolist()  # p(1-p) = 1/4
        [[1.0, 0.5], [0.5, 0.25]]
    """
    X = _check_X(X)
    n, d = X.shape
    w, b = _check_params(w, b, d)
    lam = _check_nonneg(lam, "lam")
    A = np.hstack([X, np.ones((n, 1))])  # the intercept is a weight on a column of ones
    p = sigmoid(X @ w + b)
    s = p * (1.0 - p)  # S = diag(s): the curvature of each sample's loss, <= 1/4
    H = A.T @ (s[:, None] * A) / n  # A^T S A without building the n x n matrix S
    H[:d, :d] += lam * np.eye(d)
    return H


# --8<-- [end:hessian]


# --8<-- [start:fit_gd]
def fit_gd(
    X: np.ndarray,
    y: np.ndarray,
    lam: float = 0.0,
    lr: float = 1.0,
    max_iter: int = 10_000,
    tol: float = 1e-10,
) -> tuple[np.ndarray, float]:
    """Gradient descent with a fixed step, from ``w = 0, b = 0``.

    Args:
        X: ``[n, d]`` features.
        y: ``[n]`` labels 0 or 1.
        lam: L2 strength ``>= 0``.
        lr: step size ``> 0``; converges for ``lr <= 1 / L``, L the largest
            eigenvalue of the Hessian (at most ``||A||_2^2 / (4n) + lam``).
        max_iter: maximum number of steps.
        tol: stop when every gradient entry is ``<= tol`` in absolute value.

    Returns:
        ``(w, b)``: ``[d]`` weights and the intercept.

    Examples:
        >>> X, y = np.array([[-1.0], [1.0]]), np.array([0, 1])
        >>> w, b = fit_gd(X, y, lam=1.0)  # minimum: p - y = -w at x = 1
        >>> round(float(w[0]), 6), round(b, 6)
        (0.401058, 0.0)
    """
    X = _check_X(X)
    n, d = X.shape
    y = _check_y(y, n)
    lam = _check_nonneg(lam, "lam")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
        raise ValueError(f"lr must be a float > 0, got {lr!r}")
    tol, max_iter = _check_nonneg(tol, "tol"), _check_iter(max_iter)
    w, b = np.zeros(d), 0.0
    for _ in range(max_iter):
        grad_w, grad_b = gradient(X, y, w, b, lam)
        if max(np.abs(grad_w).max(), abs(grad_b)) <= tol:
            break
        w = w - lr * grad_w  # DEscent: minus the gradient of the loss
        b = b - lr * grad_b
    return w, b


# --8<-- [end:fit_gd]


# --8<-- [start:fit_newton]
def fit_newton(
    X: np.ndarray, y: np.ndarray, lam: float = 0.0, max_iter: int = 50, tol: float = 1e-12
) -> tuple[np.ndarray, float]:
    """Newton's method (IRLS), full steps from ``w = 0, b = 0``.

    Args:
        X: ``[n, d]`` features.
        y: ``[n]`` labels 0 or 1.
        lam: L2 strength ``>= 0``.
        max_iter: maximum number of Newton steps.
        tol: stop when every gradient entry is ``<= tol`` in absolute value.

    Returns:
        ``(w, b)``: ``[d]`` weights and the intercept.

    Examples:
        >>> X, y = np.array([[-1.0], [1.0]]), np.array([0, 1])
        >>> w, b = fit_newton(X, y, lam=1.0)
        >>> round(float(w[0]), 6), round(b, 6)
        (0.401058, 0.0)
    """
    X = _check_X(X)
    n, d = X.shape
    y = _check_y(y, n)
    lam = _check_nonneg(lam, "lam")
    tol, max_iter = _check_nonneg(tol, "tol"), _check_iter(max_iter)
    theta = np.zeros(d + 1)  # (w, b) stacked, b last as in hessian()
    for _ in range(max_iter):
        grad_w, grad_b = gradient(X, y, theta[:d], theta[d], lam)
        g = np.append(grad_w, grad_b)
        if np.abs(g).max() <= tol:
            break
        H = hessian(X, theta[:d], theta[d], lam)
        # Solve H step = g (O(d^3)); never form the inverse.
        # H is singular when lam = 0 and the data is separable or rank deficient.
        theta = theta - np.linalg.solve(H, g)
    return theta[:d].copy(), float(theta[d])


# --8<-- [end:fit_newton]


# --8<-- [start:softmax]
def softmax_gradient(
    X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray, lam: float = 0.0
) -> tuple[float, np.ndarray, np.ndarray]:
    """Multinomial (softmax) regression: mean cross-entropy, its gradient in ``W``, ``b``.

    Args:
        X: ``[n, d]`` features.
        y: ``[n]`` integer class labels in ``[0, K)``.
        W: ``[K, d]`` weights (one row per class, as sklearn's ``coef_``).
        b: ``[K]`` intercepts (not penalised).
        lam: L2 strength ``>= 0``.

    Returns:
        ``(loss, grad_W, grad_b)`` with shapes ``()``, ``[K, d]``, ``[K]``.

    Examples:
        >>> loss, gW, gb = softmax_gradient(np.ones((1, 1)), np.array([0]),
        ...                                 np.zeros((3, 1)), np.zeros(3))
        >>> round(loss, 6), gb.round(4).tolist()  # log 3; P - onehot
        (1.098612, [-0.6667, 0.3333, 0.3333])
    """
    X = _check_X(X)
    n, d = X.shape
    W = _check_real(W, "W", "[K, d]")
    if W.ndim != 2 or W.shape[1] != d or not np.isfinite(W).all():
        raise ValueError(f"W must be finite with shape [K, d = {d}], got {W.shape}")
    K = W.shape[0]
    b = _check_real(b, "b", "[K]")
    if b.shape != (K,) or not np.isfinite(b).all():
        raise ValueError(f"b must be finite with shape [K] = ({K},), got {b.shape}")
    y = _check_real(y, "y", "[n]")
    if y.shape != (n,) or not np.isin(y, np.arange(K)).all():
        raise ValueError(f"y must have shape [n] = ({n},) with labels in [0, {K})")
    lam = _check_nonneg(lam, "lam")
    Z = X @ W.T + b  # [n, K] logits
    Z = Z - Z.max(axis=1, keepdims=True)  # stable: the largest logit is 0
    log_P = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    Y = np.eye(K)[y.astype(np.int64)]  # [n, K] one-hot
    loss = -float((Y * log_P).sum()) / n + 0.5 * lam * float((W * W).sum())
    R = np.exp(log_P) - Y  # [n, K]: P - Y, the binary p - y for every class
    return loss, R.T @ X / n + lam * W, R.mean(axis=0)


# --8<-- [end:softmax]
