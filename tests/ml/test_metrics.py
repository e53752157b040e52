"""Tests for snippets/ml/metrics.py: ROC AUC three ways, ROC curve, AP, precision/recall/F1, GAUC.

References: scikit-learn 1.9.1 (`roc_auc_score`, `roc_curve(drop_intermediate=False)`,
`average_precision_score`, `precision_recall_fscore_support(zero_division=0)`) and scipy 1.17.1
(`rankdata`, `mannwhitneyu`) on seeded random cases with heavy ties, plus hand computations.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
from sklearn.exceptions import UndefinedMetricWarning

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.ml.metrics")

AUC_FUNCS = ("roc_auc_score", "auc_pairwise", "auc_rank")


def random_binary_case(rng: np.random.Generator, trial: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels with both classes, scores of four kinds: continuous, small integers (heavy ties),
    all equal, and n = 2."""
    kind = trial % 4
    n = 2 if kind == 3 else int(rng.integers(2, 60))
    y = rng.integers(0, 2, n)
    y[rng.choice(n, 2, replace=False)] = [0, 1]  # both classes present
    if rng.random() < 0.3:  # imbalanced: mostly negatives
        y = np.where(rng.random(n) < 0.9, 0, y)
        y[rng.choice(n, 2, replace=False)] = [0, 1]
    if kind == 0:
        s = rng.normal(size=n) + y * rng.uniform(0, 2)
    elif kind == 1:
        s = rng.integers(0, int(rng.integers(1, 5)), n).astype(np.float64)  # many ties
    elif kind == 2:
        s = np.full(n, float(rng.normal()))  # all scores equal
    else:
        s = rng.integers(0, 2, n).astype(np.float64)
    return y, s


def auc_loop(y: list[int], s: list[float]) -> float:
    """AUC by the definition, a double loop over (positive, negative) pairs; a tie counts 1/2."""
    pos = [si for yi, si in zip(y, s, strict=True) if yi == 1]
    neg = [si for yi, si in zip(y, s, strict=True) if yi == 0]
    won = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return won / (len(pos) * len(neg))


# ---------------------------------------------------------------- AUC vs sklearn


def test_three_auc_implementations_match_sklearn() -> None:
    """600 seeded cases (continuous, integer scores in [0, 4), all equal, n = 2)."""
    rng = np.random.default_rng(0)
    for trial in range(cases(600)):
        y, s = random_binary_case(rng, trial)
        expected = sklearn.metrics.roc_auc_score(y, s)
        for name in AUC_FUNCS:
            actual = getattr(impl, name)(y, s)
            assert isinstance(actual, float), f"{name} must return a Python float"
            assert_close(actual, expected, atol=1e-12, rtol=0, inputs={"fn": name, "y": y, "s": s})


def test_three_auc_implementations_match_pairwise_loop() -> None:
    """1,400 more seeded cases against the definition written as a Python double loop."""
    rng = np.random.default_rng(10)
    for trial in range(cases(1400)):
        y, s = random_binary_case(rng, trial)
        expected = auc_loop(y.tolist(), s.tolist())
        for name in AUC_FUNCS:
            actual = getattr(impl, name)(y, s)
            assert_close(actual, expected, atol=1e-12, rtol=0, inputs={"fn": name, "y": y, "s": s})


def test_auc_n2_exhaustive_and_all_equal() -> None:
    # n = 2: every label order and every score pair from {0, 1, 2}; sklearn is the reference.
    for y in ([0, 1], [1, 0]):
        for s in itertools.product([0.0, 1.0, 2.0], repeat=2):
            expected = sklearn.metrics.roc_auc_score(y, s)
            for name in AUC_FUNCS:
                assert_close(getattr(impl, name)(y, list(s)), expected, atol=1e-12)
    # all scores equal: one threshold, the diagonal, AUC = 1/2 whatever the labels
    rng = np.random.default_rng(1)
    for _ in range(cases(200)):
        n = int(rng.integers(2, 30))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        for name in AUC_FUNCS:
            assert getattr(impl, name)(y, np.full(n, 0.3)) == 0.5


