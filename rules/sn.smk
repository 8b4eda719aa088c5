# The SN paper's generalization-gap experiments (Farnia et al. 2019): one training job per
# (dataset, scheme, β, seed) on the paper's architecture, one measurement job per model, then the
# tables and figures per dataset. β = inf is the same network without SN.


rule train_sn:
    input:
        data=f"{R}/data/{{dataset}}.pt",
        code=script_code("train"),
    output:
        model=sn_model_path("{dataset}", "{method}", "{beta}", "{seed}"),
        history=f"{R}/sn/models/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}/history.csv",
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
        checkpoint=lambda w: f"{R}/checkpoints/sn/{w.dataset}/{w.method}/beta{w.beta}/seed{w.seed}.pt",
    script:
        "../scripts/train.py"


rule evaluate_sn:
    input:
        model=sn_model_path("{dataset}", "{method}", "{beta}", "{seed}"),
        data=f"{R}/data/{{dataset}}.pt",
        code=script_code("evaluate_sn"),
    output:
        row=f"{R}/sn/eval/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}.json",
        margins=f"{R}/sn/eval/{{dataset}}/{{method}}/beta{{beta}}/seed{{seed}}_margins.npy",
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
        rows=lambda w: sn_dataset_rows(w.dataset),
        margins=lambda w: [r.replace(".json", "_margins.npy") for r in sn_dataset_rows(w.dataset)],
        code=script_code("sn_results"),
    output:
        sweep=f"{R}/tables/sn_sweep_{{dataset}}.csv",
        sweep_html=report(
            f"{R}/tables/sn_sweep_{{dataset}}.html",
            caption="../report/sn_sweep_table.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "every (scheme, β)"},
        ),
        csv=f"{R}/tables/sn_generalization_{{dataset}}.csv",
        md=f"{R}/tables/sn_generalization_{{dataset}}.md",
        html=report(
            f"{R}/tables/sn_generalization_{{dataset}}.html",
            caption="../report/sn_table.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "gap table"},
        ),
        gap=report(
            f"{R}/figures/sn_gap_{{dataset}}.png",
            caption="../report/sn_gap.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "generalization gap"},
        ),
        gap_svg=f"{R}/figures/sn_gap_{{dataset}}.svg",
        sweep_fig=report(
            f"{R}/figures/sn_beta_sweep_{{dataset}}.png",
            caption="../report/sn_beta_sweep.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "β sweep"},
        ),
        sweep_fig_svg=f"{R}/figures/sn_beta_sweep_{{dataset}}.svg",
        margins_fig=report(
            f"{R}/figures/sn_margins_{{dataset}}.png",
            caption="../report/sn_margins.rst",
            category=CATEGORY["sn"],
            labels={"dataset": "{dataset}", "file": "margins"},
        ),
        margins_fig_svg=f"{R}/figures/sn_margins_{{dataset}}.svg",
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
