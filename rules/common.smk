# Shared helpers: the path table, config views for the rules, wildcard constraints.
import os

from advreg.workflow import config_views
from advreg.workflow.extensions import files as extension_files
from advreg.base.params_text import shown  # report rules' params as plain text (issue 41)
from advreg.base.provenance import file_closure, module_relpath

R = os.path.join(config["results_dir"], config["run_name"])

# ------------------------------------------------------------------ the path table
# Every file under R a rule writes (and the scratch paths its jobs keep), as a pattern with the
# rule's wildcards: spelled here and nowhere else (issue 42: a path typed twice drifts, and the
# history path was once made by editing the model path). A rule's output or input names its
# pattern, PATHS["model"]; an input function or a target list fills one in, path("model",
# dataset=..., method=..., seed=...). An entry without an extension is the stem of a file written
# in several formats (a table's .csv/.md/.html, a figure's .png/.svg, an adversarial set's .pt
# images and .json record): its users add the format. Only a rule's own log and benchmark, which no
# other rule reads, are spelled in the rule. tests/workflow/test_path_table.py checks that rules/
# spells no other path under R, and that the workflow plans the same jobs with every entry moved.
PATHS = {
    # data and models (raw, checkpoint, sn_checkpoint: scratch of a job, not outputs)
    "dataset": f"{R}/data/{{dataset}}.pt",
    "raw": f"{R}/data/raw/{{dataset}}",
    "model": f"{R}/models/{{dataset}}/{{method}}/seed{{seed}}/model.pt",
    "history": f"{R}/models/{{dataset}}/{{method}}/seed{{seed}}/history.csv",
    "checkpoint": f"{R}/checkpoints/{{dataset}}/{{method}}/seed{{seed}}.pt",
    # per (dataset, seed): one model's attacks and checks, the matrices
    "adversarial": f"{R}/adversarial/{{dataset}}/seed{{seed}}/{{attack}}/eps{{eps}}/{{source}}",
    "strong": f"{R}/strong/{{dataset}}/seed{{seed}}/eps{{eps}}/{{source}}.json",
    "diagnostics": f"{R}/diagnostics/{{dataset}}/seed{{seed}}/eps{{eps}}/{{source}}.json",
    "matrix": f"{R}/matrices/{{dataset}}_seed{{seed}}_{{attack}}_eps{{eps}}",
    "whitebox_seed": f"{R}/tables/whitebox_{{dataset}}_seed{{seed}}",
    "decay_seed": f"{R}/structure/decay_lengths_{{dataset}}_seed{{seed}}",
    "lrc_noise": f"{R}/lrc/data_noise_{{dataset}}.pt",
    "lrc_points": f"{R}/lrc/{{dataset}}_seed{{seed}}_{{source}}.csv",
    "lrc_sweep_seed": f"{R}/lrc/lrc_sweep_{{dataset}}_seed{{seed}}",
    # tables per dataset (mean ± interval over the seeds)
    "clean_accuracy": f"{R}/tables/clean_accuracy_{{dataset}}",
    "whitebox": f"{R}/tables/whitebox_{{dataset}}",
    "robustness": f"{R}/tables/robustness_{{dataset}}",
    "robustness_rows": f"{R}/tables/robustness_{{dataset}}_per_seed.csv",
    "masking": f"{R}/tables/masking_{{dataset}}",
    "transfer": f"{R}/tables/transfer_{{dataset}}_{{attack}}_eps{{eps}}",
    "comparison": f"{R}/comparison/{{dataset}}_{{attack}}_eps{{eps}}",
    "lrc_sweep": f"{R}/tables/lrc_sweep_{{dataset}}",
    "decay": f"{R}/tables/decay_lengths_{{dataset}}",
    # figures
    "training_curves": f"{R}/figures/training_curves_{{dataset}}",
    "accuracy_vs_eps": f"{R}/figures/accuracy_vs_eps_{{dataset}}",
    "fig2": f"{R}/figures/fig2_covariance_{{dataset}}_seed{{seed}}",
    "fig3": f"{R}/figures/fig3_lrc_accuracy_vs_zeta_{{dataset}}_seed{{seed}}",
    "fig3_samples": f"{R}/figures/fig3_lrc_samples_{{dataset}}_seed{{seed}}",
    "fig4": f"{R}/figures/fig4_lrc_accuracy_vs_eps_{{dataset}}_seed{{seed}}",
    "fig5": f"{R}/figures/fig5_lrc_matrices_{{dataset}}_seed{{seed}}",
    "fig6": f"{R}/figures/fig6_trajectories_{{dataset}}_seed{{seed}}",
    "fig78": f"{R}/figures/fig78_samples_{{dataset}}_seed{{seed}}_{{source}}",
    # the SN paper
    "sn_model": f"{R}/sn/models/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}/model.pt",
    "sn_history": f"{R}/sn/models/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}/history.csv",
    "sn_checkpoint": f"{R}/checkpoints/sn/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}.pt",
    "sn_row": f"{R}/sn/eval/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}.json",
    "sn_margins": f"{R}/sn/eval/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}_margins.npy",
    "sn_sweep": f"{R}/tables/sn_sweep_{{dataset}}",
    "sn_table": f"{R}/tables/sn_generalization_{{dataset}}",
    "sn_gap": f"{R}/figures/sn_gap_{{dataset}}",
    "sn_beta_sweep": f"{R}/figures/sn_beta_sweep_{{dataset}}",
    "sn_margins_fig": f"{R}/figures/sn_margins_{{dataset}}",
    # the run: claim verdicts, summary, the report's landing page
    "claims": f"{R}/tables/claims",
    "claim_lines": f"{R}/tables/claim_lines.csv",
    "regime": f"{R}/tables/regime",
    "summary": f"{R}/summary",
    "landing": f"{R}/report_landing.rst",
}


