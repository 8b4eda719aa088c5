"""Classifiers used by both papers.

Every model takes images in pixel space, ``x`` in [0, 1] with shape (B, C, H, W), and returns
logits. Standardization happens *inside* the model (SGR paper, Sec. 4.1: "images standardized to
zero mean, unit variance when passed to the classifier"), so attacks, ε and the SGR covariance all
live in pixel units.
"""
from __future__ import annotations

import torch
from torch import nn

from advreg.base.atomic import save_torch
from advreg.nn import architectures
from advreg.nn.layers import PerImageStandardize


def cw_cnn(in_channels: int, image_size: int, widths: list[int], num_classes: int = 10) -> nn.Sequential:
    """Carlini–Wagner / Papernot CNN (SGR paper App. 7.4).

    Conv3×3(p0)–ReLU–Conv3×3(p1)–ReLU–MaxPool2–Conv3×3(p2)–ReLU–Conv3×3(p3)–ReLU–MaxPool2–
    Dense(p4)–ReLU–Dense(p5)–ReLU–Dense(num_classes); stride 1, no padding.
    """
    if len(widths) != 6:
        raise ValueError(f"cw_cnn needs 6 widths [conv×4, dense×2], got {widths!r}")
    c1, c2, c3, c4, d1, d2 = widths
    side = image_size
    side = (side - 4) // 2  # two valid 3×3 convs, then pool
    side = (side - 4) // 2
    if side < 1:
        raise ValueError(f"image_size={image_size} is too small for the CW CNN (needs ≥ 16)")
    return nn.Sequential(
        PerImageStandardize(),
        nn.Conv2d(in_channels, c1, 3), nn.ReLU(),
        nn.Conv2d(c1, c2, 3), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(c2, c3, 3), nn.ReLU(),
        nn.Conv2d(c3, c4, 3), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c4 * side * side, d1), nn.ReLU(),
        nn.Linear(d1, d2), nn.ReLU(),
        nn.Linear(d2, num_classes),
    )


def build_model(arch: str, in_channels: int, image_size: int, widths: list[int],
                num_classes: int = 10) -> nn.Module:
    """A plain network of architecture ``arch`` (its builder is declared in advreg.nn.architectures)."""
    return architectures.builder(arch)(in_channels, image_size, widths, num_classes)


def build_from_spec(spec: dict) -> nn.Module:
    """Build a model from its saved description (architecture + optional spectral norm).

    ``spec``: arch, in_channels, image_size, widths, num_classes, and optionally
    ``spectral_norm: {beta, mode}`` (Farnia et al. 2019), applied on the model's real input shape.
    """
    model = build_model(spec["arch"], spec["in_channels"], spec["image_size"], spec["widths"],
                        spec.get("num_classes", 10))
    sn = spec.get("spectral_norm")
    if sn:
        from advreg.nn.sn_modes import DEFAULT_MODE, apply_spectral_norm  # only SN models pay the torch-side import
        shape = (spec["in_channels"], spec["image_size"], spec["image_size"])
        # the power-iteration numerics: config `spectral_norm` (advreg.workflow.config_views._spec puts them in the spec)
        kw = {arg: sn[key] for key, arg in (("power_iterations", "n_power_iterations"),
                                            ("warmup_iterations", "warmup_iterations")) if key in sn}
        apply_spectral_norm(model, shape, beta=float(sn["beta"]), mode=sn.get("mode", DEFAULT_MODE), **kw)
    return model


def save_model(path, model: nn.Module, spec: dict, info: dict) -> None:
    """Write a model file atomically: weights + the spec to rebuild it + provenance."""
    save_torch(path, {"state_dict": model.state_dict(), "spec": spec, "info": info})


def place(model: nn.Module, device) -> nn.Module:
    """Move ``model`` to ``device``; on the CPU also to channels-last (NHWC) memory format.

    Why: oneDNN's NHWC convolution and max-pool kernels make a CW-CNN training step on one CPU
    thread ≈1.4× faster than NCHW (max-pool alone ≈8×; ``benchmarks/bench_layout.py``). The layout
    changes strides only, never values. On CUDA the layout is left as it is: fp32 cuDNN has no
    such gap and it was not measured there.
    """
    model = model.to(device)
    if torch.device(device).type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model


def load_model(path, device="cpu") -> tuple[nn.Module, dict]:
    blob = torch.load(path, map_location=device, weights_only=True)
    model = place(build_from_spec(blob["spec"]), device)
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, blob


def load_for_attacks(path, device="cpu") -> tuple[nn.Module, dict]:
    """A saved model for a job that only evaluates and attacks it: an SN model's effective weights
    computed once (advreg.nn.spectral.freeze_spectral_norm: the same outputs, no power iteration per
    forward)."""
    from advreg.nn.spectral import freeze_spectral_norm
    model, blob = load_model(path, device)
    return freeze_spectral_norm(model), blob