"""The papers' numbers live in advreg/reference/ only, and one module reads that folder (issue 42).

- No published number is typed into code: an ``ast`` scan of the verdicts and the other job, claims
  and figure modules finds no numeric literal (nor a number inside a non-doc string) equal to a
  number of the published tables, their index or the claims register, except our own constants,
  each named with why in ``OURS``.
- Every paper value a verdict shows comes from those files: with every published table scaled by
  1.1, every case's paper value scales by 1.1 (a number typed in, or read from elsewhere, would not).
- advreg.claims.published alone opens advreg/reference/, and the files there, their index
  (published.yaml), its ε and the register's agree.
"""
from __future__ import annotations

import ast
import math
import re

import pandas as pd
import pytest
from workflow_utils import REPO

from advreg.claims import published as P
from advreg.claims import register as C

PKG = REPO / "advreg"
REGISTER = C.load_register()
INDEX = P.index()

# Values too common to mean anything (either sign): identity and halves, percent (× 100), the 8-bit
# pixel scale.
STRUCTURAL = {0, 1, 2, 0.5, 100, 255}
# Our own constants that happen to equal a published number: (module, value) -> why it is ours.
OURS = {
    ("advreg/claims/register.py", 200): "quote_found's max_gap: characters between a quote's fragments",
    ("advreg/jobs/sgr_analysis.py", 200): "Fig. 6's pool: test images searched for a changed prediction",
    ("advreg/jobs/masking_tables.py", 10): "num_classes default of the masking flags (10-class data sets)",
    ("advreg/jobs/lambda_probe.py", 10): "a λ of the probe's default grid (3, 10, 30, 100)",
}
# Checked value by value (every literal); the figure modules hold layout numbers (sizes, alphas,
# font sizes) that equal short published numbers by chance: only distinctive ones are checked there.
STRICT = [*sorted((PKG / "jobs").glob("*.py")), *sorted((PKG / "claims").glob("*.py"))]
FIGURES = sorted((PKG / "figures").glob("*.py"))


