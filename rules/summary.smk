# summary.md: every table in the paper's order plus provenance (also in the HTML report).


def summary_inputs(w):
    tables, structure = [], []
    for ds in DATASETS:
        tables.append(f"{R}/tables/clean_accuracy_{ds}.md")
        tables.append(f"{R}/tables/robustness_{ds}.md")
        tables.append(f"{R}/tables/masking_{ds}.md")
        for seed in SEEDS:
            tables.append(f"{R}/tables/whitebox_{ds}_seed{seed}.md")
            structure.append(f"{R}/structure/decay_lengths_{ds}_seed{seed}.csv")
    matrices = [t.replace(".csv", ".md") for ds in DATASETS for seed in SEEDS
                for t in matrix_targets(ds, seed) if t.endswith(".csv")]
    figures = [t for t in all_targets(summary=False) if t.endswith(".png")]
    sn = [f"{R}/tables/sn_generalization_{ds}.md" for ds in config["sn_experiments"]["datasets"]]
    return {"claims": f"{R}/tables/claims.md", "tables": tables, "matrices": matrices, "structure": structure, "sn": sn, "figures": figures,
            "code": code("summary")}


rule summary:
    input:
        unpack(summary_inputs),
    output:
        report(f"{R}/summary.md", caption="../report/summary.rst", category="Summary and provenance"),
    params:
        run_name=config["run_name"],
        datasets=DATASETS,
        split=config["data"]["split"],
        repo=workflow.basedir,
    log:
        f"{R}/logs/summary.log",
    script:
        "../scripts/summary.py"
