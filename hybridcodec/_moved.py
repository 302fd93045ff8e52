"""Old import paths of modules moved by the package layout (0.1.0), kept for one version.

``import hybridcodec.codec`` or ``from dsp import mdct`` still work: the old name becomes an alias
of the module at its new place (the same module object, not a copy) and a DeprecationWarning
names the new path.  The top-level ``dsp`` and ``learned`` resolve this way once ``hybridcodec``
is imported; a different distribution that installs a package of that name is left alone.
Remove this module, and its installation in ``hybridcodec/__init__.py``, in the next version.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from pathlib import Path

MOVED = {
    **{f"hybridcodec.{name}": f"hybridcodec.core.{name}"
       for name in ("codec", "concealment", "config", "frame", "pipeline", "redundancy", "registry")},
    "hybridcodec.container": "hybridcodec.formats.hcb",
    **{f"hybridcodec.{name}": f"hybridcodec.formats.{name}" for name in ("audio", "packets", "streams")},
    "hybridcodec.demo": "hybridcodec.tools.demo",
    "hybridcodec.evaluation": "hybridcodec.tools.metrics",
    "hybridcodec.peers": "hybridcodec.tools.peers",
    **{f"hybridcodec.{name}": f"hybridcodec.research.{name}" for name in ("study", "envelope_study")},
    **{f"hybridcodec.{name}": f"hybridcodec.training.{name}" for name in ("corpus", "fit", "lsf_training")},
    "dsp": "hybridcodec.dsp",
    "learned": "hybridcodec.learned",
}


def new_name(fullname: str) -> str | None:
    """The current name of a module imported by its old name, or None if it did not move."""
    head, _, rest = fullname.partition(".")
    if head in ("dsp", "learned"):
        return f"{MOVED[head]}.{rest}" if rest else MOVED[head]
    return MOVED.get(fullname)


def _is_ours(top: str) -> bool:
    """Whether a top-level ``dsp``/``learned`` found on sys.path is this project's own folder."""
    other = importlib.machinery.PathFinder.find_spec(top)
    if other is None or other.submodule_search_locations is None:
        return other is None
    ours = importlib.util.find_spec(MOVED[top]).submodule_search_locations
    return {Path(p).resolve() for p in other.submodule_search_locations} == {Path(p).resolve() for p in ours}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        warnings.warn(f"{spec.name} has moved to {self.target}; the old name goes in the next version",
                      DeprecationWarning, stacklevel=4)
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.own_spec     # the import system set it to the alias's spec


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        new = new_name(fullname)
        if new is None or ("." not in fullname and fullname in ("dsp", "learned") and not _is_ours(fullname)):
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    """Put the alias finder first on sys.meta_path (once)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())
