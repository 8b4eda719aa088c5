"""The classifier architectures by name, each declared once: the function that builds it
(``builder(in_channels, image_size, widths, num_classes) -> nn.Module``), as "module:function".

Torch-free on purpose: the config check reads the names while Snakemake parses the Snakefile,
which should not pay for importing torch; ``builder`` imports the module when a model is built.
"""
from __future__ import annotations

from typing import Callable

from advreg.base.references import resolve

ARCHITECTURES: dict[str, str] = {
    "cw": "advreg.nn.models:cw_cnn",                      # SGR paper: Carlini & Wagner's CNNs
    # the SN paper's networks (Farnia et al. 2019; advreg.nn.sn_architectures)
    "alexnet": "advreg.nn.sn_architectures:alexnet",
    "alexnet_elu": "advreg.nn.sn_architectures:alexnet_elu",
    "elunet": "advreg.nn.sn_architectures:elunet",
    "inception": "advreg.nn.sn_architectures:inception",
    "mlp": "advreg.nn.sn_architectures:mlp",
    "mlp2": "advreg.nn.sn_architectures:mlp2",
}


def names() -> list[str]:
    return sorted(ARCHITECTURES)


def builder(name: str) -> Callable:
    """The function that builds architecture ``name``."""
    try:
        ref = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; expected one of {names()}") from None
    return resolve(ref)
