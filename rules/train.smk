# Training: one job per (dataset, method, seed). Hyperparameters reach the job through params,
# so changing one method's settings re-runs only that method's jobs and what depends on them.


rule train:
    input:
        data=PATHS["dataset"],
        code=script_code("train"),
    output:
        model=PATHS["model"],
        history=PATHS["history"],
    log:
        f"{R}/logs/train/{{dataset}}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{dataset}}/{{method}}/seed{{seed}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("train"),
        mem_mb=job_mem("train"),
        gpu_mem_mb=job_gpu_mem("train"),
    params:
        model_spec=lambda w: config_views.model_spec(config, w.dataset, w.method),
        method_cfg=lambda w: config_views.method_cfg(config, w.dataset, w.method),
        settings=lambda w: config_views.train_settings(config, w.dataset, w.seed),
        device=DEVICE,
        # not an output: survives a failed or killed job, so a re-run resumes from it
        checkpoint=lambda w: path("checkpoint", **dict(w)),
    script:
        "../scripts/train.py"
