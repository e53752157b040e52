"""Tests for snippets/ml/kmeans.py: Lloyd's algorithm, empty clusters, k-means++, soft limit.

References: scikit-learn 1.9.1 ``KMeans(init=centers, n_init=1, algorithm="lloyd", tol=0)``
(centres, labels, ``inertia_``) on seeded blobs and random data; brute-force loops and exact
probabilities written here (k-means++ D^2 sampling, checked with scipy's chi-square test);
``scipy.special.softmax`` for the GMM responsibilities.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import scipy.special
import scipy.stats
from sklearn.cluster import KMeans

from tests.support import LANG, assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.ml.kmeans")

_MSG = {
    "en": {
        "argmin": (
            "each point must go to its NEAREST centre: argmin over the distances (axis=1), "
            "not argmax; point {i} is at distance {near} from centre {want} and {far} from "
            "centre {got}"
        ),
        "own_mean": (
            "a centre must move to the mean of ITS OWN points (X[labels == j].mean(0)), "
            "not the mean of all points: expected {e}, got {a}"
        ),
        "nan": (
            "an empty cluster gives a mean of nothing (NaN): give it a point instead (sklearn: "
            "the point farthest from its centre); got {a}"
        ),
        "farthest": (
            "the empty cluster must take the point FARTHEST from its own centre, "
            "x = {e}; got centre {a}"
        ),
        "d2": (
            "k-means++ must sample the next centre with probability proportional to D(x)^2, "
            "the SQUARED distance to the nearest chosen centre (not D(x)): the chi-square "
            "test of the observed pairs against D^2 gives p = {p:.2e}"
        ),
        "stop": (
            "kmeans did not return within {t} s on 4 points that converge in 2 rounds: the "
            "loop must stop when the labels stop changing (or the shift is <= tol)"
        ),
        "max_iter": (
            "kmeans must stop after max_iter rounds of (assign, update) and then re-assign the "
            "labels to the final centres; with max_iter=1 the centres are {e}, got {a}"
        ),
    },
    "zh": {
        "argmin": (
            "每个点要分给“最近”的中心：对距离取 argmin（axis=1），不是 argmax；点 {i} 到中心 "
            "{want} 的距离是 {near}，到中心 {got} 是 {far}"
        ),
        "own_mean": (
            "中心要移到“属于它的点”的均值（X[labels == j].mean(0)），不是所有点的均值："
            "期望 {e}，实际 {a}"
        ),
        "nan": "空簇求均值是对空集求平均（NaN）：要给它一个点（sklearn：离自己中心最远的点）；实际 {a}",
        "farthest": "空簇要取离自己中心“最远”的点 x = {e}；实际中心 {a}",
        "d2": (
            "k-means++ 选下一个中心的概率要正比于 D(x)^2（到最近已选中心距离的“平方”），"
            "不是 D(x)：观测到的中心对与 D^2 分布做卡方检验，p = {p:.2e}"
        ),
        "stop": (
            "4 个点、2 轮就收敛的输入，kmeans 在 {t} 秒内没有返回：标签不再变化（或位移 <= tol）"
            "时循环必须停止"
        ),
        "max_iter": (
            "kmeans 最多做 max_iter 轮（分配、更新），然后按最终中心重新分配标签；"
            "max_iter=1 时中心应为 {e}，实际 {a}"
        ),
    },
}


def msg(key: str, **kw: object) -> str:
    return _MSG.get(LANG, _MSG["en"])[key].format(**kw)


def sk_kmeans(X: np.ndarray, init: np.ndarray, max_iter: int = 300) -> KMeans:
    with warnings.catch_warnings():  # "Number of distinct clusters found smaller than k"
        warnings.simplefilter("ignore")
        return KMeans(
            n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", max_iter=max_iter, tol=0
        ).fit(X)


def leftover_empty(X: np.ndarray, init: np.ndarray, max_iter: int) -> bool:
    """Replay Lloyd (brute force) and report whether a cluster stays empty after relocation.

    Only then do we differ from sklearn 1.9.1, whose ``_average_centers`` copies
    ``centers[argmax_weight]`` while it is still dividing sums: when the biggest cluster has
    the higher index, the empty cluster gets that cluster's SUM, not its mean.
    """
    c, old = init.copy(), None
    for _ in range(max_iter):
        lab = ((X[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        sums = np.zeros_like(c)
        np.add.at(sums, lab, X)
        cnt = np.bincount(lab, minlength=len(c))
        empty = np.flatnonzero(cnt == 0)
        if empty.size:
            dist = ((X - c[lab]) ** 2).sum(1)
            if dist.max() == 0:
                return True
            far = np.argpartition(dist, -empty.size)[: -empty.size - 1 : -1]
            for j, i in zip(empty, far, strict=True):
                sums[lab[i]] -= X[i]
                cnt[lab[i]] -= 1
                sums[j], cnt[j] = X[i], 1
            if (cnt == 0).any():
                return True
        if old is not None and np.array_equal(lab, old):
            return False
        c, old = sums / cnt[:, None], lab
    return False


def random_case(rng: np.random.Generator, trial: int) -> tuple[np.ndarray, np.ndarray, int]:
    n = int(rng.integers(1, 60))
    d = int(rng.integers(1, 5))
    k = int(rng.integers(1, min(n, 8) + 1))
    if trial % 2:  # well-separated blobs
        means = rng.normal(size=(k, d)) * 10
        X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    else:  # structureless data
        X = rng.normal(size=(n, d)) * rng.uniform(0.1, 5)
    # data points as centres, or random centres (empty clusters are then common)
    init = X[rng.choice(n, k, replace=False)] if trial % 3 else rng.normal(size=(k, d)) * 3
    max_iter = int(rng.integers(1, 6)) if trial % 5 == 0 else 300
    return X, init, max_iter


# ---------------------------------------------------------------- steps


def test_assign_labels_naive_and_vectorised_match_brute_force() -> None:
    """300 cases, integer coordinates so that ties really happen: lowest index wins."""
    rng = np.random.default_rng(3)
    for _ in range(cases(300)):
        n, k, d = int(rng.integers(1, 30)), int(rng.integers(1, 6)), int(rng.integers(1, 4))
        X = rng.integers(-3, 4, size=(n, d)).astype(float)
        C = rng.integers(-3, 4, size=(k, d)).astype(float)
        dist = [[sum((a - b) ** 2 for a, b in zip(x, c, strict=True)) for c in C] for x in X]
        expected = np.array([min(range(k), key=lambda j, r=r: (r[j], j)) for r in dist])
        assert_equal(impl.assign_labels_naive(X, C), expected, inputs={"X": X, "C": C})
        assert_equal(impl.assign_labels(X, C), expected, inputs={"X": X, "C": C})


def test_assign_is_argmin_not_argmax() -> None:
    X = np.array([[0.0, 0.0], [10.0, 0.0]])
    C = np.array([[0.0, 0.0], [10.0, 0.0]])
    for fn in (impl.assign_labels, impl.assign_labels_naive):
        got = fn(X, C)
        assert got[0] == 0, msg("argmin", i=0, near=0.0, want=0, far=100.0, got=got[0])


def test_sqrt_distance_gives_the_same_labels() -> None:
    # Not a mistake: sqrt is increasing, so argmin of ||x - c|| equals argmin of ||x - c||^2.
    rng = np.random.default_rng(4)
    X, C = rng.normal(size=(50, 3)), rng.normal(size=(4, 3))
    assert_equal(np.sqrt(impl.squared_distances(X, C)).argmin(1), impl.assign_labels(X, C))


def test_squared_distances_clamped_despite_cancellation() -> None:
    # Far from the origin ||x||^2 ~ 1e16: the expanded form loses every digit and can go
    # negative; the clamp keeps the result >= 0 and the exact value here is 0 or 1e-6.
    X = 1e8 + np.array([[0.0], [1e-3], [2e-3]])
    d2 = impl.squared_distances(X, X)
    assert (d2 >= 0).all()
    raw = (X**2).sum(1)[:, None] - 2 * X @ X.T + (X**2).sum(1)[None]
    assert (raw < 0).any() or (raw != ((X[:, None] - X[None]) ** 2).sum(-1)).any()
    rng = np.random.default_rng(5)
    for _ in range(cases(200)):
        X, C = rng.normal(size=(20, 3)), rng.normal(size=(5, 3))
        assert_close(impl.squared_distances(X, C), ((X[:, None] - C[None]) ** 2).sum(-1))


def test_update_centers_is_the_mean_of_own_points() -> None:
    X = np.array([[0.0], [2.0], [10.0], [14.0]])
    got = impl.update_centers(X, np.array([0, 0, 1, 1]), np.array([[1.0], [11.0]]))
    assert np.allclose(got, [[1.0], [12.0]]), msg("own_mean", e=[[1.0], [12.0]], a=got.tolist())


def test_empty_cluster_takes_the_farthest_point_not_nan() -> None:
    # labels all 0, old centre 0 at 1: distances 1, 1, 81 -> x = 10 moves to cluster 1,
    # cluster 0 keeps 0 and 2 (mean 1).
    X = np.array([[0.0], [2.0], [10.0]])
    got = impl.update_centers(X, np.array([0, 0, 0]), np.array([[1.0], [50.0]]))
    assert np.isfinite(got).all(), msg("nan", a=got.tolist())
    assert np.allclose(got[1], [10.0]), msg("farthest", e=10.0, a=got[1].tolist())
    assert_close(got, [[1.0], [10.0]], atol=0)


def test_inertia_never_increases_along_lloyd() -> None:
    """100 cases: each assignment and each update step lowers or keeps the objective."""
    rng = np.random.default_rng(6)
    for trial in range(cases(100)):
        X, init, _ = random_case(rng, trial)
        c = init
        lab = impl.assign_labels(X, c)
        prev = impl.inertia(X, c, lab)
        for _ in range(10):
            c = impl.update_centers(X, lab, c)
            after_update = impl.inertia(X, c, lab)
            lab = impl.assign_labels(X, c)
            after_assign = impl.inertia(X, c, lab)
            assert after_update <= prev + 1e-9 and after_assign <= after_update + 1e-9
            prev = after_assign


def test_inertia_by_hand() -> None:
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 1.0]])
    # (0-1)^2 + (2-1)^2 + 0 = 2
    assert impl.inertia(X, np.array([[1.0, 0.0], [10.0, 1.0]]), np.array([0, 0, 1])) == 2.0


# ---------------------------------------------------------------- Lloyd vs sklearn


def test_kmeans_matches_sklearn_on_random_cases() -> None:
    """300 seeded cases: blobs and random data, n < 60, d < 5, k <= 8, some max_iter < 6."""
    rng = np.random.default_rng(0)
    compared = 0
    for trial in range(cases(300)):
        X, init, max_iter = random_case(rng, trial)
        if leftover_empty(X, init, max_iter):
            continue  # the sklearn quirk: see test_sklearn_empty_cluster_quirk
        ref = sk_kmeans(X, init, max_iter)
        centers, labels = impl.kmeans(X, len(init), init=init, max_iter=max_iter)
        inputs = {"X": X, "init": init, "max_iter": max_iter}
        assert_equal(labels, ref.labels_, inputs=inputs)
        assert_close(centers, ref.cluster_centers_, atol=1e-10, rtol=1e-10, inputs=inputs)
        assert_close(impl.inertia(X, centers, labels), ref.inertia_, atol=1e-9, rtol=1e-10)
        compared += 1
    assert compared >= 0.97 * cases(300)  # the quirk is rare


def test_kmeans_degenerate_inputs_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    for _ in range(cases(40)):
        n, d = int(rng.integers(2, 20)), int(rng.integers(1, 4))
        base = rng.normal(size=(max(1, n // 3), d))
        dup = base[rng.integers(0, len(base), n)]  # duplicate points
        distinct = np.unique(dup, axis=0)
        ref = sk_kmeans(dup, distinct[::-1])  # k = number of distinct points: inertia 0
        c, lab = impl.kmeans(dup, len(distinct), init=distinct[::-1].copy())
        assert_equal(lab, ref.labels_, inputs={"X": dup})
        # 0 up to rounding: the mean of m copies of x is sum / m, not always x to the last bit
        assert impl.inertia(dup, c, lab) < 1e-20 and ref.inertia_ < 1e-20
        for X, k in ((dup, int(rng.integers(1, n + 1))), (rng.normal(size=(n, d)), n)):
            init = X[rng.choice(n, k, replace=False)]  # may repeat a point: duplicate centres
            if leftover_empty(X, init, 300):
                continue
            ref = sk_kmeans(X, init)
            c, lab = impl.kmeans(X, k, init=init)
            assert_equal(lab, ref.labels_, inputs={"X": X, "init": init})
            assert_close(c, ref.cluster_centers_, atol=1e-10, rtol=1e-10)
            assert_close(impl.inertia(X, c, lab), ref.inertia_, atol=1e-9)
        X = rng.normal(size=(n, d))  # k = n with the points as centres: inertia 0
        c, lab = impl.kmeans(X, n, init=X[::-1].copy())
        assert impl.inertia(X, c, lab) < 1e-20
        c, lab = impl.kmeans(X, 1, init=X[:1])  # k = 1: the centre is the mean
        assert_close(c[0], X.mean(0), atol=1e-12)
        assert_close(impl.inertia(X, c, lab), ((X - X.mean(0)) ** 2).sum(), atol=1e-9)
    X = np.full((5, 2), 3.0)  # one distinct point, k = 1, 2, 3
    for k in (1, 2, 3):
        ref = sk_kmeans(X, X[:k])
        c, lab = impl.kmeans(X, k, init=X[:k])
        assert_close(c, ref.cluster_centers_, atol=0)
        assert_equal(lab, ref.labels_)
        assert impl.inertia(X, c, lab) == 0.0 == ref.inertia_


def test_one_update_with_empty_clusters_matches_sklearn() -> None:
    """200 cases with 1 to 4 empty clusters: relocation order is sklearn's."""
    rng = np.random.default_rng(2)
    for _ in range(cases(200)):
        n, d, k = int(rng.integers(6, 40)), int(rng.integers(1, 4)), int(rng.integers(2, 6))
        X = rng.normal(size=(n, d))
        init = np.concatenate([X[:1], 50 + rng.normal(size=(k - 1, d))])  # far centres: empty
        if leftover_empty(X, init, 1):
            continue
        ref = sk_kmeans(X, init, max_iter=1)
        new = impl.update_centers(X, impl.assign_labels(X, init), init)
        assert_close(new, ref.cluster_centers_, atol=1e-10, inputs={"X": X, "init": init})


