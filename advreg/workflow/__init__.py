"""What the Snakemake workflow reads before any job runs: the config check (``config_check``), the
per-job views of a checked config (``config_views``), the cost model that sizes SLURM jobs
(``cost``) and the user's extensions (``extensions``)."""
