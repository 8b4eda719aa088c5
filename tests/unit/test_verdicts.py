"""Tests of the verdict arithmetic (advreg.claims.register) and the verdict job (advreg.jobs.verdicts) on
synthetic tables: both kinds of claim give each of the three verdicts their numbers imply, the
regime indicators say within/outside, inconclusive rows give the seeds that would settle them, and
a claim the run cannot test says why."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from advreg.claims import register as C
from advreg.jobs import verdicts as V

S, X, I = C.SUPPORTED, C.CONTRADICTED, C.INCONCLUSIVE


def test_superiority_rule():
    assert C.verdict("superiority", 3.0, 1.0, 0) == S
    assert C.verdict("superiority", -3.0, 1.0, 0) == X
    assert C.verdict("superiority", 0.5, 1.0, 0) == I                # the interval contains τ
    assert C.verdict("superiority", 3.0, math.nan, 0) == I           # one seed: no interval
    assert C.verdict("superiority", -3.0, 1.0, -5) == S              # non-inferiority: > −5
    assert C.verdict("superiority", 1.5, 0.2, 2.0, "below") == S     # claimed below τ
    assert C.verdict("superiority", 3.1, 0.2, 2.0, "below") == X


def test_equivalence_rule():
    assert C.verdict("equivalence", 0.5, 1.0, 5) == S                # [−0.5, 1.5] inside ±5
    assert C.verdict("equivalence", -9.0, 1.0, 5) == X               # wholly below −5
    assert C.verdict("equivalence", 7.0, 1.0, 5) == X                # wholly above +5
    assert C.verdict("equivalence", 4.5, 1.0, 5) == I                # straddles +5
    assert C.verdict("equivalence", 0.0, math.nan, 5) == I
    with pytest.raises(ValueError, match="claim kind 'maybe'"):
        C.verdict("maybe", 0, 1, 0)


def _decided_at(kind, mean, sd, n_seeds, threshold):
    return C.verdict(kind, mean, stats.t.ppf(0.975, n_seeds - 1) * sd / math.sqrt(n_seeds), threshold) != I


@pytest.mark.parametrize("kind,mean,sd,threshold,expected", [
    ("superiority", 2.0, 2.0, 0.0, 7),     # t(0.975, 6)·2/√7 = 1.85 < 2; t(0.975, 5)·2/√6 = 2.10
    ("equivalence", 1.0, 1.0, 5.0, 3),     # margin 4: t(0.975, 2)/√3 = 2.48 < 4
    ("equivalence", 8.0, 3.0, 5.0, 7),     # margin 3 outside ±5: t(0.975, N − 1)·3/√N < 3 as the first
])
def test_seeds_to_settle_is_the_smallest_n_that_decides(kind, mean, sd, threshold, expected):
    n = int(C.seeds_to_settle(kind, mean, sd, 3, threshold))
    assert _decided_at(kind, mean, sd, n, threshold) and not _decided_at(kind, mean, sd, n - 1, threshold)
    assert n == expected


def test_seeds_to_settle_edge_cases():
    assert C.seeds_to_settle("superiority", 1.0, math.nan, 1, 0).startswith("unknown: one seed")
    assert C.seeds_to_settle("superiority", 0.0, 1.0, 3, 0).startswith("never")
    assert C.seeds_to_settle("superiority", 0.01, 10.0, 3, 0, cap=50) == "> 50"


def test_regime_checks():
    assert C.check_indicator(99.2, 99.4, {"abs": 0.4}) == (True, "± 0.4")
    assert C.check_indicator(96.7, 99.4, {"abs": 0.4})[0] is False
    assert C.check_indicator(30.0, 24.7, {"max_over": 15})[0] and not C.check_indicator(45.0, 24.7, {"max_over": 15})[0]
    assert C.check_indicator(58000, 60000, {"min_ratio": 0.9})[0] and not C.check_indicator(8000, 60000, {"min_ratio": 0.9})[0]
    assert C.check_indicator(["inf", "1", "2", "4", "8", "16"], [math.inf, 1, 2, 4, 8, 16], {"covers": True})[0]
    assert not C.check_indicator(["1", "inf"], [math.inf, 1, 2, 4, 8, 16], {"covers": True})[0]
    assert C.check_indicator(3, 50, {"info": True}) == (None, "shown, not judged")
    assert C.check_indicator(None, 50, {"abs": 1})[0] is None


# ----------------------------------------------------------------------------- a synthetic run

REF = "mnist_pgd_eps-small_transfer.csv"   # clean 99.4 % clean, 24.7 % under PGD


def _write_run(tmp_path, robust: dict, clean_acc: float = 99.3) -> dict:
    """Per-seed robustness rows (model -> [(paper attack, strong) per seed]) and a clean-accuracy
    table as the pipeline writes them; returns the job's ``files``."""
    rows = [{"model": m, "seed": s, "eps_255": "32", "n": 1000, "clean": 99.0, "paper_attack": p,
             "strong": st, "difference": p - st, "cost_ratio": 5.0}
            for m, vals in robust.items() for s, (p, st) in enumerate(vals)]
    pd.DataFrame(rows).to_csv(tmp_path / "rob.csv", index=False)
    seeds = range(len(next(iter(robust.values()))))
    acc = pd.DataFrame({f"seed{s}": {m: clean_acc for m in robust} for s in seeds})
    acc["mean"], acc["ci95"], acc["seeds"] = clean_acc, 0.0, len(seeds)   # as the pipeline writes it
    acc.index.name = "method"
    acc.to_csv(tmp_path / "clean.csv")
    return {"robustness": {"mnist": str(tmp_path / "rob.csv")}, "clean_accuracy": {"mnist": str(tmp_path / "clean.csv")},
            "matrices": {}, "lrc": {}, "decay": {}, "histories": {}, "sn_sweep": {}, "sn_generalization": {}}


