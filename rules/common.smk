# Shared helpers: config views for the rules, output paths, wildcard constraints.
import os

from advreg.workflow import config_views
from advreg.workflow.extensions import files as extension_files
from advreg.base.params_text import shown  # report rules' params as plain text (issue 41)
from advreg.base.provenance import file_closure, module_relpath

R = os.path.join(config["results_dir"], config["run_name"])
LANDING_TEMPLATE = os.path.join(workflow.basedir, "report", "workflow.rst")
LANDING_PAGE = f"{R}/report_landing.rst"


def landing_page_source():
    """The report's landing page: the summary job's (verdicts and regime above the static page)
    once a run wrote it, the static report/workflow.rst before."""
    return os.path.abspath(LANDING_PAGE) if os.path.exists(LANDING_PAGE) else LANDING_TEMPLATE


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
    return {"data_noise": f"{R}/lrc/data_noise_{wildcards.dataset}.pt"} if config["lrc"]["data_covariance"] else {}


def seed_map(template):
    """{seed: path} of a per-seed file (``template`` with {dataset}, {attack}, {eps} and {seed}) for
    a rule's wildcards: the script reads each table under its seed, never by list order."""
    return lambda w: {s: template.format(**dict(w), seed=s) for s in SEEDS}


def seed_paths(template):
    """The same files as a rule's input."""
    return lambda w: list(seed_map(template)(w).values())


MATRIX_SEED = f"{R}/matrices/{{dataset}}_seed{{seed}}_{{attack}}_eps{{eps}}.csv"


def model_path(dataset, method, seed):
    return f"{R}/models/{dataset}/{method}/seed{seed}/model.pt"


def dataset_models(wildcards):
    return [model_path(wildcards.dataset, m, s) for m in METHODS for s in SEEDS]


def adv_path(dataset, seed, attack, eps, source, ext):
    return f"{R}/adversarial/{dataset}/seed{seed}/{attack}/eps{eps}/{source}.{ext}"


def matrix_targets(ds, seed):
    out = []
    for a in config["transfer"]["attacks"]:
        for e in config_views.attack_eps(config, ds, a):
            stem = f"{ds}_seed{seed}_{a}_eps{e}"
            out += [f"{R}/matrices/{stem}.csv", f"{R}/matrices/{stem}.png"]
    return out


# ------------------------------------------------------------------ targets: what a run builds


def transfer_stems(ds):
    return [f"{ds}_{a}_eps{e}" for a in config["transfer"]["attacks"] for e in config_views.attack_eps(config, ds, a)]


def comparison_stems(ds):
    return [
        f"{ds}_{a}_eps{e}"
        for a in config["transfer"]["attacks"]
        for e in config_views.attack_eps(config, ds, a)
        if config_views.reference_file(config, ds, a, e)
    ]


def seed_tables(ds):
    """Every seed-combined table of a dataset (rules/seeds.smk)."""
    out = [f"{R}/tables/whitebox_{ds}.csv", f"{R}/tables/decay_lengths_{ds}.csv"]
    out += [f"{R}/tables/transfer_{s}.csv" for s in transfer_stems(ds)]
    out += [f"{R}/comparison/{s}.csv" for s in comparison_stems(ds)]
    if config["lrc"]["models"]:
        out.append(f"{R}/tables/lrc_sweep_{ds}.csv")
    return out


def sn_targets():
    """The SN paper's tables and figures per dataset (rules/sn.smk)."""
    out = []
    for ds in config["sn_experiments"]["datasets"]:
        out += [
            f"{R}/tables/sn_sweep_{ds}.csv",
            f"{R}/tables/sn_generalization_{ds}.md",
            f"{R}/figures/sn_gap_{ds}.png",
            f"{R}/figures/sn_beta_sweep_{ds}.png",
            f"{R}/figures/sn_margins_{ds}.png",
        ]
    return out


def figure_files():
    """Every figure a run draws (its PNG; each has an SVG twin), in the papers' order: the summary
    links each one."""
    out = []
    for ds in DATASETS:
        for seed in SEEDS:
            out += [p for p in matrix_targets(ds, seed) if p.endswith(".png")]
            out += [
                f"{R}/figures/fig2_covariance_{ds}_seed{seed}.png",
                f"{R}/figures/fig5_lrc_matrices_{ds}_seed{seed}.png",
            ]
            if config["lrc"]["models"]:
                out += [
                    f"{R}/figures/fig3_lrc_accuracy_vs_zeta_{ds}_seed{seed}.png",
                    f"{R}/figures/fig3_lrc_samples_{ds}_seed{seed}.png",
                    f"{R}/figures/fig4_lrc_accuracy_vs_eps_{ds}_seed{seed}.png",
                ]
            out.append(f"{R}/figures/fig6_trajectories_{ds}_seed{seed}.png")
            out += [f"{R}/figures/fig78_samples_{ds}_seed{seed}_{m}.png" for m in config["smoothness"]["models"]]
    out += [p for p in sn_targets() if p.endswith(".png")]
    for ds in DATASETS:
        out += [f"{R}/figures/training_curves_{ds}.png", f"{R}/figures/accuracy_vs_eps_{ds}.png"]
    return out


