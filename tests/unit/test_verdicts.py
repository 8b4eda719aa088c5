"""Tests of advreg.jobs.verdicts: the verdict rule, and claims computed from synthetic tables give the
verdicts their numbers imply (supported / contradicted / inconclusive)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from advreg.jobs import verdicts as V


def test_rule():
    assert V.verdict(3.0, 1.0) == V.SUPPORTED
    assert V.verdict(-3.0, 1.0) == V.CONTRADICTED
    assert V.verdict(0.5, 1.0) == V.INCONCLUSIVE            # the interval contains the threshold
    assert V.verdict(3.0, math.nan) == V.INCONCLUSIVE       # one seed: no interval
    assert V.verdict(-3.0, 1.0, threshold=-5) == V.SUPPORTED
    assert V.verdict(-6.5, 1.0, threshold=-5) == V.CONTRADICTED


def _rows(acc: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """Per-seed robustness rows: model -> [(paper attack, strong), one per seed]."""
    return pd.DataFrame([{"model": m, "seed": s, "eps_255": "32", "n": 1000, "clean": 99.0,
                          "paper_attack": p, "strong": st, "difference": p - st, "cost_ratio": 5.0}
                         for m, vals in acc.items() for s, (p, st) in enumerate(vals)])


def test_robustness_claims_from_synthetic_table():
    rows = _rows({"clean": [(70, 60), (72, 61), (71, 62)],
                  "gn": [(85, 75), (86, 74), (84, 76)],          # +14 under both: supported
                  "sgr_sign": [(80, 59), (82, 64), (81, 60)],    # +10 paper, ≈ 0 strong: inconclusive
                  "pgd": [(95, 93), (96, 94), (95, 93)]})
    ref = pd.DataFrame({"clean": [24.7, 0, 0, 0], "gn": [0, 88.9, 0, 0], "sgr_sign": [0, 0, 86.9, 0],
                        "pgd": [0, 0, 0, 98.2]}, index=["clean", "gn", "sgr_sign", "pgd"])
    recs = {r["claim"].split(" (effect")[0].split(":")[0]: r for r in V.robustness_claims("mnist", rows, ref, pgd_gap=5)}
    gn = recs["GN raises white-box robustness over clean"]
    assert (gn["verdict_paper_setting"], gn["verdict_strong_attack"], gn["verdict"]) == (V.SUPPORTED,) * 3
    assert gn["paper_value"] == pytest.approx(64.2) and gn["seeds"] == 3 and gn["images"] == 1000
    sgr = recs["SGR (sign) raises white-box robustness over clean"]
    assert sgr["verdict_paper_setting"] == V.SUPPORTED and sgr["verdict_strong_attack"] == V.INCONCLUSIVE
    assert sgr["verdict"] == V.INCONCLUSIVE                 # the strong attack decides
    vs_gn = recs["SGR is at least as robust as GN"]
    assert vs_gn["verdict_paper_setting"] == V.CONTRADICTED and vs_gn["verdict"] == V.CONTRADICTED
    assert vs_gn["effect_paper_setting"].startswith("-4.0 ±")
    near_pgd = recs["SGR approaches PGD training"]
    assert near_pgd["verdict"] == V.CONTRADICTED and near_pgd["threshold"] == -5


def test_lrc_structure_and_sn_claims_from_synthetic_tables():
    lrc = pd.DataFrame([{"noise": "lrc", "zeta": z, "eps": 0.3, "k": 5, "worst_of_k_acc": acc, "n": 500,
                         "seed": s, "model": m}
                        for s in range(3) for z, g_acc, s_acc in ((1, 60, 60 + s % 2), (16, 40, 55 + s))
                        for m, acc in (("gn", g_acc), ("sgr_sign", s_acc))])
    long_, conv = V.lrc_claims("mnist", lrc)
    assert long_["verdict"] == V.SUPPORTED and long_["effect_paper_setting"].startswith("16.0 ±")
    assert conv["verdict"] == V.SUPPORTED
    decay = pd.DataFrame([{"source": src, "decay_length": d + 0.1 * s, "n": 1000, "seed": s}
                          for s in range(3) for src, d in (("data", 2.0), ("pgd ε=32", 3.0 - 0.4 * s))])
    (st,) = V.structure_claims("mnist", decay)
    # per seed −1.0, −0.6, −0.2: mean −0.6 ± 0.99 (t with 2 d.o.f.): the interval contains 0
    assert st["verdict"] == V.INCONCLUSIVE
    sweep = pd.DataFrame([{"scheme": "FGM", "beta": b, "seed": s, "gap": g + 0.001 * s, "n_test": 1000}
                          for s in range(3) for b, g in ((1.0, 0.02), (math.inf, 0.10))])
    gen = pd.DataFrame([{"scheme": "FGM", "beta_star": math.inf, "paper_gap_no_sn": 0.0171,
                         "paper_gap_sn": 0.0222, "paper_beta_star": 4.0}])
    gap, beta = V.sn_claims("mnist", sweep, gen)
    assert gap["verdict"] == V.SUPPORTED and gap["effect_paper_setting"].startswith("8.0")
    assert gap["paper_value"] == pytest.approx(-0.51)
    assert beta["verdict"] == V.CONTRADICTED and beta["effect_paper_setting"] == "β* = inf"
    # a dataset the paper did not run: no published gap or β*, shown as "–" (never "nan")
    gen_new = gen.assign(paper_gap_no_sn=float("nan"), paper_gap_sn=float("nan"), paper_beta_star=float("nan"))
    gap, beta = V.sn_claims("fashion_mnist", sweep, gen_new)
    assert gap["paper_value"] == "–" and beta["paper_value"] == "–"