SETTINGS = {"datasets": {"mnist": {"widths": [32, 32, 64, 64, 200, 200], "epochs": 10, "arch": "cw",
                                   "training_images": 58000}},
            "sn": {}, "pgd_train_steps": 40, "max_test": 1000, "clean_max_test": 10000, "sgr_variants": {}, "lrc": {},
            "paper_attack_eps": {"mnist": ["32"]}}
REFS = {"mnist": {"32": REF}}


def _register(kind: str, models: list[str], baseline: str, threshold: float) -> dict:
    reg = C.load_register()
    return {"regimes": reg["regimes"], "table1_eps_255": reg["table1_eps_255"],
            "claims": [{"id": "synthetic", "paper": "SGR", "section": "4.4", "quote": "q", "datasets": ["mnist"],
                        "effect": {"name": "whitebox_gain", "args": {"models": models, "baseline": baseline}},
                        "unit": "accuracy points", "kind": kind, "direction": "above", "threshold": threshold,
                        "threshold_why": "test", "regime": "table1"}]}


def _verdicts(records) -> dict:
    return {r["case"].split(" − ")[0]: r for r in records}


def test_superiority_claims_from_synthetic_tables(tmp_path):
    files = _write_run(tmp_path, {"clean": [(28, 20), (30, 21), (29, 22)],
                                  "gn": [(85, 35), (86, 34), (84, 36)],        # +14 strong: supported
                                  "wdecay": [(20, 10), (21, 11), (19, 12)],    # −10: contradicted
                                  "sgr_sign": [(40, 19), (41, 25), (42, 20)]})  # +0.3 ± 8 strong: inconclusive
    recs, judged = V.claim_records(files, SETTINGS, REFS, ["mnist"], [],
                                   _register("superiority", ["gn", "wdecay", "sgr_sign"], "clean", 0.0))
    v = _verdicts(recs)
    assert (v["gn"]["verdict"], v["wdecay"]["verdict"], v["sgr_sign"]["verdict"]) == (S, X, I)
    assert v["sgr_sign"]["verdict_paper_setting"] == S          # the paper attack alone would say supported
    assert v["gn"]["paper_value"] == "+64.2" and v["gn"]["seeds"] == 3 and v["gn"]["images"] == 1000
    # the inconclusive row gives its seeds: strong effect −1, +4, −2 (mean 0.33, sd 3.2)
    n = int(v["sgr_sign"]["seeds_to_settle"])
    assert n > 3 and v["gn"]["seeds_to_settle"] == "–"
    # regime: clean model 99.3 % clean (paper 99.4 ± 0.4), 29 % under PGD (24.7 ± 15), 58,000 images, C&W widths
    assert v["gn"]["regime"] == "within" and v["gn"]["verdict_in_regime"] == "supported, within the paper's regime"
    assert "clean model, clean accuracy (%): 99.3 (paper 99.4, ± 0.4: within)" in v["gn"]["regime_indicators"]
    assert [j["dataset"] for j in judged] == ["mnist"]
    t = V.RunTables(files, SETTINGS, REFS, {"mnist": 32})
    (drop,) = V.clean_drop(t, "mnist", "gn", "clean")
    assert drop.paper == [0.0, 0.0, 0.0] and drop.paper_value == 0.0      # three seeds, not the `seeds` column
    assert drop.images == 10000   # the clean table's images (evaluation.clean_max_test), not the attacks'
    # judged at the paper's Table-1 ε: a run that does not attack at it cannot test the claim
    t = V.RunTables(files, {**SETTINGS, "paper_attack_eps": {"mnist": ["76.5"]}}, REFS, {"mnist": 32})
    with pytest.raises(V.NotTested, match="the paper judges this at ε = 32/255 on mnist; the run attacks at 76.5"):
        V.whitebox_gain(t, "mnist", ["gn"], "clean")


