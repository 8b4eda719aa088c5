"""The jobs: one module per stage of the DAG, the only code that reads and writes a run's artifacts
(models, adversarial sets, tables, JSON records). Each rule's script in ``scripts/`` unpacks the
``snakemake`` object and calls one function here; the mathematics they use lives in advreg's
other subpackages, and the figures and table files they write in ``advreg.figures``.

=================  ===============================  ===========================================
module             rule file                         what it builds
=================  ===============================  ===========================================
``data``           rules/data.smk                    the dataset artifact (one tensor file)
``train``          rules/train.smk, sn.smk           a trained model, its history and checkpoints
``attack``         rules/attack.smk                  adversarial test sets, white-box accuracy
``transfer``       rules/attack.smk, transfer.smk    white-box and transfer matrices
``evaluate``       rules/evaluate.smk                clean accuracy of every model
``strong``         rules/strong.smk                  the strong (AutoAttack-style) evaluation
``masking``        rules/strong.smk                  gradient-masking diagnostics
``sgr_analysis``   rules/sgr_analysis.smk            covariance structure, LRC attack, Figs. 2-8
``seed_tables``    rules/seeds.smk                   tables over seeds (mean ± 95 % interval)
``sn``             rules/sn.smk                      the SN paper's generalization-gap runs
``verdicts``       rules/summary.smk                 a verdict per claim of the papers
``summary``        rules/summary.smk                 results/<run>/summary.md
``lambda_probe``   (by hand, ``python -m``)          λ of GN/SGR chosen on validation images
=================  ===============================  ===========================================
"""
