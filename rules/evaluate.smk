# Evaluation: clean-accuracy tables and training curves per dataset.


rule clean_accuracy:
    input:
        data=f"{R}/data/{{dataset}}.pt",
        models=dataset_models,
        code=script_code("clean_accuracy"),
    output:
        csv=f"{R}/tables/clean_accuracy_{{dataset}}.csv",
        html=report(
            f"{R}/tables/clean_accuracy_{{dataset}}.html",
            caption="../report/clean_accuracy.rst",
            category=CATEGORY["table1"],
            labels={"dataset": "{dataset}", "table": "clean accuracy"},
        ),
        md=f"{R}/tables/clean_accuracy_{{dataset}}.md",
    log:
        f"{R}/logs/clean_accuracy/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/clean_accuracy/{{dataset}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("clean_accuracy"),
        mem_mb=job_mem("clean_accuracy"),
        gpu_mem_mb=job_gpu_mem("clean_accuracy"),
    params:
        note=data_note,
        methods=shown(METHODS),
        seeds=shown(SEEDS),
        batch_size=config["evaluation"]["batch_size"],
        max_test=shown(config["evaluation"]["clean_max_test"], none="all"),
        device=DEVICE,
    script:
        "../scripts/clean_accuracy.py"


rule training_curves:
    input:
        histories=values_of(history_files),
        code=script_code("plot_training_curves"),
    output:
        report(
            f"{R}/figures/training_curves_{{dataset}}.png",
            caption="../report/training_curves.rst",
            category=CATEGORY["diagnostics"],
            labels={"dataset": "{dataset}", "figure": "training curves"},
        ),
        svg=f"{R}/figures/training_curves_{{dataset}}.svg",
    log:
        f"{R}/logs/training_curves/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/training_curves/{{dataset}}.tsv"
    conda:
        ENV
    params:
        note=data_note,
        histories=shown(history_files),
    script:
        "../scripts/plot_training_curves.py"