def _key(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else round(x, 6)


def _numbers(obj, out: set) -> set:
    """Every number in a nested structure of the register (strings skipped: they are prose)."""
    if isinstance(obj, dict):
        for v in obj.values():
            _numbers(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _numbers(v, out)
    elif not isinstance(obj, (str, bool)) and _key(obj) is not None:
        out.add(_key(obj))
    return out


def published_numbers() -> set[float]:
    """The papers' numbers: every cell of the published tables (the SN table's fractions also in
    %, as the pages show them), the ε of each (published.yaml), the register's regime values,
    magnitude values and ε, and every paper value the verdicts compute from the tables (the
    differences of two cells, as the claim rows print them)."""
    out: set[float] = set()
    for name, entry in INDEX["matrices"].items():
        _numbers(P.published_matrix(name).to_numpy().ravel().tolist(), out)
        _numbers(entry["eps_255"], out)
    for ds in INDEX["lrc_data_covariance"]:
        acc, eps = P.lrc_data_covariance(ds)
        _numbers([*acc.tolist(), eps], out)
    sn = P.sn_table()
    for col in sn.columns[3:]:
        _numbers([x for v in sn[col] for x in (float(v), round(100 * float(v), 2))], out)
    for indicators in REGISTER["regimes"].values():
        for ind in indicators:
            _numbers(ind.get("paper", {}), out)
    for e in REGISTER["claims"]:
        _numbers((e.get("magnitude") or {}).get("value"), out)
    _numbers([REGISTER["table1_eps_255"], REGISTER["lrc_eps"]], out)
    _numbers([round(v, 1) for v in _paper_values().values()], out)
    return out - {_key(x) for x in STRUCTURAL} - {_key(-x) for x in STRUCTURAL}


def distinctive(x: float) -> bool:
    """A number no layout constant equals by chance: three significant digits or more (24.7, 0.9867),
    or 1,000 and above (60,000 training images)."""
    digits = re.sub(r"e.*$", "", f"{abs(x):g}").replace(".", "").strip("0")
    return abs(x) >= 1000 or len(digits) >= 3


def _docstrings(tree) -> set[int]:
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}


def _skipped(tree) -> set[int]:
    """Literals that are not values: slice bounds (``c[4:]``) and round()'s decimals."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Slice):
            out |= {id(x) for x in ast.walk(n) if isinstance(x, ast.Constant)}
        elif isinstance(n, ast.Call) and (getattr(n.func, "id", None) == "round" or
                                          getattr(n.func, "attr", None) == "round"):
            args = n.args[1:] if getattr(n.func, "id", None) == "round" else n.args
            out |= {id(x) for a in args for x in ast.walk(a) if isinstance(x, ast.Constant)}
    return out


def suspicious(source: str, numbers: set[float], strict: bool) -> list[tuple[int, float]]:
    """(line, value) of each literal in ``source`` that equals a published number: a numeric
    constant (a negative one too), or a number written inside a string that is not a docstring.
    ``strict``: every such value; else only distinctive ones."""
    tree = ast.parse(source)
    docs, skip = _docstrings(tree), _skipped(tree)
    found = []

    def hit(line, value):
        k = _key(value)   # a difference the paper gives as +x may be typed as −x: either sign counts
        if k is not None and (k in numbers or -k in numbers) and (strict or distinctive(k)):
            found.append((line, value))

    for n in ast.walk(tree):
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub) and isinstance(n.operand, ast.Constant) \
                and type(n.operand.value) in (int, float):
            if id(n.operand) not in skip:
                hit(n.lineno, -n.operand.value)
            skip.add(id(n.operand))
        elif isinstance(n, ast.Constant) and id(n) not in skip:
            if type(n.value) in (int, float):
                hit(n.lineno, n.value)
            elif isinstance(n.value, str) and id(n) not in docs:
                for m in re.finditer(r"(?<![\w.])\d+\.\d+|(?<![\w.,])\d{4,}(?![\w.])", n.value):
                    if distinctive(float(m.group())):   # a short number in prose ("2 seeds") is no value
                        hit(n.lineno, float(m.group()))
    return found


NUMBERS = None


def _published():
    global NUMBERS
    if NUMBERS is None:
        NUMBERS = published_numbers()
    return NUMBERS


def test_the_scan_finds_a_typed_paper_value():
    """The scan is not a formality: the numbers it looks for, typed the ways they would be."""
    nums = _published()
    assert {24.7, 65.8, 17.1, 62.2, 99.9, 60000, 0.9867, 98.67, 76.5} <= nums   # cells, differences, register
    assert suspicious("paper = 65.8 - 48.7\n", nums, strict=True) == [(1, 65.8), (1, 48.7)]
    assert suspicious("def f():\n    return {'mnist': 60000}\n", nums, strict=False) == [(2, 60000)]
    assert suspicious("GAP = -62.2\n", nums, strict=True) == [(1, -62.2)]
    assert suspicious("x = 'the paper gets 99.4 %'\n", nums, strict=False) == [(1, 99.4)]
    assert suspicious("TRAINING_IMAGES = 50_000\n", nums, strict=False) == [(1, 50000)]
    # structural uses and layout numbers are not values of the paper
    assert suspicious("y = df.round(4)[c[4:]] * 100\n", nums, strict=True) == []
    assert suspicious("fig(figsize=(0.8, 2.4))\n", nums, strict=False) == []
    assert suspicious('"""Doc: 99.4 % on 60,000."""\n', nums, strict=True) == []


@pytest.mark.parametrize("path", STRICT + FIGURES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_published_number_is_typed_into_code(path):
    rel = str(path.relative_to(REPO))
    found = [(line, v) for line, v in suspicious(path.read_text(), _published(), strict=path in STRICT)
             if (rel, v) not in OURS]
    assert not found, (f"{rel}: published numbers typed as literals (line, value): {found}. Read them from "
                       f"advreg/reference/ (advreg.claims.published, the claims register), or, where the "
                       f"constant is ours and equals a paper number by chance, name it in OURS with why")


def test_every_constant_named_ours_is_still_there():
    """An entry of OURS whose literal went is removed, so the list stays a list of real exceptions."""
    for (rel, value), why in OURS.items():
        assert why
        assert (REPO / rel).is_file(), rel
        tree = ast.parse((REPO / rel).read_text())
        assert any(isinstance(n, ast.Constant) and type(n.value) in (int, float) and n.value == value
                   for n in ast.walk(tree)), f"{rel}: no literal {value} any more; drop it from OURS"


# ----------------------------------------------------------------------------- the values flow from the files

def _paper_values(scale: float = 1.0) -> dict[tuple[str, str, str], float]:
    """(claim id, dataset, case) -> the paper value its row shows, on the papers' own tables
    (tests/unit/test_paper_oracle.py) read through advreg.claims.published with every published
    number multiplied by ``scale``."""
    import test_paper_oracle as O

    from advreg.jobs import verdicts as V

    matrix, lrc, sn = P.published_matrix, P.lrc_data_covariance, P.sn_table

    def scaled_sn():
        t = sn()
        cols = [c for c in t.columns if c.startswith(("train_", "val_", "test_"))]
        return t.assign(**{c: t[c] * scale for c in cols})

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(P, "published_matrix", lambda name: matrix(name) * scale)
        mp.setattr(P, "lrc_data_covariance",
                   lambda ds: None if lrc(ds) is None else (lrc(ds)[0] * scale, lrc(ds)[1]))
        mp.setattr(P, "sn_table", scaled_sn)
        t = O.paper_tables()
        out = {}
        for entry in REGISTER["claims"]:
            if entry["effect"]["name"] in O.NOT_FROM_TABLES:
                continue
            fn, _ = V.EFFECTS[entry["effect"]["name"]]
            for ds in O.SMALL:
                try:
                    cases = fn(t, ds, **entry["effect"].get("args", {}))
                except V.NotTested:
                    continue
                for case in cases:
                    if not math.isnan(case.paper_value):
                        out[(entry["id"], ds, case.case)] = case.paper_value
    return out


def test_every_paper_value_of_a_verdict_is_read_from_the_published_tables():
    base, scaled = _paper_values(), _paper_values(1.1)
    assert len(base) >= 30 and base.keys() == scaled.keys()
    # every kind of table feeds some case: the matrices, the SN table and the data-covariance LRC numbers
    assert {e for e, _, _ in base} >= {"sgr-4.4-mnist-whitebox", "sn-test-gain", "sgr-4.3-data-covariance"}
    for k, v in base.items():
        assert scaled[k] == pytest.approx(1.1 * v, abs=1e-9), f"{k}: paper value {v} does not come from the tables"


def test_a_numeric_magnitude_is_the_registers():
    """A case judged against a number the register gives takes exactly that number."""
    from advreg.jobs import verdicts as V
    for e in REGISTER["claims"]:
        value = (e.get("magnitude") or {}).get("value")
        if isinstance(value, (int, float)):
            assert V.case_paper_value(e, V.Case("c", [1.0], paper_value=123.0)) == float(value)


# ----------------------------------------------------------------------------- one reader of advreg/reference/

def test_only_the_published_module_opens_the_reference_folder():
    """No module but advreg.claims.published builds a path into advreg/reference/ or names one of its
    tables: the loaders that were written three times stay written once."""
    tables = {p.name for p in (PKG / "reference").iterdir() if p.suffix in (".csv", ".yaml")}
    for path in PKG.rglob("*.py"):
        if path == PKG / "claims" / "published.py":
            continue
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                   and id(n) not in docs]
        rel = path.relative_to(REPO)
        joins = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)
                 and any(isinstance(x, ast.Constant) and x.value in ("reference", "advreg/reference")
                         for x in (n.left, n.right))]
        assert not joins, f"{rel} builds a path into advreg/reference/ (lines {joins})"
        assert "resources.files(" not in path.read_text(), f"{rel} reads package files itself"
        named = sorted(tables & set(strings) - {"claims.yaml"})   # the register is read by its own name
        assert not named, f"{rel} names published tables {named}: their index is advreg/reference/published.yaml"


def test_every_published_file_is_indexed_with_its_source():
    files = {p.name for p in (PKG / "reference").glob("*.csv")}
    indexed = {*INDEX["matrices"], *(e["file"] for e in INDEX["lrc_data_covariance"].values()),
               INDEX["sn_table"]["file"]}
    assert indexed == files
    readme = (PKG / "reference" / "README.md").read_text()
    for entry in [*INDEX["matrices"].values(), *INDEX["lrc_data_covariance"].values(), INDEX["sn_table"]]:
        assert entry["source"].strip()
    for name in files:
        assert name in readme or re.sub(r"eps-(small|large)", "eps-{small,large}", name).replace(
            "mnist_", "<dataset>_").replace("cifar10_pgd", "<dataset>_pgd") in readme, name
    for name, m in INDEX["matrices"].items():
        assert P.published_matrix(name).index.name == "target_model" and "test" in P.published_matrix(name)
        assert m["dataset"] in name and m["attack"] in name


def test_the_registers_eps_are_the_published_tables():
    """The register's Table-1 ε is the ε of a published matrix of that dataset (the ε-small ones), its
    LRC ε the one the data-covariance numbers were measured at, and config.yaml maps each file at
    the ε the index gives it."""
    by_ds = {}
    for name, m in INDEX["matrices"].items():
        by_ds.setdefault(m["dataset"], {})[C.label(m["eps_255"])] = name
    for ds, eps in REGISTER["table1_eps_255"].items():
        assert "eps-small" in by_ds[ds][C.label(eps)]
    assert {e["eps"] for e in INDEX["lrc_data_covariance"].values()} == {REGISTER["lrc_eps"]}
    from advreg.workflow import config_check
    config = config_check.load([REPO / "config.yaml"])
    for ds, by_attack in config["transfer"]["reference"].items():
        for attack, by_eps in by_attack.items():
            for eps, name in by_eps.items():
                assert P.matrix_eps(name) == pytest.approx(float(eps)), (ds, attack, eps, name)


def test_a_config_mapping_a_matrix_at_another_eps_is_refused():
    from advreg.workflow import config_check
    config = config_check.load([REPO / "config.yaml"])
    config["transfer"]["reference"]["mnist"]["pgd"] = {64: "mnist_pgd_eps-small_transfer.csv"}
    problems = [p for p in config_check.config_problems(config) if p.startswith("transfer.reference")]
    assert problems == ["transfer.reference.mnist.pgd.64: 'mnist_pgd_eps-small_transfer.csv' is the paper's "
                        "matrix at ε = 32/255 (advreg/reference/published.yaml), not 64"]


def test_a_missing_table_is_a_clear_error():
    with pytest.raises(P.MissingReference, match="no published matrix 'none.csv' in advreg/reference/"):
        P.published_matrix("none.csv")
    assert P.lrc_data_covariance("mnist") is None     # the paper gives data-covariance numbers for CIFAR-10 only
    assert isinstance(P.sn_table(), pd.DataFrame) and P.sn_table()["beta_star"].map(type).eq(str).all()
