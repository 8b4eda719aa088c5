"""The one reader of advreg/reference/: the papers' published tables and the claims register.

Every number the pipeline takes from the papers lives in a file of that folder with its source
beside it (README.md there): the published matrices and tables, indexed with their dataset, attack,
ε and source in ``published.yaml``, and the claims register ``claims.yaml`` (regime values,
magnitudes; advreg.claims.register). Code reads them through this module only (the jobs, the
config check, the register): tests/unit/test_paper_values.py holds the package to that and to no
paper number typed into code.

Torch-free, and pandas only when a table is read (the config check imports this module when
Snakemake parses the workflow)."""
from __future__ import annotations

import functools
from importlib import resources

import yaml

INDEX = "published.yaml"


class MissingReference(FileNotFoundError):
    """A file the caller names is not in advreg/reference/."""


def reference_path(name: str):
    """The file ``name`` of advreg/reference/ (an importlib Traversable; it may not exist)."""
    return resources.files("advreg") / "reference" / name


def has_reference(name: str) -> bool:
    return reference_path(name).is_file()


def _existing(name: str, what: str):
    path = reference_path(name)
    if not path.is_file():
        raise MissingReference(f"no {what} {name!r} in advreg/reference/")
    return path


def read_text(name: str) -> str:
    """A text file of advreg/reference/ (the claims register, the index)."""
    return _existing(name, "file").read_text(encoding="utf-8")


@functools.cache
def _index_cached() -> dict:
    return yaml.safe_load(read_text(INDEX))


def index() -> dict:
    """published.yaml: ``matrices`` (file -> dataset, attack, eps_255, source),
    ``lrc_data_covariance`` (dataset -> file, eps, source), ``sn_table`` (file, source). A copy:
    the caller may change it."""
    import copy
    return copy.deepcopy(_index_cached())


#: ours, not the papers': two ε (a run's and a paper's) are the same when they differ by less (float rounding)
EPS_MATCH = 1e-9


def same_eps(a: float, b: float) -> bool:
    """Whether a run's ε and a paper's are the same (``EPS_MATCH``): the one comparison the verdicts
    and the config check make."""
    return abs(float(a) - float(b)) < EPS_MATCH


def matrix_eps(name: str) -> float | None:
    """The ε (1/255) of the published matrix ``name`` (published.yaml), None for a file the index
    does not list as a matrix."""
    entry = _index_cached()["matrices"].get(name)
    return None if entry is None else float(entry["eps_255"])


def published_matrix(name: str):
    """A published white-box/transfer matrix (pandas; row: the model attacked; ``test``: its clean
    accuracy; the other columns: the source model of the PGD examples), in %."""
    import pandas as pd
    return pd.read_csv(_existing(name, "published matrix"), index_col=0)


def lrc_data_covariance(dataset: str):
    """(the paper's worst-of-k accuracy (%) by model under noise with ``dataset``'s own covariance,
    the ε it was measured at), or None where the paper gives none for ``dataset``."""
    entry = _index_cached()["lrc_data_covariance"].get(dataset)
    if entry is None:
        return None
    import pandas as pd
    table = pd.read_csv(_existing(entry["file"], "published table"), index_col=0)
    return table["worst_of_k_acc"], float(entry["eps"])


def sn_table():
    """The SN paper's table (one row per dataset, arch, scheme): accuracies as fractions, β* as
    the authors print it (text: 'inf', '2.0')."""
    import pandas as pd
    name = _index_cached()["sn_table"]["file"]
    return pd.read_csv(_existing(name, "published table"), dtype={"beta_star": str})
