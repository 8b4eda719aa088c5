# Shared helpers: config views for the rules, output paths, wildcard constraints.
import os

from advreg import config as advcfg

advcfg.check_config(config)

R = os.path.join(config["results_dir"], config["run_name"])
DATASETS = config["datasets"]
METHODS = config["methods"]
SEEDS = config["seeds"]

wildcard_constraints:
    dataset="|".join(DATASETS),
    method="[a-z0-9_]+",
    seed=r"\d+",

def code(*modules):
    """advreg modules a rule depends on, declared as inputs so that editing one re-runs the
    jobs built with it (Snakemake compares small inputs by checksum, not mtime)."""
    return [os.path.join(workflow.basedir, "advreg", f"{m}.py") for m in modules]

def model_path(dataset, method, seed):
    return f"{R}/models/{dataset}/{method}/seed{seed}/model.pt"

def dataset_models(wildcards):
    return [model_path(wildcards.dataset, m, s) for m in METHODS for s in SEEDS]

def all_targets():
    targets = []
    for ds in DATASETS:
        targets += [
            f"{R}/tables/clean_accuracy_{ds}.csv",
            f"{R}/figures/training_curves_{ds}.png",
        ]
    return targets
