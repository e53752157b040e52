"""Tests for snippets/ml/logistic_regression.py: sigmoid, log-loss, gradient, Hessian, fits.

References: ``scipy.special.expit`` / ``log_expit`` (stable float64 sigmoid and log-sigmoid);
``sklearn.metrics.log_loss`` on probabilities; scikit-learn 1.9.1's own loss object
``LinearModelLoss(HalfBinomialLoss(), fit_intercept=True)`` (gradient, Hessian); central finite
differences of an objective written here; ``LogisticRegression(C=1 / (lam * n), solver=...,
tol=1e-12)`` for the fitted weights (binary and multinomial).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.special
from sklearn._loss.loss import HalfBinomialLoss
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model._linear_loss import LinearModelLoss
from sklearn.metrics import log_loss as sk_log_loss

from tests.support import LANG, assert_close, cases, raises_naming, under_test

impl = under_test("snippets.ml.logistic_regression")

_MSG = {
    "en": {
        "overflow": (
            "sigmoid({z}) raised '{w}'. The naive 1 / (1 + exp(-z)) computes exp(1000) = inf: "
            "its value 0.0 is the right limit, but the overflow is a warning in every run, "
            "and log(sigmoid(z)) becomes log(0) = -inf. Use the two-branch form: "
            "1 / (1 + exp(-z)) for z >= 0, exp(z) / (1 + exp(z)) for z < 0"
        ),
        "log0": (
            "log_loss(y=[1], z=[-1000]) must be 1000 (= log(1 + e^1000)), got {a}: computing "
            "log(sigmoid(z)) gives log(0) = -inf. Compute the loss from the LOGIT: "
            "np.logaddexp(0, z) - y * z"
        ),
        "sign": (
            "the gradient of the log-loss is X^T (p - y) / n; you returned its NEGATIVE. "
            "y - p is the gradient of the log-LIKELIHOOD (for ascent); gradient DEscent on "
            "the loss needs p - y. Expected grad_w = {e}, got {a}"
        ),
        "mean": (
            "the objective is the MEAN log-loss, so the gradient is X^T (p - y) / n: "
            "yours is {r:.3g} times too large (n = {n}). Divide by n"
        ),
        "intercept": (
            "the intercept b is not penalised (sklearn does not either): grad_b = mean(p - y) "
            "with no lam * b term. Expected {e}, got {a}"
        ),
        "descent": (
            "fit_gd must lower the objective: it went from {o0:.4g} (w = 0) to {o1:.4g}. "
            "Step AGAINST the gradient: w <- w - lr * grad (grad = X^T (p - y) / n + lam w)"
        ),
        "s": (
            "the Hessian is A^T S A / n + lam I with S = diag(p (1 - p)), A = [X, 1]; at "
            "w = 0, b = 0 every p (1 - p) = 1/4. Expected {e}, got {a}: did you leave out S?"
        ),
        "newton_step": (
            "one Newton step from w = 0, b = 0 must be theta = -H^-1 g with "
            "H = A^T S A / n + lam I, S = diag(p (1 - p)) = I / 4 here; expected {e}, got {a}. "
            "A step 4 times too short means the Hessian lost its p (1 - p) factor"
        ),
        "quadratic": (
            "Newton's method converges quadratically: after 8 steps it must equal sklearn's "
            "optimum to 1e-8 (max difference {err:.2e}). A Hessian without S = diag(p (1 - p)) "
            "is only a scaled gradient step and converges linearly"
        ),
    },
    "zh": {
        "overflow": (
            "sigmoid({z}) 触发了“{w}”。朴素写法 1 / (1 + exp(-z)) 会算出 exp(1000) = inf："
            "结果 0.0 本身是正确的极限，但每次都会有溢出警告，而且 log(sigmoid(z)) 会变成 "
            "log(0) = -inf。用分两支的写法：z >= 0 时 1 / (1 + exp(-z))，z < 0 时 "
            "exp(z) / (1 + exp(z))"
        ),
        "log0": (
            "log_loss(y=[1], z=[-1000]) 应为 1000（= log(1 + e^1000)），实际 {a}："
            "先算 sigmoid 再取 log 会得到 log(0) = -inf。要直接从 logit 计算："
            "np.logaddexp(0, z) - y * z"
        ),
        "sign": (
            "log-loss 的梯度是 X^T (p - y) / n，你返回的是它的相反数。y - p 是对数似然的梯度"
            "（用于梯度上升）；对损失做梯度下降要用 p - y。期望 grad_w = {e}，实际 {a}"
        ),
        "mean": "目标函数是 log-loss 的“均值”，梯度是 X^T (p - y) / n：你的结果大了 {r:.3g} 倍（n = {n}），要除以 n",
        "intercept": (
            "截距 b 不加正则（sklearn 也不加）：grad_b = mean(p - y)，没有 lam * b 这一项。"
            "期望 {e}，实际 {a}"
        ),
        "descent": (
            "fit_gd 要让目标函数下降：它从 {o0:.4g}（w = 0）变成了 {o1:.4g}。要沿梯度的反方向走："
            "w <- w - lr * grad（grad = X^T (p - y) / n + lam w）"
        ),
        "s": (
            "Hessian 是 A^T S A / n + lam I，其中 S = diag(p (1 - p))，A = [X, 1]；在 w = 0, "
            "b = 0 处每个 p (1 - p) = 1/4。期望 {e}，实际 {a}：是不是漏了 S？"
        ),
        "newton_step": (
            "从 w = 0, b = 0 出发的一步 Newton 应为 theta = -H^-1 g，H = A^T S A / n + lam I，"
            "这里 S = diag(p (1 - p)) = I / 4；期望 {e}，实际 {a}。步长短了 4 倍说明 Hessian "
            "丢了 p (1 - p)"
        ),
        "quadratic": (
            "Newton 法二次收敛：8 步之后应与 sklearn 的最优解相差不超过 1e-8（最大差 {err:.2e}）。"
            "没有 S = diag(p (1 - p)) 的 Hessian 只是缩放过的梯度步，只有线性收敛"
        ),
    },
}


def msg(key: str, **kw: object) -> str:
    return _MSG.get(LANG, _MSG["en"])[key].format(**kw)


SK_LOSS = LinearModelLoss(HalfBinomialLoss(), fit_intercept=True)


def ref_objective(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, lam: float) -> float:
    """Mean negative log-likelihood + lam/2 ||w||^2, from scipy's stable log-sigmoid."""
    z = X @ w + b
    nll = -(y * scipy.special.log_expit(z) + (1 - y) * scipy.special.log_expit(-z))
    return float(nll.mean() + 0.5 * lam * w @ w)


