"""Operator-norm spectral normalization (Farnia, Zhang & Tse, ICLR 2019, arXiv 1811.07457).

What is normalized
------------------
For a ``Conv2d`` the norm is that of the *convolution operator* ``A: R^{C×H×W} -> R^{C'×H'×W'}``
on the layer's real input shape, with its stride, zero padding (symmetric, PyTorch ``'same'``, or
TensorFlow-style asymmetric ``'SAME'`` via :class:`TFSameConv2d`), dilation and groups, not the
norm of the reshaped kernel matrix (Miyato et al. / ``torch.nn.utils.spectral_norm``). ``σ(A)`` is
estimated by power iteration with ``F.conv2d`` and its exact adjoint ``F.conv_transpose2d`` (same
stride/padding/dilation/groups, plus the ``output_padding`` that recovers the input size; for
asymmetric padding the adjoint is the transposed conv on the padded size followed by a crop). For a
``Linear`` layer the operator is the weight matrix and the same iteration is the usual matrix one.

Power iteration (authors' ``sn.py``, one step per training forward by default)::

    v̂ = N(A u),  û = N(Aᵀ v̂),  σ̂ = ⟨A û, v̂⟩,  u <- û        (N(z) = z / (‖z‖₂ + eps))

``u`` is a persistent buffer of the input shape ``(1, C, H, W)`` (``(1, in_features)`` for dense
layers) stored in the state_dict as ``<layer>.parametrizations.weight.0._u``.

Rescale rule (the SN authors' rule, sn.py:128, paper eq. (9))
-----------------------------------------------------------
    **W_eff = W / max(1, σ̂/β)**

Weights are only shrunk, never scaled up; one β is shared by all layers; ``β = inf`` gives
``W_eff = W`` (the paper's "no SN" baseline is the same network with β = ∞; the power step still
runs, as in the authors' code).

Train / eval
------------
``u`` is updated only when the parametrization is in training mode (it follows ``model.train()`` /
``model.eval()``). In eval mode (evaluation and attack inner loops, as the authors'
``update_collection='_'`` graphs) σ̂ is recomputed from the stored u with the same number of power
steps, without writing u back, so repeated eval forwards are deterministic. Every access of
``layer.weight`` recomputes σ̂; every evaluation and attack job therefore runs inside
:func:`frozen_for_attacks`, which computes each effective weight once.

Gradients through the power step
--------------------------------
Default ``grad_through_power=False``: the power step runs under ``no_grad`` (as PyTorch's built-in
SN), and the gradient flows through ``σ̂ = ⟨A(W) û, v̂⟩`` as a function of W (û, v̂ fixed; its value
is reused from the last adjoint, its W-gradient is one batch-1 conv weight-gradient) and through
``W/σ̂`` (implemented as a multiply by the scalar ``1/max(1, σ̂/β)``, cheaper to differentiate).
At a singular pair ∂σ/∂u = ∂σ/∂v = 0, so with the persistent, warmed-up iterate the extra terms
the authors' TF graph differentiates (it has no ``stop_gradient``) are second order (the test
suite checks the two gradients agree to < 1e-3 near convergence), and skipping them saves the
forward-with-graph and backward of three batch-1 convolutions per layer (CW CNN, CPU batch 32:
SN cost 6.5 % vs 11.5 % of a step). ``grad_through_power=True`` reproduces the authors' full
autodiff through v̂, û and σ̂.

Miyato baseline (``mode='kernel'``)
-----------------------------------
Uses the implementation behind ``torch.nn.utils.parametrizations.spectral_norm`` (its
``_SpectralNorm`` class: reshaped kernel ``C_out × (C_in·kh·kw)``, u/v buffers, power method under
``no_grad``), subclassed only to replace the final ``W / σ`` by the same β rule
``W / max(1, σ̂/β)`` and to seed u/v from ``seed`` (then ``warmup_iterations`` power iterations). With ``beta=None`` the unmodified
``torch.nn.utils.parametrizations.spectral_norm`` is registered (always ``W / σ``). Dense layers
get the same class (which is exact for them).

Margin-bound quantities (sn-details §5.3)
-----------------------------------------
:func:`layer_spectral_norms`, :func:`bound_quantities`, :func:`margins`, :func:`margin_normalizer`.
Frobenius norms are given both ways: the exact Frobenius norm of the conv operator
(``‖A‖_F² = Σ_taps n_h(i)·n_w(j)·‖W[:, :, i, j]‖²``, the number of output positions whose tap (i, j)
hits the unpadded input) and the authors' proxy ``c_k·‖kernel‖_F²`` with
``c_k = C_in·H_in·W_in/4`` (analysis.py ``compute_margins``). :func:`margin_normalizer` defaults to
the authors' proxy to replicate their plots.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from advreg.nn.layers import Pads
from advreg.nn.layers import pair as _pair
from advreg.nn.layers import tf_same_pads
from advreg.nn.modes import eval_mode

try:  # the class behind torch.nn.utils.parametrizations.spectral_norm
    from torch.nn.utils.parametrizations import _SpectralNorm as _TorchSpectralNorm
except ImportError:  # pragma: no cover - very old / future torch
    _TorchSpectralNorm = None

__all__ = [
    "ConvGeometry", "conv_geometry",
    "OperatorSpectralNorm", "MiyatoSpectralNorm", "spectral_parametrizations",
    "frozen_for_attacks", "freeze_spectral_norm",
    "trace_layers", "conv_operator_norm", "exact_operator_norm", "operator_matrix",
    "conv_operator_frobenius_sq", "miyato_kernel_norm", "layer_spectral_norms", "margins",
    "spectral_product", "frobenius_ratio_sum", "sum_prefix_products", "bound_quantities",
    "margin_normalizer",
]
# apply_spectral_norm and the β helpers: advreg.nn.sn_modes (the modes are declared there)

@dataclass(frozen=True)
class ConvGeometry:
    """A linear conv operator on inputs of shape ``input_shape = (C, H, W)`` (batch dim 1 added)."""

    input_shape: tuple[int, int, int]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pads: Pads = (0, 0, 0, 0)  # (left, right, top, bottom) zero padding
    groups: int = 1

    @property
    def symmetric(self) -> bool:
        l, r, t, b = self.pads
        return l == r and t == b

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        l, r, t, b = self.pads
        if self.symmetric:
            return F.conv2d(x, w, None, self.stride, (t, l), self.dilation, self.groups)
        return F.conv2d(F.pad(x, self.pads), w, None, self.stride, 0, self.dilation, self.groups)

    def adjoint(self, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Exact adjoint of :meth:`forward` (output has the input shape)."""
        _, H, W = self.input_shape
        l, r, t, b = self.pads
        (sh, sw), (dh, dw) = self.stride, self.dilation
        kh, kw = w.shape[-2:]
        ho, wo = y.shape[-2:]
        if self.symmetric:
            oph = H - ((ho - 1) * sh - 2 * t + dh * (kh - 1) + 1)
            opw = W - ((wo - 1) * sw - 2 * l + dw * (kw - 1) + 1)
            return F.conv_transpose2d(y, w, None, self.stride, (t, l), (oph, opw), self.groups,
                                      self.dilation)
        hp, wp = H + t + b, W + l + r
        oph = hp - ((ho - 1) * sh + dh * (kh - 1) + 1)
        opw = wp - ((wo - 1) * sw + dw * (kw - 1) + 1)
        z = F.conv_transpose2d(y, w, None, self.stride, 0, (oph, opw), self.groups, self.dilation)
        return z[..., t:t + H, l:l + W]

    def weight_grad(self, u: torch.Tensor, v: torch.Tensor, weight_shape) -> torch.Tensor:
        """∂⟨forward(u, W), v⟩/∂W (independent of W): the conv weight gradient at (u, v)."""
        l, r, t, b = self.pads
        if self.symmetric:
            return torch.nn.grad.conv2d_weight(u, weight_shape, v, self.stride, (t, l), self.dilation,
                                               self.groups)
        return torch.nn.grad.conv2d_weight(F.pad(u, self.pads), weight_shape, v, self.stride, 0,
                                           self.dilation, self.groups)

    def output_hw(self, kernel_hw) -> tuple[int, int]:
        _, H, W = self.input_shape
        l, r, t, b = self.pads
        (kh, kw), (sh, sw), (dh, dw) = _pair(kernel_hw), self.stride, self.dilation
        return ((H + t + b - dh * (kh - 1) - 1) // sh + 1, (W + l + r - dw * (kw - 1) - 1) // sw + 1)


def _pads_from_spec(padding, input_hw, kernel_hw, stride, dilation) -> Pads:
    (kh, kw), (dh, dw) = _pair(kernel_hw), _pair(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":  # PyTorch convention (stride 1): left = total // 2
            th, tw = dh * (kh - 1), dw * (kw - 1)
            return (tw // 2, tw - tw // 2, th // 2, th - th // 2)
        if padding in ("tf_same", "SAME"):
            return tf_same_pads(input_hw[0], input_hw[1], kernel_hw, stride, dilation)
        raise ValueError(f"unknown padding {padding!r}")
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        ph, pw = padding
        return (pw, pw, ph, ph)
    if len(padding) == 4:
        return padding  # type: ignore[return-value]
    raise ValueError(f"padding must be int, (ph, pw), (left, right, top, bottom) or a string, got {padding!r}")


def conv_geometry(conv: nn.Conv2d, input_shape: Sequence[int]) -> ConvGeometry:
    """The operator of ``conv`` (bias excluded) on inputs of shape (C, H, W)."""
    if conv.padding_mode != "zeros":
        raise NotImplementedError(f"padding_mode={conv.padding_mode!r}: only zero padding is supported")
    C, H, W = (int(s) for s in input_shape[-3:])
    pads = _pads_from_spec(conv.padding, (H, W), conv.kernel_size, conv.stride, conv.dilation)
    if hasattr(conv, "explicit_padding"):
        extra = conv.explicit_padding(H, W)
        pads = tuple(a + b for a, b in zip(pads, extra))  # type: ignore[assignment]
    return ConvGeometry((C, H, W), _pair(conv.stride), _pair(conv.dilation), pads, conv.groups)


def _geometry_from_args(conv_or_weight, input_shape, stride, padding, dilation, groups):
    if isinstance(conv_or_weight, nn.Conv2d):
        return conv_or_weight.weight, conv_geometry(conv_or_weight, input_shape)
    w = conv_or_weight
    C, H, W = (int(s) for s in input_shape[-3:])
    pads = _pads_from_spec(padding, (H, W), w.shape[-2:], stride, dilation)
    return w, ConvGeometry((C, H, W), _pair(stride), _pair(dilation), pads, groups)


def _normalize(x: torch.Tensor, eps: float) -> torch.Tensor:
    return x / (x.norm() + eps)


# ----------------------------------------------------------------------------------------------
# Parametrizations
# ----------------------------------------------------------------------------------------------

class _FixedVectorsBilinear(torch.autograd.Function):
    """σ(W) = ⟨A(W) u, v⟩ for fixed u, v, whose value is already known from the power step (so no
    extra forward conv); backward is the weight gradient ∂σ/∂W = conv_weight_grad(u, v) (dense: v uᵀ)."""

    @staticmethod
    def forward(ctx, weight, value, u, v, sn):
        ctx.save_for_backward(u, v)
        ctx.sn = sn
        ctx.weight_shape = weight.shape
        return value.detach().clone()

    @staticmethod
    def backward(ctx, grad):
        u, v = ctx.saved_tensors
        gw = ctx.sn.weight_grad(u, v, ctx.weight_shape) if ctx.needs_input_grad[0] else None
        return (None if gw is None else grad * gw), None, None, None, None


class OperatorSpectralNorm(nn.Module):
    """Parametrization ``W -> W / max(1, σ̂(W)/β)`` with σ̂ the operator norm estimate of the layer.

    ``geometry`` is a :class:`ConvGeometry` for a Conv2d or ``None`` for a dense (Linear) weight.
    See the module docstring for the train/eval and gradient conventions.
    """

    def __init__(self, weight: torch.Tensor, geometry: Optional[ConvGeometry], beta: float = 1.0,
                 n_power_iterations: int = 1, warmup_iterations: int = 100,
                 grad_through_power: bool = False, eps: float = 1e-12, seed: int = 0):
        super().__init__()
        if not beta > 0:
            raise ValueError(f"beta must be > 0 (inf for no rescale), got {beta}")
        if n_power_iterations < 1:
            raise ValueError("n_power_iterations must be >= 1")
        self.geometry = geometry
        self.beta = float(beta)
        self.n_power_iterations = int(n_power_iterations)
        self.grad_through_power = bool(grad_through_power)
        self.eps = float(eps)
        shape = (1, *geometry.input_shape) if geometry is not None else (1, weight.shape[1])
        g = torch.Generator().manual_seed(int(seed))
        u = torch.randn(shape, generator=g, dtype=torch.float64)
        u = _normalize(u, 0.0).to(device=weight.device, dtype=weight.dtype)
        self.register_buffer("_u", u)
        if warmup_iterations > 0:
            with torch.no_grad():
                u_hat, _, _ = self._power(self._u, weight.detach(), int(warmup_iterations))
                self._u.copy_(u_hat)

    # A and Aᵀ
    def op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.geometry.forward(x, w) if self.geometry is not None else F.linear(x, w)

    def adjoint(self, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.geometry.adjoint(y, w) if self.geometry is not None else y @ w

    def weight_grad(self, u: torch.Tensor, v: torch.Tensor, weight_shape) -> torch.Tensor:
        """∂⟨A(W) u, v⟩/∂W."""
        if self.geometry is not None:
            return self.geometry.weight_grad(u, v, weight_shape)
        return torch.outer(v[0], u[0])

    def _power(self, u: torch.Tensor, w: torch.Tensor, n: int):
        """n steps v̂ = N(Au), û = N(Aᵀv̂); also returns ⟨Aû, v̂⟩ = ⟨û, Aᵀv̂⟩ = ‖z‖²/(‖z‖+eps)."""
        v = sigma = None
        for _ in range(n):
            v = _normalize(self.op(u, w), self.eps)
            z = self.adjoint(v, w)
            zn = z.norm()
            u = z / (zn + self.eps)
            sigma = zn * zn / (zn + self.eps)
        return u, v, sigma

    def sigma(self, weight: torch.Tensor, update: bool = False) -> torch.Tensor:
        """σ̂ = ⟨A û, v̂⟩ after ``n_power_iterations`` steps from the stored u (written back if update)."""
        if self.grad_through_power:  # full autodiff through v̂, û and σ̂ (the authors' TF graph)
            u_hat, v_hat, _ = self._power(self._u.clone(), weight, self.n_power_iterations)
            sigma = (self.op(u_hat, weight) * v_hat).sum()
        else:  # power step without grad; σ̂(W) = ⟨A(W) û, v̂⟩ with û, v̂ held fixed
            with torch.no_grad():
                u_hat, v_hat, value = self._power(self._u, weight.detach(), self.n_power_iterations)
            sigma = _FixedVectorsBilinear.apply(weight, value, u_hat, v_hat, self)
        if update:
            with torch.no_grad():
                self._u.copy_(u_hat)
        return sigma

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        sigma = self.sigma(weight, update=self.training)
        # W · (1 / max(1, σ̂/β)): a scalar multiply is cheaper to differentiate than a division
        return weight * torch.clamp(sigma / self.beta, min=1.0).reciprocal()

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value

    def extra_repr(self) -> str:
        kind = f"conv {self.geometry}" if self.geometry is not None else "dense"
        return (f"{kind}, beta={self.beta}, n_power_iterations={self.n_power_iterations}, "
                f"grad_through_power={self.grad_through_power}")


if _TorchSpectralNorm is not None:
    class MiyatoSpectralNorm(_TorchSpectralNorm):
        """PyTorch's reshaped-kernel SN (``parametrizations.spectral_norm``'s class) with the β rule
        ``W / max(1, σ̂/β)`` instead of ``W / σ̂``. u/v are not updated in eval mode; no gradient
        through the power method (PyTorch's convention)."""

        def __init__(self, weight: torch.Tensor, beta: float = 1.0, n_power_iterations: int = 1,
                     warmup_iterations: int = 100, eps: float = 1e-12, seed: int = 0):
            devices = [weight.device] if weight.is_cuda else []
            with torch.random.fork_rng(devices=devices):  # leave the global RNG untouched
                super().__init__(weight, n_power_iterations, dim=0, eps=eps)
            if not beta > 0:
                raise ValueError(f"beta must be > 0 (inf for no rescale), got {beta}")
            self.beta = float(beta)
            g = torch.Generator().manual_seed(int(seed))
            for name in ("_u", "_v"):
                buf = getattr(self, name)
                r = torch.randn(buf.shape, generator=g, dtype=torch.float64)
                buf.copy_(F.normalize(r, dim=0).to(buf))
            with torch.no_grad():
                self._power_method(self._reshape_weight_to_matrix(weight.detach()),
                                   max(int(warmup_iterations), 1))

        def sigma(self, weight: torch.Tensor) -> torch.Tensor:
            weight_mat = self._reshape_weight_to_matrix(weight)
            u = self._u.clone(memory_format=torch.contiguous_format)
            v = self._v.clone(memory_format=torch.contiguous_format)
            return torch.vdot(u, torch.mv(weight_mat, v))

        def forward(self, weight: torch.Tensor) -> torch.Tensor:
            if self.training:
                self._power_method(self._reshape_weight_to_matrix(weight), self.n_power_iterations)
            return weight * torch.clamp(self.sigma(weight) / self.beta, min=1.0).reciprocal()
else:  # pragma: no cover
    MiyatoSpectralNorm = None  # type: ignore[assignment,misc]


# ----------------------------------------------------------------------------------------------
# Model-level helpers
# ----------------------------------------------------------------------------------------------

def is_sn_layer(m: nn.Module) -> bool:
    return isinstance(m, (nn.Conv2d, nn.Linear))


@torch.no_grad()
def trace_layers(model: nn.Module, input_shape: Sequence[int]) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    """(name, module, input shape without batch dim) of every Conv2d/Linear, in call order, from
    one eval-mode forward of a zero batch of shape (1, *input_shape)."""
    try:
        p = next(model.parameters())
        device, dtype = p.device, p.dtype
    except StopIteration:
        device, dtype = torch.device("cpu"), torch.get_default_dtype()
    names = {m: n for n, m in model.named_modules()}
    seen: dict[nn.Module, tuple[int, ...]] = {}
    order: list[nn.Module] = []

    def hook(mod, args):
        shape = tuple(args[0].shape[1:])
        if mod in seen:
            if seen[mod] != shape:
                raise ValueError(f"layer {names[mod]!r} is called on two input shapes {seen[mod]} and {shape}")
            return
        seen[mod] = shape
        order.append(mod)

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if is_sn_layer(m)]
    try:
        with eval_mode(model):
            model(torch.zeros((1, *input_shape), device=device, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
    return [(names[m], m, seen[m]) for m in order]


def spectral_parametrizations(model: nn.Module) -> list[tuple[str, nn.Module, nn.Module]]:
    """(layer name, layer, parametrization) for every SN parametrization registered on a weight."""
    out = []
    for name, m in model.named_modules():
        if parametrize.is_parametrized(m, "weight"):
            for p in m.parametrizations.weight:
                if isinstance(p, OperatorSpectralNorm) or (
                        _TorchSpectralNorm is not None and isinstance(p, _TorchSpectralNorm)):
                    out.append((name, m, p))
    return out


@contextlib.contextmanager
def frozen_for_attacks(model: nn.Module):
    """Evaluate and attack an SN model with each effective weight W/max(1, σ̂/β) computed ONCE,
    not on every forward: inside the block every parametrized weight is read from
    ``parametrize.cached()``'s cache, filled here in eval mode without a graph. In eval mode the
    power step starts from the stored u and never writes it back, so the cached weight is the value
    every eval forward would compute: results are identical, an attack's forwards skip the power
    iteration, and input gradients (the only ones an attack takes) never reach the cached tensor.
    A model without SN passes through unchanged."""
    layers = spectral_parametrizations(model)
    if not layers:
        yield model
        return
    with eval_mode(model), parametrize.cached():
        with torch.no_grad():
            for _, m, _ in layers:
                m.weight  # noqa: B018 - fills the cache
        yield model


def freeze_spectral_norm(model: nn.Module) -> nn.Module:
    """An SN model made a plain one for evaluation and attacks, in place: each parametrized weight is
    replaced by its effective value W/max(1, σ̂/β), computed once in eval mode (power step from the
    stored u, never written back): the value every eval forward computes, so outputs are identical
    and an attack's forwards no longer repeat the power iteration. For jobs that only evaluate; the
    margin bounds (which warm-start from the stored u) use :func:`frozen_for_attacks` instead.
    Not for a deepcopy of a model still in use: copies share torch's parametrized layer classes,
    and removing a parametrization edits that class."""
    layers = spectral_parametrizations(model)
    if layers:
        model.eval()
        for _, m, _ in layers:
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return model


# ----------------------------------------------------------------------------------------------
# Analysis: norms of single operators
# ----------------------------------------------------------------------------------------------

@torch.no_grad()
def conv_operator_norm(conv_or_weight: Union[nn.Conv2d, torch.Tensor], input_shape: Sequence[int],
                       stride=1, padding=0, dilation=1, groups: int = 1, iters: int = 100,
                       u0: Optional[torch.Tensor] = None, seed: int = 0, eps: float = 1e-12) -> float:
    """Power-iteration estimate ⟨A û, v̂⟩ of the operator norm of a conv on inputs (C, H, W).

    conv_or_weight: a Conv2d (its current, possibly parametrized, weight and its own geometry; the
    stride/padding/dilation/groups arguments are then ignored) or a kernel (C_out, C_in/g, kh, kw).
    padding: int, (ph, pw), (left, right, top, bottom), 'valid', 'same' (PyTorch) or 'tf_same'.
    u0: optional start (input-shaped); default a seeded Gaussian. The estimate is a lower bound
    that increases to σ as iters grows.
    """
    w, geom = _geometry_from_args(conv_or_weight, input_shape, stride, padding, dilation, groups)
    w = w.detach()
    if u0 is None:
        g = torch.Generator().manual_seed(int(seed))
        u0 = torch.randn((1, *geom.input_shape), generator=g, dtype=torch.float64)
    u = _normalize(u0.reshape(1, *geom.input_shape).to(w), eps)
    v = None
    for _ in range(max(int(iters), 1)):
        v = _normalize(geom.forward(u, w), eps)
        u = _normalize(geom.adjoint(v, w), eps)
    return float((geom.forward(u, w) * v).sum())


def operator_matrix(conv_or_weight: Union[nn.Module, torch.Tensor], input_shape: Sequence[int] = (),
                    stride=1, padding=0, dilation=1, groups: int = 1) -> torch.Tensor:
    """The explicit matrix of the layer's linear map (bias excluded) via
    ``torch.autograd.functional.jacobian``: shape (out_numel, in_numel). Small shapes only."""
    if isinstance(conv_or_weight, nn.Linear) or (
            isinstance(conv_or_weight, torch.Tensor) and conv_or_weight.ndim == 2):
        w = conv_or_weight.weight if isinstance(conv_or_weight, nn.Module) else conv_or_weight
        return w.detach().clone()
    w, geom = _geometry_from_args(conv_or_weight, input_shape, stride, padding, dilation, groups)
    w = w.detach()
    n_in = math.prod(geom.input_shape)
    n_out = w.shape[0] * math.prod(geom.output_hw(w.shape[-2:]))
    if n_in * n_out > 5e7:
        raise ValueError(f"operator matrix {n_out}×{n_in} is too large for exact_operator_norm")

    def f(x):
        return geom.forward(x.reshape(1, *geom.input_shape), w).reshape(-1)

    return torch.autograd.functional.jacobian(f, torch.zeros(n_in, dtype=w.dtype, device=w.device),
                                              vectorize=True)


def exact_operator_norm(conv_or_weight: Union[nn.Module, torch.Tensor], input_shape: Sequence[int] = (),
                        stride=1, padding=0, dilation=1, groups: int = 1) -> float:
    """Exact spectral norm of the layer's linear map: full Jacobian, then
    ``torch.linalg.matrix_norm(ord=2)``. Small shapes only (use float64 weights for tests)."""
    J = operator_matrix(conv_or_weight, input_shape, stride, padding, dilation, groups)
    return float(torch.linalg.matrix_norm(J, ord=2))


def _tap_counts(n: int, k: int, s: int, d: int, pad_lo: int, n_out: int) -> list[int]:
    """For each kernel tap i: number of output positions o with 0 <= o*s - pad_lo + i*d < n."""
    return [sum(1 for o in range(n_out) if 0 <= o * s - pad_lo + i * d < n) for i in range(k)]


def conv_operator_frobenius_sq(conv_or_weight: Union[nn.Conv2d, torch.Tensor], input_shape: Sequence[int],
                               stride=1, padding=0, dilation=1, groups: int = 1) -> float:
    """Exact ‖A‖_F² of the conv operator on (C, H, W): Σ_{i,j} n_h(i)·n_w(j)·‖W[:, :, i, j]‖²."""
    w, geom = _geometry_from_args(conv_or_weight, input_shape, stride, padding, dilation, groups)
    w = w.detach()
    kh, kw = w.shape[-2:]
    ho, wo = geom.output_hw((kh, kw))
    _, H, W = geom.input_shape
    l, r, t, b = geom.pads
    nh = torch.tensor(_tap_counts(H, kh, geom.stride[0], geom.dilation[0], t, ho), dtype=torch.float64)
    nw = torch.tensor(_tap_counts(W, kw, geom.stride[1], geom.dilation[1], l, wo), dtype=torch.float64)
    tap_sq = w.double().pow(2).sum(dim=(0, 1)).cpu()  # (kh, kw)
    return float((nh[:, None] * nw[None, :] * tap_sq).sum())


def miyato_kernel_norm(weight: torch.Tensor) -> float:
    """Spectral norm of the reshaped kernel ``C_out × (C_in·kh·kw)`` (what Miyato's SN bounds)."""
    return float(torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1), ord=2))


# ----------------------------------------------------------------------------------------------
# Analysis: whole-model norms and margin-bound quantities (sn-details §5.3)
# ----------------------------------------------------------------------------------------------

def _stored_u(m: nn.Module, shape: tuple[int, ...]) -> Optional[torch.Tensor]:
    if parametrize.is_parametrized(m, "weight"):
        for p in m.parametrizations.weight:
            if isinstance(p, OperatorSpectralNorm) and tuple(p._u.shape[1:]) == tuple(shape):
                return p._u
    return None


@torch.no_grad()
def _layer_stats(model: nn.Module, input_shape: Sequence[int], iters: int):
    """Per layer in call order: (name, kind, s_k, ‖A‖_F² exact, ‖W‖_F², c_k)."""
    with eval_mode(model):  # reading .weight in eval mode never updates u
        rows = []
        for name, m, shape in trace_layers(model, input_shape):
            w = m.weight.detach()
            kf = float(w.double().pow(2).sum())
            if isinstance(m, nn.Conv2d):
                s = conv_operator_norm(m, shape, iters=iters, u0=_stored_u(m, shape))
                fro = conv_operator_frobenius_sq(m, shape)
                c = math.prod(shape) / 4.0  # authors' proxy: H·W·C_in / 2² ("stride squared")
                rows.append((name, "conv", s, fro, kf, c))
            else:
                s = float(torch.linalg.matrix_norm(w.double(), ord=2))
                rows.append((name, "dense", s, kf, kf, 1.0))
        return rows


def layer_spectral_norms(model: nn.Module, input_shape: Sequence[int], iters: int = 20) -> list[float]:
    """Spectral norms s_k of the *effective* (post-SN) weights, in forward-call order.

    Conv: operator norm on the layer's real input size by ``iters`` conv/conv-transpose power
    iterations (warm-started from the layer's stored u when it has operator SN; otherwise a seeded
    random start, like the authors' 20-iteration ``power_iteration_conv_tf``). Dense: exact matrix
    norm (SVD). Runs in eval mode; u buffers are not modified.
    """
    return [r[2] for r in _layer_stats(model, input_shape, iters)]


def margins(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """f(x)[y] − max_{j≠y} f(x)[j] per sample."""
    true = logits.gather(1, y.view(-1, 1)).squeeze(1)
    other = logits.scatter(1, y.view(-1, 1), float("-inf")).amax(1)
    return true - other


def spectral_product(norms: Sequence[float]) -> float:
    """∏_k s_k."""
    return float(math.prod(norms))


def frobenius_ratio_sum(frobenius_sq: Sequence[float], norms: Sequence[float]) -> float:
    """Σ_k ‖W_k‖_F² / s_k²."""
    return float(sum(f / (s * s) for f, s in zip(frobenius_sq, norms)))


def sum_prefix_products(norms: Sequence[float]) -> float:
    """Σ_{i=1}^{d} ∏_{j≤i} s_j (the smoothness term of the FGM/PGM bounds)."""
    total, prod = 0.0, 1.0
    for s in norms:
        prod *= s
        total += prod
    return total


def bound_quantities(model: nn.Module, input_shape: Sequence[int], iters: int = 20) -> dict:
    """Everything §5.3 needs, per layer (call order) and aggregated.

    Keys: names, kinds, spectral_norms (s_k), frobenius_sq (exact operator ‖A_k‖_F²; dense ‖W‖_F²),
    frobenius_sq_authors (c_k·‖kernel‖_F², c_k = C_in·H_in·W_in/4 for conv, 1 for dense),
    spectral_product (∏ s_k), frob_ratio_sum (Σ ‖A_k‖_F²/s_k²), frob_ratio_sum_authors,
    sum_prefix_products (Σ_{i=1}^d ∏_{j≤i} s_j), authors_prefix_factor (1 + Σ_{i=0}^{d-1} ∏_{j<i} s_j,
    the factor in analysis.py mode 2). For branched nets (Inception) the product treats every
    layer as in series (an over-estimate of the Lipschitz constant).
    """
    rows = _layer_stats(model, input_shape, iters)
    s = [r[2] for r in rows]
    fro = [r[3] for r in rows]
    fro_auth = [r[4] * r[5] for r in rows]
    return {
        "names": [r[0] for r in rows],
        "kinds": [r[1] for r in rows],
        "spectral_norms": s,
        "frobenius_sq": fro,
        "frobenius_sq_authors": fro_auth,
        "spectral_product": spectral_product(s),
        "frob_ratio_sum": frobenius_ratio_sum(fro, s),
        "frob_ratio_sum_authors": frobenius_ratio_sum(fro_auth, s),
        "sum_prefix_products": sum_prefix_products(s),
        "authors_prefix_factor": 1.0 + sum(math.prod(s[:i]) for i in range(len(s))),
    }


def margin_normalizer(q: dict, mode: int = 1, extra_correction: bool = True,
                      frobenius: str = "authors") -> float:
    """Γ of analysis.py ``compute_margins``: mode 0 → 1; mode 1 (ERM) → ∏ s_k; mode 2 (FGM/PGM) →
    ∏ s_k · (1 + Σ_{i=0}^{d-1} ∏_{j<i} s_j). ``extra_correction`` multiplies by
    sqrt(Σ F_k / s_k²) with F_k the authors' proxy (``frobenius='authors'``) or the exact operator
    Frobenius norm (``'exact'``). Normalized margins are ``margins(...) / Γ``."""
    if mode == 0:
        gamma = 1.0
    elif mode == 1:
        gamma = q["spectral_product"]
    elif mode == 2:
        gamma = q["spectral_product"] * q["authors_prefix_factor"]
    else:
        raise ValueError(f"mode must be 0, 1 or 2, got {mode}")
    if extra_correction:
        key = {"authors": "frob_ratio_sum_authors", "exact": "frob_ratio_sum"}[frobenius]
        gamma *= math.sqrt(q[key])
    return gamma


# ------------------------------------------------------------------ β in configs and paths



