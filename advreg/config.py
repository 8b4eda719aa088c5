"""Reading the pipeline configuration: cross-reference checks the JSON schema cannot express,
and the per-job views (model spec, method hyperparameters, training settings) the rules pass on.

The schema (schemas/config.schema.yaml) checks types and ranges; ``check_config`` checks that
every name used refers to something that exists, with an error naming the bad value.
"""
from __future__ import annotations

import copy
from importlib import resources

from advreg.attacks import ATTACKS
from advreg.data import DATASETS
from advreg.methods import check_method, method_kind
from advreg.models import available_architectures
from advreg.train import TrainSettings


class ConfigError(ValueError):
    pass


def check_config(config: dict) -> None:
    for ds in config["datasets"]:
        if ds not in DATASETS:
            raise ConfigError(f"datasets: unknown dataset {ds!r}; expected one of {sorted(DATASETS)}")
        if ds not in config["dataset_settings"]:
            raise ConfigError(f"datasets: {ds!r} has no entry under dataset_settings")
        _check_arch(f"dataset_settings.{ds}.arch", config["dataset_settings"][ds]["arch"])
    for m in config["methods"]:
        _check_method_entry(config, "methods", m, config["datasets"])
    for ds, over in config.get("method_overrides", {}).items():
        for m in over:
            if m not in config["method_settings"]:
                raise ConfigError(f"method_overrides.{ds}: unknown method {m!r}")
    _check_attacks(config)
    _check_strong_eval(config)
    _check_sn_experiments(config)
    for key, models in (("structure.model", [config["structure"]["model"]]),
                        ("lrc.models", config["lrc"]["models"]),
                        ("smoothness.models", config["smoothness"]["models"])):
        for m in models:
            if m not in config["methods"]:
                raise ConfigError(f"{key}: {m!r} is not among the trained methods {config['methods']}; "
                                  f"add it to methods or remove it from {key}")
    for key, attacks in (("structure.attacks", config["structure"]["attacks"]),
                         ("smoothness.attack", [config["smoothness"]["attack"]])):
        for a in attacks:
            if a not in config["attacks"] or config["attack_settings"][a]["eps_255"] is None:
                raise ConfigError(f"{key}: {a!r} is not an attack with a strength among {config['attacks']}")


def _check_arch(key: str, arch: str) -> None:
    if arch not in available_architectures():
        raise ConfigError(f"{key}: unknown architecture {arch!r}; expected one of {available_architectures()}")


def _check_method_entry(config: dict, key: str, m: str, datasets: list[str]) -> None:
    """``m`` names a method_settings entry whose hyperparameters are valid for every dataset."""
    if m not in config["method_settings"]:
        raise ConfigError(f"{key}: unknown method {m!r}; expected one of "
                          f"{sorted(config['method_settings'])} (the keys of method_settings)")
    for ds in datasets:
        try:
            check_method(m, method_cfg(config, ds, m))
        except ValueError as e:
            raise ConfigError(f"method_settings.{m} (dataset {ds}): {e}") from None


def _check_attacks(config: dict) -> None:
    for name in config["attacks"]:
        if name not in config["attack_settings"]:
            raise ConfigError(f"attacks: unknown attack {name!r}; expected one of "
                              f"{sorted(config['attack_settings'])} (the keys of attack_settings)")
        cfg = config["attack_settings"][name]
        kind = cfg.get("kind", name)
        if kind not in ATTACKS:
            raise ConfigError(f"attacks.{name}: unknown attack kind {kind!r}; expected one of {sorted(ATTACKS)}")
        for ds in config["datasets"]:
            if cfg["eps_255"] is not None and ds not in cfg["eps_255"]:
                raise ConfigError(f"attack_settings.{name}.eps_255 has no strengths for dataset {ds!r}")
    for ds, over in config.get("attack_overrides", {}).items():
        for a in over:
            if a not in config["attack_settings"]:
                raise ConfigError(f"attack_overrides.{ds}: unknown attack {a!r}")
    tr = config["transfer"]
    for a in tr["attacks"]:
        if a not in config["attacks"]:
            raise ConfigError(f"transfer.attacks: {a!r} is not among the attacks run ({config['attacks']})")
        if config["attack_settings"][a]["eps_255"] is None:
            raise ConfigError(f"transfer.attacks: {a!r} has no strength ε to build matrices for")
    for ds, by_eps in tr.get("retrained", {}).items():
        for eps, mapping in by_eps.items():
            for label, method in mapping.items():
                if method not in config["method_settings"]:
                    raise ConfigError(f"transfer.retrained.{ds}.{eps}: unknown method {method!r} for row {label!r}")
    for ds, by_attack in tr.get("reference", {}).items():
        for a, by_eps in by_attack.items():
            for eps, fname in by_eps.items():
                if not (resources.files("advreg") / "reference" / fname).is_file():
                    raise ConfigError(f"transfer.reference.{ds}.{a}.{eps}: no file {fname!r} in advreg/reference/")


