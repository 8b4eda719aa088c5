"""The SN paper's generalization-gap measurements (advreg.jobs.sn): the attack used at
evaluation is the scheme's own training attack at the training ε, β* is the validation argmax, and
the paper's numbers are joined to the right rows."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_digits_artifact

from advreg.attacks import whitebox as attacks
from advreg.data.artifact import to_float
from advreg.jobs.sn import evaluate_sn_model
from advreg.jobs.sn_tables import best_beta, sweep_table, with_published
from advreg.jobs.train import train_job
from advreg.nn.models import load_model
from advreg.nn.sn_modes import beta_label, parse_beta, with_beta
from advreg.nn.spectral import margins
from advreg.training.settings import TrainSettings


@pytest.fixture(scope="module")
def digits_artifact(tmp_path_factory, synthetic_digits):
    return write_digits_artifact(tmp_path_factory.mktemp("sn") / "mnist.pt", synthetic_digits, 400, 700)


def test_beta_labels_round_trip():
    assert [beta_label(b) for b in (math.inf, 1.0, 1.6, 16)] == ["inf", "1", "1.6", "16"]
    assert parse_beta("inf") == math.inf and parse_beta("1.6") == 1.6
    cfg = {"kind": "fgm", "eps_rel": 0.05, "spectral_norm": {"beta": 9.0, "mode": "kernel"}}
    assert with_beta(cfg, math.inf, "operator") == {"kind": "fgm", "eps_rel": 0.05}
    assert with_beta(cfg, 1.3, "operator")["spectral_norm"] == {"beta": 1.3, "mode": "operator"}
    assert cfg["spectral_norm"]["beta"] == 9.0  # the registry entry is not modified


def test_evaluation_uses_the_training_attack_at_the_training_eps(digits_artifact, tmp_path):
    spec = {"arch": "elunet", "in_channels": 1, "image_size": 28, "widths": [8, 16, 16], "num_classes": 10,
            "spectral_norm": {"beta": 2.0, "mode": "operator"}}
    cfg = {"kind": "fgm", "eps_rel": 0.05, "spectral_norm": spec["spectral_norm"]}
    settings = TrainSettings(epochs=2, batch_size=50, lr=5e-3, seed=0, max_train=300)
    train_job(digits_artifact, spec, "fgm_l2", cfg, settings, tmp_path / "m.pt", tmp_path / "h.csv",
          tmp_path / "ck.pt", device="cpu", log=lambda *a: None)
    row, m = evaluate_sn_model(tmp_path / "m.pt", digits_artifact, val=100, train_eval=200, max_test=None,
                               batch_size=64, margin_iters=10, device="cpu")
    assert (row["scheme"], row["beta"], row["arch"], row["seed"]) == ("FGM", "2", "elunet", 0)
    assert (row["n_train"], row["n_val"], row["n_test"]) == (200, 100, 200)  # test: the 200 after val
    assert row["gap"] == pytest.approx(row["train_adv_acc"] - row["test_adv_acc"])

    # recompute independently: ε = 0.05·E‖X‖₂ over the 300 training images the model saw
    model, _ = load_model(tmp_path / "m.pt")
    data = torch.load(digits_artifact, weights_only=False)
    c2 = to_float(data["x_train"][:300]).flatten(1).norm(dim=1).mean().item()
    for split, x8, y in (("train", data["x_train"][:200], data["y_train"][:200]),
                         ("val", data["x_val"], data["y_val"]), ("test", data["x_test"], data["y_test"])):
        x = to_float(x8)
        x_adv = attacks.fgm(model, x, 0.05 * c2, clip=None)  # predicted labels, no clipping (SN repo)
        with torch.no_grad():
            logits = model(x_adv)
        assert row[f"{split}_adv_acc"] == pytest.approx((logits.argmax(1) == y).float().mean().item(), abs=1e-6)
        if split == "train":
            np.testing.assert_allclose(m, margins(logits, y).double().numpy(), rtol=1e-5, atol=1e-5)
    # the margin normalizer Γ is at least the capacity term ∏ s_k, which SN caps at β^depth
    assert 0 < row["spectral_product"] <= 2.0 ** 4 * 1.01 and row["normalizer"] >= row["spectral_product"]
    assert row["normalized_margin_median"] == pytest.approx(row["margin_median"] / row["normalizer"])


def test_val_must_fit_the_validation_split(digits_artifact, tmp_path):
    spec = {"arch": "mlp", "in_channels": 1, "image_size": 28, "widths": [16], "num_classes": 10}
    train_job(digits_artifact, spec, "clean", {}, TrainSettings(epochs=1, batch_size=100, lr=1e-3, seed=0),
          tmp_path / "m.pt", tmp_path / "h.csv", tmp_path / "ck.pt", device="cpu", log=lambda *a: None)
    with pytest.raises(ValueError, match="sn_experiments.val=300 exceeds the 100 validation images"):
        evaluate_sn_model(tmp_path / "m.pt", digits_artifact, val=300, train_eval=100, max_test=None, batch_size=64)


def _row(scheme, beta, val, train=0.9, test=0.8, seed=0):
    return {"method": {"ERM": "clean", "FGM": "fgm_l2"}[scheme], "scheme": scheme, "beta": beta, "seed": seed, "train_adv_acc": train, "val_adv_acc": val,
            "test_adv_acc": test, "gap": train - test, "spectral_product": 1.0}


def test_best_beta_is_the_validation_argmax_including_inf():
    rows = [_row("FGM", "inf", 0.50, 0.99, 0.54), _row("FGM", "1.6", 0.62, 0.93, 0.63), _row("FGM", "4", 0.55),
            _row("ERM", "inf", 0.99, 1.0, 0.987), _row("ERM", "4", 0.99),  # a tie: no SN wins
            _row("FGM", "1.6", 0.60, 0.95, 0.61, seed=1), _row("FGM", "inf", 0.52, 0.97, 0.52, seed=1)]
    df = sweep_table(rows, ["clean", "fgm_l2"], ["1.6", "4", "inf"])
    assert list(df["scheme"].astype(str)) == ["ERM", "ERM", "FGM", "FGM", "FGM", "FGM", "FGM"]
    best = best_beta(df).set_index("scheme")
    assert best.loc["FGM", "beta_star"] == "1.6" and best.loc["ERM", "beta_star"] == "inf"
    # seeds are averaged before choosing
    assert best.loc["FGM", "gap_sn"] == pytest.approx(((0.93 - 0.63) + (0.95 - 0.61)) / 2)
    assert best.loc["FGM", "gap_no_sn"] == pytest.approx(((0.99 - 0.54) + (0.97 - 0.52)) / 2)

    ref = pd.DataFrame([{"dataset": "cifar10", "arch": "alexnet", "scheme": "FGM", "beta_star": "1.6",
                         "train_no_sn": 0.9831, "val_no_sn": 0.532, "test_no_sn": 0.5441,
                         "train_sn": 0.9318, "val_sn": 0.618, "test_sn": 0.6283}])
    out = with_published(best.reset_index(), ref, "cifar10", "alexnet").set_index("scheme")
    assert out.loc["FGM", "paper_gap_no_sn"] == pytest.approx(0.9831 - 0.5441)
    assert math.isnan(out.loc["ERM", "paper_gap_sn"])  # no published row: left empty, not invented
    assert with_published(best.reset_index(), ref, "mnist", "elunet")["paper_test_sn"].isna().all()


def test_best_beta_reads_validation_only():
    """β* must not move when only the test (or training) accuracies change: selection sees no
    test image."""
    rows = [_row("FGM", b, v) for b, v in (("inf", 0.50), ("1", 0.58), ("2", 0.61))]
    picked = best_beta(sweep_table(rows, ["fgm_l2"], ["1", "2", "inf"]))["beta_star"].tolist()
    rng = np.random.default_rng(0)
    for _ in range(5):
        shuffled = [{**r, "test_adv_acc": t, "train_adv_acc": tr, "gap": tr - t}
                    for r, t, tr in zip(rows, rng.random(3), rng.random(3))]
        assert best_beta(sweep_table(shuffled, ["fgm_l2"], ["1", "2", "inf"]))["beta_star"].tolist() == picked == ["2"]
