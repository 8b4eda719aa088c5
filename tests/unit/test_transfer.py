"""Matrix assembly in the paper's layout, the missing-source error, and the paper comparison."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from advreg.jobs.seed_tables import compare_to_paper
from advreg.jobs.transfer import measure_matrix
from advreg.jobs.transfer_tables import MatrixError, assemble_matrix, load_reference, whitebox_table
from advreg.jobs.whitebox_tables import write_whitebox_tables
from advreg.nn.models import build_model, save_model

LABELS = ["clean", "wdecay", "pgd"]


def _fake_measurements():
    clean = {"clean": 99.0, "wdecay": 98.0, "pgd": 97.0}
    white = {"clean": 10.0, "wdecay": 20.0, "pgd": 90.0}
    transfer = {(t, s): 50.0 + 10 * i + j for i, t in enumerate(LABELS) for j, s in enumerate(LABELS) if t != s}
    return clean, white, transfer


def test_rows_columns_and_diagonal_land_in_paper_order():
    clean, white, transfer = _fake_measurements()
    df = assemble_matrix(LABELS, clean, white, transfer)
    assert list(df.index) == LABELS and list(df.columns) == ["test", *LABELS]
    assert [df.loc[m, m] for m in LABELS] == [10.0, 20.0, 90.0]     # diagonal = white-box
    assert df.loc["wdecay", "test"] == 98.0                          # first column = clean accuracy
    assert df.loc["pgd", "clean"] == transfer[("pgd", "clean")]      # row = target, column = source


def test_missing_source_model_is_a_clear_error():
    clean, white, transfer = _fake_measurements()
    del white["pgd"]
    with pytest.raises(MatrixError, match="no adversarial set of source model 'pgd'"):
        assemble_matrix(LABELS, clean, white, transfer)


def test_measure_matrix_refuses_a_missing_adversarial_set(tmp_path):
    with pytest.raises(MatrixError, match=r"no adversarial set for source model\(s\) \['pgd'\]"):
        measure_matrix(tmp_path / "d.pt", {m: "x" for m in LABELS}, {"clean": "a", "wdecay": "b"},
                       {"clean": "a", "wdecay": "b"}, batch_size=10)


def test_measure_matrix_on_real_models(tmp_path):
    """Two random models, hand-made adversarial sets: diagonal from the white-box JSON, transfer
    cells re-measured on the other model's (transfer) examples."""
    torch.manual_seed(0)
    x = torch.randint(0, 256, (20, 1, 28, 28), dtype=torch.uint8)
    y = torch.randint(0, 10, (20,))
    torch.save({"x_train": x, "y_train": y, "x_val": x, "y_val": y, "x_test": x, "y_test": y, "meta": {}}, tmp_path / "d.pt")
    spec = dict(arch="cw", in_channels=1, image_size=28, widths=[2, 2, 2, 2, 4, 4], num_classes=10)
    models, sets, jsons = {}, {}, {}
    for lab in ["a", "b"]:
        m = build_model("cw", 1, 28, spec["widths"])
        models[lab] = tmp_path / f"{lab}.pt"
        save_model(models[lab], m, spec, {})
        sets[lab] = tmp_path / f"{lab}_adv.pt"
        torch.save({"whitebox": torch.rand(20, 1, 28, 28).half(), "transfer": torch.rand(20, 1, 28, 28).half()}, sets[lab])
        jsons[lab] = tmp_path / f"{lab}.json"
        jsons[lab].write_text(json.dumps({"whitebox_acc": 42.0 if lab == "a" else 7.0}))
    df = measure_matrix(tmp_path / "d.pt", models, sets, jsons, batch_size=8, device="cpu")
    assert df.loc["a", "a"] == 42.0 and df.loc["b", "b"] == 7.0
    mb = torch.load(models["b"], weights_only=True)
    model_b = build_model("cw", 1, 28, spec["widths"])
    model_b.load_state_dict(mb["state_dict"])
    xa = torch.load(sets["a"], weights_only=True)["transfer"].float()
    expected = 100 * (model_b(xa).argmax(1) == y).float().mean().item()
    assert df.loc["b", "a"] == pytest.approx(expected)