def test_auc_accepts_bool_float_labels_and_int_scores() -> None:
    y, s = [False, True, True, False], [1, 3, 2, 2]  # int scores; hand: (1 + 1/2 + 1 + 1)/4
    for name in AUC_FUNCS:
        assert getattr(impl, name)(y, s) == 0.875
        assert getattr(impl, name)(np.array(y, dtype=float), np.array(s)) == 0.875


def test_roc_curve_matches_sklearn_drop_intermediate_false() -> None:
    """300 seeded cases: fpr, tpr and thresholds equal, first threshold inf."""
    rng = np.random.default_rng(2)
    for trial in range(cases(300)):
        y, s = random_binary_case(rng, trial)
        fpr_e, tpr_e, thr_e = sklearn.metrics.roc_curve(y, s, drop_intermediate=False)
        fpr, tpr, thr = impl.roc_curve(y, s)
        inputs = {"y": y, "s": s}
        assert_close(fpr, fpr_e, atol=1e-12, rtol=0, inputs=inputs)
        assert_close(tpr, tpr_e, atol=1e-12, rtol=0, inputs=inputs)
        assert_equal(thr, thr_e, inputs=inputs)
        assert thr[0] == np.inf and fpr[0] == 0 and tpr[0] == 0


def test_tied_scores_are_one_threshold_diagonal_segment() -> None:
    # labels [0, 1, 0, 1, 0], scores [0.1, 0.5, 0.5, 0.5, 0.0]: hand-computed curve
    fpr, tpr, thr = impl.roc_curve([0, 1, 0, 1, 0], [0.1, 0.5, 0.5, 0.5, 0.0])
    # threshold 0.5 takes the two positives and one negative at once: (0,0) -> (1/3, 1)
    assert_close(fpr, [0, 1 / 3, 2 / 3, 1], atol=1e-15)
    assert_close(tpr, [0, 1, 1, 1], atol=1e-15)
    assert_equal(thr, [np.inf, 0.5, 0.1, 0.0])


def test_rank_formula_matches_scipy_rankdata_and_mannwhitneyu() -> None:
    """1,000 seeded arrays for the ranks; 200 cases for U / (n_pos n_neg)."""
    rng = np.random.default_rng(3)
    for trial in range(cases(1000)):
        n = int(rng.integers(1, 50))
        x = rng.integers(0, 5, n) if trial % 2 else rng.normal(size=n)
        assert_close(impl.average_ranks(x), scipy.stats.rankdata(x), atol=0, rtol=0)
    for trial in range(cases(200)):
        y, s = random_binary_case(rng, trial)
        u = scipy.stats.mannwhitneyu(s[y == 1], s[y == 0]).statistic  # U of the positives
        expected = u / ((y == 1).sum() * (y == 0).sum())
        assert_close(impl.auc_rank(y, s), expected, atol=1e-12, inputs={"y": y, "s": s})


def test_average_precision_matches_sklearn() -> None:
    """200 seeded cases, ties included."""
    rng = np.random.default_rng(4)
    for trial in range(cases(200)):
        y, s = random_binary_case(rng, trial)
        expected = sklearn.metrics.average_precision_score(y, s)
        assert_close(impl.average_precision(y, s), expected, atol=1e-12, inputs={"y": y, "s": s})


def test_one_class_raises_while_sklearn_warns_and_returns_nan() -> None:
    for y in ([1, 1, 1], [0, 0], [True]):
        for name in (*AUC_FUNCS, "roc_curve"):
            with raises_naming(ValueError, "y_true", "one class"):
                getattr(impl, name)(y, np.arange(len(y), dtype=float))
    # the reference we deviate from, pinned: sklearn 1.9.1 warns and returns nan
    with pytest.warns(UndefinedMetricWarning, match="Only one class"):
        assert np.isnan(sklearn.metrics.roc_auc_score([1, 1, 1], [0.1, 0.2, 0.3]))
    with raises_naming(ValueError, "y_true", "no positive"):
        impl.average_precision([0, 0], [0.1, 0.2])


# ---------------------------------------------------------------- diagnosis of classic mistakes


