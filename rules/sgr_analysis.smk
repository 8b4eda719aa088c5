# The SGR paper's analysis figures: covariance structure (Figs. 2, 5), LRC attack sweep (Figs. 3,
# 4), softmax trajectories (Fig. 6), PGD samples (Figs. 7, 8).


rule perturbation_covariance:
    input:
        data=f"{R}/data/{{dataset}}.pt",
        sets=values_of(structure_sets),
        code=script_code("perturbation_covariance"),
    output:
        csv=f"{R}/structure/decay_lengths_{{dataset}}_seed{{seed}}.csv",
        html=report(
            f"{R}/structure/decay_lengths_{{dataset}}_seed{{seed}}.html",
            caption="../report/structure.rst",
            category=CATEGORY["structure"],
            labels={"dataset": "{dataset}", "file": "decay lengths"},
        ),
        fig2=report(
            f"{R}/figures/fig2_covariance_{{dataset}}_seed{{seed}}.png",
            caption="../report/fig2.rst",
            category=CATEGORY["structure"],
            labels={"dataset": "{dataset}", "file": "Fig. 2"},
        ),
        fig2_svg=f"{R}/figures/fig2_covariance_{{dataset}}_seed{{seed}}.svg",
        fig5=report(
            f"{R}/figures/fig5_lrc_matrices_{{dataset}}_seed{{seed}}.png",
            caption="../report/fig5.rst",
            category=CATEGORY["structure"],
            labels={"dataset": "{dataset}", "file": "Fig. 5"},
        ),
        fig5_svg=f"{R}/figures/fig5_lrc_matrices_{{dataset}}_seed{{seed}}.svg",
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
        data=f"{R}/data/{{dataset}}.pt",
        code=script_code("lrc_data_noise"),
    output:
        f"{R}/lrc/data_noise_{{dataset}}.pt",
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
        model=lambda w: model_path(w.dataset, w.source, w.seed),
        data=f"{R}/data/{{dataset}}.pt",
        code=script_code("lrc_attack"),
    output:
        f"{R}/lrc/{{dataset}}_seed{{seed}}_{{source}}.csv",
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
        data=f"{R}/data/{{dataset}}.pt",
        model=lambda w: model_path(w.dataset, config["lrc"]["models"][0], w.seed),
        code=script_code("lrc_figures"),
    output:
        csv=f"{R}/lrc/lrc_sweep_{{dataset}}_seed{{seed}}.csv",
        html=report(
            f"{R}/lrc/lrc_sweep_{{dataset}}_seed{{seed}}.html",
            caption="../report/lrc_table.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "every sweep point"},
        ),
        fig3=report(
            f"{R}/figures/fig3_lrc_accuracy_vs_zeta_{{dataset}}_seed{{seed}}.png",
            caption="../report/fig3.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "Fig. 3 (left)"},
        ),
        fig3_svg=f"{R}/figures/fig3_lrc_accuracy_vs_zeta_{{dataset}}_seed{{seed}}.svg",
        samples=report(
            f"{R}/figures/fig3_lrc_samples_{{dataset}}_seed{{seed}}.png",
            caption="../report/fig3_samples.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "Fig. 3 (right)"},
        ),
        samples_svg=f"{R}/figures/fig3_lrc_samples_{{dataset}}_seed{{seed}}.svg",
        fig4=report(
            f"{R}/figures/fig4_lrc_accuracy_vs_eps_{{dataset}}_seed{{seed}}.png",
            caption="../report/fig4.rst",
            category=CATEGORY["lrc"],
            labels={"dataset": "{dataset}", "file": "Fig. 4"},
        ),
        fig4_svg=f"{R}/figures/fig4_lrc_accuracy_vs_eps_{{dataset}}_seed{{seed}}.svg",
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
        device=DEVICE,
    script:
        "../scripts/lrc_figures.py"


rule trajectories:
    input:
        models=values_of(trajectory_files, "model"),
        sets=values_of(trajectory_files, "set"),
        data=f"{R}/data/{{dataset}}.pt",
        code=script_code("trajectories"),
    output:
        report(
            f"{R}/figures/fig6_trajectories_{{dataset}}_seed{{seed}}.png",
            caption="../report/fig6.rst",
            category=CATEGORY["smoothness"],
            labels={"dataset": "{dataset}", "file": "Fig. 6"},
        ),
        svg=f"{R}/figures/fig6_trajectories_{{dataset}}_seed{{seed}}.svg",
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
        model=lambda w: model_path(w.dataset, w.source, w.seed),
        adv=lambda w: adv_path(
            w.dataset,
            w.seed,
            config["smoothness"]["attack"],
            first_eps(w.dataset, config["smoothness"]["attack"]),
            w.source,
            "pt",
        ),
        data=f"{R}/data/{{dataset}}.pt",
        code=script_code("adversarial_samples"),
    output:
        report(
            f"{R}/figures/fig78_samples_{{dataset}}_seed{{seed}}_{{source}}.png",
            caption="../report/fig78.rst",
            category=CATEGORY["smoothness"],
            labels={"dataset": "{dataset}", "file": "Figs. 7-8: {source}"},
        ),
        svg=f"{R}/figures/fig78_samples_{{dataset}}_seed{{seed}}_{{source}}.svg",
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
