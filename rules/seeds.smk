# Tables over training seeds: each per-seed table (white-box Table 1, transfer matrices, LRC sweep,
# decay lengths) becomes one table of mean ± 95 % t-interval per cell with n seeds, and the
# published-matrix comparison is made against that interval.


rule transfer_seeds:
    input:
        tables=seed_paths("matrix", ".csv"),
        metrics=first_metrics,
        code=script_code("stack_seeds"),
    output:
        csv=PATHS["transfer"] + ".csv",
        html=report(
            PATHS["transfer"] + ".html",
            caption="../report/transfer_seeds.rst",
            category=CATEGORY["matrices"],
            labels={"dataset": "{dataset}", "attack": "{attack}", "eps (1/255)": "{eps}", "file": "over seeds (csv)"},
        ),
        md=PATHS["transfer"] + ".md",
    log:
        f"{R}/logs/transfer_seeds/{{dataset}}_{{attack}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/transfer_seeds/{{dataset}}_{{attack}}_eps{{eps}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        tables=shown(seed_map("matrix", ".csv")),
        what=lambda w: (
            f"{w.attack} ε={w.eps}/255 white-box (diagonal) and transfer accuracy (%); rows: model "
            f"attacked, test: clean accuracy, columns: source of the adversarial examples"
        ),
    script:
        "../scripts/stack_seeds.py"


rule paper_comparison:
    input:
        tables=seed_paths("matrix", ".csv"),
        code=script_code("paper_comparison"),
    output:
        csv=PATHS["comparison"] + ".csv",
        html=report(
            PATHS["comparison"] + ".html",
            caption="../report/paper_comparison.rst",
            category=CATEGORY["comparison"],
            labels={"dataset": "{dataset}", "attack": "{attack}", "eps (1/255)": "{eps}"},
        ),
        md=PATHS["comparison"] + ".md",
    log:
        f"{R}/logs/paper_comparison/{{dataset}}_{{attack}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/paper_comparison/{{dataset}}_{{attack}}_eps{{eps}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        tables=shown(seed_map("matrix", ".csv")),
        reference=lambda w: config_views.reference_file(config, w.dataset, w.attack, w.eps),
        tolerance=shown(config["transfer"]["tolerance"]),
    script:
        "../scripts/paper_comparison.py"


rule lrc_seeds:
    input:
        tables=seed_paths("lrc_sweep_seed", ".csv"),
        code=script_code("group_seeds"),
    output:
        csv=PATHS["lrc_sweep"] + ".csv",
        html=report(
            PATHS["lrc_sweep"] + ".html",
            caption="../report/lrc_seeds.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "sweep over seeds"},
        ),
        md=PATHS["lrc_sweep"] + ".md",
    log:
        f"{R}/logs/lrc_seeds/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/lrc_seeds/{{dataset}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        seeds=shown(SEEDS),
        group_by=shown(["model", "noise", "zeta", "eps", "k", "n"]),
        columns=shown(["worst_of_k_acc", "mean_single_acc"]),
        kinds=shown(LRC_KINDS),
        what="LRC sweep: worst-of-k and mean single-draw accuracy (%) per model, noise (decay length ζ, or the data covariance) and ε (noise std, [0, 1] pixel units); n: test images, k: noise draws per image",
    script:
        "../scripts/group_seeds.py"


rule decay_seeds:
    input:
        tables=seed_paths("decay_seed", ".csv"),
        code=script_code("group_seeds"),
    output:
        csv=PATHS["decay"] + ".csv",
        html=report(
            PATHS["decay"] + ".html",
            caption="../report/structure.rst",
            category=CATEGORY["structure"],
            labels={"dataset": "{dataset}", "file": "decay lengths over seeds"},
        ),
        md=PATHS["decay"] + ".md",
    log:
        f"{R}/logs/decay_seeds/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/decay_seeds/{{dataset}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        seeds=shown(SEEDS),
        group_by=shown(["source", "n"]),
        columns=shown(["decay_length", "rms", "mean_linf", "mean_l2"]),
        what=(
            f"Covariance structure (SGR paper Sec. 4.2): decay length (pixels, where the covariance falls to "
            f"{config['structure']['fraction']:.3g} of its peak) of the {config['structure']['model']} model's "
            f"adversarial perturbations beside the data's own; n: images the covariance is estimated from"
        ),
    script:
        "../scripts/group_seeds.py"
