# The SN paper's generalization-gap experiments (Farnia et al. 2019): one training job per
# (dataset, scheme, β, seed) on the paper's architecture, one measurement job per model, then the
# tables and figures per dataset. β = inf is the same network without SN.


rule train_sn:
    input:
        data=PATHS["dataset"],
        code=script_code("train"),
    output:
        model=PATHS["sn_model"],
        history=PATHS["sn_history"],
    log:
        f"{R}/logs/train_sn/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train_sn/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("train_sn"),
        mem_mb=job_mem("train_sn"),
        gpu_mem_mb=job_gpu_mem("train_sn"),
    params:
        model_spec=lambda w: config_views.sn_model_spec(config, w.dataset, w.method, w.beta),
        method_cfg=lambda w: config_views.sn_method_cfg(config, w.dataset, w.method, w.beta),
        settings=lambda w: config_views.train_settings(config, w.dataset, w.seed, sn=True),
        device=DEVICE,
        checkpoint=lambda w: path("sn_checkpoint", **dict(w)),
    script:
        "../scripts/train.py"


rule evaluate_sn:
    input:
        model=PATHS["sn_model"],
        data=PATHS["dataset"],
        code=script_code("evaluate_sn"),
    output:
        row=PATHS["sn_row"],
        margins=PATHS["sn_margins"],
    log:
        f"{R}/logs/evaluate_sn/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_sn/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("evaluate_sn"),
        mem_mb=job_mem("evaluate_sn"),
        gpu_mem_mb=job_gpu_mem("evaluate_sn"),
    params:
        val=SN["val"],
        train_eval=SN["train_eval"],
        margin_iters=SN["margin_iters"],
        max_test=SN["max_test"],
        batch_size=config["evaluation"]["batch_size"],
        device=DEVICE,
    script:
        "../scripts/evaluate_sn.py"


rule sn_results:
    input:
        rows=sn_runs("sn_row"),
        margins=sn_runs("sn_margins"),
        code=script_code("sn_results"),
    output:
        sweep=PATHS["sn_sweep"] + ".csv",
        sweep_html=report(
            PATHS["sn_sweep"] + ".html",
            caption="../report/sn_sweep_table.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "every (scheme, β)"},
        ),
        csv=PATHS["sn_table"] + ".csv",
        md=PATHS["sn_table"] + ".md",
        html=report(
            PATHS["sn_table"] + ".html",
            caption="../report/sn_table.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "gap table"},
        ),
        gap=report(
            PATHS["sn_gap"] + ".png",
            caption="../report/sn_gap.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "generalization gap"},
        ),
        gap_svg=PATHS["sn_gap"] + ".svg",
        sweep_fig=report(
            PATHS["sn_beta_sweep"] + ".png",
            caption="../report/sn_beta_sweep.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "β sweep"},
        ),
        sweep_fig_svg=PATHS["sn_beta_sweep"] + ".svg",
        margins_fig=report(
            PATHS["sn_margins_fig"] + ".png",
            caption="../report/sn_margins.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "margins"},
        ),
        margins_fig_svg=PATHS["sn_margins_fig"] + ".svg",
    log:
        f"{R}/logs/sn_results/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/sn_results/{{dataset}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        dataset=lambda w: w.dataset,
        arch=lambda w: SN["settings"][w.dataset]["arch"],
        schemes=shown(SN["schemes"]),
        betas=shown(lambda w: config_views.sn_betas(config, w.dataset)),
        settings=shown(RUN_REGIME),
    script:
        "../scripts/sn_results.py"
