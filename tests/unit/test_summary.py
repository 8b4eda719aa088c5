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


def test_landing_page_is_the_summary_opening_as_rst_above_the_static_page():
    """Issue 29: the report's landing page opens with the verdict totals and the regime lines; the
    Markdown opening becomes reStructuredText that docutils renders without a warning, and Jinja
    (Snakemake renders the page as a template) leaves the data untouched."""
    import jinja2
    from docutils.core import publish_parts

    first = ["**Verdicts**: 2 supported, 1 inconclusive (the table below).", "",
             "- **SGR paper**: mnist: clean model `98.9` vs paper 99.4; mean |ours − paper| 3.1; "
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
    assert "<li>" in html and "|ours − paper|" in html and "system-message" not in html