def all_targets(summary=True):
    targets = [f"{R}/summary.md", f"{R}/tables/claims.csv"] if summary else []
    for ds in DATASETS:
        targets += [
            f"{R}/tables/clean_accuracy_{ds}.csv",
            f"{R}/figures/training_curves_{ds}.png",
            f"{R}/tables/robustness_{ds}.csv",
            f"{R}/tables/masking_{ds}.csv",
            *seed_tables(ds),
        ]
        for seed in SEEDS:
            targets += matrix_targets(ds, seed)
            targets += [
                f"{R}/figures/fig2_covariance_{ds}_seed{seed}.png",
                f"{R}/figures/fig3_lrc_accuracy_vs_zeta_{ds}_seed{seed}.png",
                f"{R}/figures/fig6_trajectories_{ds}_seed{seed}.png",
            ]
            targets += [f"{R}/figures/fig78_samples_{ds}_seed{seed}_{m}.png" for m in config["smoothness"]["models"]]
    return targets + sn_targets()


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
    a = config["strong_eval"]["paper_attack"]
    return {
        "robustness": {ds: f"{R}/tables/robustness_{ds}_per_seed.csv" for ds in DATASETS},
        "clean_accuracy": {ds: f"{R}/tables/clean_accuracy_{ds}.csv" for ds in DATASETS},
        "matrices": {
            ds: {
                e: {str(s): f"{R}/matrices/{ds}_seed{s}_{a}_eps{e}.csv" for s in SEEDS}
                for e in config_views.attack_eps(config, ds, a)
            }
            for ds in DATASETS
            if a in config["transfer"]["attacks"]
        },
        "lrc": {ds: {str(s): f"{R}/lrc/lrc_sweep_{ds}_seed{s}.csv" for s in SEEDS} for ds in lrc_ds},
        "decay": {ds: {str(s): f"{R}/structure/decay_lengths_{ds}_seed{s}.csv" for s in SEEDS} for ds in DATASETS},
        "histories": {
            ds: {m: {str(s): f"{R}/models/{ds}/{m}/seed{s}/history.csv" for s in SEEDS} for m in METHODS}
            for ds in DATASETS
        },
        "sn_sweep": {ds: f"{R}/tables/sn_sweep_{ds}.csv" for ds in config["sn_experiments"]["datasets"]},
        "sn_generalization": {
            ds: f"{R}/tables/sn_generalization_{ds}.csv" for ds in config["sn_experiments"]["datasets"]
        },
    }


def flat_paths(tree):
    """Every path in a nested dict of paths."""
    return [p for v in tree.values() for p in (flat_paths(v) if isinstance(v, dict) else [v])]


# ------------------------------------------------------------------ the rules' input functions and views
# (here, not beside the rules that use them: `snakemake --lint` wants a file of rules to hold rules only)

# rules/strong.smk
STRONG = config["strong_eval"]


def strong_path(dataset, seed, eps, source):
    return f"{R}/strong/{dataset}/seed{seed}/eps{eps}/{source}.json"


def strong_rows(dataset):
    return [
        strong_path(dataset, s, e, m)
        for e in config_views.attack_eps(config, dataset, STRONG["paper_attack"])
        for m in METHODS
        for s in SEEDS
    ]


DIAG = config["diagnostics"]
DIAG_SEEDS = DIAG["seeds"] if DIAG["seeds"] is not None else SEEDS


def diag_path(dataset, seed, eps, source):
    return f"{R}/diagnostics/{dataset}/seed{seed}/eps{eps}/{source}.json"


def diag_rows(dataset):
    return [
        diag_path(dataset, s, e, m)
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
        (str(s), e): f"{R}/matrices/{dataset}_seed{s}_{a}_eps{e}.csv"
        for s in DIAG_SEEDS
        for e in config_views.attack_eps(config, dataset, a)
    }


# rules/sn.smk
SN = config["sn_experiments"]


def sn_model_path(dataset, method, beta, seed):
    return f"{R}/sn/models/{dataset}/{method}/beta{beta}/seed{seed}/model.pt"


def sn_dataset_rows(dataset):
    return [
        f"{R}/sn/eval/{dataset}/{m}/beta{b}/seed{s}.json"
        for m in SN["schemes"]
        for b in config_views.sn_betas(config, dataset)
        for s in SN["seeds"]
    ]


# rules/seeds.smk
def whitebox_seed_files(ext):
    """{seed: path with a {dataset} wildcard} of the per-seed white-box tables (SGR Table 1), which the
    dataset's whitebox_table job writes beside the table over seeds."""
    return {s: f"{R}/tables/whitebox_{{dataset}}_seed{s}.{ext}" for s in SEEDS}


def whitebox_seed_outputs(ext):
    return list(whitebox_seed_files(ext).values())


def whitebox_seed_map(w):
    """{seed: {csv, md, tex, html}} of the job's per-seed tables: the script files each record under
    the seed it names, never by list order."""
    return {
        s: {ext: whitebox_seed_files(ext)[s].format(dataset=w.dataset) for ext in ("csv", "md", "tex", "html")}
        for s in SEEDS
    }


