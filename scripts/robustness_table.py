from _log import logged
import json


from advreg.figures.tables import write_table
from advreg.jobs.strong import robustness_rows, robustness_table

with logged(snakemake) as log:
    metrics = [json.load(open(f)) for f in snakemake.input.rows]
    rows = robustness_rows(metrics, snakemake.params.seeds)
    rows.to_csv(snakemake.output.rows, index=False)
    table = robustness_table(rows, snakemake.params.methods)
    shown = table[["eps_255", "seeds", "images", "clean", "paper_attack", "strong", "difference", "cost_ratio"]]
    caption = (f"{snakemake.params.note}Accuracy (%) on {snakemake.wildcards.dataset}: clean, under the paper's attack "
               f"({metrics[0]['paper_attack']}) and under the strong ensemble "
               f"({' → '.join(metrics[0]['ensemble'])}, each on the images still robust; worst case "
               f"per image), mean ± 95 % t-interval over the seeds; difference = paper − strong; "
               f"cost_ratio = strong seconds / paper-attack seconds on the same images. "
               f"Data: {metrics[0]['data']}.")
    write_table(table, snakemake.output.csv)
    numbers = shown.assign(**{c: table[f"{c}_mean"] for c in ("clean", "paper_attack", "strong", "difference")})
    write_table(shown, md_path=snakemake.output.md, caption=caption, html_path=snakemake.output.html,
                html_values=numbers)
    log(shown.to_string())