def random_problem(
    rng: np.random.Generator, trial: int, n_max: int = 60, d_max: int = 5
) -> tuple[np.ndarray, np.ndarray, float]:
    """Gaussian features; labels drawn from a logistic model, or separable every 4th trial."""
    n, d = int(rng.integers(4, n_max)), int(rng.integers(1, d_max + 1))
    X = rng.normal(size=(n, d)) * rng.uniform(0.3, 2.0)
    w_true, b_true = rng.normal(size=d), float(rng.normal())
    z = X @ w_true + b_true
    y = (z > 0) if trial % 4 == 0 else rng.uniform(size=n) < scipy.special.expit(z)
    y = y.astype(np.int64)
    y[0], y[1] = 0, 1  # both classes present
    lam = float(10 ** rng.uniform(-3, 0))
    return X, y, lam


def sk_fit(X: np.ndarray, y: np.ndarray, lam: float, solver: str) -> LogisticRegression:
    # Our objective: mean log-loss + lam/2 ||w||^2. sklearn: C * sum + ||w||^2 / 2, i.e.
    # (dividing by C n) mean + ||w||^2 / (2 C n). Same minimiser iff C = 1 / (lam n).
    return LogisticRegression(C=1.0 / (lam * len(X)), solver=solver, tol=1e-12, max_iter=1000).fit(
        X, y
    )


# ---------------------------------------------------------------- sigmoid and log-loss


def test_sigmoid_matches_scipy_expit() -> None:
    """2,000 arrays with logits up to |z| = 800, no warning allowed."""
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(cases(2000)):
            z = rng.normal(size=int(rng.integers(1, 20))) * 10 ** rng.uniform(-2, 2.9)
            assert_close(impl.sigmoid(z), scipy.special.expit(z), atol=1e-300, rtol=1e-14)
        z = rng.normal(size=(3, 4, 5))  # any shape
        assert_close(impl.sigmoid(z), scipy.special.expit(z), atol=0, rtol=1e-14)


