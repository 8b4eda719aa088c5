"""The networks: layers, the architectures of both papers (``architectures`` is the torch-free
registry, ``models`` builds one from its spec), spectral normalization of any conv layer
(``spectral``, ``sn_modes``, ``sn_architectures``), a model's predictions and accuracy
(``predict``), and its train/eval mode for a block (``modes``)."""