def test_equivalence_claims_from_synthetic_tables(tmp_path):
    files = _write_run(tmp_path, {"sgr_sign": [(80, 60), (81, 61), (82, 62)],
                                  "sgr_grad": [(80, 60.5), (81, 61.4), (82, 62.3)],   # +0.4 ± 0.4: supported
                                  "fgsm_sgr": [(70, 48), (71, 49), (72, 50.2)],       # −11.9: contradicted
                                  "pgd_sgr": [(84, 63), (85, 66), (86, 67)],          # +4.3 ± 5: inconclusive
                                  "clean": [(60, 50), (61, 52), (62, 51)]},           # 61 % under PGD
                       clean_acc=96.7)
    recs, judged = V.claim_records(files, SETTINGS, REFS, ["mnist"], [],
                                   _register("equivalence", ["sgr_grad", "fgsm_sgr", "pgd_sgr"], "sgr_sign", 5.0))
    v = _verdicts(recs)
    assert (v["sgr_grad"]["verdict"], v["fgsm_sgr"]["verdict"], v["pgd_sgr"]["verdict"]) == (S, X, I)
    assert v["pgd_sgr"]["test"] == "equivalence: effect within ± 5 accuracy points"
    assert int(v["pgd_sgr"]["seeds_to_settle"]) > 3
    # outside the regime: the verdict says so, naming the indicators out of tolerance
    x = v["fgsm_sgr"]["verdict_in_regime"]
    assert x.startswith("contradicted, outside the paper's regime: ")
    assert "clean model, clean accuracy (%) 96.7 (paper 99.4, ± 0.4)" in x
    assert "paper-attack accuracy at the claim's ε (%) 61.0 (paper 24.7, ± 15)" in x
    lines = V.regime_lines(judged)
    assert lines[0].startswith("**SGR paper (Roth et al. 2018)**: mnist: 2 of 5 regime indicators within")
    assert lines[1] == "**SN paper (Farnia et al. 2019)**: no claim of it was tested in this run."


def test_claims_the_run_cannot_test_say_why(tmp_path):
    files = _write_run(tmp_path, {"clean": [(28, 20)], "sgr_sign": [(40, 30)]})
    reg = C.load_register()
    recs, _ = V.claim_records(files, SETTINGS, REFS, ["mnist"], [], reg)
    by_id = {}
    for r in recs:
        by_id.setdefault(r["id"], []).append(r)
    # a CIFAR-10 claim in an MNIST run, an SN claim without SN experiments, a model not trained
    (cifar,) = by_id["sgr-4.4-pgd-tradeoff"]
    assert cifar["verdict"] == C.NOT_TESTED and cifar["dataset"] == "cifar10"
    assert "the paper makes this claim about cifar10; this run has mnist" in cifar["verdict_in_regime"]
    assert {r["verdict"] for r in by_id["sn-gap"]} == {C.NOT_TESTED}
    # a model the run lacks (gn) is a case that says so, beside the measured one (sgr_sign)
    kept = {r["case"]: r for r in by_id["sgr-4.4-clean-accuracy-kept"] if r["dataset"] == "mnist"}
    assert kept["sgr_sign − clean, clean test accuracy"]["verdict"] == I
    assert kept["gn − clean, clean test accuracy"]["verdict"] == C.NOT_TESTED
    assert "needs the model gn" in kept["gn − clean, clean test accuracy"]["verdict_in_regime"]
    transfer = [r for r in by_id["sgr-4.4-variants-equal-transfer"] if r["dataset"] == "mnist"][0]
    assert "no transfer matrix" in transfer["verdict_in_regime"]
    # a general claim the paper measured on CIFAR-10 only: judged on MNIST, not counted (paper_dataset)
    assert {(r["dataset"], r["paper_dataset"]) for r in by_id["sgr-4.2-short-range"]} == {("mnist", False),
                                                                                          ("cifar10", True)}
    # a claim about MNIST and CIFAR-10 in an MNIST run: its CIFAR-10 row says why it is not tested
    assert {r["dataset"] for r in by_id["sgr-4.4-transfer-clean-row"]} == {"mnist", "cifar10"}
    assert {r["dataset"] for r in by_id["sn-test-gain"]} == {"mnist", "cifar10", "svhn"}
    (full,) = [r for r in by_id["sgr-4.4-covariance-function"] if r["dataset"] == "mnist"]
    assert "representation: full" in full["verdict_in_regime"]
    # one seed: every measured row is inconclusive and says a second seed is needed
    (wb, *_) = [r for r in by_id["sgr-4.4-mnist-whitebox"] if r["verdict"] != C.NOT_TESTED]
    assert wb["verdict"] == I and wb["seeds_to_settle"].startswith("unknown: one seed")
    assert set(by_id) == {e["id"] for e in reg["claims"]}      # every entry has a row


