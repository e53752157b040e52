"""Tests for snippets/ml/pca.py: covariance and SVD PCA, signs, projection, whitening, choosing k.

References: scikit-learn 1.9.1 ``PCA(n_components=k, svd_solver="full")`` (``components_`` with
no sign fix, ``explained_variance_``, ``explained_variance_ratio_``, ``transform``,
``inverse_transform``, ``whiten=True``, float ``n_components``) on seeded random and degenerate
data; ``scipy.linalg.svdvals`` / ``np.cov`` for spectra; a matrix with singular values fixed by
construction for the ill-conditioned case; hand-computed values stated in comments.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from tests.support import LANG, assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.ml.pca")
FNS = ("pca", "pca_eig")

_MSG = {
    "en": {
        "centre": (
            "centre X first (X - X.mean(axis=0)): PCA describes the variance AROUND THE MEAN, "
            "so shifting every point by {shift} must not change the result; without centring "
            "the first 'component' points at the mean. Unshifted: variances {e}; shifted: {a}"
        ),
        "rows": (
            "components[{i}] is not an eigenvector of the covariance: a component is a ROW of "
            "Vt (Vt[:k]), not a column; np.linalg.eigh returns eigenvectors in COLUMNS, so "
            "take eigvecs.T. |cov @ c - var * c| = {r:.3g}"
        ),
        "shape": (
            "components must have shape [n_components, d] = {e} (rows of Vt, like sklearn's "
            "components_), got {a}; U ([n, k]) holds the coordinates of the points, not the "
            "directions"
        ),
        "ascending": (
            "explained_variance must be in DECREASING order, largest first; np.linalg.eigh "
            "returns eigenvalues in ASCENDING order: reverse them (and the eigenvector "
            "columns). Got {a}"
        ),
        "ddof": (
            "explained_variance divides by n - 1 (ddof=1, as sklearn and np.cov do), not by "
            "n: expected {e}, got {a} = expected * (n - 1) / n"
        ),
        "square": (
            "the variance along a component is S**2 / (n - 1): square the singular values. "
            "Expected {e}, got {a} = S / (n - 1)"
        ),
        "cond": (
            "forming X.T @ X squares the condition number ({c:.1e} -> {c2:.1e}); the smallest "
            "variance {e:.3e} should be lost by the covariance route but kept by the SVD: "
            "relative errors svd {rs:.1e}, eig {re:.1e}"
        ),
    },
    "zh": {
        "centre": (
            "先中心化（X - X.mean(axis=0)）：PCA 描述的是“围绕均值”的方差，所有点平移 {shift} "
            "结果不应改变；不中心化时第一个“主成分”会指向均值。平移前方差 {e}，平移后 {a}"
        ),
        "rows": (
            "components[{i}] 不是协方差矩阵的特征向量：主成分是 Vt 的“行”（Vt[:k]），不是列；"
            "np.linalg.eigh 返回的特征向量在“列”上，要取 eigvecs.T。|cov @ c - var * c| = {r:.3g}"
        ),
        "shape": (
            "components 的形状应为 [n_components, d] = {e}（Vt 的行，同 sklearn 的 "
            "components_），实际 {a}；U（[n, k]）是样本的坐标，不是方向"
        ),
        "ascending": (
            "explained_variance 要按“从大到小”排列；np.linalg.eigh 返回的特征值是“升序”的："
            "要反转（特征向量的列也一起反转）。实际 {a}"
        ),
        "ddof": (
            "explained_variance 要除以 n - 1（ddof=1，sklearn 和 np.cov 都这样），不是 n："
            "期望 {e}，实际 {a} = 期望 * (n - 1) / n"
        ),
        "square": "沿主成分的方差是 S**2 / (n - 1)：奇异值要平方。期望 {e}，实际 {a} = S / (n - 1)",
        "cond": (
            "构造 X.T @ X 会把条件数平方（{c:.1e} -> {c2:.1e}）；最小方差 {e:.3e} 走协方差路线"
            "应当丢失、走 SVD 应当保住：相对误差 svd {rs:.1e}，eig {re:.1e}"
        ),
    },
}


def msg(key: str, **kw: object) -> str:
    return _MSG.get(LANG, _MSG["en"])[key].format(**kw)


# Hand case: mean 0; along x the squares sum to 18, along y to 2; n - 1 = 3, so the variances
# are 18/3 = 6 and 2/3, the components are e_x and e_y (largest entry +1), and the total is 20/3.
HAND = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, -1.0], [0.0, 1.0]])
HAND_VAR = np.array([6.0, 2.0 / 3.0])


def sk_pca(X: np.ndarray, k: int | float, whiten: bool = False) -> PCA:
    with warnings.catch_warnings():  # 0/0 ratios on constant data
        warnings.simplefilter("ignore")
        return PCA(n_components=k, svd_solver="full", whiten=whiten).fit(X)


def _ortho(rng: np.random.Generator, d: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q


def random_data(rng: np.random.Generator, trial: int) -> np.ndarray:
    """Six kinds: correlated Gaussian, n < d, duplicates, zero-variance feature, low rank, ints."""
    kind = trial % 6
    n, d = int(rng.integers(2, 25)), int(rng.integers(1, 7))
    if kind == 1:  # wide: n < d
        n, d = int(rng.integers(2, 6)), int(rng.integers(6, 10))
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 5, size=d) @ _ortho(rng, d)
    X += rng.normal(size=d) * 10  # an offset, so centring matters
    if kind == 2:  # duplicate points
        X = X[rng.integers(0, n, size=n + int(rng.integers(1, 5)))]
    elif kind == 3:  # a zero-variance feature
        X[:, int(rng.integers(0, d))] = rng.normal()
    elif kind == 4 and min(n, d) > 1:  # rank-deficient: inner dimension r < min(n, d)
        r = int(rng.integers(1, min(n, d)))
        X = rng.normal(size=(n, r)) @ rng.normal(size=(r, d)) + rng.normal(size=d)
    elif kind == 5:  # integer data
        X = rng.integers(-5, 6, size=(max(n, 2), d)).astype(float)
    return X


def spectrum(X: np.ndarray) -> np.ndarray:
    """All min(n, d) variances, from scipy's singular values of the centred data."""
    return scipy.linalg.svdvals(X - X.mean(0)) ** 2 / (len(X) - 1)


