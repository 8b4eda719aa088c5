"""Tables over seeds: cell-wise mean and t-interval, the interval-based paper comparison, grouped
sweeps, and the SN table's intervals (advreg.jobs.seed_tables)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from advreg.jobs.seed_tables import (SeedTableError, ci_cells, compare_to_paper, grouped_ci, seed_columns_ci,
                                     sn_best_ci, stack, wide, write_grouped)


def _frame(values):
    return pd.DataFrame(values, index=pd.Index(["clean", "gn"], name="model"), columns=["test", "pgd eps=32"])


def _half(v):   # the 95 % t-interval half-width written out
    v = np.asarray(v, float)
    return stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))


def test_stack_is_the_cellwise_mean_and_t_interval():
    frames = {0: _frame([[99.0, 10.0], [98.0, 60.0]]), 1: _frame([[98.0, 14.0], [97.0, 70.0]]),
              2: _frame([[97.0, 12.0], [99.0, 65.0]])}
    mean, half, n = stack(frames)
    assert n == 3
    assert mean.loc["gn", "pgd eps=32"] == pytest.approx(65.0)
    assert half.loc["gn", "pgd eps=32"] == pytest.approx(_half([60, 70, 65]))
    assert half.loc["clean", "test"] == pytest.approx(_half([99, 98, 97]))   # = 2.48
    assert ci_cells(mean, half).loc["clean", "pgd eps=32"] == f"12.0 ± {_half([10, 14, 12]):.1f}"
    w = wide(mean, half, n)
    assert list(w.columns) == ["test", "test ci95", "pgd eps=32", "pgd eps=32 ci95", "seeds"]
    assert (w["seeds"] == 3).all()


def test_stack_of_one_seed_has_no_interval():
    mean, half, n = stack({4: _frame([[99.0, 10.0], [98.0, 60.0]])})
    assert n == 1 and half.isna().all().all() and mean.loc["gn", "test"] == 98.0
    assert ci_cells(mean, half).loc["gn", "test"] == "98.0"


def test_stack_refuses_tables_of_different_layout():
    other = _frame([[1.0, 2.0], [3.0, 4.0]]).rename(index={"gn": "sgr_sign"})
    with pytest.raises(SeedTableError, match="seed 1's table has rows"):
        stack({0: _frame([[1.0, 2.0], [3.0, 4.0]]), 1: other})


def test_comparison_flags_only_outside_the_widened_interval():
    idx = pd.Index(["clean", "gn"])
    mean = pd.DataFrame([[97.0, 60.0, 80.0], [96.0, 70.0, 75.0]], index=idx, columns=["test", "clean", "gn"])
    half = pd.DataFrame([[1.0, 10.0, 2.0], [1.0, 3.0, 4.0]], index=idx, columns=mean.columns)
    paper = pd.DataFrame([[99.4, 24.7, 95.8],      # test: 2.4 away ≤ 1 + 5; clean: 35.3 away > 15
                          [99.1, 68.0, 64.2]],     # gn white-box: 10.8 away > 4 + 5 → flagged
                         index=idx, columns=mean.columns)
    table, summary = compare_to_paper(mean, half, 3, paper, tolerance=5.0)
    flagged = set(zip(table.loc[table["flagged"], "target_model"], table.loc[table["flagged"], "source"]))
    # clean/gn: 15.8 away > 2 + 5; gn/clean: 2 away ≤ 3 + 5
    assert flagged == {("clean", "clean"), ("clean", "gn"), ("gn", "gn")}
    assert summary["flagged"] == 3 and summary["seeds"] == 3
    # a wider interval un-flags a cell the tolerance alone would flag
    half.loc["gn", "gn"] = 6.0
    table, _ = compare_to_paper(mean, half, 3, paper, tolerance=5.0)
    assert not table[(table["target_model"] == "gn") & (table["source"] == "gn")]["flagged"].item()
    # gains over clean: ours gn 75 − 60 > 0, paper 64.2 − 24.7 > 0: same sign
    assert summary["whitebox_gain_sign_agreement"] == "1/1"


def test_grouped_ci_pools_the_seeds_of_each_sweep_point():
    df = pd.DataFrame({"model": ["gn"] * 6, "zeta": [1, 1, 1, 16, 16, 16], "seed": [0, 1, 2] * 2,
                       "worst_of_k_acc": [50.0, 54.0, 52.0, 80.0, 80.0, 80.0]})
    out = grouped_ci(df, ["model", "zeta"], ["worst_of_k_acc"])
    assert list(out["zeta"]) == [1, 16] and list(out["seeds"]) == [3, 3]
    assert out["worst_of_k_acc"].tolist() == [52.0, 80.0]
    assert out["worst_of_k_acc_ci95"].iloc[0] == pytest.approx(_half([50, 54, 52]))
    assert out["worst_of_k_acc_ci95"].iloc[1] == 0.0
    # a point whose key is NaN (the data-covariance noise has no ζ) is kept, not dropped
    data = pd.DataFrame({"model": ["gn"] * 2, "zeta": [math.nan] * 2, "seed": [0, 1], "worst_of_k_acc": [30.0, 34.0]})
    out = grouped_ci(pd.concat([df, data]), ["model", "zeta"], ["worst_of_k_acc"])
    assert len(out) == 3 and out["zeta"].isna().iloc[2] and out["worst_of_k_acc"].iloc[2] == 32.0
    with pytest.raises(SeedTableError, match="no column.*'eps'"):
        grouped_ci(df, ["model", "eps"], ["worst_of_k_acc"])


def test_write_grouped_writes_the_pooled_table_and_names_its_seeds(tmp_path):
    per_seed = [pd.DataFrame({"model": ["gn", "gn"], "zeta": [1, 16], "worst_of_k_acc": [a, b]})
                for a, b in [(50.0, 80.0), (54.0, 80.0), (52.0, 80.0)]]
    out = {e: tmp_path / f"lrc.{e}" for e in ("csv", "md", "html")}
    text = write_grouped(per_seed, ["model", "zeta"], ["worst_of_k_acc"], [0, 1, 2], "LRC sweep; mnist",
                         out["csv"], out["md"], out["html"])
    csv = pd.read_csv(out["csv"])
    assert csv["worst_of_k_acc"].tolist() == [52.0, 80.0] and csv["seeds"].tolist() == [3, 3]
    assert "n = 3 seeds (0, 1, 2)" in text and "52.00 ±" in out["md"].read_text()
    one = write_grouped(per_seed[:1], ["model", "zeta"], ["worst_of_k_acc"], [0], "x", out["csv"], out["md"], out["html"])
    assert "one seed (0): no interval" in one


def test_seed_columns_gain_mean_and_interval():
    df = pd.DataFrame({"seed0": [96.9, 90.0], "seed1": [96.4, 92.0], "seed2": [96.9, 94.0]}, index=["clean", "gn"])
    out = seed_columns_ci(df, ["seed0", "seed1", "seed2"])
    assert out.loc["gn", "mean"] == pytest.approx(92.0)
    assert out.loc["gn", "ci95"] == pytest.approx(_half([90, 92, 94]))
    assert (out["seeds"] == 3).all()


def test_sn_table_intervals_are_over_the_seeds_at_each_beta():
    sweep = pd.DataFrame({"scheme": ["FGM"] * 4, "beta": ["inf", "inf", "1", "1"], "seed": [0, 1, 0, 1],
                          "train_adv_acc": [0.9, 0.92, 0.8, 0.82], "test_adv_acc": [0.8, 0.8, 0.78, 0.76],
                          "gap": [0.10, 0.12, 0.02, 0.06]})
    best = pd.DataFrame([{"scheme": "FGM", "beta_star": "1", "gap_no_sn": 0.11, "gap_sn": 0.04}])
    out = sn_best_ci(sweep, best)
    assert list(out.columns) == ["scheme", "beta_star", "gap_no_sn", "gap_no_sn_ci95", "gap_sn", "gap_sn_ci95", "seeds"]
    assert out.loc[0, "gap_no_sn_ci95"] == pytest.approx(_half([0.10, 0.12]))
    assert out.loc[0, "gap_sn_ci95"] == pytest.approx(_half([0.02, 0.06]))
    assert out.loc[0, "seeds"] == 2
