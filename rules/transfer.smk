# White-box / transfer matrices per (dataset, seed, attack, ε) in the paper's layout, their
# heat maps (combined over seeds and compared with the published matrices in rules/seeds.smk).


rule transfer_matrix:
    input:
        unpack(matrix_inputs),
        code=script_code("transfer_matrix"),
    output:
        csv=PATHS["matrix"] + ".csv",
        html=report(
            PATHS["matrix"] + ".html",
            caption="../report/transfer_matrix.rst",
            category=CATEGORY["matrices"],
            labels={"dataset": "{dataset}", "attack": "{attack}", "eps (1/255)": "{eps}", "file": "table (csv)"},
        ),
        md=PATHS["matrix"] + ".md",
        tex=PATHS["matrix"] + ".tex",
        png=report(
            PATHS["matrix"] + ".png",
            caption="../report/transfer_matrix.rst",
            category=CATEGORY["matrices"],
            labels={"dataset": "{dataset}", "attack": "{attack}", "eps (1/255)": "{eps}", "file": "heat map"},
        ),
        svg=PATHS["matrix"] + ".svg",
    log:
        f"{R}/logs/transfer_matrix/{{dataset}}_seed{{seed}}_{{attack}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/transfer_matrix/{{dataset}}_seed{{seed}}_{{attack}}_eps{{eps}}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
        runtime=job_runtime("transfer_matrix"),
        mem_mb=job_mem("transfer_matrix"),
        gpu_mem_mb=job_gpu_mem("transfer_matrix"),
    params:
        note=data_note,
        files=shown(matrix_files),
        batch_size=config["evaluation"]["batch_size"],
        max_test=shown(config["evaluation"]["max_test"], none="all"),
        device=DEVICE,
    script:
        "../scripts/transfer_matrix.py"
