"""What every layer shares and none owns: atomic file writing, timing and progress lines, the device
choice, code and data fingerprints, "module:name" references, hyperparameter declarations and how a
value is shown as text. Imports nothing else of advreg."""
