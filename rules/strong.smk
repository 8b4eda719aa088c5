# Strong evaluation (SGR paper Table 1 checked with an AutoAttack-style ensemble): one job per
# (dataset, seed, ε, model) on the images of the paper's attack, then one table per dataset that
# sets clean, paper attack and strong attack side by side, mean ± 95 % CI over the seeds.

STRONG = config["strong_eval"]


def strong_path(dataset, seed, eps, source):
    return f"{R}/strong/{dataset}/seed{seed}/eps{eps}/{source}.json"


def strong_rows(dataset):
    return [strong_path(dataset, s, e, m) for e in advcfg.attack_eps(config, dataset, STRONG["paper_attack"])
            for m in METHODS for s in SEEDS]


rule strong_eval:
    input:
        model=lambda w: model_path(w.dataset, w.source, w.seed),
        data=f"{R}/data/{{dataset}}.pt",
        paper_set=lambda w: adv_path(w.dataset, w.seed, STRONG["paper_attack"], w.eps, w.source, "pt"),
        paper_json=lambda w: adv_path(w.dataset, w.seed, STRONG["paper_attack"], w.eps, w.source, "json"),
        code=code("strong_eval", "strong_attack"),
    output:
        strong_path("{dataset}", "{seed}", "{eps}", "{source}"),
    params:
        ensemble=STRONG["attacks"],
        max_test=lambda w: STRONG["max_test"] or config["evaluation"]["max_test"],
        batch_size=config["evaluation"]["batch_size"],
        device=config["device"],
    threads: config["threads"]
    log:
        f"{R}/logs/strong_eval/{{dataset}}/seed{{seed}}/eps{{eps}}/{{source}}.log",
    script:
        "../scripts/strong_eval.py"


rule robustness_table:
    input:
        rows=lambda w: strong_rows(w.dataset),
        code=code("strong_eval", "stats"),
    output:
        csv=report(f"{R}/tables/robustness_{{dataset}}.csv", caption="../report/robustness.rst",
                   category="Tables", labels={"dataset": "{dataset}", "table": "paper vs strong attack"}),
        md=f"{R}/tables/robustness_{{dataset}}.md",
        rows=f"{R}/tables/robustness_{{dataset}}_per_seed.csv",
    params:
        methods=METHODS,
        seeds=lambda w: [s for e in advcfg.attack_eps(config, w.dataset, STRONG["paper_attack"])
                         for m in METHODS for s in SEEDS],
    log:
        f"{R}/logs/robustness_table/{{dataset}}.log",
    script:
        "../scripts/robustness_table.py"