def determined(var: np.ndarray, k: int) -> np.ndarray:
    """Indices < k whose direction is unique up to sign: nonzero variance, separated from both
    neighbours by more than 1e-6 of the largest variance."""
    top = max(var[0], 1e-300)
    keep = []
    for i in range(k):
        gaps = [abs(var[i] - var[j]) for j in (i - 1, i + 1) if 0 <= j < len(var)]
        if var[i] > 1e-9 * top and min(gaps, default=top) > 1e-6 * top:
            keep.append(i)
    return np.array(keep, dtype=int)


# ---------------------------------------------------------------- against sklearn


@pytest.mark.parametrize("fn", FNS)
def test_matches_sklearn_full_solver_without_sign_fix(fn: str) -> None:
    """600 cases (6 kinds, k = min(n, d) every 4th): components, variances, ratios."""
    rng = np.random.default_rng(0 if fn == "pca" else 1)
    ties = 0
    for trial in range(cases(600)):
        X = random_data(rng, trial)
        top = min(X.shape)
        k = top if trial % 4 == 0 else int(rng.integers(1, top + 1))
        ref = sk_pca(X, k)
        comps, var = getattr(impl, fn)(X, k)
        inputs = {"X": X, "n_components": k}
        assert_equal(np.array(comps.shape), np.array([k, X.shape[1]]), inputs=inputs)
        scale = max(ref.explained_variance_[0], 1e-12)
        assert_close(var, ref.explained_variance_, atol=1e-10 * scale, rtol=1e-9, inputs=inputs)
        full = spectrum(X)
        if full.sum() > 0:
            ratio = impl.explained_variance_ratio(X, var)
            assert_close(ratio, ref.explained_variance_ratio_, atol=1e-10, inputs=inputs)
        sure = determined(full, k)
        # unique directions: equal to sklearn's with its OWN signs (largest |entry| positive),
        # except where two entries tie in magnitude (integer data: [0.7071, -0.7071]) and
        # rounding decides which one is "largest": compared up to sign, and counted
        got, want = comps[sure], ref.components_[sure]
        top2 = -np.sort(-np.abs(want), axis=1)[:, :2]
        tie = (top2[:, 0] - top2[:, -1] < 1e-9) & (want.shape[1] > 1)
        ties += int(tie.sum())
        got = np.where(tie[:, None], got * np.sign((got * want).sum(1, keepdims=True)), got)
        assert_close(got, want, atol=1e-8, rtol=0, inputs=inputs)
        # all rows, including arbitrary null-space ones: orthonormal
        assert_close(comps @ comps.T, np.eye(k), atol=1e-10, inputs=inputs)
    print(f"{fn}: {ties} components with a magnitude tie compared up to sign")


