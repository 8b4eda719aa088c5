"""Tests of advreg.attacks.whitebox: norm bounds, FGSM/PGD/FGM identities, torchattacks cross-check,
DeepFool on an affine classifier (analytic answer), WRM ascent, the set-level runner."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from advreg.attacks import kinds as attack_kinds
from advreg.attacks import whitebox as A
from advreg.nn.models import build_model
from advreg.nn.predict import accuracy, predicted_labels
from advreg.nn.sn_modes import apply_spectral_norm

WIDTHS = [8, 8, 16, 16, 32, 32]


def _linf(a, b):
    return (a - b).flatten(1).abs().amax(1)


def _l2(a, b):
    return (a - b).flatten(1).norm(dim=1)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread for this module (restored after): on a shared 2-core machine, two
    spinning threads contending with other jobs make these tests several times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def trained(synthetic_digits):
    """Small CW CNN trained 2 epochs on 2,000 synthetic digits (conftest); eval on 500 others."""
    x, y = synthetic_digits
    torch.manual_seed(0)
    model = build_model("cw", 1, 28, WIDTHS)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xt, yt = x[:2000], y[:2000]
    g = torch.Generator().manual_seed(0)
    for _ in range(2):
        perm = torch.randperm(2000, generator=g)
        for i in range(0, 2000, 50):
            idx = perm[i:i + 50]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()
    model.zero_grad(set_to_none=True)
    for p in model.parameters():
        p.grad = None
    return model, x[5000:5500], y[5000:5500]


def test_trained_model_is_reasonable(trained):
    model, x, y = trained
    assert accuracy(model, x, y, batch_size=250) > 0.8


@pytest.mark.parametrize("name,params,norm", [
    ("rand", {}, "linf"),
    ("fgsm", {}, "linf"),
    ("pgd", dict(steps=5, step_size=0.03, norm="linf", random_start=True), "linf"),
    ("fgm", {}, "l2"),
    ("pgd", dict(steps=5, step_size=0.5, norm="l2", random_start=True), "l2"),
])
def test_norm_bound_and_range(trained, name, params, norm):
    model, x, _ = trained
    x = x[:64]
    eps = 0.1 if norm == "linf" else 1.5
    xa = A.run_attack(name, model, x, eps, params, batch_size=32, generator=torch.Generator().manual_seed(1))
    d = _linf(xa, x) if norm == "linf" else _l2(xa, x)
    assert (d <= eps + 1e-5).all()
    assert d.max() > 0.5 * eps  # it did move
    assert xa.min() >= 0 and xa.max() <= 1


def test_pgd_one_step_equals_fgsm_and_fgm(trained):
    model, x, _ = trained
    x = x[:64]
    eps = 0.1
    a = A.pgd(model, x, eps, steps=1, step_size=eps, norm="linf")
    b = A.fgsm(model, x, eps)
    assert torch.equal(a, b)
    a2 = A.pgd(model, x, 1.0, steps=1, step_size=1.0, norm="l2")
    b2 = A.fgm(model, x, 1.0)
    torch.testing.assert_close(a2, b2, atol=1e-6, rtol=0)


def test_fgm_norm_is_eps_when_unclipped(trained):
    model, x, _ = trained
    g = torch.Generator().manual_seed(2)
    xi = 0.3 + 0.4 * torch.rand(32, 1, 28, 28, generator=g)
    for eps in (0.05, 0.2):  # max |step| ≤ eps < 0.3: never clipped
        n = _l2(A.fgm(model, xi, eps), xi)
        torch.testing.assert_close(n, torch.full_like(n, eps), atol=1e-5, rtol=0)
    n = _l2(A.fgm(model, x[:32], 2.0, clip=None), x[:32])
    torch.testing.assert_close(n, torch.full_like(n, 2.0), atol=1e-5, rtol=0)


def test_matches_torchattacks(trained):
    """The deterministic attacks give torchattacks' adversarial examples themselves (not only the
    same accuracy): per pixel up to float rounding, and the same outcome on every image."""
    import torchattacks
    model, x, y = trained
    yp = predicted_labels(model, x)
    eps, steps, alpha = 0.1, 5, 0.03

    adv, ref = A.fgsm(model, x, eps, y=yp), torchattacks.FGSM(model, eps=eps)(x, yp)
    torch.testing.assert_close(adv, ref, rtol=0, atol=1e-6)
    ours = accuracy(model, adv, y)
    assert torch.equal(predicted_labels(model, adv), predicted_labels(model, ref))

    adv_p = A.pgd(model, x, eps, steps, alpha, y=yp)
    ref_p = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=False)(x, yp)
    # a pixel whose gradient is ≈0 may take the other sign in one of the two: allow a few pixels
    differ = ((adv_p - ref_p).abs() > 1e-5).float().mean().item()
    assert differ < 1e-3, differ
    same_outcome = (predicted_labels(model, adv_p) == predicted_labels(model, ref_p)).float().mean()
    assert same_outcome >= 0.99
    ours_p = accuracy(model, adv_p, y)
    # with random start on both sides (different random draws, both seeded)
    ours_r = accuracy(model, A.pgd(model, x, eps, steps, alpha, y=yp, random_start=True,
                                      generator=torch.Generator().manual_seed(0)), y)
    torch.manual_seed(0)  # torchattacks draws from the global RNG
    atk = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=True)
    theirs_r = accuracy(model, atk(x, yp), y)
    assert abs(ours_r - theirs_r) <= 0.01, (ours_r, theirs_r)
    # sanity: PGD is stronger than FGSM and both hurt
    clean = accuracy(model, x, y)
    assert ours_p <= ours < clean
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


def _affine(seed=0, d=(1, 4, 5), classes=10):
    torch.manual_seed(seed)
    lin = nn.Linear(int(torch.tensor(d).prod()), classes).double()
    return nn.Sequential(nn.Flatten(), lin), lin


def test_deepfool_affine_exact():
    model, lin = _affine()
    g = torch.Generator().manual_seed(3)
    x = torch.rand(16, 1, 4, 5, generator=g, dtype=torch.float64)
    with torch.no_grad():
        f = model(x)
    yh = f.argmax(1)
    W = lin.weight.detach()
    # analytic: min_k |f_k − f_ŷ| / ‖w_k − w_ŷ‖
    dw = (W[None, :, :] - W[yh][:, None, :]).norm(dim=2)  # (B, C)
    df = (f - f.gather(1, yh[:, None])).abs()
    dist = df / dw
    dist[torch.arange(16), yh] = float("inf")
    dmin, kmin = dist.min(1)

    xa = A.deepfool(model, x, overshoot=0.0, clip=None)
    r = _l2(xa, x)
    torch.testing.assert_close(r, dmin, rtol=0, atol=1e-4)
    with torch.no_grad():
        fa = model(xa)
    gap = (fa.gather(1, kmin[:, None]) - fa.gather(1, yh[:, None])).squeeze(1)
    assert gap.abs().max() < 1e-4  # on the boundary between ŷ and the closest class
    # the perturbation is along w_k − w_ŷ (minimal L2 step)
    dirn = (W[kmin] - W[yh])
    cos = ((xa - x).flatten(1) * dirn).sum(1) / (r * dirn.norm(dim=1))
    torch.testing.assert_close(cos, torch.ones_like(cos), rtol=0, atol=1e-9)

    xo = A.deepfool(model, x, overshoot=0.02, clip=None)
    with torch.no_grad():
        assert (model(xo).argmax(1) != yh).all()
    torch.testing.assert_close(_l2(xo, x), 1.02 * r, rtol=1e-9, atol=0)
    # ρ (DeepFool paper Eq. 2) from the analytic minimal perturbations: mean of ‖r‖/‖x‖
    rho_exact = (dmin / x.flatten(1).norm(dim=1)).mean().item()
    assert A.deepfool_rho(x, xa) == pytest.approx(rho_exact, rel=1e-3)  # r matches dmin to 1e-4
    assert A.deepfool_rho(x, xo) == pytest.approx(1.02 * A.deepfool_rho(x, xa), rel=1e-9)


def test_deepfool_cnn_and_rho(trained):
    model, x, _ = trained
    x = x[:32]
    xa = A.deepfool(model, x)
    assert xa.min() >= 0 and xa.max() <= 1
    fooled = (predicted_labels(model, xa) != predicted_labels(model, x)).float().mean()
    assert fooled > 0.9
    rho = A.deepfool_rho(x, xa)
    assert 0 < rho < 1
    assert A.deepfool_rho(x, x) == 0
    # same result with candidates fixed from the clean logits on this model? not required; just runs
    xb = A.run_attack("deepfool", model, x, None, {"max_iter": 5, "nb_candidate": 3}, batch_size=16)
    assert xb.shape == x.shape


def _wrm_objective(model, x, xa, gamma, y):
    with torch.no_grad():
        ce = nn.functional.cross_entropy(model(xa), y, reduction="none")
    return ce - gamma * (xa - x).flatten(1).pow(2).sum(1)


def test_wrm_increases_objective():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ELU(), nn.Linear(32, 10)).double()
    g = torch.Generator().manual_seed(4)
    x = torch.rand(32, 1, 8, 8, generator=g, dtype=torch.float64)
    y = predicted_labels(model, x)
    gamma = 1.0
    objs = [_wrm_objective(model, x, x, gamma, y)]
    for s in range(6):
        objs.append(_wrm_objective(model, x, A.wrm(model, x, gamma, steps=s), gamma, y))
    objs = torch.stack(objs)  # (7, B)
    assert (objs[1:] - objs[:-1] >= -1e-12).all()  # non-decreasing per sample
    assert (objs[-1] > objs[0]).all()
    # 15 steps: still better than the start, and labels default to predictions
    full = _wrm_objective(model, x, A.wrm(model, x, gamma), gamma, y)
    assert (full > objs[0]).all()
    torch.testing.assert_close(A.wrm(model, x, gamma, steps=3, y=y), A.wrm(model, x, gamma, steps=3))


def test_wrm_trained_cnn_unclipped(trained):
    model, x, _ = trained
    x = x[:16]
    xa = A.wrm(model, x, gamma=0.5, steps=3)
    assert torch.isfinite(xa).all() and not torch.equal(xa, x)
    xc = A.wrm(model, x, gamma=0.5, steps=3, clip=(0.0, 1.0))
    assert xc.min() >= 0 and xc.max() <= 1


def test_pgd_l2_stays_in_ball_without_clip(trained):
    model, x, _ = trained
    x = x[:32]
    xa = A.pgd(model, x, 1.0, steps=8, step_size=0.4, norm="l2", clip=None)
    n = _l2(xa, x)
    assert (n <= 1.0 + 1e-5).all() and n.max() > 0.99


def test_run_attack_batching_and_determinism(trained):
    model, x, y = trained
    x = x[:48]
    full = A.fgsm(model, x, 0.1)
    torch.testing.assert_close(A.run_attack("fgsm", model, x, 0.1, {}, batch_size=20), full, atol=1e-6, rtol=0)
    p = dict(steps=3, step_size=0.04, random_start=True)
    a = A.run_attack("pgd", model, x, 0.1, p, batch_size=20, generator=torch.Generator().manual_seed(7))
    b = A.run_attack("pgd", model, x, 0.1, p, batch_size=20, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    r1 = A.rand(x, 0.1, generator=torch.Generator().manual_seed(0))
    assert (_linf(r1, x) <= 0.1 + 1e-6).all()
    assert set(attack_kinds.KINDS) >= {"rand", "fgsm", "fgm", "pgd", "deepfool"}
    with pytest.raises(ValueError):
        A.run_attack("nope", model, x, 0.1, {})
    acc = accuracy(model, x, y[:48], batch_size=7)
    assert acc == accuracy(model, x, y[:48])
    assert all(p_.grad is None for p_ in model.parameters())


def test_attacks_leave_model_mode_and_grads():
    torch.manual_seed(5)
    model = build_model("cw", 1, 28, WIDTHS).train()
    x = torch.rand(4, 1, 28, 28)
    for name, params in [("fgsm", {}), ("fgm", {}), ("pgd", {"steps": 2, "step_size": 0.01}),
                         ("deepfool", {"max_iter": 2}), ("wrm", {"gamma": 1.0, "steps": 1})]:
        A.run_attack(name, model, x, 0.05, params)
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    with torch.no_grad():  # attacks still work inside a no_grad caller
        xa = A.fgsm(model, x, 0.05)
    assert not torch.equal(xa, x)


def test_config_units_become_pixels():
    """Every ε and step given in 1/255 in the config reaches the attack in [0, 1] pixel units."""
    from advreg.jobs.attack import attack_kwargs, eps_pixels
    cfg = {"kind": "pgd", "eps_255": {"mnist": [32]}, "steps": 40, "transfer_steps": 20,
           "step_size_255": 2.55, "random_start": True}
    assert attack_kwargs(cfg) == {"steps": 40, "step_size": pytest.approx(0.01), "random_start": True}
    assert attack_kwargs(cfg, transfer=True)["steps"] == 20
    assert eps_pixels("32") == pytest.approx(32 / 255) and eps_pixels(76.5) == pytest.approx(0.3)
    assert eps_pixels("none") is None and eps_pixels(None) is None


def test_adversarial_set_takes_eps_in_1_over_255(tmp_path, trained):
    """The job's ε wildcard is in 1/255: FGSM examples sit exactly ε/255 away wherever the clip
    to [0, 1] does not bind."""
    from advreg.jobs.attack import make_adversarial_set
    from advreg.nn.models import save_model
    model, x, y = trained
    x8 = (x[:64] * 255).round().to(torch.uint8)
    torch.save({"x_test": x8, "y_test": y[:64], "meta": {}}, tmp_path / "d.pt")
    save_model(tmp_path / "m.pt", model, {"arch": "cw", "in_channels": 1, "image_size": 28,
                                          "widths": WIDTHS, "num_classes": 10}, {})
    make_adversarial_set(tmp_path / "m.pt", tmp_path / "d.pt", "fgsm", {}, "8", tmp_path / "a.pt",
                         tmp_path / "a.json", batch_size=32, device="cpu")
    adv = torch.load(tmp_path / "a.pt", weights_only=True)["whitebox"].float()
    xf = x8.float() / 255
    eps = 8 / 255
    free = (xf + eps <= 1) & (xf - eps >= 0)
    delta = (adv - xf).abs()[free]
    assert delta.max() <= eps + 1e-3 and delta.min() >= eps - 1e-3  # float16 storage


@pytest.mark.parametrize("spectral", [False, True])
def test_predicted_labels_from_the_attack_forward_equal_a_separate_prediction(trained, spectral):
    """Attacks on predicted labels read the labels from their first gradient forward instead of
    a separate no-grad forward (one forward fewer an FGSM/FGM training step). The result must be
    bitwise what the explicit labels of a separate prediction give, on a plain CNN and on a
    spectrally normalized copy of it in eval mode (as every attack runs it)."""
    model, x, _ = trained
    if spectral:
        model = apply_spectral_norm(copy.deepcopy(model), (1, 28, 28), beta=2.0, warmup_iterations=20).eval()
    x = x[:64]
    y = predicted_labels(model, x)
    assert y.unique().numel() > 3  # a model that predicts a few classes would not test the labels
    g = torch.Generator()
    cases = [("fgsm", {}), ("fgm", {}), ("pgd", {"steps": 3, "step_size": 0.02}),
             ("pgd", {"steps": 3, "step_size": 0.5, "norm": "l2"}),
             ("wrm", {"gamma": 1.0, "steps": 2, "clip": None})]
    for name, params in cases:
        eps = {"fgm": 1.0, "wrm": None}.get(name, 0.1)
        args = (model, x) if eps is None else (model, x, eps)
        own, given = getattr(A, name)(*args, **params), getattr(A, name)(*args, y=y, **params)
        assert torch.equal(own, given), name
    # with a random start the labels are the prediction at x, not at the start: at this ε the
    # start changes the prediction of some digits, so labels taken there would give another result
    eps = 1.0
    start = (x + A._uniform(x.shape, x, -eps, eps, g.manual_seed(3))).clamp(0, 1)
    assert (predicted_labels(model, start) != y).any()
    own = A.pgd(model, x, eps, 2, 0.05, random_start=True, generator=g.manual_seed(3))
    given = A.pgd(model, x, eps, 2, 0.05, random_start=True, y=y, generator=g.manual_seed(3))
    at_start = A.pgd(model, x, eps, 2, 0.05, random_start=True, y=predicted_labels(model, start),
                     generator=g.manual_seed(3))
    assert torch.equal(own, given)
    assert not torch.equal(own, at_start)
