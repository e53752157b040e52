"""Tests for snippets/selfsup/dino.py: loss, centre, EMA teacher, schedules, head, collapse.

References used: ``F.cross_entropy`` with probability targets (the loss), ``torch.lerp`` and
``torch.optim.swa_utils.get_ema_avg_fn`` (the EMA), ``CosineAnnealingLR`` (the momentum schedule),
and hand derivations in comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.optim.swa_utils import get_ema_avg_fn

from tests.support import (
    assert_close,
    assert_equal,
    cases,
    quick_subset,
    raises_naming,
    under_test,
)

impl = under_test("snippets.selfsup.dino")


def reference_loss(s, t, c, ncrops, st_, tt_):
    """Brute force from the definition, using the library's soft-target cross-entropy."""
    b = t.shape[0] // 2
    q = F.softmax((t - c.reshape(1, -1)) / tt_, dim=-1)
    terms = []
    for ti in range(2):
        for v in range(ncrops):
            if v == ti:
                continue
            # F.cross_entropy with probability targets = mean over the batch of -sum q log p.
            terms.append(F.cross_entropy(s[v * b : (v + 1) * b] / st_, q[ti * b : (ti + 1) * b]))
    return torch.stack(terms).mean()


def random_case(g):
    b = int(torch.randint(1, 6, (1,), generator=g))
    k = int(torch.randint(2, 40, (1,), generator=g))
    ncrops = int(torch.randint(2, 11, (1,), generator=g))
    s = torch.randn(ncrops * b, k, generator=g, dtype=torch.float64) * 3
    t = torch.randn(2 * b, k, generator=g, dtype=torch.float64) * 3
    c = torch.randn(k, generator=g, dtype=torch.float64)
    st_ = float(torch.empty(1).uniform_(0.05, 1.0, generator=g))
    tt_ = float(torch.empty(1).uniform_(0.02, 1.0, generator=g))
    return s, t, c, ncrops, st_, tt_


# ------------------------------------------------------------------ multi-crop pairs


def test_pairs_dino_recipe_has_18_terms_and_no_same_view():
    pairs = impl.multicrop_pairs(2, 8)
    assert len(pairs) == 18  # 2 teacher views x 10 student views - 2 same-view pairs
    assert all(t != s for t, s in pairs)
    assert {t for t, _ in pairs} == {0, 1}  # only global crops reach the teacher
    assert {s for _, s in pairs} == set(range(10))  # every crop reaches the student


@given(st.integers(1, 4), st.integers(0, 12))
def test_pairs_count_property(n_global, n_local):
    pairs = impl.multicrop_pairs(n_global, n_local)
    n_views = n_global + n_local
    expected = {(t, s) for t in range(n_global) for s in range(n_views)} - {
        (v, v) for v in range(n_global)
    }
    assert len(pairs) == len(set(pairs)) == n_global * (n_views - 1)
    assert set(pairs) == expected


def test_pairs_rejects_bad_counts():
    with raises_naming(ValueError, "n_global"):
        impl.multicrop_pairs(0, 8)
    with raises_naming(ValueError, "n_local"):
        impl.multicrop_pairs(2, -1)


# ------------------------------------------------------------------ the loss


@pytest.mark.parametrize("fn", ["dino_loss_naive", "dino_loss"])
def test_loss_matches_cross_entropy_reference_on_2000_random_cases(fn):
    g = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        s, t, c, ncrops, st_, tt_ = random_case(g)
        got = getattr(impl, fn)(s, t, c, ncrops, student_temp=st_, teacher_temp=tt_)
        want = reference_loss(s, t, c, ncrops, st_, tt_)
        assert_close(
            got, want, atol=1e-9, rtol=1e-9, inputs={"ncrops": ncrops, "st": st_, "tt": tt_}
        )


@given(st.integers(1, 4), st.integers(2, 12), st.integers(2, 10), st.integers(0, 2**31 - 1))
@settings(max_examples=cases(150))
def test_fast_equals_naive_property(b, k, ncrops, seed):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(ncrops * b, k, generator=g)
    t = torch.randn(2 * b, k, generator=g)
    c = torch.randn(1, k, generator=g)
    assert_close(impl.dino_loss(s, t, c, ncrops), impl.dino_loss_naive(s, t, c, ncrops), atol=1e-5)


