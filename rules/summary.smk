# summary.md: every table in the paper's order plus provenance (also in the HTML report).


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