def test_transform_and_inverse_transform_match_sklearn() -> None:
    """300 cases: projection, reconstruction, and their whitened versions."""
    rng = np.random.default_rng(2)
    for trial in range(cases(300)):
        X = random_data(rng, trial)
        top = min(X.shape)
        k = top if trial % 4 == 0 else int(rng.integers(1, top + 1))
        ref, refw = sk_pca(X, k), sk_pca(X, k, whiten=True)
        comps, var = impl.pca(X, k)
        mean = X.mean(0)
        inputs = {"X": X, "n_components": k}
        full = spectrum(X)
        sure = determined(full, k)
        tol = 1e-8 * max(1.0, np.abs(X).max())
        Z = impl.transform(X, mean, comps)
        assert_close(Z[:, sure], ref.transform(X)[:, sure], atol=tol, inputs=inputs)
        # the reconstruction only needs a well-defined SUBSPACE: a gap after component k
        # (or nothing left to discard)
        gap = k == top or full[k - 1] - full[k] > 1e-6 * max(full[0], 1e-300)
        if gap:
            X_hat = impl.inverse_transform(Z, mean, comps)
            assert_close(X_hat, ref.inverse_transform(ref.transform(X)), atol=tol, inputs=inputs)
        Zw = impl.transform(X, mean, comps, var)
        assert_close(Zw[:, sure], refw.transform(X)[:, sure], atol=1e-7, inputs=inputs)
        if gap:
            back = impl.inverse_transform(Zw, mean, comps, var)
            assert_close(back, refw.inverse_transform(refw.transform(X)), atol=tol, inputs=inputs)


def test_reconstruction_error_is_the_sum_of_discarded_variances() -> None:
    """300 cases: ||X - X_hat||_F^2 / (n - 1) = sum of the variances after the k-th (scipy)."""
    rng = np.random.default_rng(3)
    for trial in range(cases(300)):
        X = random_data(rng, trial)
        k = int(rng.integers(1, min(X.shape) + 1))
        comps, _ = impl.pca(X, k)
        mean = X.mean(0)
        X_hat = impl.inverse_transform(impl.transform(X, mean, comps), mean, comps)
        err = ((X - X_hat) ** 2).sum() / (len(X) - 1)
        full = spectrum(X)
        assert_close(err, full[k:].sum(), atol=1e-9 * max(full.sum(), 1), inputs={"X": X, "k": k})


def test_whitened_coordinates_have_identity_covariance() -> None:
    """200 full-rank cases (n > d + 2): np.cov of the whitened training data is I."""
    rng = np.random.default_rng(4)
    for _ in range(cases(200)):
        d = int(rng.integers(1, 6))
        n = d + int(rng.integers(3, 30))
        X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d) @ _ortho(rng, d) + 5
        k = int(rng.integers(1, d + 1))
        comps, var = impl.pca(X, k)
        Zw = impl.transform(X, X.mean(0), comps, var)
        cov = np.atleast_2d(np.cov(Zw, rowvar=False))
        assert_close(cov, np.eye(k), atol=1e-9, inputs={"X": X, "k": k})


def test_choose_n_components_matches_sklearn_float_rule() -> None:
    """300 cases, random thresholds and thresholds EQUAL to a cumulative ratio (strict >)."""
    rng = np.random.default_rng(5)
    checked = capped = 0
    for trial in range(cases(300)):
        X = random_data(rng, trial)
        if spectrum(X).sum() < 1e-9:
            continue
        full = sk_pca(X, min(X.shape))
        cum = np.cumsum(full.explained_variance_ratio_)
        if trial % 3 == 0 and len(cum) > 1:
            t = float(cum[int(rng.integers(0, len(cum) - 1))])  # exactly a cumulative value
        else:
            t = float(rng.uniform(0.05, 0.99))
        if not 0 < t < 1:
            continue
        expected = sk_pca(X, t).n_components_
        # sklearn 1.9.1 returns min(n, d) + 1 when t >= the last cumulative ratio (rank-
        # deficient data, where the ratio stops growing at 0.9999999999999999); we cap at
        # min(n, d)
        capped += expected > len(cum)
        expected = min(expected, len(cum))
        assert impl.choose_n_components(X, t) == expected, (X.shape, t, expected)
        checked += 1
    assert checked > cases(300) // 2
    print(f"{capped} of {checked} cases: sklearn's n_components_ exceeded min(n, d)")


