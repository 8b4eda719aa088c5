# summary.md: every table in the paper's order plus provenance (also in the HTML report).


def summary_inputs(w):
    # the seed-combined tables (mean ± interval); the per-seed ones stay in the report
    tables, matrices, comparisons, structure, lrc = [], [], [], [], []
    for ds in DATASETS:
        tables += [f"{R}/tables/clean_accuracy_{ds}.md", f"{R}/tables/whitebox_{ds}.md",
                   f"{R}/tables/robustness_{ds}.md", f"{R}/tables/masking_{ds}.md"]
        matrices += [f"{R}/tables/transfer_{s}.md" for s in transfer_stems(ds)]
        comparisons += [f"{R}/comparison/{s}.md" for s in comparison_stems(ds)]
        structure.append(f"{R}/tables/decay_lengths_{ds}.md")
        if config["lrc"]["models"]:
            lrc.append(f"{R}/tables/lrc_sweep_{ds}.md")
    figures = figure_files()
    sn = [f"{R}/tables/sn_generalization_{ds}.md" for ds in config["sn_experiments"]["datasets"]]
    return {"claims": f"{R}/tables/claims.md", "claims_csv": f"{R}/tables/claims.csv",
            "regime": f"{R}/tables/regime.md", "tables": tables, "matrices": matrices,
            "comparisons": comparisons, "structure": structure, "lrc": lrc, "sn": sn, "figures": figures,
            "code": script_code("summary")}


rule summary:
    input:
        unpack(summary_inputs),
    output:
        md=f"{R}/summary.md",
        html=report(f"{R}/summary.html", caption="../report/summary.rst", category=CATEGORY["summary"],
                    labels={"page": "summary (start here)"}),
    params:
        run_name=config["run_name"],
        datasets=DATASETS,
        stand_ins=sorted(STAND_IN),
        regime=advcfg.run_regime(config),
        run=run_facts(),
        repo=workflow.basedir,
    log:
        f"{R}/logs/summary.log",
    benchmark:
        f"{R}/benchmarks/summary.tsv",
    conda:
        ENV
    script:
        "../scripts/summary.py"
