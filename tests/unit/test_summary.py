"""The summary's first page says what the run was, each setting beside the paper's (issue 29)."""
from __future__ import annotations

from advreg.jobs.summary import run_paragraph

REGIME = {"datasets": {"mnist": {"widths": [16, 16, 32, 32, 100, 100], "epochs": 3, "training_images": 10000}},
          "sn": {"mnist": {"betas": ["inf", "1"], "epochs": 5, "training_images": 1000}},   # β labels, as sn_betas gives
          "pgd_train_steps": 7}
RUN = {"seeds": [0, 1, 2], "splits": {"mnist": "official split"}, "max_test": 300,
       "paper_attack": {"name": "pgd", "steps": 20},
       "strong": [{"kind": "apgd_ce", "steps": 100}, {"kind": "square", "queries": 100}],
       "lrc": {"k": 5, "zetas": [1, 2, 4], "epsilons": [0.3]}}


def test_run_paragraph_sets_every_cut_beside_the_paper():
    text = run_paragraph(REGIME, RUN)
    assert text.startswith("**What this run was**")
    for part in ("seeds 0/1/2", "mnist (official split): SGR models 10,000 (paper 60,000) training images",
                 "widths 16/16/32/32/100/100 (paper 32/32/64/64/200/200)", "3 (paper 50) epochs",
                 "PGD training 7 (paper 40) steps", "paper attack pgd (20 steps) on 300 test images",
                 "apgd_ce (100 steps) → square (100 queries)", "LRC sweep k = 5 (paper 100)",
                 "SN on mnist: 1,000 (paper 55,000) training images", "β ∞/1 (paper ∞/1/2/4/8/16)",
                 "5 (paper 25) epochs"):
        assert part in text, part
    assert "[" not in text and "{" not in text   # no Python repr
