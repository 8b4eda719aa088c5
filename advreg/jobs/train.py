"""The train job: one (dataset, method, seed) model from the settings its rule resolved."""
from __future__ import annotations

from advreg.training.loop import TrainSettings, train


def train_job(dataset_path, model_spec: dict, method: str, method_cfg: dict, settings: dict, model_out,
              history_out, checkpoint, device: str, log=print) -> list[dict]:
    """Train and write the model and its history (both atomically, advreg.training.loop), resuming from
    ``checkpoint`` when it matches; returns the history."""
    return train(dataset_path, model_spec, method, method_cfg, TrainSettings(**settings), model_out,
                 history_out, checkpoint, device=device, log=log)
