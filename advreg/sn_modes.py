"""The spectral-normalization modes, each declared once (issue 28): what it bounds, and the
function that builds its parametrization of one layer.

Every other place reads this table: the schema's ``sn_experiments.mode`` enum
(``advreg.config.load_schema``), the ``spectral_norm.mode`` parameter of a method
(``advreg.methods.SPECTRAL_NORM``) and ``advreg.spectral.apply_spectral_norm``. A mode is added
here and nowhere else.

Torch-free on purpose (the Snakefile's parsing reads it); ``build`` imports ``advreg.spectral``
when it is called.
"""
from __future__ import annotations

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

    from advreg.spectral import OperatorSpectralNorm, conv_geometry
    geom = conv_geometry(layer, shape) if isinstance(layer, nn.Conv2d) else None
    return OperatorSpectralNorm(layer.weight, geom, beta, n_power_iterations, warmup_iterations,
                                grad_through_power, eps, seed)


def _kernel(layer, shape, beta, n_power_iterations, warmup_iterations, grad_through_power, eps, seed):
    import torch

    from advreg.spectral import MiyatoSpectralNorm
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
