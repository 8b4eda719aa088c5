"""The spectral-normalization modes, each declared once (issue 28): what it bounds, and the
function that builds its parametrization of one layer; and ``apply_spectral_norm``, which registers
a mode on every layer of a model.

Every other place reads this table: the schema's ``sn_experiments.mode`` enum
(``advreg.workflow.config_check.load_schema``), the ``spectral_norm.mode`` parameter of a method
(``advreg.training.method_kinds.SPECTRAL_NORM``) and ``apply_spectral_norm``. A mode is added here and nowhere
else. The parametrizations themselves (the operator norm's power iteration, Miyato's reshaped
kernel) are ``advreg.nn.spectral``'s.

Torch-free at import on purpose (the Snakefile's parsing and the config checks read it): the
builders import torch and ``advreg.nn.spectral`` when they are called.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class SNMode:
    doc: str
    # (layer, its input shape (C, H, W) or None for a dense layer, beta, n_power_iterations,
    # warmup_iterations, grad_through_power, eps, seed) -> the parametrization to register on
    # layer.weight, or None when the mode registered one itself
    build: Callable


def _operator(layer, shape, beta, n_power_iterations, warmup_iterations, grad_through_power, eps, seed):
    from torch import nn

    from advreg.nn.spectral import OperatorSpectralNorm, conv_geometry
    geom = conv_geometry(layer, shape) if isinstance(layer, nn.Conv2d) else None
    return OperatorSpectralNorm(layer.weight, geom, beta, n_power_iterations, warmup_iterations,
                                grad_through_power, eps, seed)


def _kernel(layer, shape, beta, n_power_iterations, warmup_iterations, grad_through_power, eps, seed):
    import torch

    from advreg.nn.spectral import MiyatoSpectralNorm
    if MiyatoSpectralNorm is None:  # pragma: no cover
        raise RuntimeError("this torch has no parametrizations._SpectralNorm")
    if beta is None:  # PyTorch's own W / σ, unmodified
        w = layer.weight
        with torch.random.fork_rng(devices=[w.device] if w.is_cuda else []):
            torch.manual_seed(seed)
            torch.nn.utils.parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations, eps=eps)
        return None
    return MiyatoSpectralNorm(layer.weight, beta, n_power_iterations, warmup_iterations, eps, seed)


MODES: dict[str, SNMode] = {
    # Farnia et al. 2019: the norm of the convolution *operator* on the layer's real input size
    # (any stride, padding, dilation)
    "operator": SNMode("conv operator norm on the layer's input (Farnia et al. 2019)", _operator),
    # Miyato et al. 2018 / torch.nn.utils.spectral_norm: the reshaped kernel C_out × (C_in·kh·kw)
    "kernel": SNMode("reshaped-kernel norm (Miyato et al. 2018, PyTorch's)", _kernel),
}
# the mode a model's spec gets when its method names none (the SN paper's)
DEFAULT_MODE = "operator"


def apply_spectral_norm(model, input_shape, beta: float | None = 1.0,
                        mode: str = DEFAULT_MODE, n_power_iterations: int = 1,
                        warmup_iterations: int = 100, grad_through_power: bool = False,
                        seed: int = 0, eps: float = 1e-12,
                        layer_filter: Callable | None = None):
    """Register SN on the ``weight`` of every Conv2d and Linear of ``model`` (in place; returns it).

    input_shape: (C, H, W) of the model input (conv input shapes are found by a dry forward).
    beta: the per-layer cap (one for all layers); ``inf`` = no rescale (power steps still run).
      ``None`` is allowed only for ``mode='kernel'`` and registers the unmodified
      ``torch.nn.utils.parametrizations.spectral_norm`` (W / σ).
    mode: 'operator' (conv operator norm, this paper) or 'kernel' (Miyato et al.'s reshaped
      kernel, PyTorch's).
    warmup_iterations: power iterations run at registration so σ̂ starts accurate (100: the
      effective operator norms of AlexNet/ELU-Net/Inception start within ~0.5 % of β; 20 leaves ~2 %).
    seed: u initialization (layer k uses seed + k); the global RNG is not consumed.
    layer_filter(name, module) -> bool: restrict which layers get SN (default: all).
    Call it the same way on a freshly built model before ``load_state_dict`` of a saved one.
    """
    import warnings

    from torch.nn.utils import parametrize

    from advreg.nn.spectral import is_sn_layer, trace_layers

    if mode not in MODES:
        raise ValueError(f"spectral norm mode {mode!r}; expected one of {tuple(MODES)}")
    if beta is None and mode != "kernel":
        raise ValueError("beta=None is only meaningful for mode='kernel'")
    layers = trace_layers(model, input_shape)
    traced = {m for _, m, _ in layers}
    for name, m in model.named_modules():
        if is_sn_layer(m) and m not in traced and (layer_filter is None or layer_filter(name, m)):
            warnings.warn(f"layer {name!r} is not called in a forward pass; no SN registered on it")
    for k, (name, m, shape) in enumerate(layers):
        if layer_filter is not None and not layer_filter(name, m):
            continue
        if parametrize.is_parametrized(m, "weight"):
            raise ValueError(f"layer {name!r} already has a parametrization on weight")
        p = MODES[mode].build(m, shape, beta, n_power_iterations, warmup_iterations,
                                grad_through_power, eps, seed + k)
        if p is None:  # the mode registered PyTorch's own parametrization
            m.parametrizations.weight.train(m.training)
            continue
        parametrize.register_parametrization(m, "weight", p)
        m.parametrizations.weight.train(m.training)
    return model


# β of the SN experiments: labels in paths and tables, and a scheme's config at one β

def beta_label(beta) -> str:
    """β as it appears in paths and tables: 'inf' or e.g. '1.6'."""
    b = float(beta)
    return "inf" if math.isinf(b) else f"{b:g}"


def parse_beta(label: str) -> float:
    return math.inf if label == "inf" else float(label)


def with_beta(method_cfg: dict, beta: float, mode: str) -> dict:
    """The scheme's hyperparameters with SN at ``beta`` (β = ∞: no SN at all)."""
    cfg = copy.deepcopy(method_cfg)
    cfg.pop("spectral_norm", None)
    if not math.isinf(float(beta)):
        cfg["spectral_norm"] = {"beta": float(beta), "mode": mode}
    return cfg