def test_loss_averages_over_18_terms_and_skips_same_view():
    # Uniform teacher target (zero logits, zero centre): the cross-entropy of a pair (t, v) then
    # depends only on the student view v: c_v = -mean_k log p_v[k]. Views 0 and 1 each pair with
    # one teacher view (the other global one), local views 2..9 pair with both:
    #   loss = (c_0 + c_1 + 2 * sum_{v>=2} c_v) / 18.
    # Including same-view pairs would give 2 * sum_v c_v / 20 instead.
    g = torch.Generator().manual_seed(1)
    b, k, ncrops = 3, 7, 10
    s = torch.randn(ncrops * b, k, generator=g, dtype=torch.float64)
    s[: 2 * b] *= 5  # make the global views' terms clearly different from the local ones
    t = torch.zeros(2 * b, k, dtype=torch.float64)
    uniform = torch.full((b, k), 1.0 / k, dtype=torch.float64)
    c_v = [F.cross_entropy(s[v * b : (v + 1) * b] / 0.1, uniform) for v in range(ncrops)]
    expected = (c_v[0] + c_v[1] + 2 * sum(c_v[2:])) / 18
    wrong = 2 * sum(c_v) / 20
    assert abs(float(expected - wrong)) > 0.1  # the test can tell the two apart
    for fn in (impl.dino_loss, impl.dino_loss_naive):
        assert_close(fn(s, t, torch.zeros(k), ncrops), expected, atol=1e-10)


def test_same_view_teacher_does_not_reach_that_student_view():
    # d loss / d s_v = sum over teacher views t != v of (p_v - q_t) / (temp * B * n_terms): the
    # gradient of student view 0 may depend on teacher view 1 only. Change teacher view 0 and the
    # gradient of student view 0 must not move, while student view 1's gradient must.
    g = torch.Generator().manual_seed(2)
    b, k, ncrops = 4, 9, 4
    t1 = torch.randn(2 * b, k, generator=g)
    t2 = t1.clone()
    t2[:b] = torch.randn(b, k, generator=g) * 4  # teacher view 0 only
    grads = []
    for t in (t1, t2):
        s = torch.randn(ncrops * b, k, generator=torch.Generator().manual_seed(3))
        s.requires_grad_(True)
        impl.dino_loss(s, t, torch.zeros(k), ncrops).backward()
        grads.append(s.grad)
    assert_close(grads[1][:b], grads[0][:b], atol=1e-7)  # student view 0: unchanged
    assert not torch.allclose(grads[1][b : 2 * b], grads[0][b : 2 * b])  # student view 1: moved


@pytest.mark.parametrize("fn", ["dino_loss_naive", "dino_loss"])
def test_teacher_output_gets_no_gradient(fn):
    g = torch.Generator().manual_seed(4)
    s = torch.randn(6 * 2, 5, generator=g, requires_grad=True)
    t = torch.randn(2 * 2, 5, generator=g, requires_grad=True)
    getattr(impl, fn)(s, t, torch.zeros(5), 6).backward()
    assert s.grad is not None and t.grad is None  # stop-gradient on the teacher branch


@given(st.integers(0, 2**31 - 1), st.floats(-5, 5))
def test_loss_invariances(seed, shift):
    g = torch.Generator().manual_seed(seed)
    s, t, c = torch.randn(4 * 3, 6, generator=g), torch.randn(2 * 3, 6, generator=g), torch.zeros(6)
    base = impl.dino_loss(s, t, c, 4)
    # softmax ignores a constant added to every logit of a row
    assert_close(impl.dino_loss(s + shift, t, c, 4), base, atol=1e-4)
    # centring: moving teacher outputs and centre together changes nothing
    vec = torch.randn(6, generator=g) * shift
    assert_close(impl.dino_loss(s, t + vec, c + vec, 4), base, atol=1e-4)
    # Gibbs' inequality: cross-entropy >= entropy of the target, so the loss >= the mean entropy
    q = F.softmax(t / 0.04, dim=-1)
    assert float(base) >= float(-(q * torch.log(q.clamp_min(1e-30))).sum(-1).mean()) - 1e-4