def test_lrc_structure_overhead_and_sn_effects(tmp_path):
    lrc = pd.DataFrame([{"noise": "lrc", "zeta": z, "eps": 0.3, "k": 100, "worst_of_k_acc": acc, "mean_single_acc": acc,
                         "n": 500, "seed": s, "model": m}
                        for s in range(3) for z, g_acc, s_acc in ((1, 60, 60 + s % 2), (16, 40, 55 + s))
                        for m, acc in (("gn", g_acc), ("sgr_sign", s_acc))])
    decay = pd.DataFrame([{"source": src, "decay_length": d + 0.1 * s, "n": 1000}
                          for s in range(3) for src, d in (("data", 2.0), ("pgd ε=32", 3.0 - 0.4 * s))])
    files = {"lrc": {"mnist": {}}, "decay": {"mnist": {}}, "histories": {"mnist": {"sgr_sign": {}, "clean": {}, "pgd": {}}},
             "sn_sweep": {}, "sn_generalization": {}}
    for s in range(3):
        lrc[lrc["seed"] == s].to_csv(tmp_path / f"lrc{s}.csv", index=False)
        files["lrc"]["mnist"][str(s)] = str(tmp_path / f"lrc{s}.csv")
        decay.iloc[2 * s:2 * s + 2].to_csv(tmp_path / f"decay{s}.csv", index=False)
        files["decay"]["mnist"][str(s)] = str(tmp_path / f"decay{s}.csv")
        for m, sec in (("clean", 10.0), ("sgr_sign", 24.0 + s), ("pgd", 100.0)):
            pd.DataFrame({"epoch": [1, 2, 3], "seconds": [sec, sec, sec * 3]}).to_csv(tmp_path / f"h{m}{s}.csv", index=False)
            files["histories"]["mnist"][m][str(s)] = str(tmp_path / f"h{m}{s}.csv")
    sweep = pd.DataFrame([{"scheme": sc, "beta": b, "seed": s, "train_adv_acc": tr, "val_adv_acc": va,
                           "test_adv_acc": te + 0.001 * s, "gap": tr - te - 0.001 * s, "n_test": 1000, "n_val": 500}
                          for s in range(3) for sc, rows in
                          (("ERM", ((math.inf, 0.999, 0.99, 0.987), (4.0, 0.999, 0.99, 0.986))),   # tie: β* = ∞
                           ("FGM", ((math.inf, 0.98, 0.90 + 0.1 * (s == 2), 0.90), (4.0, 0.97, 0.95, 0.95))))
                          for b, tr, va, te in rows])
    best = pd.DataFrame([{"scheme": "ERM", "beta_star": "inf", "paper_beta_star": "inf", "paper_test_no_sn": 0.9867,
                          "paper_test_sn": 0.9867, "paper_gap_no_sn": 0.012, "paper_gap_sn": 0.012},
                         {"scheme": "FGM", "beta_star": "4", "paper_beta_star": 4.0, "paper_test_no_sn": 0.9662,
                          "paper_test_sn": 0.974, "paper_gap_no_sn": 0.0171, "paper_gap_sn": 0.0222}])
    sweep.to_csv(tmp_path / "sweep.csv", index=False)
    best.to_csv(tmp_path / "best.csv", index=False)
    files["sn_sweep"]["mnist"], files["sn_generalization"]["mnist"] = str(tmp_path / "sweep.csv"), str(tmp_path / "best.csv")
    t = V.RunTables(files, {**SETTINGS, "sn": {"mnist": {"training_images": 55000, "epochs": 25}}}, {})

    long_, no_lrc = V.lrc_gap_longest(t, "mnist", "sgr_sign", ["gn", "lrc"])   # no lrc model: a case says so
    assert long_.paper == [15.0, 16.0, 17.0] and no_lrc.untested and not no_lrc.paper
    (by_zeta,) = V.lrc_gap_by_zeta(t, "mnist", "sgr_sign", "gn")   # "consistently": a case per ζ but the shortest
    assert by_zeta.paper == [15.0, 16.0, 17.0] and by_zeta.magnitude_applies   # "over 25 % … with ζ ~ 16"
    (short,) = V.lrc_gap_shortest(t, "mnist", "sgr_sign", "gn")               # convergence as ζ → 0
    assert short.paper == [0.0, 1.0, 0.0] and "ζ = 1," in short.case
    (st,) = V.decay_shorter(t, "mnist")
    assert st.paper == pytest.approx([-1.0, -0.6, -0.2])    # data 2.0 + 0.1 s, pgd 3.0 − 0.3 s
    (cost,) = V.epoch_time_ratio(t, "mnist", "pgd", "sgr_sign")
    assert cost.paper == pytest.approx([100 / 24, 100 / 25, 100 / 26])   # medians per epoch
    # β* per seed on the *other* seeds' validation (cross-fitted): seeds 0 and 1 see seed 2's ∞
    # validate as well as β = 4 (a tie: ∞), seed 2 sees seeds 0 and 1, where β = 4 validates best
    assert V.seed_beta_star(sweep, "FGM") == {0: "inf", 1: "inf", 2: "4"}
    assert V.seed_beta_star(sweep, "ERM") == {0: "inf", 1: "inf", 2: "inf"}      # a tie goes to ∞
    gain, no_pgm = V.sn_test_gain(t, "mnist", {"mnist": ["FGM", "PGM"]})   # PGM not in the run: a case says so
    assert no_pgm.untested == "needs the SN scheme PGM, not in this run"
    assert gain.paper == pytest.approx([0.0, 0.0, 5.0]) and gain.paper_value == pytest.approx(0.78)
    assert gain.case == "FGM: at β* (per seed: ∞, ∞, 4) − at β = ∞"   # ∞, not inf (issue 41)
    # the paper's finite β* (4), fixed in advance, judged on test: +5 points in every seed
    (finite,) = V.sn_finite_beta_gain(t, "mnist", {"mnist": ["FGM"]})
    assert finite.paper == pytest.approx([5.0, 5.0, 5.0]) and finite.paper_value == pytest.approx(0.78)
    assert finite.case == "FGM: test at the paper's β* = 4 − at β = ∞"
    (erm_finite,) = V.sn_finite_beta_gain(t, "mnist", {"mnist": ["ERM"]})      # the paper's MNIST ERM β* is ∞
    assert erm_finite.untested and "is ∞" in erm_finite.untested
    # a grid without the paper's β* does not test it (the evidence preset's β ∈ {1, ∞} against 4)
    sweep1 = sweep.assign(beta=sweep["beta"].replace(4.0, 1.0))
    t1 = V.RunTables.from_frames(SETTINGS, {}, {}, {("sn", "mnist"): (sweep1, best)})
    (no4,) = V.sn_finite_beta_gain(t1, "mnist", {"mnist": ["FGM"]})
    assert no4.untested == "the run's β grid (∞, 1) lacks the paper's β* = 4"
    # the SN abstract's gap sentence: FGM's gap without SN (8 − 0.1 s points) minus ERM's (1.2 − 0.1 s)
    (adv_gap,) = V.sn_adversarial_gap(t, "mnist", {"mnist": ["ERM", "FGM"]})
    assert adv_gap.paper == pytest.approx([6.8] * 3) and adv_gap.paper_value == pytest.approx(0.51)
    (far,) = V.sn_far_below(t, "mnist", {"mnist": ["FGM"]})                  # ERM clean 98.7 vs FGM 90.0
    assert far.paper == pytest.approx([8.7] * 3) and far.paper_value == pytest.approx(2.05)
    assert V.MEASURES["sn_erm_gap"](t, "mnist") == (pytest.approx(1.1), pytest.approx(1.2))
    assert V.MEASURES["sn_betas"](t, "mnist")[0] == ["4", "inf"]
    assert V.MEASURES["sn_train_acc"](t, "mnist") == (pytest.approx(99.9), None)
    assert V.MEASURES["lrc_k"](t, "mnist") == (100, None)
    (gap,) = V.sn_gap_shrinks(t, "mnist", {"mnist": ["FGM"]})
    assert gap.paper == pytest.approx([0.0, 0.0, 6.0]) and gap.paper_value == pytest.approx(-0.51)   # paper: 1.71 → 2.22
    (erm,) = V.sn_test_gain(t, "mnist", {"mnist": ["ERM"]})                           # β* = ∞: no SN chosen
    assert erm.paper == [0.0, 0.0, 0.0]
    with pytest.raises(V.NotTested, match="needs the SN schemes WRM"):
        V.sn_gap_shrinks(t, "mnist", {"mnist": ["WRM"]})


