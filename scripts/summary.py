from _log import logged

from advreg.jobs.summary import (images_note, images_used, opening, run_paragraph, verdict_card, warnings,
                                 write_landing_page, write_summary)

with logged(snakemake):
    i, p = snakemake.input, snakemake.params
    sections = [("Verdicts on the papers' claims (from this run's tables)", [i.claims]),
                ("Clean and white-box accuracy (Table 1), and the paper attack checked by the strong ensemble", list(i.tables)),
                ("White-box / transfer matrices (Tables 3, 4)", list(i.matrices)),
                ("Comparison with the published matrices", list(i.comparisons)),
                ("Covariance structure: decay lengths (Sec. 4.2)", list(i.structure)),
                ("LRC attack sweep (Sec. 4.3, Figs. 3, 4)", list(i.lrc)),
                ("Spectral normalization: adversarial generalization gap (Farnia et al. 2019)", list(i.sn))]
    notes = [f"datasets: {', '.join(p.datasets)}; split used: "
             + "; ".join(f"{ds}: {how}" for ds, how in p.run["splits"].items())
             + " (each table's caption states its counts); selections (λ, β*, training curves) read the "
               "validation split carved from the training file, never a test image"]
    images = images_used(dict(zip(p.datasets, i.clean_counts)), dict(zip(p.datasets, i.attack_counts)),
                         dict(zip(p.datasets, i.strong_counts)))
    notes.append(images_note(images))
    card = warnings(p.stand_ins, p.rehearsal) + verdict_card(p.run_name, i.claim_lines, i.regime_csv, p.run,
                                                             images, len(p.methods))
    first = card + ["---", ""] + opening(i.claim_lines, run_paragraph(p.regime, p.run))
    write_summary(snakemake.output.md, p.run_name, sections, list(i.figures), p.repo, notes,
                  html_path=snakemake.output.html, first=first,
                  settings={"device setting (config device)": p.run["device"],
                            "CUDA numerics (config cuda_numerics; models record theirs in their signature)": p.run["cuda_numerics"]},
                  html_tables={page[: -len(".html")] + ".md": page for page in i.pages})
    # the report's landing page opens with the same card (Snakefile: `report: landing_page_source()`)
    write_landing_page(snakemake.output.landing, card, i.landing_template)
