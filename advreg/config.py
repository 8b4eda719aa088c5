"""Reading the pipeline configuration: cross-reference checks the JSON schema cannot express,
and the per-job views (model spec, method hyperparameters, training settings) the rules pass on.

The schema (schemas/config.schema.yaml) checks types and ranges; ``check_config`` checks that
every name used refers to something that exists, with an error naming the bad value.
"""
from __future__ import annotations

import copy

from advreg.data import DATASETS
from advreg.methods import check_method
from advreg.models import ARCHITECTURES
from advreg.train import TrainSettings


class ConfigError(ValueError):
    pass


def check_config(config: dict) -> None:
    for ds in config["datasets"]:
        if ds not in DATASETS:
            raise ConfigError(f"datasets: unknown dataset {ds!r}; expected one of {sorted(DATASETS)}")
        if ds not in config["dataset_settings"]:
            raise ConfigError(f"datasets: {ds!r} has no entry under dataset_settings")
        arch = config["dataset_settings"][ds]["arch"]
        if arch not in ARCHITECTURES:
            raise ConfigError(f"dataset_settings.{ds}.arch: unknown architecture {arch!r}; "
                              f"expected one of {sorted(ARCHITECTURES)}")
    for m in config["methods"]:
        if m not in config["method_settings"]:
            raise ConfigError(f"methods: unknown method {m!r}; expected one of "
                              f"{sorted(config['method_settings'])} (the keys of method_settings)")
        for ds in config["datasets"]:
            try:
                check_method(m, method_cfg(config, ds, m))
            except ValueError as e:
                raise ConfigError(f"method_settings.{m} (dataset {ds}): {e}") from None
    for ds, over in config.get("method_overrides", {}).items():
        for m in over:
            if m not in config["method_settings"]:
                raise ConfigError(f"method_overrides.{ds}: unknown method {m!r}")


def method_cfg(config: dict, dataset: str, method: str) -> dict:
    """A method's hyperparameters for one dataset (defaults + per-dataset overrides)."""
    cfg = copy.deepcopy(config["method_settings"][method])
    cfg.update(config.get("method_overrides", {}).get(dataset, {}).get(method, {}))
    return cfg


def model_spec(config: dict, dataset: str, method: str) -> dict:
    ds = config["dataset_settings"][dataset]
    c, h, _ = DATASETS[dataset].shape
    spec = {"arch": ds["arch"], "in_channels": c, "image_size": h, "widths": list(ds["widths"]),
            "num_classes": 10}
    sn = method_cfg(config, dataset, method).get("spectral_norm")
    if sn:
        spec["spectral_norm"] = sn
    return spec


def train_settings(config: dict, dataset: str, seed: int) -> dict:
    ds = config["dataset_settings"][dataset]
    s = TrainSettings(epochs=ds["epochs"], batch_size=ds["batch_size"], lr=ds["lr"], seed=int(seed),
                      crop_pad=ds["crop_pad"], flip=ds["flip"], fill=ds["fill"],
                      eval_batch_size=config["evaluation"]["batch_size"],
                      max_train=ds.get("max_train"))
    return s.__dict__.copy()