def test_a_rehearsal_judges_no_claim(tmp_path):
    """A rehearsal's one-step models sit near chance, so two of them are "equivalent" at 0.00 ± 0.00:
    the rehearsal of 2026-12-05 printed 17 MNIST / Fashion-MNIST rows "supported" that way (issue 27).
    A run with `rehearsal: true` judges nothing; every row says why, and the summary opens with it."""
    from advreg.jobs.summary import warnings
    reg = C.load_register()
    rows = []
    for entry in reg["claims"]:
        r, judged = V.claim_rows(entry, None, ["mnist", "fashion_mnist", "cifar10"], ["mnist"], reg["regimes"],
                                 stand_ins=["cifar10"], rehearsal=True)   # the tables are never read
        assert judged == []
        rows += r
    judged_rows = [r for r in rows if r["verdict"] not in (C.NOT_TESTED, C.NOT_TESTED_STAND_IN)]
    assert judged_rows and {r["verdict"] for r in judged_rows} == {C.NOT_TESTED_REHEARSAL}
    assert {r["dataset"] for r in judged_rows} >= {"mnist", "fashion_mnist"}
    assert all("rehearsal" in r["verdict_in_regime"] for r in judged_rows)
    assert {r["verdict"] for r in rows if r["dataset"] == "cifar10"} <= {C.NOT_TESTED, C.NOT_TESTED_STAND_IN}
    lines = V.claim_lines(V.claims_table(rows), reg)
    assert set(lines["verdict"]) <= {C.NOT_TESTED, C.NOT_TESTED_STAND_IN, C.NOT_TESTED_REHEARSAL}
    first = warnings(["cifar10"], rehearsal=True)
    assert first[0].startswith("**A rehearsal (config `rehearsal: true`), not a result.**")
    assert any("stand-in" in line.lower() for line in first[1:3])