@pytest.mark.parametrize("z", [-1000.0, 1000.0, -745.2, 710.0])
def test_sigmoid_does_not_overflow(z: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            got = impl.sigmoid(np.array([z]))
        except (RuntimeWarning, FloatingPointError) as e:
            raise AssertionError(msg("overflow", z=z, w=e)) from None
    assert_close(got, scipy.special.expit(np.array([z])), atol=0, rtol=1e-14)


def test_sigmoid_limits_and_symmetry() -> None:
    assert float(impl.sigmoid(0.0)) == 0.5
    z = np.linspace(-40, 40, 801)
    assert_close(impl.sigmoid(-z) + impl.sigmoid(z), np.ones_like(z), atol=2e-16)  # symmetric
    assert float(impl.sigmoid(-1000.0)) == 0.0 and float(impl.sigmoid(1000.0)) == 1.0


def test_log_loss_matches_sklearn_on_probabilities() -> None:
    """150 cases, |z| <= 15 (p not saturated: sklearn clips p at float eps)."""
    rng = np.random.default_rng(1)
    for _ in range(cases(150)):
        n = int(rng.integers(1, 30))
        z = rng.uniform(-15, 15, size=n)
        y = rng.integers(0, 2, size=n)
        expected = sk_log_loss(y, scipy.special.expit(z), labels=[0, 1])
        # 1 - p loses digits when p ~ 1 (z = 15: 1 - p ~ 3e-7): the logit form is the exact one
        assert_close(impl.log_loss(y, z), expected, atol=0, rtol=1e-8, inputs={"y": y, "z": z})


def test_log_loss_matches_log_expit_for_large_logits() -> None:
    """2,000 cases with |z| up to 1,000: -(y log sigma(z) + (1 - y) log sigma(-z))."""
    rng = np.random.default_rng(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(cases(2000)):
            n = int(rng.integers(1, 30))
            z = rng.normal(size=n) * 10 ** rng.uniform(-1, 3)
            y = rng.integers(0, 2, size=n)
            nll = -(y * scipy.special.log_expit(z) + (1 - y) * scipy.special.log_expit(-z))
            assert_close(impl.log_loss(y, z), nll.mean(), atol=1e-15, rtol=1e-13)


def test_log_loss_is_finite_when_confidently_wrong() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = impl.log_loss(np.array([1]), np.array([-1000.0]))
    shown = f"{got} with warnings {[str(c.message) for c in caught]}" if caught else got
    assert got == 1000.0 and not caught, msg("log0", a=shown)
    assert impl.log_loss(np.array([0]), np.array([1000.0])) == 1000.0  # log(1 + e^1000) - 0
    assert impl.log_loss(np.array([1]), np.array([1000.0])) == 0.0  # right and confident


# ---------------------------------------------------------------- gradient and Hessian


def test_gradient_matches_sklearn_loss_object() -> None:
    """1,000 cases: loop and vectorised gradient vs sklearn's LinearModelLoss (1e-12)."""
    rng = np.random.default_rng(3)
    for t in range(cases(1000)):
        X, y, lam = random_problem(rng, t, n_max=30)
        w, b = rng.normal(size=X.shape[1]), float(rng.normal())
        loss, g = SK_LOSS.loss_gradient(np.append(w, b), X, y.astype(float), l2_reg_strength=lam)
        assert_close(impl.objective(X, y, w, b, lam), loss, atol=1e-12, rtol=1e-12)
        for fn in (impl.gradient, impl.gradient_naive):
            gw, gb = fn(X, y, w, b, lam)
            assert_close(np.append(gw, gb), g, atol=1e-12, rtol=1e-12, inputs={"X": X, "y": y})


def test_gradient_matches_finite_differences() -> None:
    """500 cases: central differences (h = 1e-6) of an objective written in this file."""
    rng = np.random.default_rng(4)
    for t in range(cases(500)):
        X, y, lam = random_problem(rng, t, n_max=20, d_max=4)
        w, b = rng.normal(size=X.shape[1]), float(rng.normal())
        theta, h = np.append(w, b), 1e-6
        num = np.empty_like(theta)
        for j in range(len(theta)):
            e = np.zeros_like(theta)
            e[j] = h
            up, dn = theta + e, theta - e
            num[j] = (
                ref_objective(X, y, up[:-1], up[-1], lam)
                - ref_objective(X, y, dn[:-1], dn[-1], lam)
            ) / (2 * h)
        gw, gb = impl.gradient(X, y, w, b, lam)
        assert_close(np.append(gw, gb), num, atol=1e-8, rtol=1e-7, inputs={"X": X, "y": y})


def test_gradient_sign_is_p_minus_y() -> None:
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.0]])
    y = np.array([1, 0, 1])
    w = np.array([0.3, -0.2])
    p = scipy.special.expit(X @ w)
    expected = X.T @ (p - y) / 3  # lam = 0, b = 0
    gw, _ = impl.gradient(X, y, w, 0.0, 0.0)
    assert not np.allclose(gw, -expected), msg("sign", e=expected.round(4), a=gw.round(4))
    assert_close(gw, expected, atol=1e-12)


