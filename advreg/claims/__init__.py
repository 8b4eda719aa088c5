"""The papers' claims: the register of quoted sentences with their thresholds and regimes
(``register``, read from advreg/reference/claims.yaml) and the statistics over seeds
(``statistics``). Torch-free."""
