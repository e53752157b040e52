"""Tests for snippets/segmentation/seg_metrics.py against brute-force definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.segmentation.seg_metrics")


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    # These tensors are tiny: on a shared 2-core machine, intra-op threads cost more than the
    # work (BCE on 75 elements: ~2 ms with 2 threads under load, ~0.06 ms with 1).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# ------------------------------------------------------------------ brute-force definitions


def dice_loss_loop(logits: torch.Tensor, targets: torch.Tensor, smooth: float) -> list[float]:
    """Per-sample soft Dice loss with explicit Python sums (float64)."""
    out = []
    for row_logits, row_t in zip(
        logits.double().flatten(1), targets.double().flatten(1), strict=True
    ):
        p = [1 / (1 + math.exp(-v)) for v in row_logits.tolist()]
        t = row_t.tolist()
        inter = sum(pi * ti for pi, ti in zip(p, t, strict=True))
        out.append(1 - (2 * inter + smooth) / (sum(p) + sum(t) + smooth))
    return out


def multiclass_dice_loop(logits, target, smooth, ignore_index):
    """Softmax per pixel, then per-class sums over all kept pixels of the batch, then mean."""
    n, c = logits.shape[:2]
    probs = logits.double().softmax(1).reshape(n, c, -1)
    labels = target.reshape(n, -1)
    dice = []
    for k in range(c):
        inter = p_sum = t_sum = 0.0
        for i in range(n):
            for j in range(labels.shape[1]):
                lab = int(labels[i, j])
                if ignore_index is not None and lab == ignore_index:
                    continue
                p, t = float(probs[i, k, j]), float(lab == k)
                inter, p_sum, t_sum = inter + p * t, p_sum + p, t_sum + t
        dice.append((2 * inter + smooth) / (p_sum + t_sum + smooth))
    return 1 - sum(dice) / c


def iou_by_sets(pred, target, num_classes, ignore_index=None):
    """IoU per class from Python sets of pixel indices; nan when the union is empty."""
    p, t = pred.flatten().tolist(), target.flatten().tolist()
    kept = [i for i in range(len(t)) if t[i] != ignore_index]
    ious = []
    for c in range(num_classes):
        pred_c = {i for i in kept if p[i] == c}
        true_c = {i for i in kept if t[i] == c}
        union = pred_c | true_c
        ious.append(len(pred_c & true_c) / len(union) if union else float("nan"))
    return ious


def random_case(gen, num_classes, ignore_index=None):
    shape = tuple(
        int(v)
        for v in torch.randint(
            1, 7, (int(torch.randint(1, 4, (1,), generator=gen)),), generator=gen
        )
    )
    pred = torch.randint(0, num_classes, shape, generator=gen)
    target = torch.randint(0, num_classes, shape, generator=gen)
    if ignore_index is not None:
        target = torch.where(torch.rand(shape, generator=gen) < 0.2, ignore_index, target)
    return pred, target


# ------------------------------------------------------------------ Dice and BCE + Dice


def test_dice_loss_matches_loop():
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        n, h, w = (int(v) for v in torch.randint(1, 5, (3,), generator=gen))
        logits = torch.randn(n, h, w, generator=gen, dtype=torch.float64) * 3
        targets = (torch.rand(n, h, w, generator=gen) < 0.4).double()
        smooth = float(torch.rand(1, generator=gen)) * 2
        expected = torch.tensor(dice_loss_loop(logits, targets, smooth), dtype=torch.float64)
        inputs = {"logits": logits, "targets": targets, "smooth": smooth}
        assert_close(impl.dice_loss(logits, targets, smooth, "none"), expected, inputs=inputs)
        assert_close(impl.dice_loss(logits, targets, smooth), expected.mean(), inputs=inputs)
        assert_close(impl.dice_loss(logits, targets, smooth, "sum"), expected.sum(), inputs=inputs)


def test_dice_loss_extremes():
    t = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    perfect = torch.where(t > 0, 50.0, -50.0)
    assert_close(impl.dice_loss(perfect, t), 0.0)
    # Fully wrong with smooth=0: no overlap, Dice 0, loss 1.
    assert_close(impl.dice_loss(-perfect, t, smooth=0.0), 1.0, atol=1e-6)
    # Empty target, empty prediction: smooth turns 0/0 into 1/1 (loss 0); without it, nan.
    empty = torch.zeros(1, 4)
    assert_close(impl.dice_loss(torch.full((1, 4), -100.0), empty), 0.0, atol=1e-6)
    assert math.isnan(float(impl.dice_loss(torch.full((1, 4), -200.0), empty, smooth=0.0)))


def test_bce_dice_matches_definitions():
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(1000)):
        logits = torch.randn(3, 5, 5, generator=gen, dtype=torch.float64) * 4
        targets = (torch.rand(3, 5, 5, generator=gen) < 0.3).double()
        wb, wd = (float(v) for v in torch.rand(2, generator=gen) * 3)
        p = torch.sigmoid(logits)
        bce = -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()  # by definition
        dice = sum(dice_loss_loop(logits, targets, 1.0)) / 3
        assert_close(impl.bce_dice_loss(logits, targets, wb, wd), wb * bce + wd * dice, atol=1e-8)
        # and the BCE part is exactly the library's
        assert_close(
            impl.bce_dice_loss(logits, targets, 1.0, 0.0),
            F.binary_cross_entropy_with_logits(logits, targets),
        )


def test_dice_loss_gradient_is_finite_and_descends():
    logits = torch.zeros(2, 16, requires_grad=True)
    targets = (torch.arange(32).reshape(2, 16) % 3 == 0).float()
    impl.dice_loss(logits, targets).backward()
    assert torch.isfinite(logits.grad).all()
    # One gradient step lowers the loss.
    with torch.no_grad():
        before = float(impl.dice_loss(logits, targets))
        after = float(impl.dice_loss(logits - 10 * logits.grad, targets))
    assert after < before


def test_multiclass_dice_matches_loop():
    gen = torch.Generator().manual_seed(2)
    for case in range(cases(300)):
        n, c, h, w = (int(v) for v in torch.randint(1, 4, (4,), generator=gen))
        c += 1
        logits = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64) * 2
        target = torch.randint(0, c, (n, h, w), generator=gen)
        ignore = 255 if case % 2 else None
        if ignore is not None:
            target = torch.where(torch.rand(n, h, w, generator=gen) < 0.25, ignore, target)
        expected = multiclass_dice_loop(logits, target, 1.0, ignore)
        actual = impl.multiclass_dice_loss(logits, target, 1.0, ignore)
        assert_close(actual, expected, inputs={"logits": logits, "target": target}, atol=1e-9)


def test_multiclass_dice_ignores_ignored_pixels():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 3, 4, 4, generator=gen)
    target = torch.randint(0, 3, (2, 4, 4), generator=gen)
    target[:, 0] = -1
    other = logits.clone()
    other[:, :, 0] = torch.randn(2, 3, 4, generator=gen) * 10  # change only ignored pixels
    assert_close(
        impl.multiclass_dice_loss(logits, target, ignore_index=-1),
        impl.multiclass_dice_loss(other, target, ignore_index=-1),
    )


# ------------------------------------------------------------------ confusion matrix and IoU


def test_confusion_matrix_fast_naive_and_counting_agree():
    gen = torch.Generator().manual_seed(4)
    for case in range(cases(1500)):
        c = int(torch.randint(1, 6, (1,), generator=gen))
        ignore = [None, 255, -1][case % 3]
        pred, target = random_case(gen, c, ignore)
        p, t = pred.numpy(), target.numpy()
        counted = np.array([[np.sum((t == i) & (p == j)) for j in range(c)] for i in range(c)])
        inputs = {"pred": pred, "target": target, "num_classes": c, "ignore_index": ignore}
        assert_equal(impl.confusion_matrix(pred, target, c, ignore), counted, inputs=inputs)
        assert_equal(impl.confusion_matrix_naive(pred, target, c, ignore), counted, inputs=inputs)
        kept = int((target != ignore).sum()) if ignore is not None else target.numel()
        assert int(impl.confusion_matrix(pred, target, c, ignore).sum()) == kept


def test_iou_and_miou_match_set_definition():
    gen = torch.Generator().manual_seed(5)
    for case in range(cases(1500)):
        c = int(torch.randint(1, 7, (1,), generator=gen))
        ignore = 255 if case % 2 else None
        pred, target = random_case(gen, c, ignore)
        expected = iou_by_sets(pred, target, c, ignore)
        per_class, miou = impl.mean_iou(pred, target, c, ignore)
        inputs = {"pred": pred, "target": target, "num_classes": c}
        assert_close(per_class, np.array(expected), inputs=inputs)
        present = [v for v in expected if not math.isnan(v)]
        if present:
            assert_close(miou, sum(present) / len(present), inputs=inputs)
        else:
            assert math.isnan(miou)


def test_absent_class_is_nan_and_excluded_from_mean():
    # Class 2 appears in neither map: nan, and the mean is over classes 0 and 1 only.
    pred, target = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1])
    per_class, miou = impl.mean_iou(pred, target, 3)
    # class 0: TP 1, FP 1, FN 0 -> 1/2; class 1: TP 2, FP 0, FN 1 -> 2/3
    assert_close(per_class, np.array([0.5, 2 / 3, np.nan]))
    assert_close(miou, (0.5 + 2 / 3) / 2)
    # A class predicted but absent from the target is NOT excluded: its IoU is 0.
    per_class, _ = impl.mean_iou(torch.tensor([2, 0]), torch.tensor([0, 0]), 3)
    assert_close(per_class, np.array([0.5, np.nan, 0.0]))


def test_dataset_level_miou_differs_from_per_image_mean():
    # Image A: tiny object, perfect: IoU 1. Image B: object of 4 pixels, half found: IoU 2/4.
    # Per-image mean of class-1 IoU = 0.75; accumulated counts TP 3, FP 0, FN 2 -> 3/5 = 0.6.
    pred_a, target_a = torch.tensor([1, 0, 0, 0]), torch.tensor([1, 0, 0, 0])
    pred_b, target_b = torch.tensor([1, 1, 0, 0]), torch.tensor([1, 1, 1, 1])
    cm = impl.confusion_matrix(pred_a, target_a, 2) + impl.confusion_matrix(pred_b, target_b, 2)
    assert_close(impl.iou_per_class(cm)[1], 0.6)
    per_image = (
        impl.mean_iou(pred_a, target_a, 2)[0][1] + impl.mean_iou(pred_b, target_b, 2)[0][1]
    ) / 2
    assert_close(per_image, 0.75)


@given(st.lists(st.integers(0, 50), min_size=9, max_size=9))
def test_dice_equals_two_iou_over_one_plus_iou(counts):
    cm = torch.tensor(counts).reshape(3, 3)
    iou, dice = impl.iou_per_class(cm), impl.dice_per_class(cm)
    assert_close(dice, 2 * iou / (1 + iou))  # nan where both are nan
    assert bool(((dice >= iou) | iou.isnan()).all())  # Dice never below IoU


def test_mean_dice_is_not_converted_miou():
    # Ten pixels: nine of class 0 found, the single class-1 pixel predicted as 0.
    # Class 0: TP 9, FP 1 -> IoU 0.9, Dice 18/19; class 1: TP 0 -> IoU 0, Dice 0.
    # mIoU 0.45 converts to 2*0.45/1.45 = 0.6207, but mDice = 9/19 = 0.4737: the identity holds
    # per class, not after averaging.
    cm = torch.tensor([[9, 0], [1, 0]])
    iou, dice = impl.iou_per_class(cm), impl.dice_per_class(cm)
    assert_close(iou, np.array([0.9, 0.0]))
    assert_close(dice, np.array([18 / 19, 0.0]))
    miou, mdice = float(iou.mean()), float(dice.mean())
    assert_close(mdice, 9 / 19)
    assert_close(2 * miou / (1 + miou), 0.9 / 1.45)
    assert abs(mdice - 2 * miou / (1 + miou)) > 0.1


def test_ignored_pixels_change_nothing():
    gen = torch.Generator().manual_seed(6)
    pred, target = random_case(gen, 4)
    target = target.clone()
    target.view(-1)[::3] = 255
    other = pred.clone()
    other.view(-1)[::3] = (other.view(-1)[::3] + 1) % 4  # change predictions only where ignored
    assert_equal(
        impl.confusion_matrix(pred, target, 4, 255), impl.confusion_matrix(other, target, 4, 255)
    )


# ------------------------------------------------------------------ errors


def test_errors():
    x = torch.zeros(2, 3)
    with raises_naming(ValueError, "logits", "targets", "(2, 3)", "(2, 4)"):
        impl.dice_loss(x, torch.zeros(2, 4))
    with raises_naming(ValueError, "targets", "binary"):
        impl.dice_loss(x, torch.full((2, 3), 0.5))
    with raises_naming(ValueError, "targets", "binary"):
        impl.bce_dice_loss(x, torch.full((2, 3), 2.0))
    with raises_naming(TypeError, "logits", "float"):
        impl.dice_loss(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3))
    with raises_naming(ValueError, "reduction"):
        impl.dice_loss(x, torch.zeros(2, 3), reduction="avg")
    with raises_naming(ValueError, "logits", "[N, C, *]"):
        impl.multiclass_dice_loss(torch.zeros(2, 3, 4), torch.zeros(2, 5, dtype=torch.long))
    with raises_naming(ValueError, "target", "num_classes=3", "3"):
        impl.multiclass_dice_loss(torch.zeros(1, 3, 2), torch.tensor([[0, 3]]))
    with raises_naming(ValueError, "pred", "target", "(3,)", "(2,)"):
        impl.confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1]), 2)
    with raises_naming(ValueError, "target", "num_classes=2", "5"):
        impl.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 5]), 2)
    with raises_naming(ValueError, "target", "num_classes=2", "-1"):
        impl.mean_iou(torch.tensor([0, 1]), torch.tensor([-1, 1]), 2)
    with raises_naming(ValueError, "pred", "num_classes=2", "255"):
        impl.confusion_matrix_naive(torch.tensor([255, 1]), torch.tensor([0, 1]), 2, 255)
    with raises_naming(TypeError, "target", "integer"):
        impl.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0.0, 1.0]), 2)
    with raises_naming(ValueError, "num_classes"):
        impl.confusion_matrix(torch.tensor([0]), torch.tensor([0]), 0)
    with raises_naming(ValueError, "cm", "[C, C]"):
        impl.iou_per_class(torch.zeros(2, 3))
    with raises_naming(ValueError, "cm", "[C, C]"):
        impl.dice_per_class(torch.zeros(4))


def test_multiclass_dice_without_background_and_absent_classes():
    # include_background=False drops class 0 from the mean (MONAI's option); a class absent from
    # the batch still counts with Dice smooth / (sum p + smooth), the convention the page states.
    gen = torch.Generator().manual_seed(21)
    for _ in range(cases(100)):
        n, c, h, w = (int(v) for v in torch.randint(2, 5, (4,), generator=gen))
        logits = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64) * 2
        target = torch.randint(0, c - 1, (n, h, w), generator=gen)  # class c - 1 never appears
        probs = logits.softmax(1)
        dice = []
        for k in range(c):
            p_k, t_k = probs[:, k], (target == k).double()
            dice.append((2 * (p_k * t_k).sum() + 1) / (p_k.sum() + t_k.sum() + 1))
        assert_close(dice[-1], 1 / (probs[:, -1].sum() + 1), atol=1e-12)  # the absent class
        expected = 1 - sum(dice[1:]) / (c - 1)
        actual = impl.multiclass_dice_loss(logits, target, include_background=False)
        assert_close(actual, expected, atol=1e-12, inputs={"logits": logits, "target": target})


def test_non_tensors_raise_type_error_naming_the_argument():
    with raises_naming(TypeError, "logits", "torch.Tensor", "list"):
        impl.dice_loss([[0.0, 1.0]], torch.zeros(1, 2))
    with raises_naming(TypeError, "targets", "torch.Tensor", "ndarray"):
        impl.bce_dice_loss(torch.zeros(1, 2), np.zeros((1, 2)))
    with raises_naming(TypeError, "target", "torch.Tensor", "list"):
        impl.multiclass_dice_loss(torch.zeros(1, 2, 2), [[0, 1]])
    with raises_naming(TypeError, "pred", "torch.Tensor", "list"):
        impl.confusion_matrix([0, 1], torch.tensor([0, 1]), 2)
    with raises_naming(TypeError, "target", "torch.Tensor", "list"):
        impl.confusion_matrix_naive(torch.tensor([0, 1]), [0, 1], 2)
    with raises_naming(TypeError, "pred", "torch.Tensor"):
        impl.mean_iou(np.array([0, 1]), torch.tensor([0, 1]), 2)
    with raises_naming(TypeError, "cm", "torch.Tensor", "list"):
        impl.iou_per_class([[1, 0], [0, 1]])
    with raises_naming(TypeError, "cm", "torch.Tensor", "list"):
        impl.dice_per_class([[1, 0], [0, 1]])
    with raises_naming(ValueError, "include_background", "C=1"):
        impl.multiclass_dice_loss(
            torch.zeros(1, 1, 2), torch.zeros(1, 2, dtype=torch.long), include_background=False
        )
