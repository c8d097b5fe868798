"""Registry of the seed models; a model's CLI name is its module name with '-'."""

from __future__ import annotations

import importlib
from types import ModuleType

from glia_neuromorphic.errors import ValidationError

#: CLI name -> module path. Each module provides the functions the CLI calls.
MODELS = {
    "astro-sequence": "glia_neuromorphic.models.astro_sequence",
    "contracting-rnn": "glia_neuromorphic.models.contracting_rnn",
}


def load_model(name: str) -> ModuleType:
    """Import and return the module of model ``name`` (``astro-sequence`` form)."""
    module = MODELS.get(name) or MODELS.get(name.replace("_", "-"))
    if module is None:
        raise ValidationError(
            f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}"
        )
    return importlib.import_module(module)