def path(name, ext="", **wildcards):
    """The file of PATHS[name] (plus ``ext``, e.g. ".csv", for a stem) with ``wildcards`` filled in.
    Every wildcard of the pattern must be given (KeyError otherwise); "{x}" keeps the wildcard x."""
    return (PATHS[name] + ext).format(**wildcards)


LANDING_TEMPLATE = os.path.join(workflow.basedir, "report", "workflow.rst")


def landing_page_source():
    """The report's landing page: the summary job's (verdicts and regime above the static page)
    once a run wrote it, the static report/workflow.rst before."""
    landing = path("landing")
    return os.path.abspath(landing) if os.path.exists(landing) else LANDING_TEMPLATE


DATASETS = config["datasets"]


# The split each dataset will be built with (resolved once; the summary's run paragraph reads it),
# said on the console before any job (data.split `auto` falls back to the test-file split when no
# source holds the training files: loudly).
def _resolve_splits():
    from advreg.data.sources import get_spec, resolve_split, sources

    d = config["data"]
    out = {}
    for ds in DATASETS:
        split, why = resolve_split(get_spec(ds), d["split"], sources(d["mirror"], d["offline"]))
        if split == "test_file" and d["split"] == "auto":
            logger.warning(
                f"WARNING: data: {ds} will be built with the TEST-FILE split ({why}); the "
                f"models then train on official test images. Point data.mirror at the "
                f"training files, or set data.split: official to make this an error."
            )
        else:
            logger.info(f"data: {ds}: {split} split ({why})")
        out[ds] = split
    return out


SPLITS = _resolve_splits()
# the run's regime settings (advreg.workflow.config_views.run_regime), computed once for the rules that show them
RUN_REGIME = config_views.run_regime(config)


# Datasets replaced by a generated stand-in (data.stand_in, rehearsals only; advreg.data.stand_in),
# decided here, before any job: every caption, figure, summary line and claim row of theirs says so.
def _stand_ins():
    from advreg.data.sources import stand_in_needed

    d = config["data"]
    out = {ds for ds in DATASETS if stand_in_needed(ds, d["mirror"], d["offline"], d["stand_in"]["datasets"])}
    for ds in sorted(out):
        logger.warning(
            f"WARNING: data: {ds} is a SYNTHETIC STAND-IN (data.stand_in; no local mirror holds "
            f"its original files): every number computed from it is a rehearsal, not a result"
        )
    return out


STAND_IN = _stand_ins()


