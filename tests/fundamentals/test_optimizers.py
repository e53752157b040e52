"""Tests for snippets/fundamentals/optimizers.py: SGD, Adam, AdamW, warmup + cosine, clipping.

References: torch.optim.SGD / Adam / AdamW (torch 2.14, ``foreach=False``: the single-tensor
loop), torch.optim.lr_scheduler.SequentialLR(LinearLR, CosineAnnealingLR),
transformers.get_cosine_schedule_with_warmup, torch.nn.utils.clip_grad_norm_; all in float64.
Hand-computed values are derived in the comments. The named tests near the end diagnose the
classic mistakes of a hand-written Adam / SGD in plain words (practice mode prints them).
"""

from __future__ import annotations

import math

import pytest
import torch

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.fundamentals.optimizers")

TOL = {"atol": 1e-12, "rtol": 1e-12}


# ---------------------------------------------------------------- helpers


def rand_shape(gen: torch.Generator) -> tuple[int, ...]:
    ndim = int(torch.randint(1, 3, (1,), generator=gen))
    return tuple(int(d) for d in torch.randint(1, 5, (ndim,), generator=gen))


def rand_grads(gen: torch.Generator, shape: tuple[int, ...], steps: int) -> list[torch.Tensor]:
    """Gradients whose scale varies by orders of magnitude between tensors and steps."""
    scale = 10.0 ** torch.randint(-5, 3, (steps,), generator=gen).double()
    return [torch.randn(shape, generator=gen, dtype=torch.float64) * s for s in scale]


def uniform(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=gen, dtype=torch.float64))


def sgd_config(gen: torch.Generator) -> dict:
    momentum = 0.0 if float(torch.rand((), generator=gen)) < 0.25 else uniform(gen, 0.0, 0.99)
    nesterov = momentum > 0 and float(torch.rand((), generator=gen)) < 0.4
    dampening = (
        0.0 if nesterov or float(torch.rand((), generator=gen)) < 0.5 else uniform(gen, 0, 1)
    )
    wd = 0.0 if float(torch.rand((), generator=gen)) < 0.3 else uniform(gen, 0.0, 0.1)
    return dict(
        lr=uniform(gen, 0.0, 0.3), momentum=momentum, dampening=dampening,
        weight_decay=wd, nesterov=nesterov,
    )  # fmt: skip


def adam_config(gen: torch.Generator) -> dict:
    beta1 = [0.0, 0.5, 0.9, uniform(gen, 0.0, 0.99)][int(torch.randint(0, 4, (1,), generator=gen))]
    beta2 = [0.9, 0.99, 0.999, uniform(gen, 0.5, 0.9999)][
        int(torch.randint(0, 4, (1,), generator=gen))
    ]
    return dict(
        lr=uniform(gen, 0.0, 0.1), betas=(beta1, beta2),
        eps=[1e-8, 1e-6, 1e-3, 0.0][int(torch.randint(0, 4, (1,), generator=gen))],
        weight_decay=0.0 if float(torch.rand((), generator=gen)) < 0.3 else uniform(gen, 0, 0.2),
        amsgrad=bool(torch.rand((), generator=gen) < 0.3),
    )  # fmt: skip


# ---------------------------------------------------------------- step functions vs torch

SGD_CASES, ADAM_CASES, STEPS = cases(100), cases(100), 20


def test_sgd_step_matches_torch_sgd() -> None:
    """100 random configs x 20 steps: every step's params and the momentum buffer equal
    torch.optim.SGD's."""
    gen = torch.Generator().manual_seed(0)
    for case in range(SGD_CASES):
        cfg, shape = sgd_config(gen), rand_shape(gen)
        init = torch.randn(shape, generator=gen, dtype=torch.float64)
        ref = init.clone().requires_grad_()
        opt = torch.optim.SGD([ref], foreach=False, **cfg)
        ours, state, got, expected = init.clone(), {}, [], []
        for g in rand_grads(gen, shape, STEPS):
            ref.grad = g.clone()
            opt.step()
            impl.sgd_step(ours, g.clone(), state, **cfg)
            got.append(ours.clone())
            expected.append(ref.detach().clone())
        inputs = {"case": case, "config": cfg, "init": init}
        assert_close(torch.stack(got), torch.stack(expected), inputs=inputs, **TOL)  # [steps, *]
        if cfg["momentum"] != 0:
            buf = opt.state[ref]["momentum_buffer"]
            assert_close(state["momentum_buffer"], buf, inputs=inputs, **TOL)