def test_loss_rejects_bad_input():
    s, t, c = torch.zeros(10 * 2, 4), torch.zeros(2 * 2, 4), torch.zeros(4)
    for fn in (impl.dino_loss, impl.dino_loss_naive):
        with raises_naming(ValueError, "student_out", "[ncrops * B, K]"):
            fn(torch.zeros(9 * 2, 4), t, c, 10)
        with raises_naming(ValueError, "teacher_out", "[2 * B, K]"):
            fn(s, torch.zeros(3, 4), c, 10)
        with raises_naming(ValueError, "student_out", "[views * B, K]"):
            fn(torch.zeros(80), t, c, 10)
        with raises_naming(ValueError, "center", "[K]"):
            fn(s, t, torch.zeros(5), 10)
        with raises_naming(ValueError, "ncrops"):
            fn(s[:2], t[:2], c, 1)
        with raises_naming(ValueError, "teacher_temp"):
            fn(s, t, c, 10, teacher_temp=0.0)
        with raises_naming(TypeError, "student_out"):
            fn(s.numpy(), t, c, 10)


# ------------------------------------------------------------------ centre


def test_update_center_matches_formula_on_random_batches():
    g = torch.Generator().manual_seed(5)
    for _ in range(cases(500)):
        n, k = (
            int(torch.randint(1, 9, (1,), generator=g)),
            int(torch.randint(1, 9, (1,), generator=g)),
        )
        m = float(torch.rand(1, generator=g))
        center = torch.randn(1, k, generator=g, dtype=torch.float64)
        out = torch.randn(n, k, generator=g, dtype=torch.float64)
        batch_mean = [sum(float(out[i, j]) for i in range(n)) / n for j in range(k)]  # by hand
        want = torch.tensor([[m * float(center[0, j]) + (1 - m) * batch_mean[j] for j in range(k)]])
        assert_close(impl.update_center(center, out, m), want, atol=1e-12, inputs={"m": m})


def test_update_center_keeps_shape_and_checks_input():
    assert impl.update_center(torch.zeros(3), torch.ones(2, 3)).shape == (3,)
    with raises_naming(ValueError, "momentum"):
        impl.update_center(torch.zeros(3), torch.ones(2, 3), 1.5)
    with raises_naming(ValueError, "teacher_out", "[N, K]"):
        impl.update_center(torch.zeros(3), torch.ones(3))


def test_dino_loss_module_uses_old_centre_then_updates():
    g = torch.Generator().manual_seed(6)
    crit = impl.DINOLoss(8, 4, 0.04, 0.07, 3, 10)
    crit.center = torch.randn(1, 8, generator=g)
    old = crit.center.clone()
    s, t = torch.randn(4 * 2, 8, generator=g), torch.randn(2 * 2, 8, generator=g)
    loss = crit(s, t, epoch=1)
    assert_close(loss, reference_loss(s, t, old, 4, 0.1, 0.055), atol=1e-5)  # 0.04 + 0.03 / 2
    assert_close(crit.center, 0.9 * old + 0.1 * t.mean(0, keepdim=True), atol=1e-6)


def test_teacher_temp_schedule():
    sched = impl.teacher_temp_schedule(0.04, 0.07, 30, 100)
    assert_close(sched[:30], np.linspace(0.04, 0.07, 30))
    assert_close(sched[30:], np.full(70, 0.07))
    assert_close(impl.teacher_temp_schedule(0.04, 0.04, 0, 5), np.full(5, 0.04))  # CLI default
    with raises_naming(ValueError, "warmup_teacher_temp_epochs"):
        impl.teacher_temp_schedule(0.04, 0.07, 30, 10)


# ------------------------------------------------------------------ EMA teacher


def _net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.Linear(7, 3))


def test_ema_moves_teacher_by_exactly_one_minus_m_and_leaves_student():
    student, teacher = _net(0), impl.make_teacher(_net(1))
    for m in (0.0, 0.3, 0.996, 1.0):
        s_before = [p.detach().clone() for p in student.parameters()]
        t_before = [p.detach().clone() for p in teacher.parameters()]
        impl.ema_update(teacher, student, m)
        ema = get_ema_avg_fn(m)  # torch's EMA: decay * ema_param + (1 - decay) * param
        for p_s, s0, p_t, t0 in zip(
            student.parameters(), s_before, teacher.parameters(), t_before, strict=True
        ):
            assert_equal(p_s.detach(), s0)  # student untouched
            assert_close(p_t - t0, (1 - m) * (s0 - t0), atol=1e-7, inputs={"m": m})
            assert_close(p_t, ema(t0, s0, torch.tensor(1)), atol=1e-7)
            assert_close(p_t, torch.lerp(s0, t0, m), atol=1e-7)


