"""vaelab: hierarchical, auxiliary and semi-supervised variational autoencoders.

Import direction (held by tests/test_imports.py):
distributions <- layers <- models <- objectives <- {train, evaluation} <- config <- cli.
`data` imports nothing else of the package.

The Python API (vaelab.api; docs/guides/python-api.md) is imported on first use, so `import vaelab` stays
cheap: vaelab.train, load_run, evaluate, sample, export, load_pretrained, load_config, list_presets, and for
models with own networks train_model, evaluate_model, load_model.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

API = {  # name -> (module, attribute), imported when first used
    "load_run": ("vaelab.api", "load_run"), "Run": ("vaelab.api", "Run"),
    "evaluate": ("vaelab.runs", "evaluate_run"), "sample": ("vaelab.runs", "sample_run"),
    "export": ("vaelab.pretrained", "export_run"), "load_pretrained": ("vaelab.pretrained", "load_pretrained"),
    "load_config": ("vaelab.config", "load_config"), "list_presets": ("vaelab.presets", "list_presets"),
    "train_model": ("vaelab.own_models", "train_model"), "evaluate_model": ("vaelab.own_models", "evaluate_model"),
    "load_model": ("vaelab.own_models", "load_model"),  # models with own networks (docs/guides/own-networks.md)
}
__all__ = ["__version__", "train", *API]


def __getattr__(name: str) -> Any:
    if name not in API:
        raise AttributeError(f"module 'vaelab' has no attribute {name!r}")
    module, attribute = API[name]
    return getattr(importlib.import_module(module), attribute)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """`vaelab.train` is the function vaelab.api.train; the subpackage of the same name is imported by its
    full name (`from vaelab.train import fit`), which the import system keeps in sys.modules."""

    @property
    def train(self) -> Any:
        return importlib.import_module("vaelab.api").train

    @train.setter
    def train(self, subpackage: types.ModuleType) -> None:
        self.__dict__["_train_package"] = subpackage  # what `import vaelab.train` would have set


sys.modules[__name__].__class__ = _Package
