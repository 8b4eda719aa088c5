"""The summary's first page says what the run was, each setting beside the paper's (issue 29)."""
from __future__ import annotations

from advreg.jobs.summary import landing_page, run_paragraph

REGIME = {"datasets": {"mnist": {"widths": [16, 16, 32, 32, 100, 100], "epochs": 3, "training_images": 10000}},
          "sn": {"mnist": {"betas": ["inf", "1"], "epochs": 5, "training_images": 1000}},   # β labels, as sn_betas gives
          "pgd_train_steps": 7}
RUN = {"seeds": [0, 1, 2], "splits": {"mnist": "official split"}, "max_test": 300, "clean_max_test": None,
       "paper_attack": {"name": "pgd", "steps": 20},
       "strong": [{"kind": "apgd_ce", "steps": 100}, {"kind": "square", "queries": 100}],
       "lrc": {"k": 5, "zetas": [1, 2, 4], "epsilons": [0.3]}}


def test_run_paragraph_sets_every_cut_beside_the_paper():
    text = run_paragraph(REGIME, RUN)
    assert text.startswith("**What this run was**")
    for part in ("seeds 0/1/2", "mnist (official split): SGR models 10,000 (paper 60,000) training images",
                 "widths 16/16/32/32/100/100 (paper 32/32/64/64/200/200)", "3 (paper 50) epochs",
                 "PGD training 7 (paper 40) steps", "clean accuracy on all test images", "paper attack pgd (20 steps) on 300 test images",
                 "apgd_ce (100 steps) → square (100 queries)", "LRC sweep k = 5 (paper 100)",
                 "SN on mnist: 1,000 (paper 55,000) training images", "β ∞/1 (paper ∞/1/2/4/8/16)",
                 "5 (paper 25) epochs"):
        assert part in text, part
    assert "[" not in text and "{" not in text   # no Python repr


def test_landing_page_is_the_verdict_card_as_rst_above_the_static_page():
    """Issue 29/41: the report's landing page opens with the verdict card; the Markdown card
    becomes reStructuredText that docutils renders without a warning, and Jinja
    (Snakemake renders the page as a template) leaves the data untouched."""
    import jinja2
    from docutils.core import publish_parts

    first = ["**Verdicts**: 2 supported, 1 inconclusive (the table below).", "",
             "**SGR paper**: mnist: clean model `98.9` vs paper 99.4; mean |ours − paper| 3.1; "
             "{{ not a template }}", "",
             "**What this run was** (each setting beside the paper's): seeds 0/1/2."]
    template = "Run ``{{ snakemake.config['run_name'] }}``.\n"
    page = landing_page(first, template)
    assert page.index("Verdicts") < page.index("Run ``")
    assert "``98.9``" in page and r"\|ours − paper\|" in page
    rendered = jinja2.Environment().from_string(page).render(snakemake={"config": {"run_name": "quick"}})
    assert "{{ not a template }}" in rendered and "Run ``quick``" in rendered
    html = publish_parts(rendered, writer_name="html",
                         settings_overrides={"report_level": 1, "halt_level": 2})["html_body"]
    assert "<strong>Verdicts</strong>: 2 supported" in html
    assert "|ours − paper|" in html and "system-message" not in html


# ----------------------------------------------------------------------------- issue 41: the verdict card

def _card_inputs(tmp_path, seeds):
    import json

    import pandas as pd

    from advreg.jobs.summary import images_used
    pd.DataFrame([{"id": "a", "paper": "SGR", "section": "4.4", "claim": "x", "datasets": "mnist", "cases": 1,
                   "verdict": "inconclusive", "holm": "not supported", "magnitude": "qualitative",
                   "regime": "outside the paper's regime", "p_supported": 0.3, "other_datasets": "–", "why": ""},
                  {"id": "b", "paper": "SN", "section": "5", "claim": "y", "datasets": "–", "cases": 0,
                   "verdict": "not tested", "holm": "–", "magnitude": "–", "regime": "–", "p_supported": "",
                   "other_datasets": "–", "why": "no cifar10"}]).to_csv(tmp_path / "lines.csv", index=False)
    pd.DataFrame([{"paper_of": "SGR", "dataset": "mnist", "regime": "table1", "indicator": f"i{k}", "run": 1,
                   "paper": 2, "tolerance": "± 1", "within": "within" if k == 0 else "outside"}
                  for k in range(6)]).to_csv(tmp_path / "regime.csv", index=False)
    pd.DataFrame({"method": ["clean"], "seed0": [97.0], "mean": [97.0], "images": [10000]}).to_csv(
        tmp_path / "clean.csv", index=False)
    (tmp_path / "rec.json").write_text(json.dumps({"n": 300}))
    pd.DataFrame({"model": ["clean"], "seed": [0], "n": [150]}).to_csv(tmp_path / "strong.csv", index=False)
    images = images_used({"mnist": tmp_path / "clean.csv"}, {"mnist": tmp_path / "rec.json"},
                         {"mnist": tmp_path / "strong.csv"})
    return images, {**RUN, "seeds": seeds}


def test_verdict_card_of_a_one_seed_run_says_smoke_test_and_reads_counts_from_the_records(tmp_path):
    """The landing page said the attacks used 300 images while the strong check used 150: the card
    reads each count from what the jobs wrote, and a one-seed run calls itself a smoke test."""
    from advreg.jobs.summary import verdict_card
    images, run = _card_inputs(tmp_path, [0])
    card = verdict_card("quick", tmp_path / "lines.csv", tmp_path / "regime.csv", run, images, 12)
    text = "\n".join(card)
    assert "12 models × 1 seed (0)" in text
    assert "clean accuracy on 10,000 test images, attacks on 300, the strong check on 150" in text
    assert "smoke test" in text and "inconclusive by design" in text and "presets/evidence.yaml" in text
    assert "mnist 1 of 6 regime indicators within" in text
    assert "1 of the 2 claims judged" in text and "0 in the paper's regime, 1 outside" in text
    # a card, not a page: a handful of short paragraphs
    assert len([x for x in card if x]) <= 6 and len(text) < 1300
    three = verdict_card("evidence", tmp_path / "lines.csv", tmp_path / "regime.csv",
                         {**run, "seeds": [0, 1, 2]}, images, 12)
    assert not any("smoke test" in x for x in three)
