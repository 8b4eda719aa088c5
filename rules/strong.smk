# Strong evaluation (SGR paper Table 1 checked with an AutoAttack-style ensemble): one job per
# (dataset, seed, ε, model) on the images of the paper's attack, then one table per dataset that
# sets clean, paper attack and strong attack side by side, mean ± 95 % CI over the seeds.


rule strong_eval:
    input:
        model=source_model,
        data=PATHS["dataset"],
        paper_set=paper_set(".pt"),
        paper_json=paper_set(".json"),
        code=script_code("strong_eval"),
    output:
        PATHS["strong"],
    log:
        f"{R}/logs/strong_eval/{{dataset}}/seed{{seed}}/eps{{eps}}/{{source}}.log",
    benchmark:
        f"{R}/benchmarks/strong_eval/{{dataset}}/seed{{seed}}/eps{{eps}}/{{source}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("strong_eval"),
        mem_mb=job_mem("strong_eval"),
        gpu_mem_mb=job_gpu_mem("strong_eval"),
    params:
        ensemble=STRONG["attacks"],
        max_test=lambda w: STRONG["max_test"] or config["evaluation"]["max_test"],
        batch_size=config["evaluation"]["batch_size"],
        device=DEVICE,
    script:
        "../scripts/strong_eval.py"


rule robustness_table:
    input:
        rows=lambda w: strong_rows(w.dataset),
        code=script_code("robustness_table"),
    output:
        csv=PATHS["robustness"] + ".csv",
        html=report(
            PATHS["robustness"] + ".html",
            caption="../report/robustness.rst",
            category=CATEGORY["table1"],
            labels={"dataset": "{dataset}", "table": "paper vs strong attack"},
        ),
        md=PATHS["robustness"] + ".md",
        rows=PATHS["robustness_rows"],
    log:
        f"{R}/logs/robustness_table/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/robustness_table/{{dataset}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        methods=shown(METHODS),
    script:
        "../scripts/robustness_table.py"


rule claim_verdicts:
    input:
        tables=flat_paths(claim_files()),
        code=script_code("claim_verdicts"),
    output:
        csv=PATHS["claims"] + ".csv",
        html=report(
            PATHS["claims"] + ".html",
            caption="../report/claims.rst",
            category=CATEGORY["summary"],
            labels={"table": "claim verdicts"},
        ),
        md=PATHS["claims"] + ".md",
        lines=PATHS["claim_lines"],
        regime=PATHS["regime"] + ".md",
        regime_csv=PATHS["regime"] + ".csv",
    log:
        f"{R}/logs/claim_verdicts.log",
    benchmark:
        f"{R}/benchmarks/claim_verdicts.tsv"
    conda:
        ENV
    params:
        run_name=config["run_name"],
        files=shown(claim_files(), count="table"),
        settings=shown(RUN_REGIME),
        datasets=shown(DATASETS),
        sn_datasets=shown(config["sn_experiments"]["datasets"]),
        stand_ins=shown(sorted(STAND_IN)),
        rehearsal=shown(config["rehearsal"]),
        references=shown(
            {
                ds: {
                    e: config_views.reference_file(config, ds, STRONG["paper_attack"], e)
                    for e in config_views.attack_eps(config, ds, STRONG["paper_attack"])
                }
                for ds in DATASETS
            },
            none="no published matrix",
        ),
    script:
        "../scripts/claim_verdicts.py"


# Gradient-masking diagnostics per model (Carlini et al. 2019): accuracy vs ε under the paper's
# PGD and the strong ensemble, 10× PGD steps with restarts, black-box vs white-box, strong gap.
rule masking_diagnostics:
    input:
        model=source_model,
        data=PATHS["dataset"],
        strong=PATHS["strong"],
        code=script_code("masking_diagnostics"),
    output:
        PATHS["diagnostics"],
    log:
        f"{R}/logs/masking_diagnostics/{{dataset}}/seed{{seed}}/eps{{eps}}/{{source}}.log",
    benchmark:
        f"{R}/benchmarks/masking_diagnostics/{{dataset}}/seed{{seed}}/eps{{eps}}/{{source}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("masking_diagnostics"),
        mem_mb=job_mem("masking_diagnostics"),
        gpu_mem_mb=job_gpu_mem("masking_diagnostics"),
    params:
        cfg=lambda w: {
            **{k: v for k, v in DIAG.items() if k not in ("seeds", "tol", "gap_tol")},
            "eps_255": DIAG["eps_255"][w.dataset],
        },
        pgd_cfg=lambda w: config_views.attack_cfg(config, w.dataset, STRONG["paper_attack"]),
        batch_size=config["evaluation"]["batch_size"],
        device=DEVICE,
    script:
        "../scripts/masking_diagnostics.py"


rule masking_table:
    input:
        rows=lambda w: diag_rows(w.dataset),
        matrices=lambda w: list(diag_matrices(w.dataset).values()),
        code=script_code("masking_table"),
    output:
        csv=PATHS["masking"] + ".csv",
        html=report(
            PATHS["masking"] + ".html",
            caption="../report/masking.rst",
            category=CATEGORY["diagnostics"],
            labels={"dataset": "{dataset}", "table": "gradient-masking checks"},
        ),
        md=PATHS["masking"] + ".md",
        png=report(
            PATHS["accuracy_vs_eps"] + ".png",
            caption="../report/masking.rst",
            category=CATEGORY["diagnostics"],
            labels={"dataset": "{dataset}", "figure": "accuracy vs ε (masking check)"},
        ),
        svg=PATHS["accuracy_vs_eps"] + ".svg",
    log:
        f"{R}/logs/masking_table/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/masking_table/{{dataset}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        methods=shown(METHODS),
        matrices=shown(lambda w: {f"{s}|{e}": f for (s, e), f in diag_matrices(w.dataset).items()}),
        tol=shown(DIAG["tol"]),
        gap_tol=shown(DIAG["gap_tol"]),
    script:
        "../scripts/masking_table.py"