@pytest.mark.parametrize("decoupled", [False, True], ids=["adam_l2", "adamw_decoupled"])
def test_adam_step_matches_torch_adam(decoupled: bool) -> None:
    """100 random configs x 20 steps each way: every step's params, and m, v, step at the end,
    equal torch.optim.Adam's (decoupled_weight_decay=True is torch's AdamW)."""
    gen = torch.Generator().manual_seed(1 + decoupled)
    for case in range(ADAM_CASES):
        cfg, shape = adam_config(gen), rand_shape(gen)
        init = torch.randn(shape, generator=gen, dtype=torch.float64)
        ref = init.clone().requires_grad_()
        opt = torch.optim.Adam([ref], foreach=False, decoupled_weight_decay=decoupled, **cfg)
        ours, state, got, expected = init.clone(), {}, [], []
        for g in rand_grads(gen, shape, STEPS):
            ref.grad = g.clone()
            opt.step()
            impl.adam_step(ours, g.clone(), state, decoupled_weight_decay=decoupled, **cfg)
            got.append(ours.clone())
            expected.append(ref.detach().clone())
        inputs = {"case": case, "config": cfg, "decoupled": decoupled, "init": init}
        assert_close(torch.stack(got), torch.stack(expected), inputs=inputs, **TOL)
        ref_state = opt.state[ref]
        assert_close(state["exp_avg"], ref_state["exp_avg"], inputs=inputs, **TOL)
        assert_close(state["exp_avg_sq"], ref_state["exp_avg_sq"], inputs=inputs, **TOL)
        assert int(state["step"]) == int(ref_state["step"]) == STEPS


def test_step_functions_do_not_modify_the_gradient() -> None:
    p, g = torch.ones(3, dtype=torch.float64), torch.full((3,), 2.0, dtype=torch.float64)
    impl.sgd_step(p, g, {}, lr=0.1, momentum=0.9, weight_decay=0.1)
    impl.adam_step(p, g, {}, lr=0.1, weight_decay=0.1)
    assert_equal(g, torch.full((3,), 2.0, dtype=torch.float64))


# ---------------------------------------------------------------- Optimizer classes vs torch


def run_both(name: str, groups: list[dict], defaults: dict, steps: int, gen: torch.Generator):
    """Run impl.<name> and torch.optim.<name> on copies of the same param groups and grads."""
    ours = [dict(g, params=[p.clone().requires_grad_() for p in g["params"]]) for g in groups]
    refs = [dict(g, params=[p.clone().requires_grad_() for p in g["params"]]) for g in groups]
    opt_ours = getattr(impl, name)(ours, **defaults)
    opt_ref = getattr(torch.optim, name)(refs, foreach=False, **defaults)
    for _ in range(steps):
        for go, gr in zip(ours, refs, strict=True):
            for po, pr in zip(go["params"], gr["params"], strict=True):
                if float(torch.rand((), generator=gen)) < 0.2:  # no gradient this step
                    po.grad = pr.grad = None
                else:
                    g = torch.randn(po.shape, generator=gen, dtype=torch.float64)
                    po.grad, pr.grad = g.clone(), g.clone()
        opt_ours.step()
        opt_ref.step()
    return opt_ours, opt_ref


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_optimizer_classes_match_torch_with_param_groups(name: str) -> None:
    """40 random models per optimiser, 2-3 param groups with their own hyper-parameters, 15 steps,
    about 20% of the gradients None at each step: every parameter equals torch's."""
    gen = torch.Generator().manual_seed({"SGD": 10, "Adam": 11, "AdamW": 12}[name])
    for case in range(40):
        n_groups = int(torch.randint(2, 4, (1,), generator=gen))
        groups = []
        for _ in range(n_groups):
            params = [torch.randn(rand_shape(gen), generator=gen, dtype=torch.float64)]
            params.append(torch.randn(rand_shape(gen), generator=gen, dtype=torch.float64))
            cfg = sgd_config(gen) if name == "SGD" else adam_config(gen)
            groups.append(dict(cfg, params=params))
        defaults = {"lr": 0.01}
        opt_ours, opt_ref = run_both(name, groups, defaults, 15, gen)
        for go, gr in zip(opt_ours.param_groups, opt_ref.param_groups, strict=True):
            for po, pr in zip(go["params"], gr["params"], strict=True):
                assert_close(po.detach(), pr.detach(), inputs={"case": case}, **TOL)
                assert set(opt_ours.state[po]) == set(opt_ref.state[pr])  # same state keys


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_defaults_equal_torch(name: str) -> None:
    ours = getattr(impl, name)([torch.zeros(1, requires_grad=True)])
    ref = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)])
    for key, value in ours.defaults.items():
        if key != "decoupled_weight_decay" or name != "Adam":
            assert ref.defaults[key] == value, f"default {key}: torch {ref.defaults[key]}"
    assert set(ours.defaults) <= set(ref.defaults)
    if name == "AdamW":
        assert ours.defaults["weight_decay"] == 1e-2 and ours.defaults["decoupled_weight_decay"]