def test_sklearn_empty_cluster_quirk() -> None:
    # [0,0] x2 and [5,5] x2, init [-9,-9], [0,0], [5,5]: cluster 0 is empty and every point
    # sits on its centre (distance 0), so nothing is relocated. sklearn then copies
    # centers[argmax_weight = 1] while that row still holds the SUM (in mean-centred
    # coordinates: 2 * (-2.5, -2.5)), giving (-5, -5) + (2.5, 2.5) = (-2.5, -2.5).
    X = np.array([[0.0, 0], [0, 0], [5, 5], [5, 5]])
    init = np.array([[-9.0, -9], [0, 0], [5, 5]])
    assert_close(sk_kmeans(X, init, max_iter=1).cluster_centers_[0], [-2.5, -2.5])
    assert leftover_empty(X, init, 1)
    # We copy the biggest cluster's MEAN: centre 0 lands on (0, 0), a duplicate centre.
    new = impl.update_centers(X, impl.assign_labels(X, init), init)
    assert_close(new, [[0.0, 0], [0, 0], [5, 5]], atol=0)


# ---------------------------------------------------------------- loop control


def test_kmeans_respects_max_iter_and_reassigns() -> None:
    # init 0 and 1: round 1 labels [0, 1, 1, 1] -> centres 0 and 22/3; the final E-step then
    # gives labels [0, 0, 1, 1] (1 is nearer 0 than 22/3), as sklearn does.
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    c, lab = impl.kmeans(X, 2, init=X[:2], max_iter=1)
    e = [[0.0], [22 / 3]]
    assert np.allclose(c, e), msg("max_iter", e=e, a=c.tolist())
    assert_equal(lab, [0, 0, 1, 1])
    ref = sk_kmeans(X, X[:2], max_iter=1)
    assert_close(c, ref.cluster_centers_, atol=1e-12)
    assert_equal(lab, ref.labels_)