def test_tied_pairs_count_one_half() -> None:
    # labels [0, 1, 1, 0], scores [1, 1, 2, 0]: the pair (pos 1, neg 1) is tied, the other 3
    # pairs are won by the positive. Hand: (3 + 1/2) / 4 = 0.875; ties as 0 give 0.75, as 1 give 1.
    y, s = [0, 1, 1, 0], [1.0, 1.0, 2.0, 0.0]
    for name in AUC_FUNCS:
        got = getattr(impl, name)(y, s)
        assert got == pytest.approx(0.875), (
            f"{name}: a tied (positive, negative) pair must count 1/2, got {got} for y={y}, "
            f"s={s} (ties counted as 0 give 0.75, as 1 give 1.0; expected 0.875)"
        )


def test_tied_scores_get_average_ranks() -> None:
    # All scores equal: every pair is a tie, so AUC = 1/2 for ANY label order. Ranks from
    # argsort().argsort() give the tied scores ranks 1..n and an answer that depends on the order.
    for y in ([1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 0, 0], [0, 1, 0, 1, 1, 0]):
        got = impl.auc_rank(y, [0.5] * len(y))
        assert got == pytest.approx(0.5), (
            f"auc_rank with all scores equal must be 0.5, got {got} for y={y}: tied scores "
            "must share the MEAN of their ranks (scipy.stats.rankdata method='average'), "
            "not the distinct ranks argsort().argsort() gives"
        )
    got = impl.average_ranks([10, 30, 20, 20])
    assert_close(got, [1.0, 4.0, 2.5, 2.5], atol=0)  # hand: 20s share ranks 2 and 3


def test_auc_uses_the_scores_not_thresholded_labels() -> None:
    # All scores below 0.5 but perfectly ordered: AUC = 1. Thresholding at 0.5 first gives 0.5.
    y, s = [0, 1, 0, 1], [0.1, 0.2, 0.15, 0.3]
    for name in AUC_FUNCS:
        got = getattr(impl, name)(y, s)
        assert got == 1.0, (
            f"{name}: every positive outscores every negative, so AUC must be 1.0, got {got}. "
            "AUC depends only on the ORDER of y_score; do not turn the scores into 0/1 "
            "predictions (score > 0.5) first"
        )
        # any strictly increasing transform of the scores leaves AUC unchanged
        assert getattr(impl, name)(y, np.exp(np.array(s) * 40) - 3) == 1.0


def test_macro_is_mean_of_class_scores_and_micro_pools_counts() -> None:
    # classes 0, 1, 2; y_pred swaps the single 1 and the single 2.
    # per class: P = R = F1 = (1, 0, 0) -> macro = 1/3; pooled TP = 4 of 6 -> micro = 2/3.
    y_true, y_pred = [0, 0, 0, 0, 1, 2], [0, 0, 0, 0, 2, 1]
    macro = impl.precision_recall_f1(y_true, y_pred, average="macro")
    micro = impl.precision_recall_f1(y_true, y_pred, average="micro")
    assert macro == pytest.approx((1 / 3,) * 3), (
        "average='macro' must be the unweighted MEAN of the per-class scores (1/3 here); "
        f"got {macro}"
        + (" = the micro value (pooled counts)" if macro == pytest.approx((2 / 3,) * 3) else "")
    )
    assert micro == pytest.approx((2 / 3,) * 3), (
        "average='micro' must pool TP/FP/FN over all classes before dividing (= accuracy for "
        f"single-label multi-class, 4/6 here); got {micro}"
    )
    # macro F1 is the mean of the per-class F1, not the F1 of macro-P and macro-R.
    # y_true [0, 0, 0, 1], y_pred [0, 0, 1, 1]: class 0: P = 1, R = 2/3, F1 = 4/5;
    # class 1: P = 1/2, R = 1, F1 = 2/3. Mean F1 = 11/15; macro P = 3/4, macro R = 5/6 and
    # 2PR / (P + R) = 15/19. Weighted by support (3, 1): (3 * 4/5 + 2/3) / 4 = 23/30.
    y_true, y_pred = [0, 0, 0, 1], [0, 0, 1, 1]
    f1 = impl.precision_recall_f1(y_true, y_pred, average="macro")[2]
    assert f1 == pytest.approx(11 / 15), (
        f"macro F1 must average the per-class F1 scores (11/15), got {f1}"
        + (" = the F1 of macro precision and macro recall" if f1 == pytest.approx(15 / 19) else "")
    )
    f1 = impl.precision_recall_f1(y_true, y_pred, average="weighted")[2]
    assert f1 == pytest.approx(23 / 30), (
        f"average='weighted' must weight each class's score by its support (23/30), got {f1}"
    )