def test_adam_decoupled_flag_is_adamw() -> None:
    gen = torch.Generator().manual_seed(13)
    groups = [{"params": [torch.randn(4, 3, generator=gen, dtype=torch.float64)]}]
    a, _ = run_both("Adam", groups, {"weight_decay": 0.1, "decoupled_weight_decay": True}, 10, gen)
    gen = torch.Generator().manual_seed(13)
    groups = [{"params": [torch.randn(4, 3, generator=gen, dtype=torch.float64)]}]
    w, _ = run_both("AdamW", groups, {"weight_decay": 0.1}, 10, gen)
    assert_close(a.param_groups[0]["params"][0].detach(), w.param_groups[0]["params"][0].detach())


# ---------------------------------------------------------------- edge cases


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_grad_none_is_skipped_and_gets_no_state(name: str) -> None:
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    b = torch.ones(2, dtype=torch.float64, requires_grad=True)
    kwargs = {"lr": 0.1, "weight_decay": 0.5} | ({"momentum": 0.9} if name == "SGD" else {})
    opt = getattr(impl, name)([a, b], **kwargs)
    a.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    assert_equal(b.detach(), torch.ones(2, dtype=torch.float64))  # no grad: untouched,
    assert len(opt.state.get(b, {})) == 0  # even by weight decay, and no state (as torch)
    assert bool((a.detach() < 1).all())


def test_zero_gradient_and_zero_lr_match_torch() -> None:
    for name, kw in (("SGD", {"momentum": 0.9}), ("Adam", {}), ("AdamW", {"weight_decay": 0.1})):
        for lr in (0.0, 0.1):
            for zero_grad in (True, False):
                gen = torch.Generator().manual_seed(14)
                groups = [{"params": [torch.randn(5, generator=gen, dtype=torch.float64)]}]
                gen_g = torch.Generator().manual_seed(15)
                ours = [torch.nn.Parameter(groups[0]["params"][0].clone())]
                ref = [torch.nn.Parameter(groups[0]["params"][0].clone())]
                o, r = (
                    getattr(impl, name)(ours, lr=lr, **kw),
                    getattr(torch.optim, name)(ref, lr=lr, foreach=False, **kw),
                )
                for _ in range(3):
                    g = torch.zeros(5) if zero_grad else torch.randn(5, generator=gen_g)
                    ours[0].grad, ref[0].grad = g.double(), g.double()
                    o.step()
                    r.step()
                assert_close(ours[0].detach(), ref[0].detach(), **TOL)
                if lr == 0.0 or (zero_grad and name != "AdamW"):
                    # nothing moves: Adam's first zero-gradient step is 0 / (0 + eps) = 0
                    assert_equal(ours[0].detach(), groups[0]["params"][0])


def test_closure_is_called_and_its_loss_returned() -> None:
    w = torch.nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    opt = impl.SGD([w], lr=0.1)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure).detach()) == 9.0
    assert_close(w.detach(), torch.tensor([3.0 - 0.1 * 6.0], dtype=torch.float64), **TOL)


def test_nesterov_requires_momentum_and_zero_dampening_like_torch() -> None:
    w = [torch.zeros(1, requires_grad=True)]
    for kwargs in ({"momentum": 0.0}, {"momentum": 0.9, "dampening": 0.1}):
        with pytest.raises(ValueError, match=r"[Nn]esterov"):
            torch.optim.SGD(w, nesterov=True, **kwargs)
        with raises_naming(ValueError, "nesterov", "momentum", "dampening"):
            impl.SGD(w, nesterov=True, **kwargs)


# ---------------------------------------------------------------- bad input