def stand_in_sizes(wildcards):
    """prepare_dataset's stand_in param: the stand-in's image counts, or None for the real files
    (a change either way re-runs the job and everything downstream)."""
    if wildcards.dataset not in STAND_IN:
        return None
    return {k: config["data"]["stand_in"][k] for k in ("train", "test")}


def data_note(wildcards):
    """The label a dataset's captions and figure titles open with: empty for the real data."""
    from advreg.data.stand_in import STAND_IN_LABEL

    return f"{STAND_IN_LABEL}. " if wildcards.dataset in STAND_IN else ""


METHODS = config["methods"]
# Every rule's software environment (`snakemake --sdm conda` builds it; the pins equal
# envs/requirements.txt, which the README's pip command installs).
ENV = "../envs/advreg.yaml"

# The GPU each job that runs a model holds (`resources` gpu=GPU where such jobs are defined): one, unless the
# run is pinned to the CPU. Locally Snakemake limits it only where a pool is declared
# (profiles/local: `resources: gpu: 1`, so two jobs never share the card); on SLURM the executor
# plugin turns it into `--gpus=1`.
GPU = 0 if config["device"] == "cpu" else 1
# the device setting every model-running job gets: the device and the CUDA numerics (advreg.base.device)
DEVICE = f'{config["device"]}+{config["cuda_numerics"]}'
SEEDS = config["seeds"]

# Report categories, numbered in the papers' order (the report sorts them by name): the summary
# and claim verdicts first, then the SGR paper's Table 1, matrices and Figs. 2-8, then the SN paper.
CATEGORY = {
    "summary": "1 Summary: claim verdicts and every table",
    "table1": "2 SGR Table 1: clean, white-box, strong attack",
    "matrices": "3 SGR Tables 3-4: white-box and transfer matrices",
    "comparison": "4 SGR: comparison with the published matrices",
    "structure": "5 SGR Figs. 2, 5: covariance structure",
    "lrc": "6 SGR Figs. 3-4: LRC attack",
    "smoothness": "7 SGR Figs. 6-8: smoothness and samples",
    "sn": "8 SN paper: generalization gap",
    "diagnostics": "9 Training curves and gradient-masking checks",
}


wildcard_constraints:
    dataset="|".join(DATASETS),
    method="[a-z0-9_]+",
    source="[a-z0-9_]+",
    attack="[a-z0-9_]+",
    eps=r"[0-9.]+|none",
    seed=r"\d+",
    beta=r"inf|[0-9.]+",


def script_code(script):
    """The advreg modules a rule's script runs: every one it imports, directly or through another
    (read from the imports: advreg.base.provenance.file_closure), declared as the rule's `code` inputs so
    that editing any of them re-runs the rule's jobs, and editing any other does not. A script that
    reaches the method or attack registries also depends on the config's extension files."""
    path = os.path.join(workflow.basedir, "scripts", f"{script}.py")
    modules = file_closure(path)
    code = [os.path.join(workflow.basedir, "advreg", str(module_relpath(m))) for m in modules]
    if {"advreg.training.methods", "advreg.attacks.whitebox"} & set(modules):
        code += extension_files(config.get("extensions"))
    return code


_COST_CACHE = {}


def _cluster_cost(kind, rule, wildcards, attempt):
    """advreg.workflow.cost's runtime or memory of one job, computed once per job (Snakemake evaluates a
    rule's resources many times while it schedules)."""
    key = (kind, rule, tuple(sorted(dict(wildcards).items())))
    if key not in _COST_CACHE:
        from advreg.workflow import cost

        w = dict(wildcards)
        if kind == "runtime":
            _COST_CACHE[key] = cost.job_runtime_minutes(rule, w, config, 1)
        elif kind == "mem_mb":  # host memory: the activations are on the GPU when the job has one
            _COST_CACHE[key] = cost.job_mem_mb(rule, w, config, 1, on_gpu=GPU > 0)
        else:
            _COST_CACHE[key] = cost.job_gpu_mem_mb(rule, w, config) if GPU else 0
    return _COST_CACHE[key] * attempt