def test_zero_division_gives_zero_not_nan() -> None:
    # hand: no predicted positive -> precision 0/0; no true positive -> recall 0/0
    checks = [
        ([1, 1, 0], [0, 0, 0], "binary", (0.0, 0.0, 0.0)),  # precision 0/0
        ([0, 0, 0], [1, 0, 0], "binary", (0.0, 0.0, 0.0)),  # recall 0/0
        ([0, 0], [0, 0], "binary", (0.0, 0.0, 0.0)),  # everything 0/0
        # classes 0, 1, 2: class 0 scores 1; class 1 is never predicted (P = 0/0), class 2 is
        # never true (R = 0/0); both score 0 -> macro = 1/3
        ([0, 0, 1], [0, 0, 2], "macro", (1 / 3, 1 / 3, 1 / 3)),
    ]
    for y_true, y_pred, average, expected in checks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got = impl.precision_recall_f1(y_true, y_pred, average=average)
            except ZeroDivisionError as err:
                raise AssertionError(
                    f"precision_recall_f1({y_true}, {y_pred}) raised {err!r}: a zero denominator "
                    "must give 0 (sklearn zero_division=0)"
                ) from err
        assert not np.isnan(got).any(), (
            f"precision_recall_f1({y_true}, {y_pred}, {average!r}) = {got}: a zero denominator "
            "must give 0 (sklearn zero_division=0), not NaN"
        )
        assert_close(got, expected, atol=1e-12, inputs={"y_true": y_true, "y_pred": y_pred})


# ---------------------------------------------------------------- precision / recall / F1 vs sklearn


def test_precision_recall_f1_binary_matches_sklearn() -> None:
    """300 seeded cases, n from 1 to 30, often with no predicted or no true positive."""
    rng = np.random.default_rng(5)
    for _ in range(cases(300)):
        n = int(rng.integers(1, 31))
        p_pos = rng.choice([0.0, 0.1, 0.5, 0.9])
        y_true = (rng.random(n) < p_pos).astype(int)
        y_pred = (rng.random(n) < rng.choice([0.0, 0.2, 0.5])).astype(int)
        expected = sklearn.metrics.precision_recall_fscore_support(
            y_true, y_pred, average="binary", zero_division=0
        )[:3]
        got = impl.precision_recall_f1(y_true, y_pred)
        assert all(isinstance(v, float) for v in got)
        assert_close(got, expected, atol=1e-12, inputs={"y_true": y_true, "y_pred": y_pred})


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_precision_recall_f1_multiclass_matches_sklearn(average: str) -> None:
    """100 seeded cases per averaging, up to 5 classes, classes missing from one side."""
    rng = np.random.default_rng(6)
    for _ in range(cases(100)):
        n = int(rng.integers(1, 30))
        k = int(rng.integers(2, 6))
        y_true = rng.integers(0, k, n)
        y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, k + 1, n))
        expected = sklearn.metrics.precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=0
        )[:3]
        got = impl.precision_recall_f1(y_true, y_pred, average=average)
        assert_close(got, expected, atol=1e-12, inputs={"y_true": y_true, "y_pred": y_pred})


# ---------------------------------------------------------------- GAUC


def gauc_loop(users: np.ndarray, y: np.ndarray, s: np.ndarray, weight: str) -> float:
    """GAUC by a plain loop over users, per-user AUC by the pairwise definition."""
    groups: dict[int, list[int]] = {}
    for i, u in enumerate(users.tolist()):
        groups.setdefault(u, []).append(i)
    num = den = 0.0
    for idx in groups.values():
        yu = y[idx]
        if 0 < yu.sum() < len(yu):
            w = len(idx) if weight == "impressions" else yu.sum()
            num += w * auc_loop(yu.tolist(), s[idx].tolist())
            den += w
    return num / den