def test_choose_n_components_hand_case() -> None:
    # ratios 0.9 and 0.1: 85 % needs one component, 95 % needs two
    assert impl.choose_n_components(HAND, 0.85) == 1
    assert impl.choose_n_components(HAND, 0.95) == 2
    assert_close(impl.explained_variance_ratio(HAND, HAND_VAR), [0.9, 0.1], atol=1e-12)


# ---------------------------------------------------------------- numerics


def test_svd_keeps_a_variance_the_covariance_route_loses() -> None:
    # Singular values fixed by construction: X = Q1 diag(s) Q2^T with the columns of Q1
    # orthogonal to the ones vector (so X is already centred). cond(X) = 1e9, and
    # cond(X^T X) = 1e18 > 1 / eps = 4.5e15: the smallest eigenvalue of the covariance,
    # 1e-18 / 49, is below the rounding error of the largest, 1 / 49.
    rng = np.random.default_rng(6)
    n = 50
    q1, _ = np.linalg.qr(np.column_stack([np.ones(n), rng.normal(size=(n, 3))]))
    s = np.array([1.0, 1e-4, 1e-9])
    X = (q1[:, 1:] * s) @ _ortho(rng, 3).T
    exact = s**2 / (n - 1)
    rel_svd = np.abs(impl.pca(X, 3)[1] / exact - 1)
    rel_eig = np.abs(impl.pca_eig(X, 3)[1] / exact - 1)
    info = {
        "c": np.linalg.cond(X),
        "c2": np.linalg.cond(X.T @ X),
        "e": exact[-1],
        "rs": rel_svd[-1],
        "re": rel_eig[-1],
    }
    assert rel_svd.max() < 1e-5, msg("cond", **info)
    assert rel_eig[-1] > 0.1, msg("cond", **info)  # the covariance route really loses it
    assert rel_eig[:2].max() < 1e-5  # the well-conditioned part is fine either way


def test_both_routes_agree_on_well_conditioned_data() -> None:
    rng = np.random.default_rng(7)
    for _ in range(cases(100)):
        X = rng.normal(size=(30, 5)) * [5, 4, 3, 2, 1]
        c1, v1 = impl.pca(X, 5)
        c2, v2 = impl.pca_eig(X, 5)
        assert_close(v2, v1, atol=1e-12)
        assert_close(c2, c1, atol=1e-9)


# ---------------------------------------------------------------- diagnosis of classic mistakes


@pytest.mark.diagnosis
@pytest.mark.parametrize("fn", FNS)
def test_result_does_not_change_when_the_data_is_shifted(fn: str) -> None:
    # compared with the attempt's OWN result on the unshifted data, so that only a missing
    # centring fails here (other mistakes have their own checks)
    shift = [10.0, -20.0]
    comps0, var0 = getattr(impl, fn)(HAND, 2)
    comps, var = getattr(impl, fn)(HAND + shift, 2)
    ok = np.allclose(var, var0) and np.allclose(np.abs(comps), np.abs(comps0))
    e, a = np.round(var0, 4).tolist(), np.round(var, 4).tolist()
    assert ok, msg("centre", shift=shift, e=e, a=a)


@pytest.mark.diagnosis
@pytest.mark.parametrize("fn", FNS)
def test_components_are_rows_and_eigenvectors(fn: str) -> None:
    rng = np.random.default_rng(8)
    X = rng.normal(size=(12, 4)) @ _ortho(rng, 4) * [4, 3, 2, 1]
    X -= X.mean(0)  # already centred: only the rows-versus-columns mistake fails here
    comps, _ = getattr(impl, fn)(X, 3)
    assert comps.shape == (3, 4), msg("shape", e=(3, 4), a=comps.shape)
    cov = np.cov(X, rowvar=False)
    for i, c in enumerate(comps):
        lam = c @ cov @ c  # Rayleigh quotient: the eigenvalue if c is an eigenvector
        r = float(np.linalg.norm(cov @ c - lam * c))
        assert r < 1e-9, msg("rows", i=i, r=r)


