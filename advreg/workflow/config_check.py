"""Checking the pipeline configuration before any job starts: reading and merging the config
layers, the JSON schema, and the cross-reference checks the schema cannot express (the per-job
views of a checked config are ``advreg.workflow.config_views``).

The schema (schemas/config.schema.yaml) checks types and ranges; ``check_config`` checks that
every name used refers to something that exists, with an error naming the bad value.
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from advreg.attacks import strong_kinds
from advreg.attacks.kinds import KINDS as ATTACK_KINDS
from advreg.base.cuda_numerics import CUDA_NUMERICS
from advreg.base.params import check_params, yaml_number_hint
from advreg.claims import published
from advreg.data.sources import DATASETS, OFFICIAL, is_url, sources
from advreg.nn import architectures, sn_modes
from advreg.training.method_kinds import COMMON_KEYS, SN_SCHEMES, method_kind, method_params, method_problems
from advreg.workflow import extensions
from advreg.workflow.config_views import attack_eps, method_cfg


class ConfigError(ValueError):
    pass


# ----------------------------------------------------------------------------- reading

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


def load_schema() -> dict:
    """The schema, with what is declared in code filled in: the strong-attack kinds
    (advreg.attacks.strong_kinds.KINDS), the SN modes (advreg.nn.sn_modes.MODES) and the CUDA
    numerics (advreg.base.cuda_numerics), so the schema never lists them a second time."""
    schema = yaml.safe_load(SCHEMA_FILE.read_text())
    props = schema["properties"]
    props["strong_eval"]["properties"]["attacks"]["items"]["properties"]["kind"]["enum"] = list(strong_kinds.KINDS)
    props["sn_experiments"]["properties"]["mode"]["enum"] = list(sn_modes.MODES)
    props["cuda_numerics"]["enum"] = list(CUDA_NUMERICS)
    return schema


def read_layers(files) -> list[dict]:
    """Each config file as a dict, in order (config.yaml first, then the overrides)."""
    return [yaml.safe_load(Path(f).read_text()) or {} for f in files]


def merge(layers: list[dict]) -> dict:
    """Layers merged as Snakemake's --configfile does: dictionaries key by key, lists and scalars
    replaced (for entry points outside Snakemake, e.g. advreg.jobs.lambda_probe)."""
    def into(a: dict, b: dict) -> None:
        for k, v in b.items():
            if isinstance(v, dict) and isinstance(a.get(k), dict):
                into(a[k], v)
            else:
                a[k] = copy.deepcopy(v)
    out: dict = {}
    for layer in layers:
        into(out, layer)
    return out


def typed_overrides(overrides: dict) -> dict:
    """``--config`` overrides with their nested values typed as a config file types them.

    Why: Snakemake types a top-level ``--config key=value`` (int, float, bool) but reads a list or
    a mapping with YAML's BaseLoader, which leaves every element a string: ``seeds=[0,1]`` arrives
    as ``['0', '1']`` and ``dataset_settings={mnist: {epochs: 2}}`` with ``'2'``. Each nested
    string is read again with ``yaml.safe_load`` (what a config file gets), so both mean what
    they say."""
    def typed(v):
        if isinstance(v, dict):
            return {k: typed(x) for k, x in v.items()}
        if isinstance(v, list):
            return [typed(x) for x in v]
        if isinstance(v, str):
            try:
                return yaml.safe_load(v) if v.strip() else v
            except yaml.YAMLError:
                return v
        return v
    return {k: typed(v) if isinstance(v, (dict, list)) else v for k, v in overrides.items()}


def load(files, log=None) -> dict:
    """The config of an entry point outside Snakemake (benchmarks, the λ probe, tests): ``files``
    merged in order as Snakemake merges --configfile (config.yaml first) and validated as the
    Snakefile does; each note of the check goes to ``log``."""
    layers = read_layers(files)
    config = merge(layers)
    extensions.load(config.get("extensions"))  # their kinds must be known to the check
    for note in validate(config, load_schema(), layers):
        if log:
            log(f"config: {note}")
    return config


# ----------------------------------------------------------------------------- validation
# Everything is checked before the first job, and every problem is reported in one message, each
# naming its key path, the bad value and what is allowed.

def validate(config: dict, schema: dict, layers: list[dict] | None = None) -> list[str]:
    """Check ``config`` in place: the JSON schema (types, ranges, unknown keys), then the lists that
    refer to the run's methods/datasets/attacks (narrowed, see ``narrow_references``), then the
    cross-references and every method/attack parameter. Raises one ConfigError listing every
    problem; returns notes on what was narrowed (for the log).

    ``layers``: the config files in the order they were merged (config.yaml first, then each
    --configfile, then --config), used to tell a list the user set from one inherited.
    """
    problems = schema_problems(config, schema)
    if problems:
        # the cross-checks assume the schema's shapes: add what they find when they can still run,
        # so one message lists every problem
        try:
            problems += [p for p in config_problems(config) if p not in problems]
        except Exception:  # noqa: BLE001 - a shape the schema already rejected
            pass
        raise ConfigError(_report(problems))
    notes = narrow_references(config, layers or [config])
    problems = config_problems(config)
    if problems:
        raise ConfigError(_report(problems))
    return notes


def _report(problems: list[str]) -> str:
    n = len(problems)
    return (f"{n} problem{'s' if n > 1 else ''} in the configuration (nothing was run):\n"
            + "\n".join(f"  - {p}" for p in problems))


def key_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def schema_problems(config: dict, schema: dict) -> list[str]:
    from jsonschema import Draft202012Validator
    out = []
    errors = Draft202012Validator(schema).iter_errors(config)
    for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        where = key_path(e.absolute_path) or "(top level)"
        if e.validator in ("oneOf", "anyOf"):
            msg = f"{e.instance!r} matches none of the allowed forms"
        else:
            msg = e.message
        hint = yaml_number_hint(e.instance) if e.validator in ("type", "enum") else ""
        out.append(f"{where}: {msg}{hint}")
    return out


# Config lists and values that name the run's methods, attacks, datasets or seeds.
REFERENCES = (
    (("transfer", "attacks"), "attacks"),
    (("structure", "attacks"), "attacks"),
    (("structure", "model"), "methods"),
    (("lrc", "models"), "methods"),
    (("smoothness", "models"), "methods"),
    (("smoothness", "attack"), "attacks"),
    (("strong_eval", "paper_attack"), "attacks"),
    (("sn_experiments", "datasets"), "datasets"),
    (("diagnostics", "seeds"), "seeds"),
)


def _origin(layers: list[dict], path: tuple[str, ...]) -> int:
    """Index of the last layer that sets ``path`` (-1: none)."""
    found = -1
    for i, layer in enumerate(layers):
        node = layer
        for k in path:
            if not isinstance(node, dict) or k not in node:
                break
            node = node[k]
        else:
            found = i
    return found


def narrow_references(config: dict, layers: list[dict]) -> list[str]:
    """A list that refers to the run's methods/attacks/datasets/seeds and was set *before* them
    (an earlier config layer: e.g. config.yaml's `lrc.models` when an override narrows `methods`)
    keeps only what the run has. One set in the same or a later layer is the user's choice and is
    left as it is, so ``config_problems`` reports a name that is absent; so it does for a single
    name (e.g. `structure.model`), which cannot be narrowed. Returns notes on what was narrowed."""
    notes = []
    for path, target in REFERENCES:
        parent = config
        for k in path[:-1]:
            parent = parent[k]
        value, have = parent[path[-1]], config[target]
        if not isinstance(value, list):  # a single name, or null = all of the run's
            continue
        absent = [v for v in value if v not in have]
        if absent and _origin(layers, path) < _origin(layers, (target,)):
            kept = [v for v in value if v in have]
            if not kept and path == ("diagnostics", "seeds"):
                kept = None  # null: every seed of the run
            parent[path[-1]] = kept
            notes.append(f"{'.'.join(path)}: narrowed to {kept} (the run's {target} "
                         f"are {have}; {absent} left out)")
    return notes


def check_config(config: dict) -> None:
    """The cross-reference and parameter checks alone (no schema); raises one ConfigError."""
    problems = config_problems(config)
    if problems:
        raise ConfigError(_report(problems))


def config_problems(config: dict) -> list[str]:
    out = []
    for ds in config["datasets"]:
        if ds not in DATASETS:
            out.append(f"datasets: unknown dataset {ds!r}; expected one of {sorted(DATASETS)}")
        elif ds not in config["dataset_settings"]:
            out.append(f"datasets: {ds!r} has no entry under dataset_settings")
        else:
            out += _arch_problems(f"dataset_settings.{ds}.arch", config["dataset_settings"][ds]["arch"])
    for m in config["methods"]:
        if m not in config["method_settings"]:
            out += _method_entry_problems(config, "methods", m, config["datasets"])
    for m in config["method_settings"]:  # every entry, used or not: a typo is a typo
        out += _method_entry_problems(config, "method_settings", m, config["datasets"])
    for ds, over in config.get("method_overrides", {}).items():
        for m in over:
            if m not in config["method_settings"]:
                out.append(f"method_overrides.{ds}: unknown method {m!r}; expected one of "
                           f"{sorted(config['method_settings'])}")
    out += _attack_problems(config)
    out += _strong_eval_problems(config)
    out += _sn_problems(config)
    out += _stand_in_problems(config)
    for key in ("lrc.models", "smoothness.models", "structure.attacks"):
        section, name = key.split(".")
        if not config[section][name]:
            out.append(f"{key}: empty (after narrowing to the run's methods/attacks, if it was set in an "
                       f"earlier config file); name at least one, among {config['methods']} / {config['attacks']}")
    for key, models in (("structure.model", [config["structure"]["model"]]),
                        ("lrc.models", config["lrc"]["models"]),
                        ("smoothness.models", config["smoothness"]["models"])):
        for m in models:
            if m not in config["methods"]:
                out.append(f"{key}: {m!r} is not among the trained methods {config['methods']}; "
                           f"add it to methods or remove it from {key}")
    for key, attacks in (("structure.attacks", config["structure"]["attacks"]),
                         ("smoothness.attack", [config["smoothness"]["attack"]])):
        for a in attacks:
            if a not in config["attacks"] or config["attack_settings"][a]["eps_255"] is None:
                out.append(f"{key}: {a!r} is not an attack with a strength among {config['attacks']}")
    return list(dict.fromkeys(out))  # a problem found by two checks is reported once


def _arch_problems(key: str, arch: str) -> list[str]:
    if arch not in architectures.ARCHITECTURES:
        return [f"{key}: unknown architecture {arch!r}; expected one of {architectures.names()}"]
    return []


def _method_entry_problems(config: dict, key: str, m: str, datasets: list[str]) -> list[str]:
    """``m`` names a method_settings entry whose hyperparameters, with each dataset's overrides,
    are valid; a bad value is named where it is written."""
    if m not in config["method_settings"]:
        return [f"{key}: unknown method {m!r}; expected one of "
                f"{sorted(config['method_settings'])} (the keys of method_settings)"]
    base = config["method_settings"][m]
    out = method_problems(m, base, owner=f"method_settings.{m}")
    if out:
        return out
    for ds in datasets:
        over = config.get("method_overrides", {}).get(ds, {}).get(m)
        if not over:
            continue
        owner = f"method_overrides.{ds}.{m}"
        required, optional = method_params(m, base)
        found = check_params(owner, over, {}, {**required, **optional}, ignore=COMMON_KEYS,
                             note=f" (kind {method_kind(m, base)!r})")
        out += found or method_problems(m, method_cfg(config, ds, m), owner=owner)
    return out


def _attack_problems(config: dict) -> list[str]:
    out = []
    for name, cfg in config["attack_settings"].items():
        kind = cfg.get("kind", name)
        if kind not in ATTACK_KINDS:
            out.append(f"attack_settings.{name}: unknown attack kind {kind!r}; expected one of "
                       f"{sorted(ATTACK_KINDS)} (or a kind an extension registers: list its file under `extensions`)")
            continue
        out += check_params(f"attack_settings.{name}", cfg, {}, ATTACK_KINDS[kind].params,
                            ignore=("kind", "eps_255"), note=f" (kind {kind!r})")
    for name in config["attacks"]:
        if name not in config["attack_settings"]:
            out.append(f"attacks: unknown attack {name!r}; expected one of "
                       f"{sorted(config['attack_settings'])} (the keys of attack_settings)")
            continue
        eps = config["attack_settings"][name]["eps_255"]
        for ds in config["datasets"]:
            if eps is not None and ds not in eps:
                out.append(f"attack_settings.{name}.eps_255 has no strengths for dataset {ds!r}")
    for ds, over in config.get("attack_overrides", {}).items():
        for a, cfg in over.items():
            if a not in config["attack_settings"]:
                out.append(f"attack_overrides.{ds}: unknown attack {a!r}")
                continue
            kind = config["attack_settings"][a].get("kind", a)
            if kind in ATTACK_KINDS:
                out += check_params(f"attack_overrides.{ds}.{a}", cfg, {}, ATTACK_KINDS[kind].params,
                                    note=f" (kind {kind!r})")
    tr = config["transfer"]
    for a in tr["attacks"]:
        if a not in config["attacks"]:
            out.append(f"transfer.attacks: {a!r} is not among the attacks run ({config['attacks']})")
        elif config["attack_settings"][a]["eps_255"] is None:
            out.append(f"transfer.attacks: {a!r} has no strength ε to build matrices for")
    for ds, by_eps in tr.get("retrained", {}).items():
        for eps, mapping in by_eps.items():
            for label, method in mapping.items():
                if method not in config["method_settings"]:
                    out.append(f"transfer.retrained.{ds}.{eps}: unknown method {method!r} for row {label!r}")
                elif ds in config["datasets"]:
                    out += _method_entry_problems(config, f"transfer.retrained.{ds}.{eps}", method, [ds])
    for ds, by_attack in tr.get("reference", {}).items():
        for a, by_eps in by_attack.items():
            for eps, fname in by_eps.items():
                key = f"transfer.reference.{ds}.{a}.{eps}"
                if not published.has_reference(fname):
                    out.append(f"{key}: no file {fname!r} in advreg/reference/")
                    continue
                # the file's ε is the paper's (advreg/reference/published.yaml, with its source):
                # a config that compares it at another ε compares different attacks
                paper_eps = published.matrix_eps(fname)
                if paper_eps is None:
                    out.append(f"{key}: {fname!r} is not a published matrix (advreg/reference/published.yaml)")
                elif not published.same_eps(eps, paper_eps):
                    out.append(f"{key}: {fname!r} is the paper's matrix at ε = {paper_eps:g}/255 "
                               f"(advreg/reference/published.yaml), not {eps}")
    return out


def _strong_eval_problems(config: dict) -> list[str]:
    out = []
    st = config["strong_eval"]
    a = st["paper_attack"]
    if a not in config["attacks"] or config["attack_settings"][a]["eps_255"] is None:
        return [f"strong_eval.paper_attack: {a!r} is not an attack with a strength among the "
                f"attacks run ({config['attacks']})"]
    n, n_paper = st["max_test"], config["evaluation"]["max_test"]
    if n and n_paper and n > n_paper:
        out.append(f"strong_eval.max_test: {n} images, but the paper attack runs on only "
                   f"evaluation.max_test = {n_paper}; use at most {n_paper} (or null)")
    dg = config["diagnostics"]
    for s in dg["seeds"] or []:
        if s not in config["seeds"]:
            out.append(f"diagnostics.seeds: seed {s} is not among the run's seeds {config['seeds']}")
    for ds in config["datasets"]:
        sweep = dg["eps_255"].get(ds)
        if sweep is None:
            out.append(f"diagnostics.eps_255 has no ε sweep for dataset {ds!r}")
            continue
        if ds not in (config["attack_settings"][a]["eps_255"] or {}):
            continue  # reported by the attack check: no strengths for this dataset
        for e in attack_eps(config, ds, a):
            if float(e) not in [float(v) for v in sweep]:
                out.append(f"diagnostics.eps_255.{ds}: the sweep {sweep} must contain the paper "
                           f"attack's ε = {e} (1/255)")
    for key, entries in (("strong_eval.attacks", st["attacks"]), ("diagnostics.sweep_attacks", dg["sweep_attacks"])):
        for i, e in enumerate(entries):
            out += _strong_entry_problems(f"{key}[{i}]", e)
    return out


def _strong_entry_problems(key: str, e: dict) -> list[str]:
    return strong_kinds.problems(key, e)


def _stand_in_problems(config: dict) -> list[str]:
    """A stand-in is chosen before any job starts (advreg.data.sources.stand_in_needed), which only an
    offline run with local mirrors can do: a download might have supplied the original."""
    d = config["data"]
    listed = d["stand_in"]["datasets"]
    if not listed:
        return []
    out = []
    urls = [s for s in sources(d["mirror"], d["offline"]) if s == OFFICIAL or is_url(s)]
    if urls:
        out.append(f"data.stand_in.datasets: {listed} needs data.offline: true and local mirrors only "
                   f"(got the sources {urls}): whether a download supplies the original is known only "
                   f"when the job runs, and a stand-in must be chosen before any job starts")
    if d["stand_in"]["train"] <= d["val"]:
        out.append(f"data.stand_in.train={d['stand_in']['train']} must exceed data.val={d['val']} "
                   f"(the validation images are carved from the training part)")
    return out


def _sn_problems(config: dict) -> list[str]:
    out = []
    sn = config["sn_experiments"]
    if sn["datasets"] and sn["val"] > config["data"]["val"]:
        out.append(f"sn_experiments.val: {sn['val']} validation images asked for, but the datasets "
                   f"hold only data.val = {config['data']['val']}; raise data.val or lower sn_experiments.val")
    for ds in sn["datasets"]:
        if ds not in config["datasets"]:
            out.append(f"sn_experiments.datasets: {ds!r} is not among the run's datasets {config['datasets']}")
        elif ds not in sn["settings"]:
            out.append(f"sn_experiments.datasets: {ds!r} has no entry under sn_experiments.settings")
        else:
            out += _arch_problems(f"sn_experiments.settings.{ds}.arch", sn["settings"][ds]["arch"])
    for m in sn["schemes"]:
        entry = _method_entry_problems(config, "sn_experiments.schemes", m,
                                       [d for d in sn["datasets"] if d in config["datasets"]])
        out += entry
        if entry or m not in config["method_settings"]:
            continue
        kind = method_kind(m, config["method_settings"][m])
        if kind not in SN_SCHEMES:
            out.append(f"sn_experiments.schemes: {m!r} is a {kind!r} method; the SN experiments "
                       f"take the paper's schemes, kinds {list(SN_SCHEMES)}")
        if config["method_settings"][m].get("spectral_norm"):
            out.append(f"sn_experiments.schemes: {m!r} already has spectral_norm; list the "
                       f"method without SN (the sweep adds it at each β)")
    return out