def test_default_init_is_kmeans_plusplus_with_seed() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 2))
    c1, l1 = impl.kmeans(X, 3, seed=11)
    c2, l2 = impl.kmeans(X, 3, init=impl.kmeans_plusplus(X, 3, seed=11)[0])
    assert_close(c1, c2, atol=0)
    assert_equal(l1, l2)


def test_list_input_is_accepted_like_an_array() -> None:
    X = [[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0]]
    c, lab = impl.kmeans(X, 2, init=[[0.0, 0.0], [1.0, 0.0]])
    c2, lab2 = impl.kmeans(np.array(X), 2, init=np.array([[0.0, 0.0], [1.0, 0.0]]))
    assert_close(c, c2, atol=0)
    assert_equal(lab, lab2)


# ---------------------------------------------------------------- k-means++


def _pair_probabilities(x: np.ndarray, power: float) -> np.ndarray:
    """P(first = i, second = j) = 1/n * D_ij^power / sum_l D_il^power (A&V §2.2, power 2)."""
    D = np.abs(x[:, None] - x[None, :]) ** power
    return D / D.sum(1, keepdims=True) / len(x)


def test_kmeans_plusplus_samples_proportional_to_d_squared() -> None:
    """4,000 seeded draws of 2 centres from 5 points on a line; chi-square vs exact D^2."""
    x = np.array([0.0, 1.0, 2.0, 6.0, 13.0])
    X = x[:, None]
    draws = cases(4000)
    counts = np.zeros((5, 5))
    for seed in range(draws):
        _, idx = impl.kmeans_plusplus(X, 2, seed=seed)
        counts[idx[0], idx[1]] += 1
    assert np.trace(counts) == 0  # a chosen point has D = 0: never drawn twice
    p = _pair_probabilities(x, 2)
    mask = ~np.eye(5, dtype=bool)
    pvalue = scipy.stats.chisquare(counts[mask], p[mask] * draws).pvalue
    assert pvalue > 1e-3, msg("d2", p=pvalue)
    # the same counts are far from the D (not squared) distribution
    p1 = _pair_probabilities(x, 1)
    assert scipy.stats.chisquare(counts[mask], p1[mask] * draws).pvalue < 1e-6 or draws < 4000