@pytest.mark.diagnosis
@pytest.mark.parametrize("fn", FNS)
def test_variances_come_largest_first(fn: str) -> None:
    _, var = getattr(impl, fn)(HAND, 2)
    assert var[0] >= var[1], msg("ascending", a=np.round(var, 4).tolist())
    rng = np.random.default_rng(9)
    _, var = getattr(impl, fn)(rng.normal(size=(20, 5)) * [1, 2, 3, 4, 5], 5)
    assert (np.diff(var) <= 0).all(), msg("ascending", a=np.round(var, 4).tolist())


@pytest.mark.diagnosis
@pytest.mark.parametrize("fn", FNS)
def test_variance_divides_by_n_minus_1(fn: str) -> None:
    _, var = getattr(impl, fn)(HAND, 2)
    wrong = HAND_VAR * 3 / 4  # 18/4 = 4.5 and 2/4 = 0.5
    assert not np.allclose(np.sort(var), np.sort(wrong)), msg(
        "ddof", e=HAND_VAR.round(4).tolist(), a=np.round(var, 4).tolist()
    )


@pytest.mark.diagnosis
@pytest.mark.parametrize("fn", FNS)
def test_variance_squares_the_singular_values(fn: str) -> None:
    _, var = getattr(impl, fn)(HAND, 2)
    wrong = np.sqrt([18.0, 2.0]) / 3  # S / (n - 1) = 1.414, 0.471
    assert not np.allclose(np.sort(var), np.sort(wrong)), msg(
        "square", e=HAND_VAR.round(4).tolist(), a=np.round(var, 4).tolist()
    )


@pytest.mark.parametrize("fn", FNS)
def test_hand_case(fn: str) -> None:
    comps, var = getattr(impl, fn)(HAND, 2)
    assert_close(var, HAND_VAR, atol=1e-12)
    assert_close(comps, np.eye(2), atol=1e-12)  # largest entry positive: +e_x, +e_y


def test_flip_signs_matches_sklearn_v_based_rule() -> None:
    from sklearn.utils.extmath import svd_flip

    rng = np.random.default_rng(10)
    for _ in range(cases(200)):
        V = rng.normal(size=(int(rng.integers(1, 5)), int(rng.integers(1, 6))))
        _, expected = svd_flip(None, V.copy(), u_based_decision=False)
        assert_close(impl.flip_signs(V), expected, atol=0, rtol=0)


# ---------------------------------------------------------------- edge cases


@pytest.mark.parametrize("fn", FNS)
def test_degenerate_inputs(fn: str) -> None:
    f = getattr(impl, fn)
    # all points equal: every variance 0, components still orthonormal
    comps, var = f(np.ones((5, 3)), 3)
    assert_close(var, np.zeros(3), atol=1e-24)
    assert_close(comps @ comps.T, np.eye(3), atol=1e-12)
    # two points: one direction, the difference vector; variance |x1 - x2|^2 / 2 = 25 / 2
    comps, var = f(np.array([[0.0, 0.0], [3.0, 4.0]]), 1)
    assert_close(var, [12.5], atol=1e-12)
    assert_close(comps, [[0.6, 0.8]], atol=1e-12)
    # d = 1: the component is +1, the variance np.var(ddof=1)
    x = np.array([[1.0], [2.0], [4.0]])
    comps, var = f(x, 1)
    assert_close(comps, [[1.0]], atol=0)
    assert_close(var, [np.var(x, ddof=1)], atol=1e-12)
    # nested lists and ints are accepted
    comps, var = f([[-3, 0], [3, 0], [0, -1], [0, 1]], 1)
    assert_close(var, [6.0], atol=1e-12)


def test_zero_variance_whitening_gives_finite_values() -> None:
    X = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]])  # second feature constant
    comps, var = impl.pca(X, 2)
    Zw = impl.transform(X, X.mean(0), comps, var)
    assert np.isfinite(Zw).all()
    with raises_naming(ValueError, "X", "zero total variance"):
        impl.explained_variance_ratio(np.ones((3, 2)), np.zeros(2))
    with raises_naming(ValueError, "X", "zero total variance"):
        impl.choose_n_components(np.ones((3, 2)), 0.5)