def test_gradient_is_a_mean_over_samples() -> None:
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(10, 3)), np.array([0, 1] * 5)
    w = rng.normal(size=3)
    expected = X.T @ (scipy.special.expit(X @ w + 0.5) - y) / 10
    gw, _ = impl.gradient(X, y, w, 0.5, 0.0)
    ratio = float(np.linalg.norm(gw) / np.linalg.norm(expected))
    assert abs(ratio - 1) < 1e-9, msg("mean", r=ratio, n=10)


def test_intercept_is_not_penalised() -> None:
    X, y = np.array([[1.0], [-2.0], [0.5]]), np.array([1, 0, 0])
    w, b, lam = np.array([0.7]), 2.0, 0.5
    expected = float(np.mean(scipy.special.expit(X @ w + b) - y))  # no lam * b
    _, gb = impl.gradient(X, y, w, b, lam)
    penalised = abs(gb - (expected + lam * b)) < 1e-9
    assert not penalised, msg("intercept", e=round(expected, 6), a=round(gb, 6))
    assert_close(gb, expected, atol=1e-12)


def test_hessian_matches_sklearn_and_finite_differences() -> None:
    """1,000 cases vs sklearn's gradient_hessian; 200 of them also vs differences of grads."""
    rng = np.random.default_rng(6)
    for t in range(cases(1000)):
        X, y, lam = random_problem(rng, t, n_max=30)
        d = X.shape[1]
        w, b = rng.normal(size=d), float(rng.normal())
        _, H_ref, _ = SK_LOSS.gradient_hessian(
            np.append(w, b), X, y.astype(float), l2_reg_strength=lam
        )
        H = impl.hessian(X, w, b, lam)
        assert_close(H, H_ref, atol=1e-12, rtol=1e-12, inputs={"X": X, "w": w, "b": b})
        if t % 5 == 0:
            theta, h = np.append(w, b), 1e-6
            for j in range(d + 1):
                e = np.zeros(d + 1)
                e[j] = h
                g_up = np.append(*impl.gradient(X, y, (theta + e)[:d], (theta + e)[d], lam))
                g_dn = np.append(*impl.gradient(X, y, (theta - e)[:d], (theta - e)[d], lam))
                assert_close(H[:, j], (g_up - g_dn) / (2 * h), atol=1e-8, rtol=1e-6)


def test_hessian_has_p_times_one_minus_p() -> None:
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [3.0, -1.0], [0.0, 1.0]])
    A = np.hstack([X, np.ones((4, 1))])
    expected = A.T @ A / 4 * 0.25  # p = 1/2 everywhere: p (1 - p) = 1/4; lam = 0
    got = impl.hessian(X, np.zeros(2), 0.0, 0.0)
    assert np.allclose(got, expected, atol=1e-12), msg("s", e=expected.round(3), a=got.round(3))


# ---------------------------------------------------------------- fitting


def test_fit_newton_matches_sklearn_newton_cg() -> None:
    """300 seeded problems (every 4th separable, regularised): weights to 1e-8."""
    rng = np.random.default_rng(7)
    for t in range(cases(300)):
        X, y, lam = random_problem(rng, t)
        ref = sk_fit(X, y, lam, "newton-cg")
        w, b = impl.fit_newton(X, y, lam)
        inputs = {"X": X, "y": y, "lam": lam}
        assert_close(w, ref.coef_[0], atol=1e-8, rtol=1e-8, inputs=inputs)
        assert_close(b, ref.intercept_[0], atol=1e-8, rtol=1e-8, inputs=inputs)


