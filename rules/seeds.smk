# Tables over training seeds: each per-seed table (white-box Table 1, transfer matrices, LRC sweep,
# decay lengths) becomes one table of mean ± 95 % t-interval per cell with n seeds, and the
# published-matrix comparison is made against that interval.


rule transfer_seeds:
    input:
        tables=seed_paths(MATRIX_SEED),
        metrics=first_metrics,
        code=script_code("stack_seeds"),
    output:
        csv=f"{R}/tables/transfer_{{dataset}}_{{attack}}_eps{{eps}}.csv",
        html=report(
            f"{R}/tables/transfer_{{dataset}}_{{attack}}_eps{{eps}}.html",
            caption="../report/transfer_seeds.rst",
            category=CATEGORY["matrices"],
            labels={"dataset": "{dataset}", "attack": "{attack}", "eps (1/255)": "{eps}", "file": "over seeds (csv)"},
        ),
        md=f"{R}/tables/transfer_{{dataset}}_{{attack}}_eps{{eps}}.md",
    log:
        f"{R}/logs/transfer_seeds/{{dataset}}_{{attack}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/transfer_seeds/{{dataset}}_{{attack}}_eps{{eps}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        tables=shown(seed_map(MATRIX_SEED)),
        what=lambda w: (
            f"{w.attack} ε={w.eps}/255 white-box (diagonal) and transfer accuracy (%); rows: model "
            f"attacked, test: clean accuracy, columns: source of the adversarial examples"
        ),
    script:
        "../scripts/stack_seeds.py"


rule paper_comparison:
    input:
        tables=seed_paths(MATRIX_SEED),
        code=script_code("paper_comparison"),
    output:
        csv=f"{R}/comparison/{{dataset}}_{{attack}}_eps{{eps}}.csv",
        html=report(
            f"{R}/comparison/{{dataset}}_{{attack}}_eps{{eps}}.html",
            caption="../report/paper_comparison.rst",
            category=CATEGORY["comparison"],
            labels={"dataset": "{dataset}", "attack": "{attack}", "eps (1/255)": "{eps}"},
        ),
        md=f"{R}/comparison/{{dataset}}_{{attack}}_eps{{eps}}.md",
    log:
        f"{R}/logs/paper_comparison/{{dataset}}_{{attack}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/paper_comparison/{{dataset}}_{{attack}}_eps{{eps}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        tables=shown(seed_map(MATRIX_SEED)),
        reference=lambda w: config_views.reference_file(config, w.dataset, w.attack, w.eps),
        tolerance=shown(config["transfer"]["tolerance"]),
    script:
        "../scripts/paper_comparison.py"


rule lrc_seeds:
    input:
        tables=lambda w: [f"{R}/lrc/lrc_sweep_{w.dataset}_seed{s}.csv" for s in SEEDS],
        code=script_code("group_seeds"),
    output:
        csv=f"{R}/tables/lrc_sweep_{{dataset}}.csv",
        html=report(
            f"{R}/tables/lrc_sweep_{{dataset}}.html",
            caption="../report/lrc_seeds.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "sweep over seeds"},
        ),
        md=f"{R}/tables/lrc_sweep_{{dataset}}.md",
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
        kinds=shown({"worst_of_k_acc": "accuracy", "mean_single_acc": "accuracy"}),
        what="LRC sweep: worst-of-k and mean single-draw accuracy (%) per model, noise (decay length ζ, or the data covariance) and ε (noise std, [0, 1] pixel units); n: test images, k: noise draws per image",
    script:
        "../scripts/group_seeds.py"


rule decay_seeds:
    input:
        tables=lambda w: [f"{R}/structure/decay_lengths_{w.dataset}_seed{s}.csv" for s in SEEDS],
        code=script_code("group_seeds"),
    output:
        csv=f"{R}/tables/decay_lengths_{{dataset}}.csv",
        html=report(
            f"{R}/tables/decay_lengths_{{dataset}}.html",
            caption="../report/structure.rst",
            category=CATEGORY["structure"],
            labels={"dataset": "{dataset}", "file": "decay lengths over seeds"},
        ),
        md=f"{R}/tables/decay_lengths_{{dataset}}.md",
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
