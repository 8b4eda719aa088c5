"""λ is chosen on validation images only (advreg.jobs.lambda_probe)."""
from __future__ import annotations

import pandas as pd
import torch
import yaml
from conftest import REPO, write_digits_artifact

from advreg.jobs import lambda_probe as lambda_probe
from advreg.workflow import config_check


def test_selection_rule_on_a_synthetic_table():
    df = pd.DataFrame([
        {"method": "clean", "lam": 0, "val_clean_acc": 98.0, "val_pgd_acc": 40.0},
        {"method": "gn", "lam": 10, "val_clean_acc": 97.5, "val_pgd_acc": 60.0},
        {"method": "gn", "lam": 30, "val_clean_acc": 97.1, "val_pgd_acc": 70.0},
        {"method": "gn", "lam": 100, "val_clean_acc": 95.0, "val_pgd_acc": 80.0},  # costs 3 clean points
        {"method": "sgr_sign", "lam": 10, "val_clean_acc": 95.0, "val_pgd_acc": 50.0},  # none within 1 point:
        {"method": "sgr_sign", "lam": 30, "val_clean_acc": 96.0, "val_pgd_acc": 65.0},  # the one that keeps most
    ])
    chosen = lambda_probe.select(df, max_clean_drop=1.0).set_index("method")
    assert chosen.loc["gn", "lam"] == 30 and chosen.loc["sgr_sign", "lam"] == 30
    assert chosen.loc["sgr_sign", "rule"].startswith("no λ keeps")
    assert lambda_probe.select(df, max_clean_drop=5.0).set_index("method").loc["gn", "lam"] == 100


def test_probe_runs_without_test_images(tmp_path, synthetic_digits):
    """The whole probe (training each λ, measuring it) on an artifact with no test split."""
    path = write_digits_artifact(tmp_path / "mnist.pt", synthetic_digits, 300, 500, n_val=100)
    art = torch.load(path, weights_only=True)
    del art["x_test"], art["y_test"]
    torch.save(art, path)
    config = config_check.merge(config_check.read_layers([REPO / "config.yaml", REPO / "presets" / "tiny.yaml"]))
    config["dataset_settings"]["mnist"].update(epochs=1, max_train=None)
    config["attack_settings"]["pgd"]["steps"] = 2
    config_check.check_config(config)
    df = lambda_probe.probe(config, "mnist", path, ["gn"], [1.0, 10.0], n_val=50, device="cpu", log=lambda *a: None)
    assert list(zip(df["method"], df["lam"])) == [("clean", 0.0), ("gn", 1.0), ("gn", 10.0)]
    assert (df["n_val"] == 50).all() and ((df["val_pgd_acc"] <= df["val_clean_acc"] + 1e-9)).all()


def test_merged_config_merges_dicts_and_replaces_lists(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"x": {"a": 1, "b": [1, 2]}, "y": 1}))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"x": {"b": [3]}, "z": 2}))
    assert config_check.merge(config_check.read_layers([tmp_path / "a.yaml", tmp_path / "b.yaml"])) == \
        {"x": {"a": 1, "b": [3]}, "y": 1, "z": 2}