def test_make_teacher_copies_and_never_gets_gradients():
    student = _net(2)
    teacher = impl.make_teacher(student)
    for p_s, p_t in zip(student.parameters(), teacher.parameters(), strict=True):
        assert_equal(p_t, p_s.detach())
        assert not p_t.requires_grad
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    loss = impl.dino_loss(student(torch.cat([x, x])), teacher(torch.cat([x, x])), torch.zeros(3), 2)
    loss.backward()
    assert all(p.grad is not None for p in student.parameters())
    assert all(p.grad is None for p in teacher.parameters())


def test_ema_rejects_bad_input():
    with raises_naming(ValueError, "momentum"):
        impl.ema_update(_net(0), _net(1), -0.1)
    with raises_naming(ValueError, "teacher and student"):
        impl.ema_update(_net(0), nn.Linear(5, 7), 0.9)
    with raises_naming(ValueError, "teacher and student"):
        impl.ema_update(nn.Linear(5, 7), nn.Linear(7, 5), 0.9)


# ------------------------------------------------------------------ momentum schedule


def test_cosine_scheduler_matches_torch_cosine_annealing():
    g = torch.Generator().manual_seed(7)
    for _ in range(cases(100)):
        epochs, per_ep = (
            int(torch.randint(1, 8, (1,), generator=g)),
            int(torch.randint(1, 8, (1,), generator=g)),
        )
        base, final = (float(v) for v in torch.rand(2, generator=g))
        n = epochs * per_ep
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=base)
        sched = CosineAnnealingLR(opt, T_max=n, eta_min=final)
        want = []
        for _ in range(n):
            want.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        got = impl.cosine_scheduler(base, final, epochs, per_ep)
        assert_close(got, np.array(want), atol=1e-12, inputs={"epochs": epochs, "per_ep": per_ep})


def test_momentum_schedule_starts_at_0996_ends_near_1_monotone():
    m = impl.cosine_scheduler(0.996, 1.0, epochs=100, niter_per_ep=50)
    n = 100 * 50
    assert m.shape == (n,)
    assert m[0] == 0.996
    assert np.all(np.diff(m) > 0)  # strictly increasing: the teacher slows down over training
    # last value: 1 - 0.002 * (1 + cos(pi * (n - 1) / n)) = 1 - 0.002 * (1 - cos(pi / n))
    assert_close(m[-1], 1 - 0.002 * (1 - math.cos(math.pi / n)), atol=1e-15)
    assert 1 - 1e-9 < m[-1] < 1.0


def test_cosine_scheduler_warmup_is_linear():
    s = impl.cosine_scheduler(1.0, 0.0, epochs=4, niter_per_ep=3, warmup_epochs=1)
    assert_close(s[:3], [0.0, 0.5, 1.0])
    assert s[3] == 1.0 and s.shape == (12,)


def test_cosine_scheduler_rejects_bad_input():
    with raises_naming(ValueError, "epochs"):
        impl.cosine_scheduler(0.996, 1, 0, 10)
    with raises_naming(ValueError, "warmup_epochs"):
        impl.cosine_scheduler(0.996, 1, 10, 10, warmup_epochs=10)


# ------------------------------------------------------------------ head


