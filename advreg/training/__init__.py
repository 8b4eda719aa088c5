"""Training: the loop with its checkpoints (``loop``), its settings (``settings``), the methods that
make a step's loss (``methods``) and their torch-free registry (``method_kinds``), and on-device
augmentation (``augment``)."""