def test_c_mapping_needs_the_factor_n() -> None:
    # C = 1/lam (forgetting n) is a weaker penalty when n > 1: the weights differ visibly.
    rng = np.random.default_rng(8)
    X, y, lam = random_problem(rng, 1)
    X, y = np.vstack([X, X]), np.concatenate([y, y])  # n >= 8
    w, _ = impl.fit_newton(X, y, lam)
    wrong = LogisticRegression(C=1 / lam, solver="newton-cg", tol=1e-12).fit(X, y)
    assert np.abs(wrong.coef_[0] - w).max() > 1e-3
    assert_close(w, sk_fit(X, y, lam, "newton-cg").coef_[0], atol=1e-8)


def test_fit_gd_matches_newton_and_sklearn_lbfgs() -> None:
    """30 problems (lam >= 0.05) GD vs Newton (1e-8); 5 of them also vs sklearn lbfgs (1e-5)."""
    rng = np.random.default_rng(9)
    for t in range(cases(30)):
        X, y, lam = random_problem(rng, t, n_max=40, d_max=4)
        lam = max(lam, 0.05)  # condition number <= ~50: GD needs a few hundred steps
        A = np.hstack([X, np.ones((len(X), 1))])
        L = np.linalg.norm(A, 2) ** 2 / (4 * len(X)) + lam  # Lipschitz constant of the gradient
        w, b = impl.fit_gd(X, y, lam, lr=1 / L, max_iter=100_000, tol=1e-11)
        w_n, b_n = impl.fit_newton(X, y, lam)
        assert_close(np.append(w, b), np.append(w_n, b_n), atol=1e-8, rtol=1e-8)
        if t % 6 == 0:
            # lbfgs stops on ftol = 64 eps (relative decrease of f), not on tol: ~1e-6 apart
            ref = sk_fit(X, y, lam, "lbfgs")
            assert_close(np.append(w, b), np.append(ref.coef_[0], ref.intercept_), atol=1e-5)


def test_fit_gd_descends() -> None:
    rng = np.random.default_rng(10)
    X, y, lam = random_problem(rng, 1)
    o0 = impl.objective(X, y, np.zeros(X.shape[1]), 0.0, lam)
    w, b = impl.fit_gd(X, y, lam, lr=0.5, max_iter=50, tol=0.0)
    o1 = impl.objective(X, y, w, b, lam)
    assert o1 < o0, msg("descent", o0=o0, o1=o1)


def test_fit_newton_first_step_and_quadratic_convergence() -> None:
    rng = np.random.default_rng(11)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30)
    lam, n = 0.1, 30
    A = np.hstack([X, np.ones((n, 1))])
    g = A.T @ (0.5 - y) / n  # gradient at theta = 0 (w = 0 has no penalty gradient)
    H = A.T @ A / n / 4 + np.diag([lam] * 3 + [0.0])
    expected = -np.linalg.solve(H, g)
    w, b = impl.fit_newton(X, y, lam, max_iter=1, tol=0.0)
    got = np.append(w, b)
    assert np.allclose(got, expected, atol=1e-10), msg(
        "newton_step", e=expected.round(4), a=got.round(4)
    )
    ref = sk_fit(X, y, lam, "newton-cg")
    w, b = impl.fit_newton(X, y, lam, max_iter=8, tol=0.0)
    err = float(np.abs(np.append(w, b) - np.append(ref.coef_[0], ref.intercept_)).max())
    assert err < 1e-8, msg("quadratic", err=err)


