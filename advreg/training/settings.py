"""A training run's settings: optimizer, schedule, augmentation, stopping rule.

Torch-free on purpose: the config check builds these while Snakemake parses the Snakefile
(advreg.workflow.config_views.train_settings), which should not pay for importing torch; advreg.training.loop runs them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainSettings:
    epochs: int
    batch_size: int
    lr: float
    seed: int
    crop_pad: int = 0
    flip: bool = False
    fill: float = 0.0
    eval_batch_size: int = 1000
    max_train: int | None = None  # train on the first N training images only (presets)
    optimizer: str = "adam"       # "adam" or "sgd" (SGD with `momentum`)
    momentum: float | None = None  # SGD's; the pipeline sets it from the config (sn_experiments.settings)
    # "constant" (the papers: no schedule stated) or "linear": lr decays linearly to 0 over the
    # run, step by step (short CPU presets: most of the accuracy of a long run in a few epochs)
    lr_schedule: str = "constant"
    # Stop once the mean training accuracy of the last `early_stop_epochs` epochs reaches this
    # (the SN authors' early stopping at 0.999 over 5 epochs); None trains all epochs.
    early_stop_acc: float | None = None
    early_stop_epochs: int = 5

    def __post_init__(self):
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.optimizer == "sgd" and self.momentum is None:
            raise ValueError("optimizer 'sgd' needs a momentum (config: sn_experiments.settings.<dataset>.momentum)")
        if self.lr_schedule not in ("constant", "linear"):
            raise ValueError(f"lr_schedule must be 'constant' or 'linear', got {self.lr_schedule!r}")
