"""The SGR paper's mathematics (Roth et al. 2018): the regularizers (GN, SGR, eqs. 5-8), covariance
estimates and functions (``covariance``), long-range-correlated noise (``lrc_noise``, eq. 11) and the
covariance structure of perturbations (``structure``, §5.2)."""
