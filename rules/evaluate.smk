# Evaluation: clean-accuracy tables and training curves per dataset.


rule clean_accuracy:
    input:
        data=PATHS["dataset"],
        models=dataset_models,
        code=script_code("clean_accuracy"),
    output:
        csv=PATHS["clean_accuracy"] + ".csv",
        html=report(
            PATHS["clean_accuracy"] + ".html",
            caption="../report/clean_accuracy.rst",
            category=CATEGORY["table1"],
            labels={"dataset": "{dataset}", "table": "clean accuracy"},
        ),
        md=PATHS["clean_accuracy"] + ".md",
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
            PATHS["training_curves"] + ".png",
            caption="../report/training_curves.rst",
            category=CATEGORY["diagnostics"],
            labels={"dataset": "{dataset}", "figure": "training curves"},
        ),
        svg=PATHS["training_curves"] + ".svg",
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
