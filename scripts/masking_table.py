from _log import logged
import json


from advreg.figures.tables import write_table
from advreg.jobs.masking_tables import flags_table
from advreg.figures.common import accuracy_vs_eps

with logged(snakemake) as log:
    recs = [json.load(open(f)) for f in snakemake.input.rows]
    p = snakemake.params
    matrices = {tuple(k.split("|")): v for k, v in p.matrices.items()}
    table = flags_table(recs, p.methods, matrices, tol=p.tol, gap_tol=p.gap_tol)
    n_flagged = int(table["any_flag"].sum())
    caption = (f"{p.note}Gradient-masking checks on {snakemake.wildcards.dataset} (Carlini et al. 2019), "
               f"ε = {recs[0]['paper_eps_255']:g}/255. paper_attack and strong: the strong evaluation's "
               f"accuracies (%) on its strong_eval_images test images; every column after diagnostic_images: "
               f"the diagnostics' own sweeps on the first diagnostic_images test images. FLAG = a sign of "
               f"masking or of a too-weak paper attack; {n_flagged} of {len(table)} (model, seed) rows flagged.")
    write_table(table, snakemake.output.csv, snakemake.output.md, caption=caption,
                html_path=snakemake.output.html)
    curves = {}
    for r in recs:
        curves.setdefault(r["source"], []).extend({**s, "seed": r["seed"]} for s in r["sweep"])
    accuracy_vs_eps(curves, snakemake.output.png, recs[0]["paper_eps_255"],
                    title=f"{snakemake.wildcards.dataset}: accuracy vs ε ({recs[0]['n']} test images)", note=p.note)
    log(table.to_string())