def whitebox_metrics(w):
    """Every adversarial-set record of the dataset, all seeds: each names its own seed."""
    return [
        adv_path(w.dataset, s, a, e, m, "json")
        for s in SEEDS
        for a in config["attacks"]
        for e in config_views.attack_eps(config, w.dataset, a)
        for m in METHODS
    ]


def first_metrics(w):
    """One adversarial-set record of the dataset: its ``data`` field is the captions' split clause."""
    a = config["attacks"][0]
    return adv_path(w.dataset, SEEDS[0], a, config_views.attack_eps(config, w.dataset, a)[0], METHODS[0], "json")


# rules/sgr_analysis.smk
def first_eps(dataset, attack):
    return config_views.attack_eps(config, dataset, attack)[0]


# rules/transfer.smk
def matrix_files(w):
    """{row label: {model, set, metrics}} of one matrix: the job reads each file under its label."""
    return {
        label: {
            "model": model_path(w.dataset, m, w.seed),
            "set": adv_path(w.dataset, w.seed, w.attack, w.eps, m, "pt"),
            "metrics": adv_path(w.dataset, w.seed, w.attack, w.eps, m, "json"),
        }
        for label, m in config_views.matrix_models(config, w.dataset, w.eps).items()
    }


# {label: path} maps of the figure rules: the rule's input is the map's values, its params the map
# itself, so the script reads each file under its own label (never by list order)
def structure_sets(w):
    return {
        f"{a} ε={first_eps(w.dataset, a)}": adv_path(
            w.dataset, w.seed, a, first_eps(w.dataset, a), config["structure"]["model"], "pt"
        )
        for a in config["structure"]["attacks"]
    }


def lrc_csvs(w):
    return {m: f"{R}/lrc/{w.dataset}_seed{w.seed}_{m}.csv" for m in config["lrc"]["models"]}


def trajectory_files(w):
    a = config["smoothness"]["attack"]
    return {
        m: {
            "model": model_path(w.dataset, m, w.seed),
            "set": adv_path(w.dataset, w.seed, a, first_eps(w.dataset, a), m, "pt"),
        }
        for m in config["smoothness"]["models"]
    }


def history_files(w):
    return {
        f"{m} (seed {s})": model_path(w.dataset, m, s).replace("model.pt", "history.csv")
        for m in METHODS
        for s in SEEDS
    }


def values_of(fn, key=None):
    """The input list of a {label: path} (or {label: {key: path}}) map function."""
    return lambda w: [v if key is None else v[key] for v in fn(w).values()]


def matrix_inputs(w):
    files = list(matrix_files(w).values())
    return {
        "data": f"{R}/data/{w.dataset}.pt",
        "models": [f["model"] for f in files],
        "sets": [f["set"] for f in files],
        "metrics": [f["metrics"] for f in files],
    }


# rules/summary.smk
def summary_inputs(w):
    # the seed-combined tables (mean ± interval); the per-seed ones stay in the report
    tables, matrices, comparisons, structure, lrc = [], [], [], [], []
    for ds in DATASETS:
        tables += [
            f"{R}/tables/clean_accuracy_{ds}.md",
            f"{R}/tables/whitebox_{ds}.md",
            f"{R}/tables/robustness_{ds}.md",
            f"{R}/tables/masking_{ds}.md",
        ]
        matrices += [f"{R}/tables/transfer_{s}.md" for s in transfer_stems(ds)]
        comparisons += [f"{R}/comparison/{s}.md" for s in comparison_stems(ds)]
        structure.append(f"{R}/tables/decay_lengths_{ds}.md")
        if config["lrc"]["models"]:
            lrc.append(f"{R}/tables/lrc_sweep_{ds}.md")
    figures = figure_files()
    sn = [f"{R}/tables/sn_generalization_{ds}.md" for ds in config["sn_experiments"]["datasets"]]
    md = [f"{R}/tables/claims.md"] + tables + matrices + comparisons + structure + lrc + sn
    return {
        # each Markdown table's HTML page: summary.html shows the coloured table (one colour rule)
        "pages": [f[: -len(".md")] + ".html" for f in md],
        "claims": f"{R}/tables/claims.md",
        "claim_lines": f"{R}/tables/claim_lines.csv",
        "regime_csv": f"{R}/tables/regime.csv",
        # the test-image counts the verdict card states, from what the jobs wrote (one per dataset,
        # in DATASETS order): the clean table, the paper attack's record of the first model, the strong check
        "clean_counts": [f"{R}/tables/clean_accuracy_{ds}.csv" for ds in DATASETS],
        "attack_counts": [
            adv_path(
                ds,
                SEEDS[0],
                STRONG["paper_attack"],
                config_views.attack_eps(config, ds, STRONG["paper_attack"])[0],
                METHODS[0],
                "json",
            )
            for ds in DATASETS
        ],
        "strong_counts": [f"{R}/tables/robustness_{ds}_per_seed.csv" for ds in DATASETS],
        "tables": tables,
        "matrices": matrices,
        "comparisons": comparisons,
        "structure": structure,
        "lrc": lrc,
        "sn": sn,
        "figures": figures,
    }
