"""Tests of advreg.jobs.strong: the strong-evaluation job on synthetic data (paper attack
re-measured on the same images, worst case per image) and the seed-statistics table."""
from __future__ import annotations

import json
import math

import pytest
import torch

from advreg.claims.statistics import fmt_ci, mean_ci
from advreg.jobs import strong as SE
from advreg.jobs import strong_tables as ST
from advreg.jobs.attack import make_adversarial_set
from advreg.nn.models import build_model, save_model

WIDTHS = [4, 4, 8, 8, 16, 16]
SPEC = {"arch": "cw", "in_channels": 1, "image_size": 28, "widths": WIDTHS, "num_classes": 10}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A synthetic 10-class 28×28 dataset artifact and a small CW CNN trained on it briefly."""
    d = tmp_path_factory.mktemp("strong")
    g = torch.Generator().manual_seed(0)
    templates = torch.rand(10, 1, 28, 28, generator=g)
    y = torch.arange(300) % 10
    x = (0.5 * templates[y] + 0.5 * torch.rand(300, 1, 28, 28, generator=g)).clamp(0, 1)
    x8 = (x * 255).round().to(torch.uint8)
    torch.save({"x_train": x8[:200], "y_train": y[:200], "x_val": x8[200:220], "y_val": y[200:220],
                "x_test": x8[220:], "y_test": y[220:],
                "meta": {"dataset": "mnist", "split": "official", "split_description": "synthetic",
                         "counts": {"train": 200, "val": 20, "test": 80}}}, d / "data.pt")
    torch.manual_seed(0)
    model = build_model("cw", 1, 28, WIDTHS)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt = x8[:200].float() / 255
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), y[:200]).backward()
        opt.step()
    save_model(d / "model.pt", model.eval(), SPEC, {"n_train": 200})
    cfg = {"steps": 5, "step_size_255": 4}
    make_adversarial_set(d / "model.pt", d / "data.pt", "pgd", cfg, "16", d / "pgd.pt", d / "pgd.json",
                         batch_size=50, max_test=80, device="cpu", source="clean")
    return d


def test_job_pairs_paper_and_strong_on_the_same_images(artifacts):
    d = artifacts
    ens = [{"kind": "apgd_ce", "steps": 10}, {"kind": "square", "queries": 30}]
    m = SE.evaluate_strong(d / "model.pt", d / "data.pt", d / "pgd.pt", d / "pgd.json", "16", ens,
                           d / "strong.json", batch_size=50, max_test=60, device="cpu", source="clean")
    assert json.loads((d / "strong.json").read_text())["strong_acc"] == m["strong_acc"]
    assert m["n"] == 60 and len(m["robust"]) == 60 and m["ensemble"] == ["apgd_ce(10)", "square(30)"]
    assert m["clean_acc"] > 30                                   # a model worth attacking
    assert m["strong_acc"] == 100 * m["robust"].count("1") / 60
    assert m["worst_acc"] <= min(m["paper_acc"], m["strong_acc"])
    assert m["strong_acc"] <= m["clean_acc"]
    # paper attack re-measured on the first 60 of its 80 images: same as the whole-set number when
    # asked for all 80
    full = SE.evaluate_strong(d / "model.pt", d / "data.pt", d / "pgd.pt", d / "pgd.json", "16", ens[:1],
                              d / "strong80.json", batch_size=50, max_test=80, device="cpu", source="clean")
    assert full["paper_acc"] == pytest.approx(json.loads((d / "pgd.json").read_text())["whitebox_acc"])
    assert full["paper_seconds"] == pytest.approx(json.loads((d / "pgd.json").read_text())["seconds"], abs=1e-3)


def test_more_images_than_the_paper_attack_is_an_error(artifacts):
    d = artifacts
    with pytest.raises(ValueError, match="holds 80 adversarial examples.*needs 100"):
        SE.evaluate_strong(d / "model.pt", _bigger(d), d / "pgd.pt", d / "pgd.json", "16",
                           [{"kind": "apgd_ce", "steps": 1}], d / "x.json", 50, max_test=100,
                           device="cpu", source="clean")
    assert not (d / "x.json").exists()


def _bigger(d):
    """The same artifact with 100 test images (the adversarial set holds 80)."""
    blob = torch.load(d / "data.pt", weights_only=True)
    blob["x_test"] = torch.cat([blob["x_test"], blob["x_test"][:20]])
    blob["y_test"] = torch.cat([blob["y_test"], blob["y_test"][:20]])
    torch.save(blob, d / "data100.pt")
    return d / "data100.pt"


def test_mean_ci_is_the_student_t_interval():
    m, h, n = mean_ci([70.0, 74.0])
    assert (m, n) == (72.0, 2) and h == pytest.approx(12.7062 * math.sqrt(8) / math.sqrt(2), rel=1e-4)
    m, h, n = mean_ci([1.0, 2.0, 3.0])
    assert h == pytest.approx(4.3027 * 1.0 / math.sqrt(3), rel=1e-4)
    assert math.isnan(mean_ci([5.0])[1]) and fmt_ci(*mean_ci([5.0])[:2]) == "5.0"
    assert fmt_ci(72.04, 1.26) == "72.0 ± 1.3"


def test_table_orders_models_and_gives_intervals():
    rec = lambda src, paper, strong, s: {"source": src, "seed": s, "eps_255": "32", "n": 500, "clean_acc": 99.0,  # noqa: E731
                                         "paper_acc": paper, "strong_acc": strong, "seconds": 20.0,
                                         "paper_seconds": 2.0}
    metrics = [rec("pgd", 90, 85, 0), rec("pgd", 92, 86, 1), rec("clean", 70, 60, 0), rec("clean", 72, 64, 1)]
    rows = ST.robustness_rows(metrics)
    assert list(rows["seed"]) == [0, 1, 0, 1]   # each record carries its own seed
    assert list(rows["difference"]) == [5, 6, 10, 8] and (rows["cost_ratio"] == 10).all()
    t = ST.robustness_table(rows, ["clean", "pgd"])
    assert list(t.index) == ["clean", "pgd"]
    assert t.loc["clean", "strong_mean"] == 62.0 and t.loc["clean", "seeds"] == 2
    assert t.loc["clean", "strong"] == fmt_ci(62.0, 12.7062 * 2.8284271 / math.sqrt(2))
    assert t.loc["pgd", "difference_mean"] == 5.5 and t.loc["pgd", "images"] == 500
