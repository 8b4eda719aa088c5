"""advreg: the logic of the reproduction, in three layers (tests/unit/test_layers.py checks that
imports only go downwards):

1. **The papers' mathematics** (this package's own modules): data (``data``, ``augment``), models
   and layers (``models``, ``layers``, ``sn_architectures``), spectral normalization
   (``spectral``), SGR and GN (``regularizers``, ``covariance``, ``lrc``, ``structure``), attacks
   (``attacks``, ``strong_attack``, ``lrc_attack``, ``trajectories``), training methods and the
   training loop (``methods``, ``params``, ``train``), statistics over seeds (``stats``), and
   what they share: the configuration (``config``), device and artifact I/O (``io``), progress
   and provenance, and the cost model (``cost``).
2. **The jobs** (``advreg.jobs``): one module per stage of the DAG; the only code that reads and
   writes a run's artifacts.
3. **The figures and tables** (``advreg.figures``): files a reader looks at.

Nothing here knows about Snakemake: the rules' scripts (``scripts/``) unpack the ``snakemake``
object and call these functions.
"""