# ----------------------------------------------------------------------------- issue 40

def test_noise_draws_are_averaged_inside_the_trained_model(tmp_path):
    """Pseudo-replication: 2 training seeds × 3 LRC noise draws are 2 trained models, n = 2. The
    LRC job writes one row per draw with its noise seed in `seed`; the verdict used to overwrite it
    with the training seed and count 6 values (the tiny preset's LRC rows read "supported", 8.7 ±
    4.1, where its white-box rows on the same models were inconclusive)."""
    files = {"lrc": {"mnist": {}}, "decay": {}, "histories": {}, "sn_sweep": {}, "sn_generalization": {},
             "robustness": {}, "clean_accuracy": {}, "matrices": {}}
    for s in range(2):
        pd.DataFrame([{"noise": "lrc", "zeta": z, "eps": 0.3, "k": 5, "worst_of_k_acc": 50 + d + (9 if m == "sgr_sign" else 0)
                       + 3 * s, "mean_single_acc": 60, "n": 100, "seed": d, "model": m}
                      for z in (1, 16) for m in ("gn", "sgr_sign") for d in range(3)]).to_csv(tmp_path / f"l{s}.csv", index=False)
        files["lrc"]["mnist"][str(s)] = str(tmp_path / f"l{s}.csv")
    t = V.RunTables(files, SETTINGS, {})
    (long_,) = V.lrc_gap_longest(t, "mnist", "sgr_sign", ["gn"])
    assert long_.paper == [9.0, 9.0]                       # one value per trained model
    reg = C.load_register()
    entry = next(e for e in reg["claims"] if e["id"] == "sgr-4.3-lrc-sgr-beats-gn")
    rows, _ = V.claim_rows(entry, t, ["mnist"], [], reg["regimes"])
    assert {r["seeds"] for r in rows if r["dataset"] == "mnist"} == {2}
    stacked = t.lrc("mnist")
    assert sorted(stacked["seed"].unique()) == [0, 1] and sorted(stacked["draw"].unique()) == [0, 1, 2]