def test_bad_hyperparameters_raise_naming_the_argument() -> None:
    w = [torch.zeros(1, requires_grad=True)]
    for cls in ("SGD", "Adam", "AdamW"):
        with raises_naming(ValueError, "lr", "-0.1"):
            getattr(impl, cls)(w, lr=-0.1)
        with pytest.raises(ValueError):  # torch raises too
            getattr(torch.optim, cls)(w, lr=-0.1)
        with raises_naming(ValueError, "weight_decay"):
            getattr(impl, cls)(w, weight_decay=-1e-4)
        with raises_naming(ValueError, "lr", "nan"):
            getattr(impl, cls)(w, lr=float("nan"))
        with raises_naming(TypeError, "lr", "str"):
            getattr(impl, cls)(w, lr="0.1")
        with raises_naming(TypeError, "params", "Tensor"):
            getattr(impl, cls)(torch.zeros(2, requires_grad=True))  # a tensor, not a list
        with raises_naming(TypeError, "params", "int"):
            getattr(impl, cls)(3)
        with raises_naming(TypeError, "params"):
            getattr(impl, cls)([1.0, 2.0])
    with raises_naming(ValueError, "momentum"):
        impl.SGD(w, momentum=-0.5)
    with raises_naming(ValueError, "dampening"):
        impl.SGD(w, momentum=0.9, dampening=-1.0)
    for cls in ("Adam", "AdamW"):
        with raises_naming(ValueError, "eps"):
            getattr(impl, cls)(w, eps=-1e-8)
        for betas, name in (((1.0, 0.999), "betas[0]"), ((0.9, 1.0), "betas[1]")):
            with pytest.raises(ValueError):
                torch.optim.Adam(w, betas=betas)
            with raises_naming(ValueError, name, "[0, 1)"):
                getattr(impl, cls)(w, betas=betas)
        with raises_naming(ValueError, "betas[0]"):
            getattr(impl, cls)(w, betas=(-0.1, 0.999))
        with raises_naming(TypeError, "betas", "pair"):
            getattr(impl, cls)(w, betas=0.9)


def test_step_functions_check_their_tensors() -> None:
    for fn, kw in ((impl.sgd_step, {"lr": 0.1}), (impl.adam_step, {})):
        with raises_naming(TypeError, "param", "torch.Tensor"):
            fn([1.0], torch.zeros(1), {}, **kw)
        with raises_naming(TypeError, "grad", "(3,)"):
            fn(torch.zeros(3), torch.zeros(2), {}, **kw)
        with raises_naming(TypeError, "grad", "list"):
            fn(torch.zeros(3), [0.0, 0.0, 0.0], {}, **kw)


# ---------------------------------------------------------------- bias correction


def test_bias_correction_removes_the_zero_init_bias_for_a_constant_gradient() -> None:
    """Constant g: m_t = (1 - b1^t) g exactly, so m_t / (1 - b1^t) = g at every step."""
    g, b1, b2 = 0.5, 0.9, 0.999
    p, state = torch.zeros(1, dtype=torch.float64), {}
    for t in range(1, 31):
        impl.adam_step(p, torch.full((1,), g, dtype=torch.float64), state, betas=(b1, b2))
        assert_close(state["exp_avg"], torch.tensor([(1 - b1**t) * g], dtype=torch.float64), **TOL)
        m2 = torch.tensor([(1 - b2**t) * g * g], dtype=torch.float64)
        assert_close(state["exp_avg_sq"], m2, **TOL)


# ---------------------------------------------------------------- L2 vs decoupled weight decay


def test_adam_l2_is_not_adamw_and_decays_high_gradient_weights_less() -> None:
    """Two weights of value 1, one with zero loss gradient, one with large noisy gradients.

    AdamW shrinks both by the same factor (1 - lr wd)^T on top of the loss step. In Adam-L2 the
    decay gradient wd * p goes through m / sqrt(v): for the zero-gradient weight it is the ONLY
    gradient and Adam normalises it to a step of ~lr per step; for the noisy weight it is divided
    by sqrt(v) ~ 10 and almost vanishes (Loshchilov & Hutter, §2).
    """
    lr, wd, steps = 0.01, 0.1, 50
    gen = torch.Generator().manual_seed(20)
    noise = [
        torch.tensor([0.0, 10.0], dtype=torch.float64) * torch.randn(2, generator=gen)
        for _ in range(steps)
    ]
    results = {}
    for decoupled in (False, True):
        p, state = torch.ones(2, dtype=torch.float64), {}
        q, state_q = torch.ones(2, dtype=torch.float64), {}  # same run without weight decay
        for g in noise:
            impl.adam_step(p, g, state, lr=lr, weight_decay=wd, decoupled_weight_decay=decoupled)
            impl.adam_step(q, g, state_q, lr=lr)
        results[decoupled] = (p - q).tolist() if decoupled else p.tolist()
        if not decoupled:
            results["no_decay"] = q.tolist()
    adam_l2, decay_w, no_decay = results[False], results[True], results["no_decay"]
    assert abs(adam_l2[0] - decay_w[0]) > 0.1, "Adam(weight_decay) must differ from AdamW"
    # Zero-gradient weight: AdamW decays geometrically, p_T = (1 - lr wd)^T (hand formula);
    # Adam-L2 steps ~lr per step: 1 - 50 * 0.01 = 0.5.
    assert_close(1 + decay_w[0], (1 - lr * wd) ** steps, atol=1e-12)
    # Adam-L2 normalises the lone decay gradient wd * p to a step of about lr: it moves ~10x
    # further (50 steps * 0.01 = 0.5 at most) than AdamW's 1 - 0.999^50 = 0.049.
    assert 0.4 < 1 - adam_l2[0] < 0.5
    # Noisy weight: the decay moved it much less under Adam-L2 than the decoupled shrink does.
    l2_pull = no_decay[1] - adam_l2[1]
    decoupled_pull = -decay_w[1]
    assert 0 < l2_pull < 0.2 * decoupled_pull