def test_head_structure_parameter_count_and_cosine_logits():
    head = impl.DINOHead(384, 1000)
    linears = [m for m in head.mlp if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (384, 2048),
        (2048, 2048),
        (2048, 256),
    ]
    trainable = sum(p.numel() for p in head.parameters() if p.requires_grad)
    # three Linear with bias + the last layer's direction v (256 x K); gain g frozen
    assert trainable == (384 * 2048 + 2048) + (2048 * 2048 + 2048) + (2048 * 256 + 256) + 256 * 1000
    w = head.last_layer.weight  # effective weight g * v / ||v||
    assert_close(w.norm(dim=1), torch.ones(1000), atol=1e-5)
    x = torch.randn(16, 384, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = head(x)
    assert out.shape == (16, 1000) and float(out.abs().max()) <= 1 + 1e-5
    assert any(
        p.requires_grad for p in impl.DINOHead(8, 4, norm_last_layer=False).last_layer.parameters()
    )
    with raises_naming(ValueError, "nlayers"):
        impl.DINOHead(8, 4, nlayers=0)


# ------------------------------------------------------------------ collapse experiment


@pytest.mark.parametrize("seed", quick_subset([0, 1]))
def test_centering_alone_goes_uniform_sharpening_alone_collapses_both_stay_between(seed):
    k = 16
    log_k = math.log(k)
    c = impl.collapse_experiment("centering", K=k, seed=seed)
    s = impl.collapse_experiment("sharpening", K=k, seed=seed)
    b = impl.collapse_experiment("both", K=k, seed=seed)
    # centring only: every teacher output uniform (entropy log K)
    assert c["entropy"][-1] > 0.97 * log_k
    # sharpening only: one-hot outputs, all on the same dimension (batch-mean entropy 0)
    assert s["entropy"][-1] < 0.02 * log_k and s["marginal_entropy"][-1] < 0.02 * log_k
    # both: confident per sample, but different samples use different dimensions
    assert 0.2 * log_k < b["entropy"][-1] < 0.8 * log_k
    assert b["marginal_entropy"][-1] > 0.8 * log_k


def test_collapse_experiment_is_deterministic_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    h1 = impl.collapse_experiment("both", steps=20, K=8, seed=3)
    assert torch.equal(torch.get_rng_state(), before)
    h2 = impl.collapse_experiment("both", steps=20, K=8, seed=3)
    assert h1 == h2 and len(h1["entropy"]) == 20
    with raises_naming(ValueError, "mode"):
        impl.collapse_experiment("none")
    with raises_naming(ValueError, "steps"):
        impl.collapse_experiment("both", steps=0)


# ------------------------------------------------------------------ figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_builds(lang):
    from figures.selfsup.dino import draw_collapse

    fig = draw_collapse(lang)
    assert isinstance(fig, Figure) and len(fig.axes) == 2


# ------------------------------------------------------------------ bad input (review fixes)


@pytest.mark.strict  # NaN temperatures and list centres: beyond the interview contract
def test_loss_rejects_nan_temperature_and_non_tensor_center():
    s, t, c = torch.zeros(4 * 2, 4), torch.zeros(2 * 2, 4), torch.zeros(4)
    for fn in (impl.dino_loss, impl.dino_loss_naive):
        with raises_naming(ValueError, "teacher_temp"):
            fn(s, t, c, 4, teacher_temp=float("nan"))
        with raises_naming(TypeError, "center", "torch.Tensor"):
            fn(s, t, [0.0] * 4, 4)
    with raises_naming(TypeError, "center", "torch.Tensor"):
        impl.update_center([0.0] * 4, t)
    with raises_naming(ValueError, "center", "K=4"):
        impl.update_center(torch.zeros(5), t)


def test_dino_loss_module_rejects_epochs_outside_the_schedule():
    crit = impl.DINOLoss(4, 4, 0.04, 0.07, 2, 3)
    s, t = torch.zeros(4 * 2, 4), torch.zeros(2 * 2, 4)
    crit(s, t, epoch=2)  # the last valid epoch
    with raises_naming(ValueError, "epoch", "[0, nepochs=3)"):
        crit(s, t, epoch=-1)  # NumPy would silently use the last epoch
    with raises_naming(ValueError, "epoch", "[0, nepochs=3)"):
        crit(s, t, epoch=3)  # NumPy would raise an IndexError
    with raises_naming(TypeError, "epoch", "int"):
        crit(s, t, epoch=1.0)


def test_schedules_reject_float_counts_and_zero_temperatures():
    with raises_naming(TypeError, "epochs", "int"):
        impl.cosine_scheduler(0.996, 1, 2.5, 5)  # would return 13 values
    with raises_naming(TypeError, "niter_per_ep", "int"):
        impl.cosine_scheduler(0.996, 1, 2, [5])
    with raises_naming(TypeError, "nepochs", "int"):
        impl.teacher_temp_schedule(0.04, 0.07, 1, 2.0)
    with raises_naming(ValueError, "teacher_temp", "> 0"):
        impl.teacher_temp_schedule(0.0, 0.0, 0, 3)  # dino_loss would reject it later
    with raises_naming(TypeError, "student", "nn.Module"):
        impl.make_teacher([1.0])
    with raises_naming(TypeError, "teacher", "nn.Module"):
        impl.ema_update([1.0], nn.Linear(1, 1), 0.9)


def test_one_layer_head_has_the_original_state_dict_keys():
    # facebookresearch/dino vision_transformer.py: `if nlayers == 1: self.mlp = nn.Linear(...)`
    keys = set(impl.DINOHead(8, 4, nlayers=1).state_dict())
    assert {"mlp.weight", "mlp.bias"} <= keys and not any(k.startswith("mlp.0") for k in keys)


# ------------------------------------------------------------------ the loss scale under AdamW


def _train_head(loss_scale, opt_name, lr, steps=20, clip=None, grad_norm=False):
    """20 steps of a tiny DINO head on fixed data; the loss is multiplied by ``loss_scale``."""
    torch.manual_seed(0)
    head = impl.DINOHead(6, 8, nlayers=2, hidden_dim=16, bottleneck_dim=8).double()
    params = [p for p in head.parameters() if p.requires_grad]
    if opt_name == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=0.9)
    else:  # DINO's default optimiser (main_dino.py --optimizer adamw)
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.04)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4 * 3, 6, generator=g, dtype=torch.float64)  # 4 views, B = 3
    t = torch.randn(2 * 3, 8, generator=g, dtype=torch.float64)
    for _ in range(steps):
        loss = impl.dino_loss(head(x), t, torch.zeros(8, dtype=torch.float64), 4) * loss_scale
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, clip)
            if grad_norm:
                return norm
        opt.step()
    return torch.cat([p.detach().reshape(-1) for p in params])


