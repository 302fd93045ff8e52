"""An on-disk cache of arrays that are slow to build: the source models' integer tables.

A trained source model turns its parameter file into 40 tabulated mixtures (a 40,001-point grid
each) and about 1,500 integer coding tables; that takes about a second, in every process that
encodes or decodes.  The result depends only on the parameter file and on the code that builds
it, so it is kept in ``<cache>/tables``, where the cache is ``$HYBRIDCODEC_CACHE`` or
``~/.cache/hybridcodec`` (the corpus cache's folder).

The key holds everything the arrays depend on: the parameter files' digests and the model's
arguments (given by the caller), the sha256 of the source files that build tables
(:data:`SOURCES`), the package version, :data:`CACHE_VERSION` and the NumPy and SciPy versions.
The full key is stored in the file and compared on load.  Files are written atomically (a
temporary file in the same folder, then ``os.replace``).  A file that cannot be read, is
damaged (zip CRC-32) or holds another key is ignored and rebuilt; a cache folder that cannot be
written only costs the rebuild.  Arrays round-trip exactly, so tables from the cache are
bit-identical to freshly built ones.

Files are named ``<kind>-<key digest>-<digest of key and code>.npz``.  Of the files of one key,
the :data:`KEEP_VERSIONS` newest are kept: checkouts of different code can share the cache
without rebuilding in turn, and edits do not pile up 24 MB files.
"""
import hashlib
import importlib
import os
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Callable, Dict, Sequence

import numpy as np

CACHE_VERSION = 1
"""Raise when the meaning of cached arrays changes in a way the source digest cannot see."""
ENV_VARIABLE = "HYBRIDCODEC_CACHE"
SOURCES = ("hybridcodec.dsp.entropy_models", "hybridcodec.dsp.range_coder",
           "hybridcodec.dsp.spectrum_coder", "hybridcodec.components.source_model",
           "hybridcodec.components.learned_source_models", "hybridcodec.table_cache")
"""The modules whose code builds cached arrays (their source files are hashed into the key)."""
KEY_ARRAY = "_cache_key"
KEEP_VERSIONS = 4
"""Files kept per key (one per version of the code and libraries), the newest ones."""

_code_key = None


def default_cache_dir() -> Path:
    """``$HYBRIDCODEC_CACHE`` when that variable is set, else ``~/.cache/hybridcodec``."""
    env_dir = os.environ.get(ENV_VARIABLE)
    return Path(env_dir).expanduser() if env_dir else Path.home() / ".cache" / "hybridcodec"


def table_cache_dir() -> Path:
    return default_cache_dir() / "tables"


def code_key() -> str:
    """What the cached arrays depend on besides the caller's key: code and library versions."""
    global _code_key
    if _code_key is None:
        from . import __version__

        versions = [f"{name}={_version(name)}" for name in ("numpy", "scipy")]
        _code_key = ";".join([f"hybridcodec={__version__}", f"cache={CACHE_VERSION}",
                              f"sources={source_digest(SOURCES)}"] + versions)
    return _code_key


def source_digest(modules: Sequence[str]) -> str:
    """The first 16 hex digits of the sha256 of the named modules' source files, in order."""
    sources = hashlib.sha256()
    for name in modules:
        sources.update(Path(importlib.import_module(name).__file__).read_bytes())
    return sources.hexdigest()[:16]


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "none"


def cached_arrays(kind: str, key: Sequence, build: Callable[[], Dict[str, np.ndarray]],
                  directory: Path | None = None) -> Dict[str, np.ndarray]:
    """The arrays ``build()`` returns for ``key``: from the cache, else built and stored.

    Parameters
    ----------
    kind : str
        Names the cache file (letters, digits, '-').
    key : sequence
        Everything besides the code the arrays depend on (parameter digests, arguments); its
        ``repr`` must be stable across processes.
    build : callable
        Returns a dict of plain (non-object) NumPy arrays; called only on a cache miss.
    directory : pathlib.Path, optional
        The cache folder (default :func:`table_cache_dir`).
    """
    full_key = repr((kind, tuple(key), code_key()))
    directory = table_cache_dir() if directory is None else Path(directory)
    stem = f"{kind}-{_digest(repr((kind, tuple(key))), 16)}"
    path = directory / f"{stem}-{_digest(full_key, 8)}.npz"
    arrays = _read(path, full_key)
    if arrays is None:
        arrays = build()
        _write(path, full_key, arrays)
        _prune(directory, stem, path)
    return arrays


def _digest(text: str, n_hex: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n_hex]


def _prune(directory: Path, stem: str, newest: Path) -> None:
    """Remove all but the KEEP_VERSIONS newest files of one key (``newest`` is always kept)."""
    try:
        others = sorted((p for p in directory.glob(f"{stem}-*.npz") if p != newest),
                        key=lambda p: p.stat().st_mtime_ns)
        for old in others[:max(len(others) - (KEEP_VERSIONS - 1), 0)]:
            old.unlink()
    except OSError:
        pass


def _read(path: Path, full_key: str) -> Dict[str, np.ndarray] | None:
    """The arrays of a cache file holding ``full_key``, or None (missing, damaged, another key)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if KEY_ARRAY not in data.files or str(data[KEY_ARRAY]) != full_key:
                return None
            return {name: data[name] for name in data.files if name != KEY_ARRAY}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write(path: Path, full_key: str, arrays: Dict[str, np.ndarray]) -> None:
    """Store ``arrays`` atomically; a folder that cannot be written is left alone."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp",
                                            dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as tmp:
                np.savez(tmp, **{KEY_ARRAY: np.array(full_key)}, **arrays)
            os.replace(tmp_name, path)
        except BaseException:
            os.unlink(tmp_name)
            raise
    except OSError:
        pass
