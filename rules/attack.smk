# Adversarial sets: one job per (dataset, seed, attack, ε, source model): the source model's
# white-box accuracy and its adversarial test set, which the transfer matrices reuse.


rule adversarial_set:
    input:
        model=source_model,
        data=PATHS["dataset"],
        code=script_code("adversarial_set"),
    output:
        adv=PATHS["adversarial"] + ".pt",
        metrics=PATHS["adversarial"] + ".json",
    log:
        f"{R}/logs/adversarial_set/{{dataset}}/seed{{seed}}/{{attack}}/eps{{eps}}/{{source}}.log",
    benchmark:
        f"{R}/benchmarks/adversarial_set/{{dataset}}/seed{{seed}}/{{attack}}/eps{{eps}}/{{source}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("adversarial_set"),
        mem_mb=job_mem("adversarial_set"),
        gpu_mem_mb=job_gpu_mem("adversarial_set"),
    params:
        # the job's ε is its wildcard: leave the ε table out so adding an ε re-runs nothing else
        cfg=lambda w: {k: v for k, v in config_views.attack_cfg(config, w.dataset, w.attack).items() if k != "eps_255"},
        batch_size=config["evaluation"]["batch_size"],
        max_test=config["evaluation"]["max_test"],
        device=DEVICE,
    script:
        "../scripts/adversarial_set.py"


rule whitebox_table:
    input:
        metrics=whitebox_metrics,
        code=script_code("whitebox_table"),
    output:
        csv=PATHS["whitebox"] + ".csv",
        html=report(
            PATHS["whitebox"] + ".html",
            caption="../report/whitebox_seeds.rst",
            category=CATEGORY["table1"],
            labels={"dataset": "{dataset}", "table": "white-box accuracy, over seeds"},
        ),
        md=PATHS["whitebox"] + ".md",
        seed_csv=whitebox_seed_outputs("csv"),
        seed_html=[
            report(
                f,
                caption="../report/whitebox.rst",
                category=CATEGORY["table1"],
                labels={"dataset": "{dataset}", "table": f"white-box accuracy, seed {s}"},
            )
            for s, f in whitebox_seed_files("html").items()
        ],
        seed_md=whitebox_seed_outputs("md"),
        seed_tex=whitebox_seed_outputs("tex"),
    log:
        f"{R}/logs/whitebox_table/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/whitebox_table/{{dataset}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        methods=shown(METHODS),
        seed_files=shown(whitebox_seed_map),
    script:
        "../scripts/whitebox_table.py"