def test_kmeans_plusplus_first_centre_uniform_and_output_shape() -> None:
    rng = np.random.default_rng(8)
    X = rng.normal(size=(6, 2))
    first = np.bincount([impl.kmeans_plusplus(X, 1, seed=s)[1][0] for s in range(cases(1200))])
    assert scipy.stats.chisquare(first, np.full(6, cases(1200) / 6)).pvalue > 1e-3
    centers, idx = impl.kmeans_plusplus(X, 4, seed=3)
    assert centers.shape == (4, 2) and idx.dtype == np.int64
    assert len(set(idx.tolist())) == 4
    assert_close(centers, X[idx], atol=0)


def test_kmeans_plusplus_with_fewer_distinct_points_than_k() -> None:
    X = np.array([[1.0, 1.0]] * 3 + [[4.0, 5.0]])
    for seed in range(cases(50)):
        centers, _ = impl.kmeans_plusplus(X, 4, seed=seed)
        assert np.isfinite(centers).all()
        assert {tuple(c) for c in centers} == {(1.0, 1.0), (4.0, 5.0)}


# ---------------------------------------------------------------- EM's hard limit


def test_soft_assign_matches_softmax_and_becomes_one_hot() -> None:
    """200 cases vs scipy softmax of -D^2 / (2 sigma^2); at sigma = 1e-4 the rows are one-hot."""
    rng = np.random.default_rng(9)
    for _ in range(cases(200)):
        X, C = rng.normal(size=(15, 2)), rng.normal(size=(4, 2))
        sigma = float(rng.uniform(0.2, 3))
        d2 = ((X[:, None] - C[None]) ** 2).sum(-1)
        expected = scipy.special.softmax(-d2 / (2 * sigma**2), axis=1)
        assert_close(impl.soft_assign(X, C, sigma), expected, atol=1e-12)
        hard = impl.soft_assign(X, C, 1e-4)
        assert_close(hard, np.eye(4)[impl.assign_labels(X, C)], atol=1e-12)


