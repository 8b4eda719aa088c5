# The SGR paper's analysis figures: covariance structure (Figs. 2, 5), LRC attack sweep (Figs. 3,
# 4), softmax trajectories (Fig. 6), PGD samples (Figs. 7, 8).


rule perturbation_covariance:
    input:
        data=PATHS["dataset"],
        sets=values_of(structure_sets),
        code=script_code("perturbation_covariance"),
    output:
        csv=PATHS["decay_seed"] + ".csv",
        html=report(
            PATHS["decay_seed"] + ".html",
            caption="../report/structure.rst",
            category=CATEGORY["structure"],
            labels={"dataset": "{dataset}", "file": "decay lengths"},
        ),
        fig2=report(
            PATHS["fig2"] + ".png",
            caption="../report/fig2.rst",
            category=CATEGORY["structure"],
            labels={"dataset": "{dataset}", "file": "Fig. 2"},
        ),
        fig2_svg=PATHS["fig2"] + ".svg",
        fig5=report(
            PATHS["fig5"] + ".png",
            caption="../report/fig5.rst",
            category=CATEGORY["structure"],
            labels={"dataset": "{dataset}", "file": "Fig. 5"},
        ),
        fig5_svg=PATHS["fig5"] + ".svg",
    log:
        f"{R}/logs/perturbation_covariance/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/perturbation_covariance/{{dataset}}_seed{{seed}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("perturbation_covariance"),
        mem_mb=job_mem("perturbation_covariance"),
        gpu_mem_mb=job_gpu_mem("perturbation_covariance"),
    params:
        note=data_note,
        sets=shown(structure_sets),
        fraction=shown(config["structure"]["fraction"]),
        max_data=config["structure"]["max_data"],
        max_test=shown(config["evaluation"]["max_test"], none="all"),
        zetas=shown(config["lrc"]["zetas"]),
        device=DEVICE,
    script:
        "../scripts/perturbation_covariance.py"


rule lrc_data_noise:
    input:
        data=PATHS["dataset"],
        code=script_code("lrc_data_noise"),
    output:
        PATHS["lrc_noise"],
    log:
        f"{R}/logs/lrc_data_noise/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/lrc_data_noise/{{dataset}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    params:
        max_data=config["structure"]["max_data"],
    script:
        "../scripts/lrc_data_noise.py"


rule lrc_attack:
    input:
        unpack(lrc_data_noise_input),
        model=source_model,
        data=PATHS["dataset"],
        code=script_code("lrc_attack"),
    output:
        PATHS["lrc_points"],
    log:
        f"{R}/logs/lrc_attack/{{dataset}}_seed{{seed}}_{{source}}.log",
    benchmark:
        f"{R}/benchmarks/lrc_attack/{{dataset}}_seed{{seed}}_{{source}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("lrc_attack"),
        mem_mb=job_mem("lrc_attack"),
        gpu_mem_mb=job_gpu_mem("lrc_attack"),
    params:
        lrc=config["lrc"],
        batch_size=config["evaluation"]["batch_size"],
        max_data=config["structure"]["max_data"],
        device=DEVICE,
    script:
        "../scripts/lrc_attack.py"


rule lrc_figures:
    input:
        csvs=values_of(lrc_csvs),
        data=PATHS["dataset"],
        model=lrc_sample_model,
        code=script_code("lrc_figures"),
    output:
        csv=PATHS["lrc_sweep_seed"] + ".csv",
        html=report(
            PATHS["lrc_sweep_seed"] + ".html",
            caption="../report/lrc_table.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "every sweep point"},
        ),
        fig3=report(
            PATHS["fig3"] + ".png",
            caption="../report/fig3.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "Fig. 3 (left)"},
        ),
        fig3_svg=PATHS["fig3"] + ".svg",
        samples=report(
            PATHS["fig3_samples"] + ".png",
            caption="../report/fig3_samples.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "Fig. 3 (right)"},
        ),
        samples_svg=PATHS["fig3_samples"] + ".svg",
        fig4=report(
            PATHS["fig4"] + ".png",
            caption="../report/fig4.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "Fig. 4"},
        ),
        fig4_svg=PATHS["fig4"] + ".svg",
    log:
        f"{R}/logs/lrc_figures/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/lrc_figures/{{dataset}}_seed{{seed}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("lrc_figures"),
        mem_mb=job_mem("lrc_figures"),
        gpu_mem_mb=job_gpu_mem("lrc_figures"),
    params:
        note=data_note,
        csvs=shown(lrc_csvs),
        fig_eps=shown(config["lrc"]["fig_eps"]),
        sample_zetas=shown(config["lrc"]["sample_zetas"]),
        kinds=shown(LRC_KINDS),
        device=DEVICE,
    script:
        "../scripts/lrc_figures.py"


rule trajectories:
    input:
        models=values_of(trajectory_files, "model"),
        sets=values_of(trajectory_files, "set"),
        data=PATHS["dataset"],
        code=script_code("trajectories"),
    output:
        report(
            PATHS["fig6"] + ".png",
            caption="../report/fig6.rst",
            category=CATEGORY["smoothness"],
            labels={"dataset": "{dataset}", "file": "Fig. 6"},
        ),
        svg=PATHS["fig6"] + ".svg",
    log:
        f"{R}/logs/trajectories/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/trajectories/{{dataset}}_seed{{seed}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("trajectories"),
        mem_mb=job_mem("trajectories"),
        gpu_mem_mb=job_gpu_mem("trajectories"),
    params:
        note=data_note,
        files=shown(trajectory_files),
        examples=config["smoothness"]["examples"],
        steps=config["smoothness"]["steps"],
        device=DEVICE,
    script:
        "../scripts/trajectories.py"


rule adversarial_samples:
    input:
        model=source_model,
        adv=smoothness_source_set,
        data=PATHS["dataset"],
        code=script_code("adversarial_samples"),
    output:
        report(
            PATHS["fig78"] + ".png",
            caption="../report/fig78.rst",
            category=CATEGORY["smoothness"],
            labels={"dataset": "{dataset}", "file": "Figs. 7-8: {source}"},
        ),
        svg=PATHS["fig78"] + ".svg",
    log:
        f"{R}/logs/adversarial_samples/{{dataset}}_seed{{seed}}_{{source}}.log",
    benchmark:
        f"{R}/benchmarks/adversarial_samples/{{dataset}}_seed{{seed}}_{{source}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("adversarial_samples"),
        mem_mb=job_mem("adversarial_samples"),
        gpu_mem_mb=job_gpu_mem("adversarial_samples"),
    params:
        note=data_note,
        n=config["smoothness"]["samples"],
        attack=config["smoothness"]["attack"],
        device=DEVICE,
    script:
        "../scripts/adversarial_samples.py"