def test_separable_data_has_no_unregularised_optimum() -> None:
    """Separable data, lam = 0: GD's loss -> 0 and ||w|| keeps growing (about log t)."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(40, 2))
    y = (X @ np.array([1.0, -2.0]) + 0.3 > 0).astype(np.int64)
    X = X + 0.5 * np.sign(X @ np.array([1.0, -2.0]) + 0.3)[:, None] * np.array([1.0, -2.0])
    norms, losses = [], []
    for steps in (50, 500, 5_000):
        w, b = impl.fit_gd(X, y, 0.0, lr=1.0, max_iter=steps, tol=0.0)
        norms.append(float(np.hypot(np.linalg.norm(w), b)))
        losses.append(impl.objective(X, y, w, b, 0.0))
    assert norms[0] < norms[1] < norms[2], norms
    assert losses[0] > losses[1] > losses[2] > 0, losses
    # gradient descent's norm grows like log t: each tenfold of steps adds a similar amount
    assert 0.5 < (norms[2] - norms[1]) / (norms[1] - norms[0]) < 2, norms
    # with a penalty the optimum exists: GD and sklearn agree
    w, b = impl.fit_newton(X, y, 0.01)
    assert_close(w, sk_fit(X, y, 0.01, "newton-cg").coef_[0], atol=1e-8)


def test_mse_gradient_vanishes_when_confidently_wrong() -> None:
    # y = 1, logit z = -10 (p ~ 4.5e-5): log-loss d/dz = p - 1 ~ -1;
    # MSE (p - y)^2 has d/dz = 2 (p - y) p (1 - p) ~ -9e-5: almost no signal to fix it.
    z = np.array([-10.0])
    p = impl.sigmoid(z)
    assert abs(float(p[0] - 1) - (-0.9999546)) < 1e-7
    assert abs(float(2 * (p[0] - 1) * p[0] * (1 - p[0]))) < 1e-4
    # MSE composed with the sigmoid is not convex in z: its second derivative changes sign
    zz = np.linspace(-8, 8, 1601)
    mse = (impl.sigmoid(zz) - 1) ** 2
    second = np.diff(mse, 2)
    assert (second > 0).any() and (second < 0).any()
    logloss = np.logaddexp(0, zz) - zz
    assert (np.diff(logloss, 2) > -1e-15).all()  # convex


# ---------------------------------------------------------------- softmax regression


def test_softmax_gradient_matches_differences_and_binary_case() -> None:
    """300 cases vs central differences; K = 2 with row 0 fixed at 0 is the binary model."""
    rng = np.random.default_rng(13)
    for _ in range(cases(300)):
        n, d, K = int(rng.integers(1, 15)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
        X, y = rng.normal(size=(n, d)), rng.integers(0, K, size=n)
        W, b, lam = rng.normal(size=(K, d)), rng.normal(size=K), float(rng.uniform(0, 1))
        loss, gW, gb = impl.softmax_gradient(X, y, W, b, lam)
        Z = X @ W.T + b
        ref = (
            -np.mean(scipy.special.log_softmax(Z, axis=1)[np.arange(n), y]) + lam / 2 * (W**2).sum()
        )
        assert_close(loss, ref, atol=1e-12)
        theta, h = np.append(W.ravel(), b), 1e-6
        num = np.empty_like(theta)
        for j in range(len(theta)):
            e = np.zeros_like(theta)
            e[j] = h
            f = [
                impl.softmax_gradient(X, y, t[: K * d].reshape(K, d), t[K * d :], lam)[0]
                for t in (theta + e, theta - e)
            ]
            num[j] = (f[0] - f[1]) / (2 * h)
        assert_close(np.append(gW.ravel(), gb), num, atol=1e-8, rtol=1e-6)
    X, y = rng.normal(size=(8, 2)), rng.integers(0, 2, size=8)
    w, c = rng.normal(size=2), 0.4
    loss, _, _ = impl.softmax_gradient(X, y, np.vstack([np.zeros(2), w]), np.array([0.0, c]))
    assert_close(loss, impl.log_loss(y, X @ w + c), atol=1e-12)


def softmax_objective(
    t: np.ndarray, X: np.ndarray, y: np.ndarray, K: int, lam: float
) -> tuple[float, np.ndarray]:
    """softmax_gradient on a flat parameter vector (W row-major, then b), for scipy."""
    d = X.shape[1]
    loss, gW, gb = impl.softmax_gradient(X, y, t[: K * d].reshape(K, d), t[K * d :], lam)
    return loss, np.append(gW.ravel(), gb)


def test_softmax_regression_is_sklearn_multiclass_default() -> None:
    """6 three-class problems: minimise softmax_gradient, compare sklearn's default fit."""
    rng = np.random.default_rng(14)
    for _ in range(cases(6)):
        n, d, K = int(rng.integers(15, 50)), int(rng.integers(1, 4)), 3
        X, y = rng.normal(size=(n, d)), np.arange(n) % K
        X += rng.normal(size=(K, d))[y]
        lam = float(10 ** rng.uniform(-2, 0))

        t = scipy.optimize.minimize(
            softmax_objective,
            np.zeros(K * (d + 1)),
            args=(X, y, K, lam),
            jac=True,
            method="BFGS",
            options={"gtol": 1e-11},
        ).x
        W, b = t[: K * d].reshape(K, d), t[K * d :]
        ref = LogisticRegression(C=1 / (lam * n), tol=1e-12, max_iter=1000).fit(X, y)  # defaults
        assert_close(W, ref.coef_, atol=1e-5)
        # intercepts are unpenalised, so only their differences matter: compare centred
        assert_close(b - b.mean(), ref.intercept_ - ref.intercept_.mean(), atol=1e-5)
        P = scipy.special.softmax(X @ W.T + b, axis=1)
        assert_close(P, ref.predict_proba(X), atol=1e-6)


