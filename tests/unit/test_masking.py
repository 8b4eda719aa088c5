"""Tests of advreg.jobs.masking: a model that masks its gradients (input quantization through
torch.round, zero gradient almost everywhere) is flagged; the same model without it is not."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from advreg.attacks import strong as S
from advreg.jobs import masking as M
from advreg.jobs.masking_tables import flags

PGD = {"eps_255": 21, "steps": 20, "step_size_255": 3}     # the "paper attack" of these tests
SWEEP = [7, 14, 21, 128]                                  # 128/255: every pixel can reach 0.5
ENSEMBLE = [{"kind": "apgd_ce", "steps": 20}, {"kind": "square", "queries": 300}]


class Quantize(nn.Module):
    """x -> round(4x)/4: the gradient is zero almost everywhere (gradient masking by design)."""

    def forward(self, x):
        return torch.round(4 * x) / 4


@pytest.fixture(scope="module")
def data_and_net(synthetic_mlp):
    net, x, y = synthetic_mlp
    return x, y, net


def _diagnose(model, x, y):
    model.eval()
    measured = M.measure(model, x, y, SWEEP, PGD["eps_255"], PGD, ENSEMBLE[:1], steps_factor=10,
                         restarts=2, batch_size=100)
    out = S.strong_attack(model, x, y, PGD["eps_255"] / 255, ENSEMBLE, batch_size=100)
    strong = {"n": len(x), "steps": out["steps"], "strong_acc": 100 * out["robust"].float().mean().item(),
              "paper_acc": measured["pgd"]}
    return measured, flags(measured, strong, None, tol=2.0, gap_tol=5.0)


def test_undefended_model_is_not_flagged(data_and_net):
    x, y, net = data_and_net
    measured, f = _diagnose(net, x, y)
    assert measured["sweep"][-1]["paper_attack"] < 10       # destroyed at 128/255
    assert not f["any_flag"], f


def test_quantized_model_is_flagged(data_and_net):
    x, y, net = data_and_net
    measured, f = _diagnose(nn.Sequential(Quantize(), net), x, y)
    assert f["any_flag"]
    # gradients are zero: neither PGD nor APGD moves, so accuracy at 128/255 (where any image can
    # be turned mid-grey) stays far above chance
    assert f["no_chance_at_destroy_paper_attack"] and f["no_chance_at_destroy_strong"]
    assert measured["sweep"][-1]["paper_attack"] > 50


def test_flags_from_synthetic_measurements():
    sweep = [{"eps_255": 8, "paper_attack": 80, "strong": 70}, {"eps_255": 32, "paper_attack": 85, "strong": 60},
             {"eps_255": 128, "paper_attack": 40, "strong": 5}]
    measured = {"sweep": sweep, "pgd": 85, "pgd_long": 75}
    strong = {"n": 100, "steps": [{"attack": "apgd_ce(100)", "black_box": False, "broken": 20}, {"attack": "square(300)", "black_box": True, "broken": 1}],
              "paper_acc": 85, "strong_acc": 60}
    f = flags(measured, strong, {"a": 90.0, "b": 82.0, "__self__": 85.0}, tol=2, gap_tol=5)
    assert f["not_monotone_paper_attack"] and not f["not_monotone_strong"]
    assert f["no_chance_at_destroy_paper_attack"] and not f["no_chance_at_destroy_strong"]
    assert f["more_steps_help"] and f["strong_gap"]
    assert f["square_breaks"] == 1.0 and f["best_transfer_minus_whitebox"] == -3.0 and f["black_box_stronger"]