def test_comparison_with_the_published_matrix():
    paper = load_reference("mnist_pgd_eps-small_transfer.csv")
    ours = paper.copy()
    ours.loc["gn", "gn"] = paper.loc["clean", "clean"] - 1.0   # gain over clean flips sign
    ours.loc["pgd", "test"] += 10.0
    no_interval = ours * float("nan")   # one seed: flagged by the tolerance alone
    table, summary = compare_to_paper(ours, no_interval, 1, paper, tolerance=5.0)
    assert summary["cells"] == paper.size and summary["flagged"] == 2
    assert summary["disagreeing_rows"] == ["gn"]
    flagged = table[table["flagged"]]
    assert set(zip(flagged["target_model"], flagged["source"])) == {("gn", "gn"), ("pgd", "test")}


def test_whitebox_table_layout():
    metrics = [{"source": "clean", "attack": "pgd", "eps_255": "32", "clean_acc": 99.0, "whitebox_acc": 5.0},
               {"source": "clean", "attack": "deepfool", "eps_255": "none", "clean_acc": 99.0,
                "whitebox_acc": 0.0, "deepfool_rho": 0.14},
               {"source": "gn", "attack": "pgd", "eps_255": "32", "clean_acc": 98.0, "whitebox_acc": 80.0}]
    df = whitebox_table(metrics, ["clean", "gn"])
    assert list(df.columns) == ["test", "pgd eps=32", "deepfool rho"]
    assert df.loc["gn", "pgd eps=32"] == 80.0 and df.loc["clean", "deepfool rho"] == 0.14


def _whitebox_files(tmp_path, seeds):
    seed_files = {s: {e: tmp_path / f"wb_seed{s}.{e}" for e in ("csv", "md", "tex", "html")} for s in seeds}
    return seed_files, {e: tmp_path / f"wb.{e}" for e in ("csv", "md", "html")}


def test_whitebox_tables_file_each_record_under_its_own_seed(tmp_path):
    """One job writes every seed's Table-1 layout and their combination (issue 28): records arrive in
    any order and are filed by the seed they carry, never by position."""
    def rec(seed, source, acc):
        return {"seed": seed, "source": source, "attack": "pgd", "eps_255": "32", "clean_acc": 99.0 - seed,
                "whitebox_acc": acc, "data": "test data"}
    metrics = [rec(1, "gn", 70.0), rec(0, "clean", 10.0), rec(1, "clean", 20.0), rec(0, "gn", 60.0)]
    seed_files, out = _whitebox_files(tmp_path, [0, 1])
    write_whitebox_tables(metrics, ["clean", "gn"], seed_files, out, "", "mnist")
    s0 = pd.read_csv(seed_files[0]["csv"], index_col=0)
    s1 = pd.read_csv(seed_files[1]["csv"], index_col=0)
    assert s0.loc["clean", "pgd eps=32"] == 10.0 and s0.loc["gn", "pgd eps=32"] == 60.0 and s0.loc["gn", "test"] == 99.0
    assert s1.loc["clean", "pgd eps=32"] == 20.0 and s1.loc["gn", "test"] == 98.0
    both = pd.read_csv(out["csv"], index_col=0)
    assert both.loc["clean", "pgd eps=32"] == pytest.approx(15.0) and both.loc["gn", "pgd eps=32"] == pytest.approx(65.0)
    assert both.loc["clean", "pgd eps=32 ci95"] > 0 and (both["seeds"] == 2).all()
    assert "seed 1" in seed_files[1]["md"].read_text() and seed_files[0]["tex"].read_text().startswith("\\begin")
    assert "n = 2 seeds (0, 1)" in out["md"].read_text()


def test_whitebox_tables_refuse_a_record_without_a_seed_asked_for(tmp_path):
    seed_files, out = _whitebox_files(tmp_path, [0, 1])
    stray = {"seed": 2, "source": "clean", "attack": "pgd", "eps_255": "32", "clean_acc": 99.0,
             "whitebox_acc": 1.0, "data": "d"}
    with pytest.raises(MatrixError, match="has seed 2; expected one of \\[0, 1\\]"):
        write_whitebox_tables([stray], ["clean"], seed_files, out, "", "mnist")
    with pytest.raises(MatrixError, match="no adversarial-set record of seed 1"):
        write_whitebox_tables([dict(stray, seed=0)], ["clean"], seed_files, out, "", "mnist")
    assert not any(p.exists() for f in [*seed_files.values(), out] for p in f.values())  # checked before writing


# ----------------------------------------------------------------------------- every cell, orientation

N = 100
KNOWN = ["m0", "m1", "m2"]