def job_runtime(rule):
    """A cluster job's `runtime` (minutes) from the cost model (advreg.workflow.cost.job_runtime_minutes:
    predicted time at config `cost`'s stated throughput × its safety factor × the attempt, so a
    job killed at its wall time is re-submitted with more). Local runs and dry runs skip the FLOP
    counting and show the defaults (benchmarks/cost_model.py prints every job's cost)."""

    def runtime(wildcards, attempt):
        if workflow.local_exec:
            return config["cost"]["min_minutes"] * attempt
        return _cluster_cost("runtime", rule, wildcards, attempt)

    return runtime


def job_mem(rule):
    """A cluster job's `mem_mb` from its architecture and batch sizes (advreg.workflow.cost.job_mem_mb)."""

    def mem_mb(wildcards, attempt):
        if workflow.local_exec:
            return config["cost"]["base_mem_mb"] * attempt
        return _cluster_cost("mem_mb", rule, wildcards, attempt)

    return mem_mb


def job_gpu_mem(rule):
    """A cluster GPU job's `gpu_mem_mb` (CUDA context + activations, advreg.workflow.cost.job_gpu_mem_mb; 0
    when `device: cpu`). Local runs and dry runs skip the model building, as for runtime and
    mem_mb (benchmarks/cost_model.py prints every rule's figure)."""

    def gpu_mem_mb(wildcards, attempt):
        if workflow.local_exec or not GPU:
            return 0
        return _cluster_cost("gpu_mem_mb", rule, wildcards, attempt)

    return gpu_mem_mb


def lrc_data_noise_input(wildcards):
    """The data-covariance noise factor an lrc_attack job reads (one per dataset), when the run
    asks for that noise (lrc.data_covariance)."""
    return {"data_noise": path("lrc_noise", dataset=wildcards.dataset)} if config["lrc"]["data_covariance"] else {}


def seed_map(name, ext=""):
    """{seed: path} of a per-seed file (PATHS[name] with {dataset}, {attack}, {eps} and {seed}) for
    a rule's wildcards: the script reads each table under its seed, never by list order."""
    return lambda w: {s: path(name, ext, **{**dict(w), "seed": s}) for s in SEEDS}


def seed_paths(name, ext=""):
    """The same files as a rule's input."""
    return lambda w: list(seed_map(name, ext)(w).values())


def source_model(w):
    """The model a per-model job attacks or draws: its {source} wildcard's."""
    return path("model", dataset=w.dataset, method=w.source, seed=w.seed)


def dataset_models(wildcards):
    return [path("model", dataset=wildcards.dataset, method=m, seed=s) for m in METHODS for s in SEEDS]


def first_eps(dataset, attack):
    return config_views.attack_eps(config, dataset, attack)[0]


def first_record(dataset, attack):
    """The adversarial-set record (.json) of an attack's first ε on the first model and seed."""
    eps = first_eps(dataset, attack)
    return path("adversarial", ".json", dataset=dataset, seed=SEEDS[0], attack=attack, eps=eps, source=METHODS[0])


# ------------------------------------------------------------------ targets: what a run builds


def transfer_points(ds, published=False):
    """(attack, ε) of every transfer matrix of a dataset (published: only those the papers print)."""
    return [
        (a, e)
        for a in config["transfer"]["attacks"]
        for e in config_views.attack_eps(config, ds, a)
        if not published or config_views.reference_file(config, ds, a, e)
    ]


def seed_tables(ds):
    """Every seed-combined table of a dataset (rules/seeds.smk)."""
    out = [path("whitebox", ".csv", dataset=ds), path("decay", ".csv", dataset=ds)]
    out += [path("transfer", ".csv", dataset=ds, attack=a, eps=e) for a, e in transfer_points(ds)]
    out += [path("comparison", ".csv", dataset=ds, attack=a, eps=e) for a, e in transfer_points(ds, published=True)]
    if config["lrc"]["models"]:
        out.append(path("lrc_sweep", ".csv", dataset=ds))
    return out


def sn_tables(ds):
    """The SN paper's tables of a dataset (rules/sn.smk; its figures are in figure_files)."""
    return [path("sn_sweep", ".csv", dataset=ds), path("sn_table", ".md", dataset=ds)]