def test_noninferiority_is_one_sided():
    """"No loss of performance": a gain is no loss, a loss inside the margin is none either."""
    assert C.verdict("noninferiority", 5.0, 1.0, 2.0) == S          # a clear gain
    assert C.verdict("noninferiority", -0.5, 1.0, 2.0) == S         # [−1.5, 0.5] above −2
    assert C.verdict("noninferiority", -4.0, 1.0, 2.0) == X         # wholly below −2
    assert C.verdict("noninferiority", -2.0, 1.0, 2.0) == I
    assert C.verdict("equivalence", 5.0, 1.0, 2.0) == X             # the old two-sided reading called a gain a failure
    assert C.p_values("noninferiority", [3.0, 3.2, 2.9], 2.0)[0] < C.ALPHA
    assert C.margin("noninferiority", -1.0, 2.0) == 1.0
    assert int(C.seeds_to_settle("superiority", -1.0, 1.0, 3, -2.0)) >= 2


def test_p_values_agree_with_the_verdict_without_spread():
    """Three equal values on the threshold: inconclusive, and so are the p-values (a claim whose one
    case reads inconclusive must not combine into "contradicted")."""
    for kind, d, tau, v in (("superiority", "above", 0.0, [0.0] * 3), ("superiority", "below", 0.0, [0.0] * 3),
                            ("noninferiority", "above", 2.0, [-2.0] * 3)):
        assert C.verdict(kind, -tau if kind == "noninferiority" else 0.0, 0.0, tau, d) == I
        ps, pc = C.p_values(kind, v, tau, d)
        assert (ps, pc) == (1.0, 1.0), (kind, d)
        assert C.combine([I], [pc]) == I
    assert C.p_values("superiority", [1.0, 1.0, 1.0], 0.0) == (0.0, 1.0)
    assert C.p_values("superiority", [1.0, 1.0, 1.0], 0.0, "below") == (1.0, 0.0)


def test_p_values_agree_with_the_interval_rule():
    import numpy as np
    rng = np.random.default_rng(3)
    for kind, tau, d in [("superiority", 0.0, "above"), ("superiority", 2.0, "below"), ("noninferiority", 1.5, "above"),
                         ("equivalence", 1.0, "above")]:
        for _ in range(200):
            v = rng.normal(rng.uniform(-3, 3), rng.uniform(0.2, 2), 3)
            m, h, _ = V.mean_ci(v)
            ps, pc = C.p_values(kind, v, tau, d)
            verdict = C.verdict(kind, m, h, tau, d)
            assert (verdict == S) == (ps < C.ALPHA) and (verdict == X) == (pc < C.ALPHA), (kind, v)


def test_magnitude_against_the_papers_number(tmp_path):
    """A one-point gain against the paper's +62: direction supported, magnitude not reproduced."""
    assert C.magnitude(1.0, 0.5, 62.2, 15) == C.NOT_REPRODUCED
    assert C.magnitude(55.0, 5.0, 62.2, 15) == C.REPRODUCED
    assert C.magnitude(55.0, math.nan, 62.2, 15) == C.UNDECIDED
    assert C.magnitude(12.0, 3.0, 25.0, 5, "at_least") == C.NOT_REPRODUCED      # 12 + 3 + 5 < 25
    assert C.magnitude(30.0, 3.0, 25.0, 5, "at_least") == C.REPRODUCED
    # an interval wider than the tolerance holds the paper's number by noise alone: not evidence
    assert C.magnitude(20.0, 40.0, 62.2, 15) == C.TOO_WIDE
    files = _write_run(tmp_path, {"clean": [(28, 20), (30, 21), (29, 22)], "gn": [(29, 21.5), (31, 22), (30, 23)],
                                  "sgr_sign": [(29, 21), (31, 22.5), (30, 23)]})
    reg = C.load_register()
    entry = next(e for e in reg["claims"] if e["id"] == "sgr-4.4-mnist-whitebox")
    rows, _ = V.claim_rows(entry, V.RunTables(files, SETTINGS, REFS, {"mnist": 32}), ["mnist"], [], reg["regimes"])
    assert [(r["verdict"], r["magnitude"], r["paper_value"]) for r in rows] == [
        (S, C.NOT_REPRODUCED, "+62.2"), (S, C.NOT_REPRODUCED, "+64.2")]
    lines = V.claim_lines(V.claims_table(rows), {**reg, "claims": [entry]})
    assert lines.iloc[0][["verdict", "magnitude"]].tolist() == [S, C.NOT_REPRODUCED]
    # an interval that contradicts the direction never reproduces the paper's magnitude, however
    # wide the tolerance (the paper's own number passes the direction: test_paper_oracle.py)
    assert V._case_magnitude(X, -1.5, 1.0, 2.8, {"tolerance": 5}) == C.NOT_REPRODUCED
    assert V._case_magnitude(I, -1.5, 1.0, 2.8, {"tolerance": 5}) == C.REPRODUCED


