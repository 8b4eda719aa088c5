"""Operator-norm spectral normalization (advreg.nn.spectral) and the SN paper's architectures."""
from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from advreg.nn import architectures as _arch
from advreg.nn.models import build_model

SN_ARCHITECTURES = {a: _arch.builder(a) for a, where in _arch.ARCHITECTURES.items()
                    if where.startswith("advreg.nn.sn_architectures:")}  # the SN paper's networks
from advreg.nn.layers import TFSameConv2d
from advreg.nn.sn_modes import apply_spectral_norm
from advreg.nn.spectral import (ConvGeometry, OperatorSpectralNorm, bound_quantities, conv_geometry,
                                conv_operator_frobenius_sq, conv_operator_norm, exact_operator_norm,
                                layer_spectral_norms, margin_normalizer, margins, miyato_kernel_norm, operator_matrix,
                                spectral_parametrizations, sum_prefix_products, trace_layers)

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """Tiny batch-1 ops: one intra-op thread avoids oversubscribing the shared 2-core machine
    (about 10× faster here); restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# (name, conv factory, input shape (C, H, W))
CONV_CASES = [
    ("stride2_pad1", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 7, 7)),
    ("dilated2_pad2", lambda: nn.Conv2d(2, 3, 3, padding=2, dilation=2), (2, 7, 7)),
    ("1x1", lambda: nn.Conv2d(3, 4, 1), (3, 8, 8)),
    ("tf_same_stride2_asym", lambda: TFSameConv2d(3, 4, 3, stride=2), (3, 8, 8)),
    ("same_even_kernel", lambda: nn.Conv2d(2, 3, 4, padding="same"), (2, 7, 7)),
]


def _double_conv(factory, seed=0):
    torch.manual_seed(seed)
    return factory().double()


@pytest.mark.parametrize("name,factory,shape", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_power_iteration_matches_exact_norm_and_normalization(name, factory, shape):
    conv = _double_conv(factory)
    exact = exact_operator_norm(conv, shape)
    est = conv_operator_norm(conv, shape, iters=200)
    rel = abs(est - exact) / exact
    print(f"\n[{name}] exact σ={exact:.6f} power-iteration σ̂={est:.6f} rel.err={rel:.2e} "
          f"(Miyato reshaped-kernel σ={miyato_kernel_norm(conv.weight):.4f})")
    assert rel < 1e-3
    assert est <= exact * (1 + 1e-9)  # ⟨Aû, v̂⟩ is a lower bound

    # σ > β: the effective map has norm β; σ < β: the weight is untouched.
    for beta, shrinks in ((0.5 * exact, True), (2.0 * exact, False)):
        c = _double_conv(factory)
        w0 = c.weight.detach().clone()
        p = OperatorSpectralNorm(c.weight, conv_geometry(c, shape), beta=beta, warmup_iterations=200)
        torch.nn.utils.parametrize.register_parametrization(c, "weight", p)
        c.eval()
        eff = exact_operator_norm(c, shape)
        assert eff <= beta * (1 + 1e-3)
        if shrinks:
            assert abs(eff - beta) / beta < 1e-3, (eff, beta)
            print(f"[{name}] β={beta:.4f}: exact norm of effective map {eff:.6f} "
                  f"(rel.err {abs(eff - beta) / beta:.2e})")
        else:
            torch.testing.assert_close(c.weight, w0)


def _adjoint_cases():
    """Geometries of every conv in the SN architectures and the CW CNN, plus stride-2 odd/even."""
    cases = {}
    for arch, builder in SN_ARCHITECTURES.items():
        for C, S in ((1, 28), (3, 32)):
            model = builder(C, S, None, 10)
            for name, m, shape in trace_layers(model, (C, S, S)):
                if isinstance(m, nn.Conv2d):
                    g = conv_geometry(m, shape)
                    cases[(g, tuple(m.kernel_size))] = f"{arch}{S}.{name}"
    for C, S, widths in ((1, 28, [32, 32, 64, 64, 200, 200]), (3, 32, [64, 64, 128, 128, 256, 256])):
        for name, m, shape in trace_layers(build_model("cw", C, S, widths), (C, S, S)):
            if isinstance(m, nn.Conv2d):
                cases[(conv_geometry(m, shape), tuple(m.kernel_size))] = f"cw{S}.{name}"
    for H in (7, 8, 9, 10):
        for k, p in ((3, 0), (3, 1), (4, 1), (5, 2), (2, 0)):
            g = ConvGeometry((2, H, H), (2, 2), (1, 1), (p, p, p, p))
            cases[(g, (k, k))] = f"s2_k{k}_p{p}_H{H}"
    cases[(ConvGeometry((2, 9, 8), (2, 3), (2, 1), (0, 1, 1, 2)), (3, 2))] = "asym_rect_dil"
    cases[(ConvGeometry((4, 8, 8), (1, 1), (1, 1), (1, 1, 1, 1), groups=2), (3, 3))] = "groups2"
    return [(label, g, k) for (g, k), label in cases.items()]


ADJOINT_CASES = _adjoint_cases()


def test_adjoint_is_exact():
    gen = torch.Generator().manual_seed(0)
    for label, g, (kh, kw) in ADJOINT_CASES:
        C = g.input_shape[0]
        w = torch.randn(3 * g.groups, C // g.groups, kh, kw, generator=gen, dtype=torch.float64)
        x = torch.randn(1, *g.input_shape, generator=gen, dtype=torch.float64)
        Ax = g.forward(x, w)
        assert Ax.shape[-2:] == g.output_hw((kh, kw)), label
        y = torch.randn(Ax.shape, generator=gen, dtype=torch.float64)
        Aty = g.adjoint(y, w)
        assert Aty.shape == x.shape, label
        lhs, rhs = float((Ax * y).sum()), float((x * Aty).sum())
        assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs)), (label, lhs, rhs)
    assert len(ADJOINT_CASES) > 30


@pytest.mark.parametrize("name,factory,shape", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_geometry_matches_module_and_frobenius(name, factory, shape):
    conv = _double_conv(factory)
    x = torch.randn(2, *shape, dtype=torch.float64)
    g = conv_geometry(conv, shape)
    torch.testing.assert_close(g.forward(x, conv.weight), conv(x) - conv.bias.view(1, -1, 1, 1))
    J = operator_matrix(conv, shape)
    fro = conv_operator_frobenius_sq(conv, shape)
    assert math.isclose(fro, float(J.pow(2).sum()), rel_tol=1e-10)


def test_miyato_reshaped_norm_underestimates_operator_norm():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    shape = (2, 8, 8)
    exact = exact_operator_norm(conv, shape)
    miyato = miyato_kernel_norm(conv.weight)
    assert exact > 1.2 * miyato, (
        f"expected the reshaped-kernel norm ({miyato:.4f}) to underestimate the conv operator norm "
        f"({exact:.4f}) on a 3×3 SAME conv over 2×8×8")

    # Consequence: Miyato SN at β leaves an operator norm > β; operator SN caps it at β.
    def net():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1)).double()

    beta = 0.5  # below both norms, so both modes rescale
    m_miy = apply_spectral_norm(net(), shape, beta=beta, mode="kernel", warmup_iterations=200).eval()
    m_op = apply_spectral_norm(net(), shape, beta=beta, mode="operator", warmup_iterations=200).eval()
    assert miyato_kernel_norm(m_miy[0].weight) == pytest.approx(beta, rel=1e-4)
    op_miy = exact_operator_norm(m_miy[0], shape)
    op_op = exact_operator_norm(m_op[0], shape)
    assert op_miy > 1.2 * beta, f"Miyato-normalized layer has operator norm {op_miy:.4f}, expected > β={beta}"
    assert op_op == pytest.approx(beta, rel=1e-3)


def _small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 10),
    )


def _u_buffers(model):
    return {k: v.clone() for k, v in model.state_dict().items() if k.endswith("._u") or k.endswith("._v")}


def test_u_updates_in_train_mode_and_is_frozen_in_eval():
    torch.manual_seed(0)
    model = apply_spectral_norm(_small_cnn(), (1, 8, 8), beta=0.5, warmup_iterations=0)
    x = torch.rand(3, 1, 8, 8)
    u0 = _u_buffers(model)
    assert len(u0) == 3
    model.train()
    model(x)
    u1 = _u_buffers(model)
    assert all(not torch.equal(u0[k], u1[k]) for k in u0)
    model.eval()
    y1 = model(x)
    y2 = model(x)
    u2 = _u_buffers(model)
    assert all(torch.equal(u1[k], u2[k]) for k in u1)
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)


def test_global_rng_untouched_and_beta_inf_is_identity():
    torch.manual_seed(0)
    model = _small_cnn()
    w = [m.weight.detach().clone() for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    state = torch.random.get_rng_state()
    apply_spectral_norm(model, (1, 8, 8), beta=math.inf)
    assert torch.equal(state, torch.random.get_rng_state())
    for m, w0 in zip([m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))], w):
        torch.testing.assert_close(m.weight, w0, rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["operator", "kernel"])
def test_state_dict_roundtrip(mode):
    def build(seed):
        torch.manual_seed(seed)
        return SN_ARCHITECTURES["elunet"](1, 28, None, 10)

    model = apply_spectral_norm(build(0), (1, 28, 28), beta=1.0, mode=mode, seed=0, warmup_iterations=5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(4, 1, 28, 28)
    y = torch.tensor([0, 1, 2, 3])
    model.train()
    for _ in range(2):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)

    fresh = apply_spectral_norm(build(123), (1, 28, 28), beta=1.0, mode=mode, seed=7, warmup_iterations=5)
    assert any(not torch.equal(fresh.state_dict()[k], v) for k, v in _u_buffers(model).items())
    fresh.load_state_dict(torch.load(buf))
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k
    model.eval(), fresh.eval()
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)
    model.train(), fresh.train()
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)
    for k, v in _u_buffers(model).items():
        assert torch.equal(fresh.state_dict()[k], v), k


@pytest.mark.parametrize("grad_through_power", [False, True])
def test_two_train_forwards_then_backward(grad_through_power):
    torch.manual_seed(0)
    model = apply_spectral_norm(_small_cnn(), (1, 8, 8), beta=0.5, warmup_iterations=50,
                                grad_through_power=grad_through_power)
    model.train()
    x = torch.rand(3, 1, 8, 8)
    loss = model(x).pow(2).sum() + model(x + 0.1).pow(2).sum()  # e.g. clean + adversarial
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name,factory,shape", CONV_CASES + [("dense", lambda: nn.Linear(5, 4), (5,))],
                         ids=[c[0] for c in CONV_CASES] + ["dense"])
def test_detached_sigma_gradient_is_exact(name, factory, shape):
    """The custom backward of σ̂(W) = ⟨A(W) û, v̂⟩ (û, v̂ fixed) equals plain autograd of it."""
    layer = _double_conv(factory)
    geom = conv_geometry(layer, shape) if isinstance(layer, nn.Conv2d) else None
    p = OperatorSpectralNorm(layer.weight, geom, beta=1.0, warmup_iterations=3).eval()
    w = layer.weight.detach().clone().requires_grad_(True)
    sigma = p.sigma(w)
    (g_custom,) = torch.autograd.grad(sigma, w)
    with torch.no_grad():
        u_hat, v_hat, _ = p._power(p._u, w, p.n_power_iterations)
    explicit = (p.op(u_hat, w) * v_hat).sum()
    (g_auto,) = torch.autograd.grad(explicit, w)
    torch.testing.assert_close(sigma, explicit.detach())
    torch.testing.assert_close(g_custom, g_auto)


def test_gradient_modes_agree_near_convergence():
    def grads(flag):
        torch.manual_seed(0)
        model = apply_spectral_norm(_small_cnn().double(), (1, 8, 8), beta=0.5, warmup_iterations=300,
                                    grad_through_power=flag).train()
        torch.manual_seed(1)
        model(torch.rand(3, 1, 8, 8, dtype=torch.float64)).pow(2).sum().backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    g0, g1 = grads(False), grads(True)
    assert (g0 - g1).norm() / g0.norm() < 1e-3


ARCH_INPUTS = [(a, C, S) for a in SN_ARCHITECTURES for (C, S) in ((1, 28), (3, 32))
               if not (a == "inception" and C == 1)]  # Inception is a CIFAR/SVHN model


@pytest.mark.parametrize("arch,C,S", ARCH_INPUTS, ids=[f"{a}-{C}x{S}" for a, C, S in ARCH_INPUTS])
def test_architectures_forward_with_sn(arch, C, S):
    torch.manual_seed(0)
    model = SN_ARCHITECTURES[arch](C, S, None, 10)
    n_layers = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    apply_spectral_norm(model, (C, S, S), beta=1.0, warmup_iterations=1)
    assert len(spectral_parametrizations(model)) == n_layers
    out = model(torch.rand(2, C, S, S))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_inception_28_shapes():
    model = SN_ARCHITECTURES["inception"](3, 28, None, 10)
    assert model[-1].in_features == 7 * 7 * 336
    assert model(torch.rand(1, 3, 28, 28)).shape == (1, 10)
    alex = SN_ARCHITECTURES["alexnet"](3, 28, None, 10)
    assert [m for m in alex if isinstance(m, nn.Linear)][0].in_features == 6 * 6 * 256


def test_layer_norms_and_bound_quantities():
    torch.manual_seed(0)
    model = apply_spectral_norm(_small_cnn(), (1, 8, 8), beta=0.7, warmup_iterations=100).eval()
    norms = layer_spectral_norms(model, (1, 8, 8), iters=50)
    assert len(norms) == 3
    assert all(0.69 < s <= 0.7 * (1 + 1e-3) for s in norms), norms
    q = bound_quantities(model, (1, 8, 8), iters=50)
    assert q["names"] == ["0", "2", "5"] and q["kinds"] == ["conv", "conv", "dense"]
    assert q["spectral_product"] == pytest.approx(math.prod(q["spectral_norms"]))
    s1, s2, s3 = q["spectral_norms"]
    assert q["sum_prefix_products"] == pytest.approx(s1 + s1 * s2 + s1 * s2 * s3)
    assert q["authors_prefix_factor"] == pytest.approx(2 + s1 + s1 * s2)
    assert sum_prefix_products([2.0, 3.0]) == 8.0
    c1 = model[0]
    assert q["frobenius_sq_authors"][0] == pytest.approx(1 * 8 * 8 / 4 * float(c1.weight.detach().pow(2).sum()))
    assert q["frobenius_sq"][0] == pytest.approx(conv_operator_frobenius_sq(c1, (1, 8, 8)))
    assert margin_normalizer(q, 0, extra_correction=False) == 1.0
    assert margin_normalizer(q, 2, extra_correction=True, frobenius="exact") == pytest.approx(
        q["spectral_product"] * q["authors_prefix_factor"] * math.sqrt(q["frob_ratio_sum"]))
    logits = torch.tensor([[1.0, 3.0, 2.0], [5.0, 0.0, -1.0]])
    torch.testing.assert_close(margins(logits, torch.tensor([1, 2])), torch.tensor([1.0, -6.0]))


def test_every_sn_mode_the_config_accepts_builds_a_model():
    """One declaration of the SN modes (advreg.nn.sn_modes.MODES) behind the method parameter, the
    schema's enum and apply_spectral_norm: `kernel` once passed the config check but crashed in the
    job. The schema file lists no mode itself (issue 28: declared once)."""
    import yaml

    from advreg.nn.models import build_from_spec
    from advreg.nn.sn_modes import MODES
    from advreg.training.method_kinds import SPECTRAL_NORM
    from advreg.workflow import config_check, config_views

    SN_MODES = tuple(MODES)
    schema = config_check.load_schema()
    raw = yaml.safe_load(config_check.SCHEMA_FILE.read_text())
    assert "enum" not in raw["properties"]["sn_experiments"]["properties"]["mode"]
    assert tuple(SPECTRAL_NORM["mode"].choices) == SN_MODES
    assert tuple(schema["properties"]["sn_experiments"]["properties"]["mode"]["enum"]) == SN_MODES
    repo = Path(__file__).resolve().parents[2]
    for mode in SN_MODES:
        over = {"sn_experiments": {"mode": mode}, "method_settings": {"gn_sn": {"spectral_norm": {"beta": 1.6, "mode": mode}}}}
        cfg = config_check.merge([yaml.safe_load((repo / "config.yaml").read_text()), over])
        config_check.validate(cfg, schema)
        for spec in (config_views.sn_model_spec(cfg, "mnist", "fgm_l2", "2"), config_views.model_spec(cfg, "mnist", "gn_sn")):
            model = build_from_spec(spec)
            assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10), (mode, spec["arch"])


@pytest.mark.parametrize("mode", ["operator", "kernel"])
def test_frozen_sn_model_gives_the_same_outputs_and_input_gradients(mode):
    """Evaluation and attacks read each effective weight once (issue 30): freezing an SN model, or
    attacking it inside frozen_for_attacks, changes no output and no input gradient, bit for bit,
    and leaves the stored u as it was."""
    from advreg.nn.spectral import freeze_spectral_norm, frozen_for_attacks
    torch.manual_seed(0)
    model = apply_spectral_norm(_small_cnn(), (1, 8, 8), beta=0.5, mode=mode, warmup_iterations=0)
    model.train()
    model(torch.rand(4, 1, 8, 8))   # move u away from its start
    model.eval()
    x = torch.rand(3, 1, 8, 8, requires_grad=True)

    def out_and_grad(m):
        y = m(x)
        (g,) = torch.autograd.grad(y.logsumexp(1).sum(), x)
        return y.detach(), g

    ref = out_and_grad(model)
    u = {k: v.clone() for k, v in _u_buffers(model).items()}
    with frozen_for_attacks(model):
        for _ in range(2):   # repeated forwards and backwards through the cached weights
            got = out_and_grad(model)
            assert torch.equal(got[0], ref[0]) and torch.equal(got[1], ref[1])
    assert all(torch.equal(u[k], v) for k, v in _u_buffers(model).items())
    # a separately built twin with the same state (a deepcopy shares torch's parametrized classes,
    # whose removal would reach the original)
    torch.manual_seed(0)
    twin = apply_spectral_norm(_small_cnn(), (1, 8, 8), beta=0.5, mode=mode, warmup_iterations=0)
    twin.load_state_dict(model.state_dict())
    frozen = freeze_spectral_norm(twin.eval())
    assert not spectral_parametrizations(frozen)
    got = out_and_grad(frozen)
    assert torch.equal(got[0], ref[0]) and torch.equal(got[1], ref[1])