@pytest.mark.parametrize("fn", FNS)
def test_bad_inputs_name_the_argument(fn: str) -> None:
    f = getattr(impl, fn)
    X = np.ones((4, 3))
    with raises_naming(TypeError, "X", "numpy.ndarray"):
        f("abc", 1)
    with raises_naming(TypeError, "X", "real numbers"):
        f(np.array([["a", "b"], ["c", "d"]]), 1)
    with raises_naming(ValueError, "X", "[n, d]"):
        f(np.ones(4), 1)
    with raises_naming(ValueError, "X", "n >= 2"):
        f(np.ones((1, 3)), 1)
    with raises_naming(ValueError, "X", "finite"):
        f(np.array([[1.0, np.nan], [0.0, 1.0]]), 1)
    with raises_naming(ValueError, "n_components", "[1, 3]"):
        f(X, 4)
    with raises_naming(ValueError, "n_components"):
        f(X, 0)
    with raises_naming(TypeError, "n_components", "int"):
        f(X, 1.5)
    with raises_naming(TypeError, "n_components", "int"):
        f(X, True)


def test_bad_model_inputs_name_the_argument() -> None:
    X, comps = np.ones((4, 3)), np.eye(3)[:2]
    with raises_naming(ValueError, "mean", "[d]"):
        impl.transform(X, np.zeros(2), comps)
    with raises_naming(ValueError, "X", "[m, 3]"):
        impl.transform(np.ones((4, 2)), np.zeros(3), comps)
    with raises_naming(ValueError, "Z", "[m, 2]"):
        impl.inverse_transform(np.ones((4, 3)), np.zeros(3), comps)
    with raises_naming(ValueError, "explained_variance", "[k]"):
        impl.transform(X, np.zeros(3), comps, np.ones(3))
    with raises_naming(TypeError, "components"):
        impl.transform(X, np.zeros(3), "eye")
    with raises_naming(ValueError, "threshold", "(0, 1)"):
        impl.choose_n_components(X + np.arange(4)[:, None], 1.0)
    with raises_naming(TypeError, "threshold"):
        impl.choose_n_components(X, "0.9")


# ---------------------------------------------------------------- when PCA is the wrong tool


def test_scale_decides_the_first_component() -> None:
    # Two independent features with equal spread; measure the first in millimetres (x 1000):
    # PC1 becomes that feature. After standardising, both variances are 1 (ddof=1) again.
    rng = np.random.default_rng(11)
    X = rng.normal(size=(200, 2))
    comps, _ = impl.pca(X * [1000.0, 1.0], 1)
    assert abs(comps[0, 0]) > 0.999999
    Xs = (X - X.mean(0)) / X.std(0, ddof=1)
    _, var = impl.pca(Xs, 2)
    assert_close(var.sum(), 2.0, atol=1e-12)  # trace of a correlation matrix = d


def test_high_variance_direction_can_carry_no_class_information() -> None:
    # Two classes differ along y (spread 0.3) and not along x (spread 5): PC1 is x, and the
    # class means are far apart only along y, which LDA finds.
    rng = np.random.default_rng(12)
    n = 200
    y = np.repeat([0, 1], n // 2)
    X = np.column_stack([rng.normal(size=n) * 5, rng.normal(size=n) * 0.3 + 1.5 * y])
    comps, _ = impl.pca(X, 1)
    assert abs(comps[0, 0]) > 0.95  # PCA keeps x
    z = impl.transform(X, X.mean(0), comps)[:, 0]
    lda = LinearDiscriminantAnalysis().fit(X, y)
    pca_acc = max(np.mean((z > 0) == y), np.mean((z < 0) == y))
    assert pca_acc < 0.65  # about chance
    assert lda.score(X, y) > 0.95


def test_figures_draw() -> None:
    import matplotlib.figure

    from figures.ml import pca as figs

    for lang in ("zh", "en"):
        for draw in (figs.draw_principal_axes, figs.draw_explained_variance, figs.draw_pca_vs_lda):
            assert isinstance(draw(lang), matplotlib.figure.Figure)