def figure_files():
    """Every figure a run draws (its PNG; each has an SVG twin), in the papers' order: the summary
    links each one."""
    out = []
    for ds in DATASETS:
        for seed in SEEDS:
            out += [path("matrix", ".png", dataset=ds, seed=seed, attack=a, eps=e) for a, e in transfer_points(ds)]
            names = ["fig2", "fig5"] + (["fig3", "fig3_samples", "fig4"] if config["lrc"]["models"] else [])
            out += [path(n, ".png", dataset=ds, seed=seed) for n in names + ["fig6"]]
            out += [path("fig78", ".png", dataset=ds, seed=seed, source=m) for m in config["smoothness"]["models"]]
    for ds in config["sn_experiments"]["datasets"]:
        out += [path(n, ".png", dataset=ds) for n in ("sn_gap", "sn_beta_sweep", "sn_margins_fig")]
    for ds in DATASETS:
        out += [path("training_curves", ".png", dataset=ds), path("accuracy_vs_eps", ".png", dataset=ds)]
    return out


def all_targets(summary=True):
    """Every table and figure of the run (and the summary and the claim verdicts)."""
    targets = [path("summary", ".md"), path("claims", ".csv")] if summary else []
    for ds in DATASETS:
        targets += [path(n, ".csv", dataset=ds) for n in ("clean_accuracy", "robustness", "masking")]
        targets += seed_tables(ds)
        for seed in SEEDS:
            targets += [path("matrix", ".csv", dataset=ds, seed=seed, attack=a, eps=e) for a, e in transfer_points(ds)]
    for ds in config["sn_experiments"]["datasets"]:
        targets += sn_tables(ds)
    return targets + figure_files()


def run_facts():
    """What the summary's opening paragraph says the run was, beside the paper's values
    (advreg.jobs.summary.run_paragraph): seeds, the split each dataset is built with, the paper
    attack and its steps, the strong ensemble, the LRC grid."""
    splits = {ds: "SYNTHETIC STAND-IN" if ds in STAND_IN else f"{SPLITS[ds]} split" for ds in DATASETS}
    a = STRONG["paper_attack"]
    lrc = config["lrc"]
    return {
        "seeds": SEEDS,
        "splits": splits,
        "max_test": config["evaluation"]["max_test"],
        "clean_max_test": config["evaluation"]["clean_max_test"],
        "paper_attack": {"name": a, "steps": config["attack_settings"][a].get("steps")},
        "strong": STRONG["attacks"],
        "lrc": {k: lrc[k] for k in ("k", "zetas", "epsilons")} if lrc["models"] else None,
        "device": config["device"],
        "cuda_numerics": config["cuda_numerics"],
    }


# ------------------------------------------------------------------ the claim verdicts' inputs


def claim_files():
    """The tables the claim verdicts read, by kind, dataset, ε and seed (the job looks each one up
    by its keys; nothing is matched by list order)."""
    lrc_ds = [ds for ds in DATASETS if config["lrc"]["models"]]
    sn_ds = config["sn_experiments"]["datasets"]
    a = config["strong_eval"]["paper_attack"]
    return {
        "robustness": {ds: path("robustness_rows", dataset=ds) for ds in DATASETS},
        "clean_accuracy": {ds: path("clean_accuracy", ".csv", dataset=ds) for ds in DATASETS},
        "matrices": {
            ds: {
                e: {str(s): path("matrix", ".csv", dataset=ds, seed=s, attack=a, eps=e) for s in SEEDS}
                for e in config_views.attack_eps(config, ds, a)
            }
            for ds in DATASETS
            if a in config["transfer"]["attacks"]
        },
        "lrc": {ds: {str(s): path("lrc_sweep_seed", ".csv", dataset=ds, seed=s) for s in SEEDS} for ds in lrc_ds},
        "decay": {ds: {str(s): path("decay_seed", ".csv", dataset=ds, seed=s) for s in SEEDS} for ds in DATASETS},
        "histories": {
            ds: {m: {str(s): path("history", dataset=ds, method=m, seed=s) for s in SEEDS} for m in METHODS}
            for ds in DATASETS
        },
        "sn_sweep": {ds: path("sn_sweep", ".csv", dataset=ds) for ds in sn_ds},
        "sn_generalization": {ds: path("sn_table", ".csv", dataset=ds) for ds in sn_ds},
    }


def flat_paths(tree):
    """Every path in a nested dict of paths."""
    return [p for v in tree.values() for p in (flat_paths(v) if isinstance(v, dict) else [v])]


