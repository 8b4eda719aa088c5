"""The per-job views of a checked configuration (``advreg.workflow.config_check``): a model's spec,
a method's or attack's hyperparameters on one dataset, the training settings, the matrices' rows,
the run's regime. The rules pass these on to the jobs as params."""
from __future__ import annotations

import copy
import dataclasses

from advreg.data.sources import DATASETS, get_spec, resolve_split, sources, stand_in_needed
from advreg.nn.sn_modes import beta_label, parse_beta, with_beta
from advreg.training.method_kinds import method_kind
from advreg.training.settings import TrainSettings


def sn_method_cfg(config: dict, dataset: str, method: str, beta: str) -> dict:
    """A scheme of the SN experiments at one β ('inf': no SN), on the experiment's architecture."""
    sn = config["sn_experiments"]
    st = sn["settings"][dataset]
    cfg = with_beta(method_cfg(config, dataset, method), parse_beta(beta), sn["mode"])
    cfg["arch"], cfg["widths"] = st["arch"], list(st["widths"])
    return cfg


def sn_model_spec(config: dict, dataset: str, method: str, beta: str) -> dict:
    return _spec(config, dataset, sn_method_cfg(config, dataset, method, beta))


def sn_betas(config: dict, dataset: str) -> list[str]:
    return [beta_label(b) for b in config["sn_experiments"]["settings"][dataset]["betas"]]


def fmt_eps(eps) -> str:
    """ε as it appears in paths and labels: 32, 76.5, or none."""
    if eps is None or eps == "none":
        return "none"
    f = float(eps)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def attack_cfg(config: dict, dataset: str, attack: str) -> dict:
    cfg = copy.deepcopy(config["attack_settings"][attack])
    cfg.update(config.get("attack_overrides", {}).get(dataset, {}).get(attack, {}))
    return cfg


def attack_eps(config: dict, dataset: str, attack: str) -> list[str]:
    eps = config["attack_settings"][attack]["eps_255"]
    return ["none"] if eps is None else [fmt_eps(e) for e in eps[dataset]]


def _by_eps(mapping: dict, eps: str):
    return next((v for k, v in mapping.items() if fmt_eps(k) == eps), None)


def matrix_models(config: dict, dataset: str, eps: str) -> dict[str, str]:
    """Row/column label -> trained method for the matrices at strength ``eps`` (the paper's
    adversarially trained rows are retrained at each matrix's ε)."""
    swap = _by_eps(config["transfer"].get("retrained", {}).get(dataset, {}), eps) or {}
    return {m: swap.get(m, m) for m in config["methods"]}


def reference_file(config: dict, dataset: str, attack: str, eps: str) -> str | None:
    by_eps = config["transfer"].get("reference", {}).get(dataset, {}).get(attack, {})
    return _by_eps(by_eps, eps)


def trained_methods(config: dict, dataset: str) -> list[str]:
    """Every method a run trains for ``dataset``: the listed ones plus retrained matrix variants."""
    out = list(config["methods"])
    for a in config["transfer"]["attacks"]:
        for eps in attack_eps(config, dataset, a):
            out += [m for m in matrix_models(config, dataset, eps).values() if m not in out]
    return out


def method_cfg(config: dict, dataset: str, method: str) -> dict:
    """A method's hyperparameters for one dataset (defaults + per-dataset overrides)."""
    cfg = copy.deepcopy(config["method_settings"][method])
    cfg.update(config.get("method_overrides", {}).get(dataset, {}).get(method, {}))
    return cfg


def model_spec(config: dict, dataset: str, method: str) -> dict:
    return _spec(config, dataset, method_cfg(config, dataset, method))


def _spec(config: dict, dataset: str, mcfg: dict) -> dict:
    ds = config["dataset_settings"][dataset]
    c, h, _ = DATASETS[dataset].shape
    spec = {"arch": mcfg.get("arch", ds["arch"]), "in_channels": c, "image_size": h,
            "widths": list(mcfg.get("widths", ds["widths"])), "num_classes": DATASETS[dataset].classes}
    if mcfg.get("spectral_norm"):
        # β and mode from the method, the power-iteration numerics from config `spectral_norm`
        spec["spectral_norm"] = {**mcfg["spectral_norm"], **config["spectral_norm"]}
    return spec


def train_settings(config: dict, dataset: str, seed, sn: bool = False) -> dict:
    """A model's training settings (advreg.training.settings.TrainSettings as a dict): the dataset's
    block ``dataset_settings.<dataset>``, or with ``sn`` the SN experiments' block
    ``sn_experiments.settings.<dataset>`` (no augmentation keys: the SN experiments train on the raw
    images). Every key of the block that names a setting is passed on; the rest (arch, widths, the
    β grid) describe the model, not its training."""
    block = config["sn_experiments"]["settings"][dataset] if sn else config["dataset_settings"][dataset]
    names = {f.name for f in dataclasses.fields(TrainSettings)} - {"seed", "eval_batch_size"}
    s = TrainSettings(**{k: v for k, v in block.items() if k in names}, seed=int(seed),
                      eval_batch_size=config["evaluation"]["batch_size"])
    return dataclasses.asdict(s)


def training_images(config: dict, dataset: str, max_train: int | None) -> int:
    """How many images a model of ``dataset`` trains on: the split's training part (official: the
    training file less the ``data.val`` validation images; test-file: ``data.test_file_train``),
    cut to ``max_train``."""
    d = config["data"]
    if stand_in_needed(dataset, d["mirror"], d["offline"], d["stand_in"]["datasets"]):
        n = d["stand_in"]["train"] - d["val"]
        return min(n, max_train) if max_train else n
    split, _ = resolve_split(get_spec(dataset), d["split"], sources(d["mirror"], d["offline"]))
    n = DATASETS[dataset].train_images - d["val"] if split == "official" else d["test_file_train"]
    return min(n, max_train) if max_train else n


def run_regime(config: dict) -> dict:
    """The settings of a run that the claims register compares with the papers' (advreg.jobs.verdicts):
    per dataset the SGR models' widths, epochs and training images; the PGD-training steps; per SN
    dataset the β grid, epochs and training images; the SGR variants' Σ source and representation;
    the paper attack's ε per dataset; the test images the attacks use. (The LRC grid is read from
    the sweep's own table.)"""
    cfgs = {m: method_cfg(config, config["datasets"][0], m) for m in config["methods"]}
    out = {"datasets": {}, "sn": {}, "pgd_train_steps": cfgs.get("pgd", {}).get("steps"),
           "max_test": config["evaluation"]["max_test"],
           "clean_max_test": config["evaluation"]["clean_max_test"],
           "paper_attack_eps": {ds: attack_eps(config, ds, config["strong_eval"]["paper_attack"])
                                for ds in config["datasets"]},
           "sgr_variants": {m: {"source": c["source"], "representation": c["representation"]}
                            for m, c in cfgs.items() if method_kind(m, c) == "sgr" and not c.get("spectral_norm")}}
    for ds in config["datasets"]:
        st = config["dataset_settings"][ds]
        out["datasets"][ds] = {"widths": list(st["widths"]), "epochs": st["epochs"],
                               "training_images": training_images(config, ds, st.get("max_train"))}
    for ds in config["sn_experiments"]["datasets"]:
        st = config["sn_experiments"]["settings"][ds]
        out["sn"][ds] = {"betas": sn_betas(config, ds), "epochs": st["epochs"],
                         "training_images": training_images(config, ds, st.get("max_train"))}
    return out