def test_sgd_l2_equals_decoupled_decay_with_torch_lr_scaling() -> None:
    """Plain SGD: p - lr (g + wd p) = (1 - lr wd) p - lr g. With torch's convention (decay
    multiplied by lr, as in AdamW) the SAME wd gives the same steps; in the paper's convention
    (p <- (1 - lambda) p) lambda = lr * wd (Loshchilov & Hutter, Proposition 1)."""
    gen = torch.Generator().manual_seed(21)
    for _ in range(cases(50)):
        lr, wd = uniform(gen, 0, 0.5), uniform(gen, 0, 0.5)
        p = torch.randn(6, generator=gen, dtype=torch.float64)
        decoupled = p.clone()
        for _ in range(10):
            g = torch.randn(6, generator=gen, dtype=torch.float64)
            impl.sgd_step(p, g, {}, lr=lr, weight_decay=wd)
            decoupled = (1 - lr * wd) * decoupled - lr * g
        assert_close(p, decoupled, **TOL)


# ---------------------------------------------------------------- warmup + cosine


def test_warmup_cosine_matches_sequential_lr() -> None:
    """200 random schedules: every step 0..total equals SequentialLR(LinearLR, CosineAnnealingLR)."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    gen = torch.Generator().manual_seed(30)
    for case in range(cases(200)):
        base, warmup = uniform(gen, 1e-4, 1.0), int(torch.randint(1, 12, (1,), generator=gen))
        total = warmup + int(torch.randint(1, 40, (1,), generator=gen))
        start, eta_min = uniform(gen, 0.01, 1.0), uniform(gen, 0.0, base)
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
        warm = LinearLR(opt, start_factor=start, total_iters=warmup)
        cos = CosineAnnealingLR(opt, T_max=total - warmup, eta_min=eta_min)
        sched = SequentialLR(opt, [warm, cos], milestones=[warmup])
        for step in range(total + 1):
            expected = opt.param_groups[0]["lr"]
            got = impl.warmup_cosine_lr(step, base, warmup, total, start, eta_min)
            inputs = {"case": case, "step": step, "warmup": warmup, "total": total}
            assert_close(got, expected, inputs=inputs, **TOL)
            opt.step()
            sched.step()


def test_warmup_cosine_matches_transformers_from_zero() -> None:
    """start_factor=0, eta_min=0 is Hugging Face's schedule: lr = 0 at step 0 (60 schedules)."""
    from transformers import get_cosine_schedule_with_warmup

    gen = torch.Generator().manual_seed(31)
    for _ in range(cases(60)):
        base, warmup = uniform(gen, 1e-4, 1.0), int(torch.randint(0, 12, (1,), generator=gen))
        total = warmup + int(torch.randint(1, 40, (1,), generator=gen))
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
        sched = get_cosine_schedule_with_warmup(opt, warmup, total)
        for step in range(total + 1):
            got = impl.warmup_cosine_lr(step, base, warmup, total)
            assert_close(got, opt.param_groups[0]["lr"], inputs={"step": step}, **TOL)
            opt.step()
            sched.step()