# ---------------------------------------------------------------- inputs and figure


def test_list_input_is_accepted() -> None:
    X, y = [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [0, 1, 1]
    gw, gb = impl.gradient(X, y, [0.1, 0.2], 0.0)
    gw2, gb2 = impl.gradient(np.array(X), np.array(y), np.array([0.1, 0.2]), 0.0)
    assert_close(gw, gw2, atol=0)
    assert gb == gb2
    assert impl.fit_newton(X, [True, False, True], 1.0)[0].shape == (2,)


def test_input_errors() -> None:
    X, y, w = np.zeros((3, 2)), np.array([0, 1, 1]), np.zeros(2)
    with raises_naming(TypeError, "X", "[n, d]"):
        impl.gradient("abc", y, w, 0.0)
    with raises_naming(TypeError, "X", "dtype"):
        impl.gradient([["a", "b"]], y, w, 0.0)
    with raises_naming(ValueError, "X", "[n, d]"):
        impl.gradient(np.zeros(3), y, w, 0.0)
    with raises_naming(ValueError, "X", "NaN"):
        impl.gradient(np.full((3, 2), np.nan), y, w, 0.0)
    with raises_naming(ValueError, "y", "[n]"):
        impl.gradient(X, np.array([0, 1]), w, 0.0)
    with raises_naming(ValueError, "y", "[n]"):
        impl.fit_newton(X, y[:, None])
    with raises_naming(ValueError, "y", "0 or 1"):
        impl.gradient(X, np.array([0, 1, 2]), w, 0.0)
    with raises_naming(ValueError, "y", "0 or 1"):
        impl.fit_gd(X, np.array([0, 1, -1]))
    with raises_naming(ValueError, "y", "NaN"):
        impl.log_loss(np.array([0.0, np.nan]), np.zeros(2))
    with raises_naming(ValueError, "w", "[d]"):
        impl.gradient(X, y, np.zeros(3), 0.0)
    with raises_naming(TypeError, "b"):
        impl.gradient(X, y, w, np.zeros(1))
    with raises_naming(ValueError, "lam"):
        impl.gradient(X, y, w, 0.0, -1.0)
    with raises_naming(ValueError, "lr"):
        impl.fit_gd(X, y, lr=0.0)
    with raises_naming(ValueError, "max_iter"):
        impl.fit_newton(X, y, max_iter=-1)
    with raises_naming(ValueError, "z", "NaN"):
        impl.sigmoid(np.array([0.0, np.nan]))
    with raises_naming(TypeError, "z"):
        impl.sigmoid("1")
    with raises_naming(ValueError, "z", "finite"):
        impl.log_loss(np.array([1]), np.array([np.inf]))
    with raises_naming(ValueError, "y", "[0, 3)"):
        impl.softmax_gradient(X, np.array([0, 1, 3]), np.zeros((3, 2)), np.zeros(3))
    with raises_naming(ValueError, "W", "[K, d"):
        impl.softmax_gradient(X, y, np.zeros((3, 5)), np.zeros(3))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.ml import logistic_regression as fig

    for draw in (fig.draw_decision_boundary, fig.draw_mse_vs_log_loss):
        assert isinstance(draw(lang), matplotlib.figure.Figure)
