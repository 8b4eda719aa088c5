import pandas as pd
from _log import logged

from advreg.summary import write_summary

with logged(snakemake):
    i, p = snakemake.input, snakemake.params
    structure = []
    for f in i.structure:  # decay lengths as Markdown, beside the other tables
        md = f.replace(".csv", ".md")
        pd.read_csv(f).to_markdown(open(md, "w"), index=False)
        structure.append(md)
    comparisons = [m for m in i.matrices if "/comparison/" in m]
    matrices = [m for m in i.matrices if "/comparison/" not in m]
    sections = [("Verdicts on the papers' claims (from this run's tables)", [i.claims]),
                ("Clean and white-box accuracy (Table 1), and the paper attack checked by the strong ensemble", list(i.tables)),
                ("White-box / transfer matrices (Tables 3, 4)", matrices),
                ("Comparison with the published matrices", comparisons),
                ("Covariance structure: decay lengths (Sec. 4.2)", structure),
                ("Spectral normalization: adversarial generalization gap (Farnia et al. 2019)", list(i.sn))]
    notes = [f"datasets: {', '.join(p.datasets)}; data split setting: `{p.split}` (each table's "
             f"caption states the split actually used and its counts); selections (λ, β*, training "
             f"curves) read the validation split carved from the training file, never a test image"]
    write_summary(snakemake.output[0], p.run_name, sections, list(i.figures), p.repo, notes)
