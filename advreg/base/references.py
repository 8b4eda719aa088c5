"""Implementations named as "advreg.<module>:<name>" strings: the registries (method_kinds,
attack_kinds, architectures) declare torch-free what a kind runs, and import it only when it is
used. advreg.base.provenance counts such a string as an import of the module."""
from __future__ import annotations

import importlib
import re
from typing import Any

PATTERN = re.compile(r"^(advreg(?:\.\w+)+):\w+$")


def resolve(ref: Any) -> Any:
    """The object a "module:name" string names (imported now); anything else as it is."""
    if not isinstance(ref, str):
        return ref
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)
