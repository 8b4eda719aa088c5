"""Issue 41: one colour rule on every page, and no Python in a shown cell. Each table kind is
rendered through its real writer from a tiny synthetic input (the figures it also draws are
captured, not written), then a known-good and a known-bad cell are checked: colour by the column's
declared kind (never by a substring of its name), accuracies and signed gaps on fixed scales shared
by every page, a healthy diagnostic neutral and a raised flag red, ratios uncoloured, the SN tables
in %, and ∞ / ✓ / FLAG / integers where Python would print inf / True / False / 1.0000."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

# ------------------------------------------------------------------------------ reading a page


def _table(page: str, nth: int = 0) -> dict[str, list[tuple[str, str]]]:
    """The ``nth`` table of an HTML page: column header -> [(CSS of the cell, its text), ...]."""
    styles = {}
    for selectors, body in re.findall(r"([^{}<>]+)\{([^}]*)\}", page):
        for sel in selectors.split(","):
            if sel.strip().startswith("#T_"):
                styles[sel.strip()[1:]] = body
    tables = re.findall(r"<table.*?</table>", page, flags=re.S)
    t = tables[nth]
    heads = re.findall(r'<th [^>]*class="col_heading level0 col(\d+)"[^>]*>([^<]*)</th>', t)
    names = {int(j): h.strip() for j, h in heads}
    out: dict[str, list] = {h: [] for h in names.values()}
    for cid, col, text in re.findall(r'<td id="(T_\w+?_row\d+_col(\d+))"[^>]*>([^<]*)</td>', t):
        out[names[int(col)]].append((styles.get(cid, ""), text.strip()))
    return out


def _bg(style: str) -> tuple[int, int, int] | None:
    m = re.search(r"background-color: #([0-9a-fA-F]{6})", style)
    return None if m is None else tuple(int(m.group(1)[i:i + 2], 16) for i in (0, 2, 4))


def _cell(table: dict, column: str, text: str) -> tuple[int, int, int] | None:
    """The background of the cell of ``column`` that shows ``text`` (None: not coloured)."""
    hits = [s for s, t in table[column] if t == text]
    assert hits, (column, text, table[column])
    return _bg(hits[0])


def _legend(page: str, nth: int = 0) -> str:
    return re.findall(r'<p class="legend">([^<]*)</p>', page)[nth]


def _md_cells(md: str) -> list[str]:
    return [c.strip() for line in md.splitlines() if line.startswith("|")
            for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


PYTHON = re.compile(r"\b(True|False|nan|NaN|None|inf)\b")

# ------------------------------------------------------------------------------ every writer, once


def _matrix(rows: dict) -> pd.DataFrame:
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["test", "clean", "wdecay", "pgd"])
    df.index.name = "target_model"
    return df


def _masking_record(source, seed, square_broken, pgd, pgd_long, sweep_strong):
    sweep = [{"eps_255": e, "paper_attack": a, "strong": s} for e, a, s in zip((8, 32, 128), (90, 70, 8), sweep_strong)]
    strong = {"n": 100, "paper_acc": 70.0, "strong_acc": 68.0,
              "steps": [{"attack": "apgd_ce(100)", "black_box": False, "broken": 2},
                        {"attack": "square(300)", "black_box": True, "broken": square_broken}]}
    return {"source": source, "seed": seed, "eps": "32", "paper_eps_255": 32.0, "n": 50, "strong": strong,
            "sweep": sweep, "pgd_steps": 10, "pgd": pgd, "pgd_long_steps": 100, "restarts": 2, "pgd_long": pgd_long}


def _strong_record(source, paper, strong):
    return {"source": source, "seed": 0, "eps_255": 8, "n": 300, "clean_acc": 99.0, "paper_acc": paper,
            "strong_acc": strong, "seconds": 30.0, "paper_seconds": 10.0, "paper_attack": "pgd(40)",
            "ensemble": ["apgd_ce(100)", "square(300)"], "data": "synthetic"}


def _sn_row(scheme, beta, train, val, test, seed=0):
    return {"method": {"ERM": "clean", "FGM": "fgm_l2"}[scheme], "arch": "elunet", "seed": seed, "scheme": scheme,
            "kind": scheme.lower(), "beta": beta, "epochs_trained": 20, "train_adv_acc": train, "val_adv_acc": val,
            "test_adv_acc": test, "gap": train - test, "spectral_product": 1234.5, "margin_median": 0.0012,
            "n_train": 500, "n_val": 100, "n_test": 1000}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """name -> {"html": page, "md": Markdown or None, "figure": what the heat map drew}."""
    import matplotlib.pyplot as plt

    from advreg.figures import common
    from advreg.jobs import sn_tables, transfer
    from advreg.jobs.masking_tables import write_masking_table
    from advreg.jobs.seed_tables import write_over_seeds
    from advreg.jobs.strong_tables import robustness_job
    from advreg.jobs.whitebox_tables import write_whitebox_tables

    d = tmp_path_factory.mktemp("tables")
    out: dict[str, dict] = {}
    drawn = []

    def keep_figure(fig, path, note=""):
        if fig.axes and fig.axes[0].images:
            im = fig.axes[0].images[0]
            drawn.append({"vmin": im.norm.vmin, "vmax": im.norm.vmax, "rgba": lambda v, im=im: im.cmap(im.norm(v))})
        plt.close(fig)

    def files(stem, exts=("csv", "md", "html")):
        return {e: d / f"{stem}.{e}" for e in exts}

    def read(f):
        return {"html": f["html"].read_text(), "md": f["md"].read_text() if "md" in f else None}

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(common, "save_figure", keep_figure)
        # the matrix of one seed: a model called "wdecay" is a column like any other
        matrix = _matrix({"clean": [99.0, 10.0, 97.0, 97.0], "wdecay": [98.0, 55.0, 12.0, 80.0],
                          "pgd": [97.0, 97.0, 55.0, 40.0]})
        mp.setattr(transfer, "measure_matrix", lambda *a, **k: matrix)
        metrics = d / "metrics.json"
        metrics.write_text(json.dumps({"data": "synthetic"}))
        f = files("matrix", ("csv", "md", "tex", "html", "png"))
        label = {k: {"model": "m", "set": "s", "metrics": str(metrics)} for k in matrix.index}
        transfer.write_matrix(None, label, 100, None, "cpu", "PGD matrix", "", f)
        out["matrix"] = {**read(f), "figure": drawn[-1]}
        # over seeds
        f = files("matrix_seeds")
        write_over_seeds({0: matrix, 1: matrix + 1.0}, "matrix", "synthetic", f["csv"], f["md"], f["html"])
        out["matrix_seeds"] = read(f)
        # the gradient-masking checks: model a healthy (nothing broken by Square, transfer 19.7
        # points above white-box), model b flagged
        m = d / "m.csv"
        pd.DataFrame({"test": [99.0, 98.0], "a": [60.0, 30.0], "b": [79.7, 35.0]},
                     index=pd.Index(["a", "b"], name="target_model")).to_csv(m)
        recs = [_masking_record("a", 0, 0, 70.0, 69.5, (80, 60, 5)),
                _masking_record("b", 0, 9, 70.0, 50.0, (80, 75, 60))]
        f = files("masking")
        write_masking_table(recs, ["a", "b"], {"0|32": str(m)}, 2.0, 5.0, "mnist", "", f["csv"], f["md"], f["html"],
                            d / "masking.png")
        out["masking"] = read(f)
        # Table 1 with DeepFool's ρ, per seed and over seeds
        wb = [{"seed": 0, "source": s, "attack": "pgd", "eps_255": "32", "clean_acc": 99.0, "whitebox_acc": acc,
               "data": "synthetic"} for s, acc in (("clean", 5.0), ("wdecay", 80.0))]
        wb += [{"seed": 0, "source": s, "attack": "deepfool", "eps_255": "none", "clean_acc": 99.0, "whitebox_acc": 0.0,
                "deepfool_rho": rho, "data": "synthetic"} for s, rho in (("clean", 0.14), ("wdecay", 0.31))]
        seed_files = {0: files("wb_seed0", ("csv", "md", "tex", "html"))}
        f = files("wb")
        write_whitebox_tables(wb, ["clean", "wdecay"], seed_files, f, "", "mnist")
        out["whitebox_seed"], out["whitebox"] = read(seed_files[0]), read(f)
        # the strong evaluation: paper − strong of 14.9 beside 30.0, and alone
        for name, recs in (("strong", [_strong_record("a", 60.0, 45.1), _strong_record("b", 50.0, 20.0)]),
                           ("strong_alone", [_strong_record("a", 60.0, 45.1)])):
            paths = []
            for r in recs:
                paths.append(d / f"{name}_{r['source']}.json")
                paths[-1].write_text(json.dumps(r))
            f = files(name)
            robustness_job(paths, ["a", "b"], "mnist", "", f["csv"], f["md"], f["html"], d / f"{name}_rows.csv")
            out[name] = read(f)
        # the SN tables (their figures and regime line are other modules' tests)
        for fig in ("gap_figure", "beta_sweep_figure", "margins_figure"):
            mp.setattr(sn_tables, fig, lambda *a, **k: None)
        mp.setattr(sn_tables, "sn_regime_text", lambda *a, **k: "")
        rows = [_sn_row("ERM", "inf", 1.0, 0.85, 0.851), _sn_row("ERM", "2", 1.0, 0.80, 0.80),
                _sn_row("FGM", "inf", 0.90, 0.70, 0.70), _sn_row("FGM", "4", 0.95, 0.80, 0.926)]
        sn = {"sweep": d / "sn_sweep.csv", "sweep_html": d / "sn_sweep.html", **files("sn"),
              **{k: d / f"{k}.png" for k in ("gap", "sweep_fig", "margins_fig")}}
        sn_tables.write_sn_results(rows, [], ["clean", "fgm_l2"], ["2", "4", "inf"], "mnist", "elunet", "", {}, sn)
        out["sn"] = read(sn)
        out["sn_sweep"] = {"html": sn["sweep_html"].read_text(), "md": None}
        out["sn_csv"] = {"best": pd.read_csv(sn["csv"]), "sweep": pd.read_csv(sn["sweep"])}
    return out


TABLES = ["matrix", "matrix_seeds", "masking", "whitebox_seed", "whitebox", "strong", "sn", "sn_sweep"]

# ------------------------------------------------------------------------------ the tests


def test_a_model_called_wdecay_is_coloured_as_an_accuracy(pages):
    """The four matrices left the wdecay column plain (its name contains "decay")."""
    for name in ("matrix", "matrix_seeds"):
        t = _table(pages[name]["html"])
        for col in ("test", "clean", "wdecay", "pgd"):
            assert all(_bg(s) for s, _ in t[col]), (name, col)
    t = _table(pages["matrix"]["html"])
    # a fixed scale: 97 % is one colour in whichever column it stands
    assert _cell(t, "wdecay", "97.00") == _cell(t, "clean", "97.00") == _cell(t, "pgd", "97.00")


def test_the_heat_map_uses_the_tables_fixed_accuracy_scale(pages):
    """The heat map spanned viridis over the matrix's own range; now 0-100 with the tables' colours."""
    fig = pages["matrix"]["figure"]
    assert (fig["vmin"], fig["vmax"]) == (0.0, 100.0)
    t = _table(pages["matrix"]["html"])
    for v, text in ((97.0, "97.00"), (12.0, "12.00"), (55.0, "55.00")):
        r, g, b, _ = (round(255 * x) for x in fig["rgba"](v))
        assert (r, g, b) == _cell(t, "wdecay", text), v


def test_masking_colours_raised_flags_and_leaves_healthy_diagnostics_plain(pages):
    """square_breaks = 0 (the healthy result) was deep red, a healthy transfer − white-box gap of
    19.7 red, and the FLAG cells plain."""
    t = _table(pages["masking"]["html"])
    assert _cell(t, "square_breaks", "0") is None
    assert _cell(t, "best_transfer_minus_whitebox", "19.70") is None
    raised = [_bg(s) for col in ("more_steps_help", "any_flag") for s, x in t[col] if x == "FLAG"]
    assert raised and all(c is not None and c[0] > c[1] + 40 for c in raised)   # red-ish
    healthy = [s for col in ("more_steps_help", "any_flag") for s, x in t[col] if x == "✓"]
    assert healthy and not any(_bg(s) for s in healthy)
    # the accuracies keep their scale
    assert _cell(t, "paper_attack", "70.00") is not None


def test_deepfool_rho_is_not_coloured(pages):
    for name in ("whitebox_seed", "whitebox"):
        t = _table(pages[name]["html"])
        assert not any(_bg(s) for s, _ in t["deepfool rho"]), name
        assert all(_bg(s) for s, _ in t["pgd eps=32"]), name


def test_a_gap_is_one_colour_on_every_page(pages):
    """The SN tables in % on the signed scale every table uses: our 14.9-point gap and the strong
    table's 14.9-point difference look alike; a 2.4-point gap does not; and a 14.9 difference keeps
    its colour whatever else its table holds (no stretching to the table's own maximum)."""
    sn = _table(pages["sn"]["html"])
    strong, alone = _table(pages["strong"]["html"]), _table(pages["strong_alone"]["html"])
    ours = _cell(sn, "gap_no_sn (%)", "14.90")
    assert ours == _cell(strong, "difference", "14.9") == _cell(alone, "difference", "14.9")
    small = _cell(sn, "gap_sn (%)", "2.40")
    assert small is not None and small != ours
    # worse is redder: the larger gap leans red, the small one is nearer the pale centre
    assert ours[0] - ours[1] > small[0] - small[1]
    assert _cell(sn, "test_adv_acc_no_sn (%)", "85.10") is not None


def test_sn_tables_shown_in_percent_while_the_csv_keeps_fractions(pages):
    """The CSVs are read by advreg.jobs.verdicts as fractions; the views are in %."""
    assert pages["sn_csv"]["best"].set_index("scheme").loc["ERM", "gap_no_sn"] == pytest.approx(0.149)
    assert pages["sn_csv"]["sweep"]["train_adv_acc"].max() == pytest.approx(1.0)
    md = pages["sn"]["md"]
    assert "gap_sn (%)" in md and re.search(r"\|\s*14\.90 \|", md) and "in % (the CSV: fractions)" in md
    sweep = _table(pages["sn_sweep"]["html"])
    assert "100.00" in [x for _, x in sweep["train_adv_acc (%)"]]
    assert {x for _, x in sweep["beta"]} == {"2", "4", "∞"}


def test_no_python_in_a_shown_cell(pages):
    """∞ for inf, ✓ / FLAG for booleans, counts as integers; no True, False, inf, nan, None."""
    for name in TABLES:
        t = _table(pages[name]["html"])
        texts = [x for cells in t.values() for _, x in cells]
        assert not [x for x in texts if PYTHON.search(x)], name
        if pages[name]["md"]:
            bad = [c for c in _md_cells(pages[name]["md"]) if PYTHON.search(c)]
            assert not bad, (name, bad)
    sn = _table(pages["sn"]["html"])
    assert {x for _, x in sn["seeds"]} == {"1"} and "∞" in {x for _, x in sn["beta_star"]}
    masking = _table(pages["masking"]["html"])
    assert {x for _, x in masking["any_flag"]} == {"FLAG", "✓"}
    assert {x for _, x in masking["strong_eval_images"]} == {"100"}
    strong = _table(pages["strong"]["html"])
    assert {x for _, x in strong["seeds"]} == {"1"} and {x for _, x in strong["images"]} == {"300"}


def test_the_legend_names_every_coloured_column_and_no_other(pages):
    for name in TABLES:
        page = pages[name]["html"]
        legend = _legend(page)
        for col, cells in _table(page).items():
            named = re.search(rf"(columns |, ){re.escape(col)}(,|\))", legend) is not None
            coloured = any(_bg(s) for s, _ in cells)
            healthy = all(x == "✓" for _, x in cells)   # a flag column where no flag is raised
            assert named == coloured or (named and healthy), (name, col, legend)
    assert "±20 points" in _legend(pages["strong"]["html"])
    assert "±20 points" not in _legend(pages["matrix"]["html"])   # no signed column there


def test_paper_comparison_is_never_green_on_a_flagged_row(tmp_path):
    """A −10.4 difference from the paper was green on a flagged row: the difference has no better
    sign, so it is not coloured; the flag column colours the row as a problem."""
    from advreg.figures.tables import write_table
    from advreg.jobs.seed_tables import COMPARISON_KINDS, compare_to_paper

    idx = ["clean", "gn"]
    mean = pd.DataFrame({"test": [99.0, 98.0], "clean": [10.0, 50.0], "gn": [60.0, 30.0]}, index=idx)
    half = mean * 0 + float("nan")
    paper = mean.copy()
    paper.loc["gn", "gn"] = 40.4        # ours 30.0: −10.4, outside ±5
    table, _ = compare_to_paper(mean, half, 1, paper, tolerance=5.0)
    f = {e: tmp_path / f"c.{e}" for e in ("csv", "md", "html")}
    write_table(table.set_index("target_model"), f["csv"], f["md"], html_path=f["html"], kinds=COMPARISON_KINDS)
    t = _table(f["html"].read_text())
    assert _cell(t, "difference", "-10.40") is None
    flagged = _cell(t, "flagged", "FLAG")
    assert flagged is not None and flagged[0] > flagged[1] + 40
    assert not any(_bg(s) for s, x in t["flagged"] if x == "✓")
    assert {x for _, x in t["ci95"]} == {"–"}
    assert "True" not in f["md"].read_text() and "False" not in f["md"].read_text()
    assert "True" in f["csv"].read_text()   # the CSV stays machine-readable


def test_a_fragment_embeds_in_another_page(pages):
    """The summary page embeds coloured tables: caption, legend and table, no page around them,
    and two tables on one page never share the ids their colours are attached to."""
    from advreg.figures.cells import ACCURACY
    from advreg.figures.table_html import table_fragment

    a = pd.DataFrame({"clean": [99.0, 20.0]}, index=pd.Index(["x", "y"], name="model"))
    frag = table_fragment(a, "A caption", kinds={"clean": ACCURACY})
    assert "<html" not in frag and "<body" not in frag and frag.count("<table") == 1
    assert 'class="caption"' in frag and "Accuracies (columns clean)" in _legend(frag)
    assert _cell(_table(frag), "clean", "99.00") is not None
    other = table_fragment(a + 1, "Another", kinds={"clean": ACCURACY})
    ids = lambda h: set(re.findall(r'id="(T_[A-Za-z0-9]+)_row', h))  # noqa: E731
    assert ids(frag).isdisjoint(ids(other))
    assert frag == table_fragment(a.copy(), "A caption", kinds={"clean": ACCURACY})   # same bytes every run


def test_an_undeclared_column_is_not_coloured_and_a_wrong_kind_is_refused():
    from advreg.figures.table_html import table_html

    df = pd.DataFrame({"test": [99.0], "gap": [5.0], "decay_length": [3.0]}, index=["a"])
    t = _table(table_html(df))
    assert not any(_bg(s) for cells in t.values() for s, _ in cells)
    with pytest.raises(ValueError, match="unknown column kind"):
        table_html(df, kinds={"test": "accuracy_"})


def test_clean_accuracy_and_grouped_tables_declare_their_kinds(tmp_path):
    """The clean-accuracy table (one column per seed, then mean, ci95, seeds) and a table grouped
    over seeds (the LRC sweep): accuracies coloured, the interval and the counts plain integers."""
    from advreg.figures.cells import ACCURACY
    from advreg.figures.tables import write_table
    from advreg.jobs.seed_tables import seed_columns_ci, seed_columns_kinds, write_grouped

    df = seed_columns_ci(pd.DataFrame({"seed0": [99.1, 40.0]}, index=pd.Index(["clean", "wdecay"], name="method")),
                         ["seed0"]).assign(images=1000)
    f = {e: tmp_path / f"clean.{e}" for e in ("csv", "md", "html")}
    write_table(df, f["csv"], f["md"], html_path=f["html"], kinds=seed_columns_kinds(df))
    t = _table(f["html"].read_text())
    assert _cell(t, "seed0", "40.00") is not None and _cell(t, "mean", "99.10") is not None
    assert _cell(t, "ci95", "–") is None and _cell(t, "seeds", "1") is None and _cell(t, "images", "1000") is None
    per_seed = [pd.DataFrame({"model": ["clean", "clean"], "zeta": [2.0, float("nan")], "n": [100, 100],
                              "worst_of_k_acc": [50.0 + s, 60.0 + s]}) for s in range(3)]
    g = {e: tmp_path / f"lrc.{e}" for e in ("csv", "md", "html")}
    write_grouped(per_seed, ["model", "zeta", "n"], ["worst_of_k_acc"], [0, 1, 2], "LRC", g["csv"], g["md"], g["html"],
                  kinds={"worst_of_k_acc": ACCURACY})
    t = _table(g["html"].read_text())
    assert _cell(t, "worst_of_k_acc", "51.00 ± 2.48") is not None and _cell(t, "seeds", "3") is None
    assert [x for _, x in t["zeta"]] == ["2", "–"] and not PYTHON.search(g["md"].read_text())