def test_a_sentence_is_one_claim_and_a_missing_case_keeps_it_from_supported():
    """Entries quoting one sentence combine (the SN abstract's sentence: test gain, finite β*, gap);
    a case the run could not measure (a model it lacks) keeps the claim from "supported"."""
    reg = C.load_register()
    groups = {tuple(e["id"] for e in g) for g in C.claims_of(reg)}
    assert ("sn-test-gain", "sn-finite-beta", "sn-gap-shrinks") in groups
    assert ("sgr-4.4-pgd-tradeoff", "sgr-4.4-pgd-whitebox") in groups
    assert len(groups) == len({(e["paper"], C.normalize(e["quote"])) for e in reg["claims"]})

    def row(cid, case, verdict, why=""):
        return {"id": cid, "dataset": "mnist", "case": case, "verdict": verdict, "paper_dataset": True,
                "regime": "within", "p_supported": 0.001, "p_contradicted": 0.99, "magnitude": "–",
                "verdict_in_regime": why}
    mini = {"claims": [{"id": "a", "paper": "SGR", "section": "4", "quote": "q", "datasets": ["mnist"]}]}
    both = pd.DataFrame([row("a", "sgr", S), row("a", "gn", S)])
    assert V.claim_lines(both, mini)["verdict"].tolist() == [S]
    one = pd.DataFrame([row("a", "sgr", S), row("a", "gn", C.NOT_TESTED, "not tested: needs the model gn")])
    line = V.claim_lines(one, mini).iloc[0]
    assert line["verdict"] == I and "needs the model gn" in line["why"] and line["holm"] == "not supported"


def test_one_verdict_per_claim_and_totals_on_the_papers_datasets():
    """Cases combine by the register's rule; Holm corrects "supported" across claims; the totals
    count only the papers' own datasets and say how many are in regime."""
    assert C.combine([S, S], [0.9, 0.9]) == S
    assert C.combine([S, I], [0.9, 0.3]) == I
    assert C.combine([S, X], [0.9, 0.01]) == X                    # 0.01 < 0.025 / 2
    assert C.combine([S, X], [0.9, 0.02]) == I                    # not after Holm across the 2 cases
    assert C.holm([0.001, 0.02, 0.012]) == [True, True, True]     # 0.001 < .025/3, .012 < .025/2, .02 < .025
    assert C.holm([0.001, 0.03, 0.012]) == [True, False, True]

    def row(cid, ds, verdict, own=True, regime="within", p=0.001, pc=0.99, mag="–"):
        return {"id": cid, "dataset": ds, "case": cid, "verdict": verdict, "paper_dataset": own, "regime": regime,
                "p_supported": p, "p_contradicted": pc, "magnitude": mag, "verdict_in_regime": ""}
    reg = {"claims": [{"id": i, "paper": "SGR", "section": "4", "quote": i, "cases": "every", "datasets": ["mnist"], **extra}
                      for i, extra in (("a", {"magnitude": {"value": 1}}), ("b", {}), ("c", {}), ("d", {}), ("e", {}))]}
    table = pd.DataFrame([row("a", "mnist", S, mag=C.NOT_REPRODUCED), row("a", "mnist", S, mag=C.REPRODUCED),
                          row("b", "mnist", S, regime="outside: x", p=0.02), row("e", "mnist", S, p=0.02),
                          row("b", "fashion_mnist", X, own=False, pc=0.001),
                          row("c", "fashion_mnist", S, own=False),
                          {**row("d", "cifar10", C.NOT_TESTED), "verdict_in_regime": "not tested: no cifar10"}])
    lines = V.claim_lines(table, reg).set_index("id")
    assert lines.loc["a", "verdict"] == S and lines.loc["a", "magnitude"] == C.NOT_REPRODUCED
    assert lines.loc["b", "verdict"] == S and lines.loc["b", "regime"] == "outside the paper's regime"
    assert "fashion_mnist" in lines.loc["b", "other_datasets"]          # shown, not counted
    assert lines.loc["c", "verdict"] == C.NOT_TESTED and lines.loc["c", "other_datasets"] != "–"
    # Holm across the 3 judged claims: 0.001 < .025/3, then 0.02 ≥ .025/2 stops it
    assert lines["holm"].tolist() == ["supported", "not supported", "–", "–", "not supported"]
    tot = V.totals(lines.reset_index())
    assert (tot["judged"], tot["supported"], tot["supported_holm"], tot["in_regime"], tot["not_tested"],
            tot["only_elsewhere"]) == (3, 3, 1, 2, 2, 1)
    assert V.totals_text(tot).startswith("3 of the 5 claims judged on the papers' own datasets: 3 supported (1 after")