def test_after_total_steps_the_rate_stays_at_eta_min() -> None:
    """torch's CosineAnnealingLR is periodic and climbs back after T_max; ours holds eta_min."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    for _ in range(15):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] > 0.2  # 0.5 * (1 + cos(pi * 15 / 10)) = 0.5
    assert impl.warmup_cosine_lr(15, 1.0, 0, 10) == 0.0
    assert impl.warmup_cosine_lr(10, 1.0, 2, 10, eta_min=0.1) == pytest.approx(0.1, abs=1e-15)


def test_warmup_cosine_bad_input() -> None:
    with raises_naming(ValueError, "step", "-1"):
        impl.warmup_cosine_lr(-1, 1.0, 2, 10)
    with raises_naming(ValueError, "step"):
        impl.warmup_cosine_lr(1.5, 1.0, 2, 10)
    with raises_naming(ValueError, "warmup_steps", "total_steps"):
        impl.warmup_cosine_lr(0, 1.0, 10, 10)


# ---------------------------------------------------------------- gradient clipping


def test_clip_grad_norm_matches_torch() -> None:
    """400 random sets of 1-5 tensors (some grads None), p in {0.5, 1, 2, 3, inf}: the returned
    norm and the clipped gradients equal torch.nn.utils.clip_grad_norm_."""
    gen = torch.Generator().manual_seed(40)
    for case in range(cases(400)):
        n = int(torch.randint(1, 6, (1,), generator=gen))
        norm_type = [0.5, 1.0, 2.0, 3.0, math.inf][case % 5]
        ours, refs = [], []
        for _ in range(n):
            shape = rand_shape(gen)
            a = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
            b = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
            if float(torch.rand((), generator=gen)) > 0.2:
                g = torch.randn(shape, generator=gen, dtype=torch.float64) * uniform(gen, 0, 5)
                a.grad, b.grad = g.clone(), g.clone()
            ours.append(a)
            refs.append(b)
        max_norm = uniform(gen, 0.0, 10.0)
        total = impl.clip_grad_norm_(ours, max_norm, norm_type)
        expected = torch.nn.utils.clip_grad_norm_(refs, max_norm, norm_type)
        inputs = {"case": case, "max_norm": max_norm, "norm_type": norm_type}
        assert_close(total, expected, inputs=inputs, **TOL)
        for a, b in zip(ours, refs, strict=True):
            assert (a.grad is None) == (b.grad is None)
            if a.grad is not None:
                assert_close(a.grad, b.grad, inputs=inputs, **TOL)


def test_clip_grad_norm_small_gradients_are_left_alone_and_edge_cases() -> None:
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    w.grad = torch.tensor([0.3, 0.4], dtype=torch.float64)
    assert float(impl.clip_grad_norm_(w, 1.0)) == pytest.approx(0.5)  # a single tensor works
    assert_equal(w.grad, torch.tensor([0.3, 0.4], dtype=torch.float64))  # coef clamped to 1
    assert float(impl.clip_grad_norm_(w, 0.5 / 2, norm_type=2.0)) == pytest.approx(0.5)
    assert_close(w.grad, torch.tensor([0.15, 0.2], dtype=torch.float64), atol=1e-6)
    v = torch.zeros(3, requires_grad=True)
    assert float(impl.clip_grad_norm_([v], 1.0)) == 0.0  # no gradients at all
    w.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)
    assert float(impl.clip_grad_norm_((p for p in [w]), 10.0)) == 5.0  # a generator works
    w.grad = torch.tensor([float("inf"), 1.0], dtype=torch.float64)
    with pytest.raises(RuntimeError, match="norm"):
        impl.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_bad_input() -> None:
    w = torch.zeros(2, requires_grad=True)
    with raises_naming(ValueError, "max_norm"):
        impl.clip_grad_norm_([w], -1.0)
    with raises_naming(TypeError, "parameters", "Tensor"):
        impl.clip_grad_norm_([1.0, 2.0], 1.0)


# ---------------------------------------------------------------- optimiser memory


def test_state_numel_counts_two_copies_for_adam() -> None:
    torch.manual_seed(50)
    model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    n_params = sum(p.numel() for p in model.parameters())  # 7*5 + 5 + 5*3 + 3 = 58
    assert n_params == 58
    cases = [
        ("Adam", {}, 2), ("AdamW", {}, 2), ("Adam", {"amsgrad": True}, 3),
        ("SGD", {"momentum": 0.9}, 1), ("SGD", {}, 0),
    ]  # fmt: skip
    for name, kwargs, copies in cases:
        for opt in (getattr(impl, name)(model.parameters(), **kwargs),
                    getattr(torch.optim, name)(model.parameters(), **kwargs)):  # fmt: skip
            model.zero_grad()
            model(torch.randn(4, 7)).sum().backward()
            opt.step()
            assert impl.state_numel(opt) == copies * n_params, f"{name} {kwargs}"


# ---------------------------------------------------------------- classic mistakes (practice)


@pytest.mark.diagnosis
def test_first_adam_step_moves_each_weight_by_lr() -> None:
    """Step 1 with bias correction: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps).

    Without any correction it is lr * (1 - b1) / sqrt(1 - b2) = 3.16 lr for the defaults; with m
    uncorrected but v corrected it is (1 - b1) lr = 0.1 lr.
    """
    lr = 0.01
    g = torch.tensor([2.0, -0.5, 1e3], dtype=torch.float64)
    p, state = torch.zeros(3, dtype=torch.float64), {}
    impl.adam_step(p, g, state, lr=lr)
    ratio = float((-p / (lr * torch.sign(g))).mean())
    hint = ""
    if abs(ratio - 0.1 / math.sqrt(0.001)) < 0.01:
        hint = "no bias correction at all (m / sqrt(v) with m = 0.1 g, v = 0.001 g^2)"
    elif abs(ratio - 0.1) < 0.01:
        hint = "m is not bias-corrected (divide m by 1 - beta1^t)"
    elif abs(ratio - 1 / math.sqrt(0.001)) < 0.1:
        hint = "v is not bias-corrected (divide v by 1 - beta2^t before the sqrt)"
    assert abs(ratio - 1) < 1e-6, (
        f"Adam's first step must move every weight by ~lr (update = lr * m_hat / (sqrt(v_hat) + "
        f"eps) with m_hat = g, v_hat = g^2); yours moved it by {ratio:.4g} * lr. {hint}"
    )


@pytest.mark.diagnosis
def test_adam_step_counter_starts_at_one() -> None:
    p, state = torch.zeros(2, dtype=torch.float64), {}
    try:
        impl.adam_step(p, torch.tensor([1.0, -1.0], dtype=torch.float64), state, lr=0.1)
        ok = bool(torch.isfinite(p).all())
    except ZeroDivisionError:
        ok = False
    assert ok and int(state["step"]) == 1, (
        "the step counter must be incremented BEFORE the bias correction: t = 1 on the first "
        "update (state['step'] == 1 afterwards). With t = 0, 1 - beta1**0 = 0 and the step "
        "divides by zero."
    )
    impl.adam_step(p, torch.tensor([1.0, -1.0], dtype=torch.float64), state, lr=0.1)
    assert int(state["step"]) == 2, "state['step'] must count the updates: 2 after two steps"


@pytest.mark.diagnosis
def test_adam_eps_is_outside_the_square_root() -> None:
    """g = 1e-4, eps = 1e-8: sqrt(v_hat) + eps = 1.0001e-4, sqrt(v_hat + eps) = 1.41e-4.
    beta2 = 0 makes 1 - beta2^t = 1, so this test does not depend on WHEN eps is added."""
    p, state = torch.zeros(1, dtype=torch.float64), {}
    g = torch.tensor([1e-4], dtype=torch.float64)
    impl.adam_step(p, g, state, lr=1.0, betas=(0.9, 0.0), eps=1e-8)
    expected = -1e-4 / (1e-4 + 1e-8)
    assert abs(float(p) - expected) < 1e-9, (
        f"eps must be added OUTSIDE the square root, denom = sqrt(v_hat) + eps as in torch, not "
        f"sqrt(v_hat + eps): expected update {expected:.6f}, got {float(p):.6f}"
    )


@pytest.mark.diagnosis
def test_adam_eps_is_added_after_correcting_v() -> None:
    """g = 1e-7, eps = 1e-8, step 1: sqrt(v)/sqrt(1-b2) + eps = 1.1e-7 (torch), while
    (sqrt(v) + eps)/sqrt(1-b2) = 1e-7 + 3.16e-7 (eps scaled up by 31.6 on the first step)."""
    p, state = torch.zeros(1, dtype=torch.float64), {}
    impl.adam_step(p, torch.tensor([1e-7], dtype=torch.float64), state, lr=1.0, eps=1e-8)
    expected = -1e-7 / (1e-7 + 1e-8)
    assert abs(float(p) - expected) < 1e-9, (
        f"eps is added AFTER bias-correcting v: sqrt(v) / sqrt(1 - beta2^t) + eps (torch), not "
        f"(sqrt(v) + eps) / sqrt(1 - beta2^t): expected {expected:.6f}, got {float(p):.6f}"
    )


@pytest.mark.diagnosis
def test_adamw_weight_decay_is_decoupled_not_l2() -> None:
    """p = 100, g = 0, lr = 0.01, wd = 0.1. AdamW: p * (1 - lr wd) = 99.9. Coupled (L2) instead:
    gradient wd * p = 10 is normalised by Adam to a step of lr: 99.99."""
    p, state = torch.full((1,), 100.0, dtype=torch.float64), {}
    impl.adam_step(
        p, torch.zeros(1, dtype=torch.float64), state, lr=0.01, weight_decay=0.1,
        decoupled_weight_decay=True,
    )  # fmt: skip
    assert abs(float(p) - 99.9) < 1e-9, (
        "AdamW (decoupled_weight_decay=True) shrinks the weights directly, p *= 1 - lr * "
        "weight_decay, BEFORE and OUTSIDE m and v; adding weight_decay * p to the gradient is "
        f"Adam's L2 (it gets divided by sqrt(v)). Expected 99.9, got {float(p):.6f}"
    )
    q, state = torch.full((1,), 100.0, dtype=torch.float64), {}
    impl.adam_step(q, torch.zeros(1, dtype=torch.float64), state, lr=0.01, weight_decay=0.1)
    assert abs(float(q) - (100 - 0.01 * 10 / (10 + 1e-8))) < 1e-9, (
        "Adam with weight_decay (decoupled_weight_decay=False) is L2: grad = grad + wd * p goes "
        f"through m and v. Expected 99.99, got {float(q):.6f}"
    )


@pytest.mark.diagnosis
def test_nesterov_uses_the_updated_buffer() -> None:
    """Constant g = 1, mu = 0.9, lr = 1. buf_1 = g = 1, update g + mu buf_1 = 1.9;
    buf_2 = 0.9 + 1 = 1.9, update 1 + 0.9 * 1.9 = 2.71."""
    p, state = torch.zeros(1, dtype=torch.float64), {}
    updates = []
    for _ in range(2):
        before = float(p)
        impl.sgd_step(
            p, torch.ones(1, dtype=torch.float64), state, lr=1.0, momentum=0.9, nesterov=True
        )
        updates.append(round(before - float(p), 10))
    assert updates == [1.9, 2.71], (
        "Nesterov (torch): first update the buffer, buf = mu * buf + g (buf = g on step 1), THEN "
        f"step along g + mu * buf with the NEW buffer. Expected updates [1.9, 2.71] for a constant "
        f"g = 1, mu = 0.9; got {updates}"
    )


@pytest.mark.diagnosis
def test_momentum_buffer_starts_at_the_first_gradient() -> None:
    """dampening = 0.5, g = 2: torch sets buf_1 = g = 2 (no dampening on step 1), update 2 lr.
    A zero-initialised buffer would give (1 - dampening) g = 1."""
    p, state = torch.zeros(1, dtype=torch.float64), {}
    g = torch.full((1,), 2.0, dtype=torch.float64)
    impl.sgd_step(p, g, state, lr=1.0, momentum=0.9, dampening=0.5)
    assert abs(float(p) + 2.0) < 1e-12, (
        "torch's SGD initialises the momentum buffer to the first gradient itself (buf_1 = g, "
        f"no dampening on step 1), not to zeros: expected p = -2.0, got {float(p)}"
    )
    impl.sgd_step(p, g, state, lr=1.0, momentum=0.9, dampening=0.5)  # buf = 0.9 * 2 + 0.5 * 2
    assert abs(float(p) + 2.0 + 2.8) < 1e-12, (
        f"from step 2 on, buf = momentum * buf + (1 - dampening) * g = 2.8: got p = {float(p)}"
    )


def test_sgd_weight_decay_goes_into_the_momentum_buffer() -> None:
    """p = 10, g = 0, wd = 0.1, momentum 0.9: torch adds wd * p = 1 to the gradient BEFORE the
    momentum, so buf_1 = 1 and p = 10 - lr * 1."""
    p, state = torch.full((1,), 10.0, dtype=torch.float64), {}
    impl.sgd_step(
        p, torch.zeros(1, dtype=torch.float64), state, lr=0.1, momentum=0.9, weight_decay=0.1
    )
    assert abs(float(state["momentum_buffer"]) - 1.0) < 1e-12 and abs(float(p) - 9.9) < 1e-12, (
        "SGD's weight_decay is L2: add weight_decay * param to the gradient FIRST, then update "
        f"the momentum buffer with it. Expected buf 1.0 and p 9.9, got buf "
        f"{float(state.get('momentum_buffer', torch.nan))} and p {float(p)}"
    )


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.fundamentals.optimizers import (
        draw_bias_correction,
        draw_schedule,
        draw_trajectories,
    )

    for fn in (draw_trajectories, draw_bias_correction, draw_schedule):
        assert isinstance(fn(lang), matplotlib.figure.Figure)