def test_summing_the_terms_is_a_larger_lr_for_sgd_but_changes_almost_nothing_for_adamw():
    n_terms = 2 * (4 - 1)  # 6 pairs with 4 views; the argument is the same for 18
    # SGD (with momentum): scaling the loss by n is exactly scaling the learning rate by n
    assert_close(
        _train_head(n_terms, "sgd", 0.01), _train_head(1, "sgd", 0.01 * n_terms), atol=1e-10
    )
    moved = (_train_head(n_terms, "sgd", 0.01) - _train_head(1, "sgd", 0.01)).abs().max()
    assert moved > 1e-3
    # AdamW divides the step by sqrt(v): the scale cancels up to eps (1e-8)
    mean_run, sum_run = _train_head(1, "adamw", 1e-3), _train_head(n_terms, "adamw", 1e-3)
    assert_close(sum_run, mean_run, atol=1e-6)
    assert (_train_head(1, "adamw", 1e-3 * n_terms) - mean_run).abs().max() > 1e-3
    # what does change under AdamW: gradient clipping (DINO's --clip_grad 3.0) bites earlier.
    # A threshold 2x the first gradient norm of the mean loss clips the summed loss (6x) only.
    clip = 2 * float(_train_head(1, "adamw", 0.0, steps=1, clip=float("inf"), grad_norm=True))
    clipped = _train_head(n_terms, "adamw", 1e-3, clip=clip)
    assert (clipped - _train_head(1, "adamw", 1e-3, clip=clip)).abs().max() > 1e-4


# ------------------------------------------------------------------ multi-crop cost


def test_eight_local_crops_cost_about_one_and_a_half_global_crops_for_vit_s16():
    from snippets.selfsup.mae import blocks_flops

    glob, loc = blocks_flops(197, 384, 12), blocks_flops(37, 384, 12)  # ViT-S/16, with [CLS]
    assert 1.35 < 8 * loc / glob < 1.45  # 1.41: linear layers dominate, not attention
    assert 3.35 < (2 * glob + 8 * loc) / glob < 3.45  # the student's 10 views = 3.4 global views
    attention = 4 * 197**2 * 384 * 12  # the two n^2 D matmuls, 2 FLOPs per multiply-add
    assert 0.07 < attention / glob < 0.09  # ~8 % of a global crop's block FLOPs


# ------------------------------------------------------------------ DINOv2: KoLeo, Sinkhorn-Knopp