# ---------------------------------------------------------------- input checks


def test_input_errors() -> None:
    X = np.zeros((4, 2))
    with raises_naming(TypeError, "X", "[n, d]"):
        impl.kmeans("abc", 2)
    with raises_naming(TypeError, "X", "dtype"):
        impl.kmeans([["a", "b"]], 1)
    with raises_naming(ValueError, "X", "[n, d]"):
        impl.kmeans(np.zeros(4), 2)
    with raises_naming(ValueError, "X", "[n, d]"):
        impl.kmeans(np.zeros((2, 2, 2)), 2)
    with raises_naming(ValueError, "X", "[n, d]"):
        impl.kmeans(np.zeros((0, 2)), 1)
    with raises_naming(ValueError, "X", "NaN"):
        impl.kmeans(np.array([[0.0, np.nan], [1.0, 1.0]]), 1)
    with raises_naming(ValueError, "k"):
        impl.kmeans(X, 0)
    with raises_naming(ValueError, "k", "4"):
        impl.kmeans(X, 5)
    with raises_naming(TypeError, "k", "int"):
        impl.kmeans(X, 2.0)
    with raises_naming(TypeError, "k", "int"):
        impl.kmeans(X, True)
    with raises_naming(ValueError, "init", "[k, d]"):
        impl.kmeans(X, 2, init=np.zeros((3, 2)))
    with raises_naming(ValueError, "init", "[k, d]"):
        impl.kmeans(X, 2, init=np.zeros((2, 3)))
    with raises_naming(ValueError, "init", "NaN"):
        impl.kmeans(X, 1, init=np.array([[np.nan, 0.0]]))
    with raises_naming(ValueError, "max_iter"):
        impl.kmeans(X, 2, max_iter=0)
    with raises_naming(ValueError, "tol"):
        impl.kmeans(X, 2, tol=-1.0)
    with raises_naming(ValueError, "k"):
        impl.kmeans_plusplus(X, 9)
    with raises_naming(ValueError, "centers", "[k, d]"):
        impl.assign_labels(X, np.zeros((2, 3)))
    with raises_naming(ValueError, "labels", "[n]"):
        impl.update_centers(X, np.array([0, 1]), np.zeros((2, 2)))
    with raises_naming(ValueError, "labels"):
        impl.update_centers(X, np.array([0, 1, 2, 3]), np.zeros((2, 2)))
    with raises_naming(ValueError, "sigma"):
        impl.soft_assign(X, X, 0.0)


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang: str) -> None:
    import matplotlib.figure

    from figures.ml.kmeans import draw_lloyd_iterations

    fig = draw_lloyd_iterations(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 4


# ---------------------------------------------------------------- last: may leave a thread


def test_kmeans_stops_when_converged() -> None:
    """Last in the file: an attempt that never stops leaves a busy daemon thread behind."""
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    result: list = []
    worker = threading.Thread(
        target=lambda: result.append(impl.kmeans(X, 2, init=X[:2], max_iter=10**9)), daemon=True
    )
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), msg("stop", t=10)
    assert_close(result[0][0], [[0.5], [10.5]], atol=0)