# ------------------------------------------------------------------ the rules' input functions and views
# (here, not beside the rules that use them: `snakemake --lint` wants a file of rules to hold rules only)

# rules/strong.smk
STRONG = config["strong_eval"]


def strong_rows(dataset):
    return [
        path("strong", dataset=dataset, seed=s, eps=e, source=m)
        for e in config_views.attack_eps(config, dataset, STRONG["paper_attack"])
        for m in METHODS
        for s in SEEDS
    ]


def paper_set(ext):
    """A strong_eval job's images (.pt) or record (.json) of the paper's attack."""
    return lambda w: path(
        "adversarial", ext, dataset=w.dataset, seed=w.seed, attack=STRONG["paper_attack"], eps=w.eps, source=w.source
    )


DIAG = config["diagnostics"]
DIAG_SEEDS = DIAG["seeds"] if DIAG["seeds"] is not None else SEEDS


def diag_rows(dataset):
    return [
        path("diagnostics", dataset=dataset, seed=s, eps=e, source=m)
        for e in config_views.attack_eps(config, dataset, STRONG["paper_attack"])
        for m in METHODS
        for s in DIAG_SEEDS
    ]


def diag_matrices(dataset):
    """(seed, ε) -> the paper attack's transfer matrix (best transfer source), where the run builds one."""
    a = STRONG["paper_attack"]
    if a not in config["transfer"]["attacks"]:
        return {}
    return {
        (str(s), e): path("matrix", ".csv", dataset=dataset, seed=s, attack=a, eps=e)
        for s in DIAG_SEEDS
        for e in config_views.attack_eps(config, dataset, a)
    }


# rules/sn.smk
SN = config["sn_experiments"]


def sn_runs(name):
    """Every (scheme, β, seed) file PATHS[name] (sn_row, sn_margins) of the dataset's SN runs."""
    return lambda w: [
        path(name, dataset=w.dataset, method=m, beta=b, seed=s)
        for m in SN["schemes"]
        for b in config_views.sn_betas(config, w.dataset)
        for s in SN["seeds"]
    ]


# rules/seeds.smk
def whitebox_seed_files(ext):
    """{seed: path with a {dataset} wildcard} of the per-seed white-box tables (SGR Table 1), which the
    dataset's whitebox_table job writes beside the table over seeds."""
    return {s: path("whitebox_seed", f".{ext}", dataset="{dataset}", seed=s) for s in SEEDS}


def whitebox_seed_outputs(ext):
    return list(whitebox_seed_files(ext).values())


def whitebox_seed_map(w):
    """{seed: {csv, md, tex, html}} of the job's per-seed tables: the script files each record under
    the seed it names, never by list order."""
    return {
        s: {ext: path("whitebox_seed", f".{ext}", dataset=w.dataset, seed=s) for ext in ("csv", "md", "tex", "html")}
        for s in SEEDS
    }


def whitebox_metrics(w):
    """Every adversarial-set record of the dataset, all seeds: each names its own seed."""
    return [
        path("adversarial", ".json", dataset=w.dataset, seed=s, attack=a, eps=e, source=m)
        for s in SEEDS
        for a in config["attacks"]
        for e in config_views.attack_eps(config, w.dataset, a)
        for m in METHODS
    ]


def first_metrics(w):
    """One adversarial-set record of the dataset: its ``data`` field is the captions' split clause."""
    return first_record(w.dataset, config["attacks"][0])


# The LRC sweep's column kinds (advreg.figures.cells: "accuracy" coloured on the fixed scale, "count"
# an integer), declared once for the per-seed table (lrc_figures) and the table over seeds (lrc_seeds).
LRC_KINDS = {"worst_of_k_acc": "accuracy", "mean_single_acc": "accuracy", "k": "count", "n": "count", "seed": "count"}


# rules/transfer.smk
def matrix_files(w):
    """{row label: {model, set, metrics}} of one matrix: the job reads each file under its label."""
    adv = dict(dataset=w.dataset, seed=w.seed, attack=w.attack, eps=w.eps)
    return {
        label: {
            "model": path("model", dataset=w.dataset, method=m, seed=w.seed),
            "set": path("adversarial", ".pt", **adv, source=m),
            "metrics": path("adversarial", ".json", **adv, source=m),
        }
        for label, m in config_views.matrix_models(config, w.dataset, w.eps).items()
    }