class _Lookup(torch.nn.Module):
    """A model whose accuracy on any set is known by construction: the label is written in pixel
    (0, 0) (value (y + 0.5)/10); the model predicts it unless its own "break" pixel (1, k) is set,
    then it predicts the next class."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k
        self.dummy = torch.nn.Parameter(torch.zeros(1))  # so the model has a device

    def forward(self, x):
        label = (x[:, 0, 0, 0] * 10 - 0.5).round().long()
        broken = x[:, 0, 1, self.k] > 0.5
        return torch.nn.functional.one_hot(torch.where(broken, (label + 1) % 10, label), 10).float()


def _images(breaks: dict[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """N images; model k is fooled on the first breaks[k] of them."""
    y = torch.arange(N) % 10
    x = torch.zeros(N, 1, 28, 28)
    x[:, 0, 0, 0] = (y + 0.5) / 10
    for k, n in breaks.items():
        x[:n, 0, 1, k] = 1.0
    return x, y


# fooled counts: CLEAN[target]; ADV[(target, source)], all distinct, white-box (diagonal) the
# strongest of each row, as in the paper's matrices; the matrix is deliberately not symmetric
CLEAN = {0: 1, 1: 2, 2: 3}
ADV = {(0, 0): 71, (0, 1): 11, (0, 2): 23, (1, 0): 37, (1, 1): 83, (1, 2): 5, (2, 0): 19, (2, 1): 43, (2, 2): 97}


def test_every_cell_of_a_measured_matrix_and_its_orientation(tmp_path, monkeypatch):
    """Row = the model attacked (target), column = the model whose examples are used (source),
    diagonal = white-box, `test` = clean accuracy: each cell checked against what the models were
    built to score (a transposed matrix or swapped labels fail here)."""
    import advreg.jobs.transfer as T
    x_test, y = _images(CLEAN)
    torch.save({"x_test": (x_test * 255).round().to(torch.uint8), "y_test": y, "meta": {}}, tmp_path / "d.pt")
    sets, jsons = {}, {}
    for s, lab in enumerate(KNOWN):
        # source s's examples fool target t on ADV[(t, s)] images
        adv, _ = _images({t: ADV[(t, s)] for t in range(3)})
        sets[lab] = tmp_path / f"{lab}_adv.pt"
        torch.save({"whitebox": adv.half()}, sets[lab])
        jsons[lab] = tmp_path / f"{lab}.json"
        jsons[lab].write_text(json.dumps({"whitebox_acc": 100.0 * (N - ADV[(s, s)]) / N}))
    monkeypatch.setattr(T, "load_for_attacks", lambda path, dev: (_Lookup(KNOWN.index(path)).to(dev), {}))
    df = measure_matrix(tmp_path / "d.pt", {lab: lab for lab in KNOWN}, sets, jsons, batch_size=32, device="cpu")
    assert list(df.index) == KNOWN and list(df.columns) == ["test", *KNOWN]
    for t, tl in enumerate(KNOWN):
        assert df.loc[tl, "test"] == pytest.approx(100.0 * (N - CLEAN[t]) / N)
        for s, sl in enumerate(KNOWN):
            assert df.loc[tl, sl] == pytest.approx(100.0 * (N - ADV[(t, s)]) / N), (tl, sl)
    # the paper's orientation: the white-box diagonal is each row's minimum
    cols = df[KNOWN]
    assert all(cols.loc[m, m] == cols.loc[m].min() for m in KNOWN)


@pytest.mark.parametrize("name", ["mnist_pgd_eps-small_transfer.csv", "mnist_pgd_eps-large_transfer.csv",
                                  "cifar10_pgd_eps-small_transfer.csv", "cifar10_pgd_eps-large_transfer.csv"])
def test_published_matrices_have_rows_as_targets(name):
    """In every published matrix the diagonal (white-box) is each row's minimum up to a point of
    rounding noise in a few cells: rows are the models attacked, as in our matrices."""
    paper = load_reference(name)
    models = [c for c in paper.columns if c != "test"]
    assert list(paper.index) == models  # square, same order
    row_min = sum(paper.loc[m, m] <= paper.loc[m, models].min() + 1.0 for m in models)
    col_min = sum(paper.loc[m, m] <= paper[m].min() + 1.0 for m in models)
    assert row_min >= len(models) - 1 and row_min >= col_min