def _check_strong_eval(config: dict) -> None:
    st = config["strong_eval"]
    a = st["paper_attack"]
    if a not in config["attacks"] or config["attack_settings"][a]["eps_255"] is None:
        raise ConfigError(f"strong_eval.paper_attack: {a!r} is not an attack with a strength among the "
                          f"attacks run ({config['attacks']})")
    n, n_paper = st["max_test"], config["evaluation"]["max_test"]
    if n and n_paper and n > n_paper:
        raise ConfigError(f"strong_eval.max_test: {n} images, but the paper attack runs on only "
                          f"evaluation.max_test = {n_paper}; use at most {n_paper} (or null)")
    dg = config["diagnostics"]
    for s in dg["seeds"] or []:
        if s not in config["seeds"]:
            raise ConfigError(f"diagnostics.seeds: seed {s} is not among the run's seeds {config['seeds']}")
    for ds in config["datasets"]:
        sweep = dg["eps_255"].get(ds)
        if sweep is None:
            raise ConfigError(f"diagnostics.eps_255 has no ε sweep for dataset {ds!r}")
        for e in attack_eps(config, ds, a):
            if float(e) not in [float(v) for v in sweep]:
                raise ConfigError(f"diagnostics.eps_255.{ds}: the sweep {sweep} must contain the paper "
                                  f"attack's ε = {e} (1/255)")
    for key, entries in (("strong_eval.attacks", st["attacks"]), ("diagnostics.sweep_attacks", dg["sweep_attacks"])):
        for i, e in enumerate(entries):
            _check_strong_entry(f"{key}[{i}]", e)


def _check_strong_entry(key: str, e: dict) -> None:
    unused = {"square": {"steps", "targets"}, "apgd_ce": {"queries", "targets"},
              "apgd_dlr": {"queries", "targets"}}.get(e["kind"], {"queries"}) & set(e)
    if unused:
        raise ConfigError(f"{key} ({e['kind']}): {sorted(unused)} do not apply to this attack")


SN_SCHEME_KINDS = ("clean", "fgm", "pgm", "wrm")


def _check_sn_experiments(config: dict) -> None:
    sn = config["sn_experiments"]
    if sn["datasets"] and sn["val"] > config["data"]["val"]:
        raise ConfigError(f"sn_experiments.val: {sn['val']} validation images asked for, but the datasets "
                          f"hold only data.val = {config['data']['val']}; raise data.val or lower sn_experiments.val")
    for ds in sn["datasets"]:
        if ds not in config["datasets"]:
            raise ConfigError(f"sn_experiments.datasets: {ds!r} is not among the run's datasets {config['datasets']}")
        if ds not in sn["settings"]:
            raise ConfigError(f"sn_experiments.datasets: {ds!r} has no entry under sn_experiments.settings")
        _check_arch(f"sn_experiments.settings.{ds}.arch", sn["settings"][ds]["arch"])
    for m in sn["schemes"]:
        _check_method_entry(config, "sn_experiments.schemes", m, sn["datasets"])
        kind = method_kind(m, config["method_settings"][m])
        if kind not in SN_SCHEME_KINDS:
            raise ConfigError(f"sn_experiments.schemes: {m!r} is a {kind!r} method; the SN experiments "
                              f"take the paper's schemes, kinds {list(SN_SCHEME_KINDS)}")
        if config["method_settings"][m].get("spectral_norm"):
            raise ConfigError(f"sn_experiments.schemes: {m!r} already has spectral_norm; list the "
                              f"method without SN (the sweep adds it at each β)")


def sn_method_cfg(config: dict, dataset: str, method: str, beta: str) -> dict:
    """A scheme of the SN experiments at one β ('inf': no SN), on the experiment's architecture."""
    from advreg.sn_experiment import parse_beta, with_beta
    sn = config["sn_experiments"]
    st = sn["settings"][dataset]
    cfg = with_beta(method_cfg(config, dataset, method), parse_beta(beta), sn["mode"])
    cfg["arch"], cfg["widths"] = st["arch"], list(st["widths"])
    return cfg


def sn_model_spec(config: dict, dataset: str, method: str, beta: str) -> dict:
    return _spec(config, dataset, sn_method_cfg(config, dataset, method, beta))


def sn_train_settings(config: dict, dataset: str, seed) -> dict:
    st = config["sn_experiments"]["settings"][dataset]
    s = TrainSettings(epochs=st["epochs"], batch_size=st["batch_size"], lr=st["lr"], seed=int(seed),
                      optimizer=st["optimizer"], early_stop_acc=st["early_stop_acc"],
                      eval_batch_size=config["evaluation"]["batch_size"], max_train=st["max_train"])
    return s.__dict__.copy()  # no augmentation: the SN experiments train on the raw images


def sn_betas(config: dict, dataset: str) -> list[str]:
    from advreg.sn_experiment import beta_label
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
            "widths": list(mcfg.get("widths", ds["widths"])), "num_classes": 10}
    if mcfg.get("spectral_norm"):
        spec["spectral_norm"] = mcfg["spectral_norm"]
    return spec


def train_settings(config: dict, dataset: str, seed: int) -> dict:
    ds = config["dataset_settings"][dataset]
    s = TrainSettings(epochs=ds["epochs"], batch_size=ds["batch_size"], lr=ds["lr"], seed=int(seed),
                      crop_pad=ds["crop_pad"], flip=ds["flip"], fill=ds["fill"],
                      eval_batch_size=config["evaluation"]["batch_size"],
                      max_train=ds.get("max_train"), lr_schedule=ds["lr_schedule"])
    return s.__dict__.copy()