def koleo_dinov2(student_output, eps=1e-8):
    """Transcription of facebookresearch/dinov2 dinov2/loss/koleo_loss.py (KoLeoLoss.forward)."""
    pdist = nn.PairwiseDistance(2, eps=1e-8)
    student_output = F.normalize(student_output, eps=eps, p=2, dim=-1)
    dots = torch.mm(student_output, student_output.t())
    n = student_output.shape[0]
    dots.view(-1)[:: (n + 1)].fill_(-1)  # the diagonal trick of pairwise_NNs_inner
    _, nn_idx = torch.max(dots, dim=1)
    distances = pdist(student_output, student_output[nn_idx])
    return -torch.log(distances + eps).mean()


def sinkhorn_dinov2(teacher_output, teacher_temp, n_iterations=3):
    """Transcription of dinov2/loss/dino_clstoken_loss.py sinkhorn_knopp_teacher, one process."""
    q = torch.exp(teacher_output.float() / teacher_temp).t()  # K x B
    b, k = q.shape[1], q.shape[0]
    q /= torch.sum(q)
    for _ in range(n_iterations):
        q /= torch.sum(q, dim=1, keepdim=True)
        q /= k
        q /= torch.sum(q, dim=0, keepdim=True)
        q /= b
    q *= b
    return q.t()


def test_koleo_matches_dinov2_transcription():
    g = torch.Generator().manual_seed(7)
    for _ in range(cases(300)):
        b, d = (
            int(torch.randint(2, 12, (1,), generator=g)),
            int(torch.randint(2, 9, (1,), generator=g)),
        )
        x = torch.randn(b, d, generator=g, dtype=torch.float64)
        assert_close(impl.koleo_loss(x), koleo_dinov2(x), atol=1e-6, inputs={"x": x})


def test_koleo_rewards_spread_and_rejects_bad_input():
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    crowded = x.clone()
    crowded[1] = crowded[0] + 1e-3  # two nearly identical features
    assert impl.koleo_loss(crowded) > impl.koleo_loss(x) + 0.3
    x.requires_grad_(True)
    impl.koleo_loss(x).backward()
    assert torch.isfinite(x.grad).all()
    with raises_naming(TypeError, "x", "torch.Tensor"):
        impl.koleo_loss([[1.0, 0.0], [0.0, 1.0]])
    with raises_naming(ValueError, "x", "B >= 2"):
        impl.koleo_loss(torch.ones(1, 3))


def test_sinkhorn_knopp_matches_dinov2_transcription_and_balances_prototypes():
    g = torch.Generator().manual_seed(8)
    for _ in range(cases(300)):
        b, k = (
            int(torch.randint(1, 10, (1,), generator=g)),
            int(torch.randint(2, 12, (1,), generator=g)),
        )
        t = torch.randn(b, k, generator=g)
        temp = float(torch.empty(()).uniform_(0.04, 1.0, generator=g))
        iters = int(torch.randint(1, 6, (1,), generator=g))
        got = impl.sinkhorn_knopp(t, temp, iters)
        assert_close(
            got,
            sinkhorn_dinov2(t, temp, iters),
            atol=1e-5,
            rtol=1e-4,
            inputs={"t": t, "temp": temp, "iters": iters},
        )
        assert_close(got.sum(dim=1), torch.ones(b), atol=1e-5)  # one distribution per sample
    # many iterations: every prototype gets B / K of the mass, unlike softmax with no centring
    t = torch.randn(32, 8, generator=g) + torch.linspace(0, 3, 8)  # prototype 7 favoured
    q = impl.sinkhorn_knopp(t, 0.5, n_iterations=200)
    assert_close(q.sum(dim=0), torch.full((8,), 32 / 8), atol=1e-3)
    assert F.softmax(t / 0.5, dim=-1).sum(dim=0)[-1] > 10
    with raises_naming(ValueError, "teacher_temp"):
        impl.sinkhorn_knopp(t, 0.0)
    with raises_naming(TypeError, "teacher_out"):
        impl.sinkhorn_knopp(t.numpy(), 0.1)


def test_head_names_bad_sizes_and_inputs():
    with raises_naming(ValueError, "out_dim", ">= 1"):
        impl.DINOHead(8, 0)  # was a reshape RuntimeError from weight_norm
    head = impl.DINOHead(4, 8, nlayers=2, hidden_dim=16, bottleneck_dim=8)
    with raises_naming(ValueError, "x", "[N, in_dim=4]"):
        head(torch.zeros(2, 3))  # was "mat1 and mat2 shapes cannot be multiplied"
