# summary.md: every table in the paper's order plus provenance (also in the HTML report).


rule summary:
    input:
        unpack(summary_inputs),
        code=script_code("summary"),
        landing_template=LANDING_TEMPLATE,
    output:
        md=PATHS["summary"] + ".md",
        html=report(
            PATHS["summary"] + ".html",
            caption="../report/summary.rst",
            category=CATEGORY["summary"],
            labels={"page": "summary (start here)"},
        ),
        landing=PATHS["landing"],
    log:
        f"{R}/logs/summary.log",
    benchmark:
        f"{R}/benchmarks/summary.tsv"
    conda:
        ENV
    params:
        run_name=config["run_name"],
        datasets=shown(DATASETS),
        methods=shown(config["methods"]),
        stand_ins=shown(sorted(STAND_IN)),
        rehearsal=shown(config["rehearsal"]),
        regime=shown(RUN_REGIME),
        run=shown(run_facts()),
        repo=lambda w: workflow.basedir,  # the git checkout provenance names (a function: not a file prefix)
    script:
        "../scripts/summary.py"