# {label: path} maps of the figure rules: the rule's input is the map's values, its params the map
# itself, so the script reads each file under its own label (never by list order)
def structure_sets(w):
    m = config["structure"]["model"]
    return {
        f"{a} ε={first_eps(w.dataset, a)}": path(
            "adversarial", ".pt", dataset=w.dataset, seed=w.seed, attack=a, eps=first_eps(w.dataset, a), source=m
        )
        for a in config["structure"]["attacks"]
    }


def lrc_csvs(w):
    return {m: path("lrc_points", dataset=w.dataset, seed=w.seed, source=m) for m in config["lrc"]["models"]}


def lrc_sample_model(w):
    """The model lrc_figures draws its samples with: the first of lrc.models."""
    return path("model", dataset=w.dataset, method=config["lrc"]["models"][0], seed=w.seed)


def smoothness_set(dataset, seed, source):
    """The adversarial set (.pt) of the smoothness attack's first ε (Figs. 6-8)."""
    a = config["smoothness"]["attack"]
    return path("adversarial", ".pt", dataset=dataset, seed=seed, attack=a, eps=first_eps(dataset, a), source=source)


def smoothness_source_set(w):
    return smoothness_set(w.dataset, w.seed, w.source)


def trajectory_files(w):
    return {
        m: {
            "model": path("model", dataset=w.dataset, method=m, seed=w.seed),
            "set": smoothness_set(w.dataset, w.seed, m),
        }
        for m in config["smoothness"]["models"]
    }


def history_files(w):
    return {f"{m} (seed {s})": path("history", dataset=w.dataset, method=m, seed=s) for m in METHODS for s in SEEDS}


def values_of(fn, key=None):
    """The input list of a {label: path} (or {label: {key: path}}) map function."""
    return lambda w: [v if key is None else v[key] for v in fn(w).values()]


def matrix_inputs(w):
    files = list(matrix_files(w).values())
    return {
        "data": path("dataset", dataset=w.dataset),
        "models": [f["model"] for f in files],
        "sets": [f["set"] for f in files],
        "metrics": [f["metrics"] for f in files],
    }


# rules/summary.smk
def summary_inputs(w):
    # the seed-combined tables (mean ± interval), as stems; the per-seed ones stay in the report
    tables, matrices, comparisons, structure, lrc = [], [], [], [], []
    for ds in DATASETS:
        tables += [path(n, dataset=ds) for n in ("clean_accuracy", "whitebox", "robustness", "masking")]
        matrices += [path("transfer", dataset=ds, attack=a, eps=e) for a, e in transfer_points(ds)]
        comparisons += [path("comparison", dataset=ds, attack=a, eps=e) for a, e in transfer_points(ds, published=True)]
        structure.append(path("decay", dataset=ds))
        if config["lrc"]["models"]:
            lrc.append(path("lrc_sweep", dataset=ds))
    sn = [path("sn_table", dataset=ds) for ds in config["sn_experiments"]["datasets"]]
    stems = [path("claims")] + tables + matrices + comparisons + structure + lrc + sn

    def md(stems):
        return [s + ".md" for s in stems]

    return {
        # each Markdown table's HTML page: summary.html shows the coloured table (one colour rule)
        "pages": [s + ".html" for s in stems],
        "claims": path("claims", ".md"),
        "claim_lines": path("claim_lines"),
        "regime_csv": path("regime", ".csv"),
        # the test-image counts the verdict card states, from what the jobs wrote (one per dataset,
        # in DATASETS order): the clean table, the paper attack's record of the first model, the strong check
        "clean_counts": [path("clean_accuracy", ".csv", dataset=ds) for ds in DATASETS],
        "attack_counts": [first_record(ds, STRONG["paper_attack"]) for ds in DATASETS],
        "strong_counts": [path("robustness_rows", dataset=ds) for ds in DATASETS],
        "tables": md(tables),
        "matrices": md(matrices),
        "comparisons": md(comparisons),
        "structure": md(structure),
        "lrc": md(lrc),
        "sn": md(sn),
        "figures": figure_files(),
    }
