"""Modules imported on first use.

LibCST takes about as long to import as the rest of migls together, and a run whose files
the fast reader or the cache reads never needs it; a CLI run pays imports every time.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for a module until one of its attributes is used: then imports it, and puts
    the module itself in the importing module's namespace, so that later uses cost nothing.
    Safe from several threads (the import system locks the import)."""

    def __init__(self, name: str, namespace: dict[str, Any], alias: str) -> None:
        self._name = name
        self._namespace = namespace
        self._alias = alias

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self._name)
        self._namespace[self._alias] = module
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
