"""advreg: the logic of the reproduction, one subpackage per concept of the papers. Imports only go
down this list (tests/unit/test_import_layers.py states which layer may import which):

``base``      what every layer shares: atomic writes, device choice, timing, progress lines, code and
              data fingerprints, hyperparameter declarations, how a value reads as text
``data``      the datasets: sources and checksums, the artifact a job reads, the rehearsal stand-in
``claims``    the papers' claims register and the statistics over seeds (torch-free)
``nn``        layers, architectures, models, spectral normalization, predictions and accuracy
``sgr``       the SGR paper's mathematics: regularizers, covariance, LRC noise, perturbation structure
``attacks``   white-box attacks and their registry, the strong check, the LRC attack, trajectories
``training``  the training loop, its settings, the methods and their registry, augmentation
``workflow``  what the Snakemake workflow reads before any job: config check and views, cost, extensions
``figures``   figures and table files (compute nothing of the papers' mathematics)
``jobs``      one module per stage of the DAG: the only code that writes a run's artifacts

Nothing here knows about Snakemake: the rules' scripts (``scripts/``) unpack the ``snakemake``
object and call ``advreg.jobs``.
"""