def test_gauc_matches_loop_over_users() -> None:
    """200 seeded logs: up to 8 users, tied scores, users with only clicks or no clicks."""
    rng = np.random.default_rng(7)
    for trial in range(cases(200)):
        n = int(rng.integers(6, 60))
        users = rng.integers(0, int(rng.integers(1, 9)), n)
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        users[:2] = users[0]  # user users[0] has both classes
        s = rng.integers(0, 4, n).astype(float) if trial % 2 else rng.normal(size=n)
        for weight in ("impressions", "clicks"):
            expected = gauc_loop(users, y, s, weight)
            assert_close(impl.gauc(users, y, s, weight=weight), expected, atol=1e-12)


def test_gauc_differs_from_global_auc() -> None:
    # user A: scores 0.8 (click) > 0.7 (no click); user B: 0.2 (click) > 0.1 (no click).
    # Per user both AUCs are 1, so GAUC = 1; globally B's click (0.2) ranks below A's
    # non-click (0.7): 3 of 4 pairs ordered, AUC = 0.75.
    users, y, s = ["A", "A", "B", "B"], [1, 0, 1, 0], [0.8, 0.7, 0.2, 0.1]
    assert impl.gauc(users, y, s) == 1.0
    assert impl.roc_auc_score(y, s) == 0.75
    with raises_naming(ValueError, "GAUC"):
        impl.gauc([1, 1, 2], [1, 1, 0], [0.1, 0.2, 0.3])


# ---------------------------------------------------------------- input errors


def test_input_errors_name_the_argument() -> None:
    for name in (*AUC_FUNCS, "roc_curve", "average_precision"):
        fn = getattr(impl, name)
        with raises_naming(ValueError, "y_true", "1-D"):
            fn([[0, 1], [1]], [0.1, 0.2])  # ragged
        with raises_naming(ValueError, "y_true", "1-D"):
            fn(np.array([[0, 1]]), np.array([[0.1, 0.2]]))
        with raises_naming(ValueError, "y_true", "0/1"):
            fn([0, 1, 2], [0.1, 0.2, 0.3])
        with raises_naming(TypeError, "y_true"):
            fn(["a", "b"], [0.1, 0.2])
        with raises_naming(ValueError, "y_score", "NaN"):
            fn([0, 1], [0.1, np.nan])
        with raises_naming(ValueError, "y_score", "inf"):
            fn([0, 1], [0.1, np.inf])
        with raises_naming(ValueError, "y_score", "len(y_true) = 2"):
            fn([0, 1], [0.1, 0.2, 0.3])
        with raises_naming(ValueError, "y_score", "1-D"):
            fn([0, 1], [[0.1, 0.2]])
        with raises_naming(TypeError, "y_score"):
            fn([0, 1], ["x", "y"])
        with raises_naming(ValueError, "y_true", "empty"):
            fn([], [])
    prf = impl.precision_recall_f1
    with raises_naming(ValueError, "y_pred", "len(y_true)"):
        prf([0, 1], [0, 1, 1])
    with raises_naming(ValueError, "binary", "0/1"):
        prf([0, 1, 2], [0, 1, 1])
    with raises_naming(TypeError, "y_true", "integer"):
        prf([0.5, 1.0], [0, 1])
    with raises_naming(TypeError, "y_pred", "integer"):
        prf([0, 1], [0.2, 0.9])
    with raises_naming(ValueError, "y_pred", "1-D"):
        prf([0, 1], [[0], [1, 1]])
    with raises_naming(ValueError, "average"):
        prf([0, 1], [0, 1], average="samples")
    with raises_naming(ValueError, "user_ids", "len(y_true)"):
        impl.gauc([1, 2], [0, 1, 1], [0.1, 0.2, 0.3])
    with raises_naming(ValueError, "weight"):
        impl.gauc([1, 1], [0, 1], [0.1, 0.2], weight="time")


def test_inputs_are_not_modified() -> None:
    y, s = np.array([1, 0, 1, 0]), np.array([0.3, 0.1, 0.2, 0.4])
    y0, s0 = y.copy(), s.copy()
    impl.roc_curve(y, s)
    impl.roc_auc_score(y, s)
    impl.auc_rank(y, s)
    assert_equal(y, y0)
    assert_equal(s, s0)


def test_figure_builds() -> None:
    import matplotlib.figure

    from figures.ml.metrics import draw_roc_vs_pr

    for lang in ("zh", "en"):
        assert isinstance(draw_roc_vs_pr(lang), matplotlib.figure.Figure)
