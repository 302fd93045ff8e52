"""Numba's on-disk kernel cache, cleared whenever any of the package's source files changes.

Numba keeps each ``@njit(cache=True)`` kernel beside its source (``__pycache__/*.nbi``, ``*.nbc``)
and recompiles it when its own file changes, but not when a kernel it calls from another file
does: the caller carries the old callee compiled in and goes on running the old code.  After an
edit of ``dsp/`` or ``hybridcodec/components/`` in a checkout, a stale kernel could thus give
old results (or, as seen here once, run 2.8 × slower) without any sign.

:func:`refresh` runs when ``hybridcodec`` is imported, before any kernel is compiled or loaded:
it digests every ``.py`` file of the package (``hybridcodec``, ``hybridcodec.dsp``,
``hybridcodec.learned``, wherever they are installed) and, when the digest differs from the one
written at the last refresh, deletes the cache files under the package, so that every kernel
compiles afresh once.  An installed, unchanged package keeps its cache.  Where Numba's cache
lives elsewhere (``NUMBA_CACHE_DIR``) nothing is done; where the package cannot be written, the
refresh is skipped too (Numba then caches in its user folder, and such a package is not edited).
"""
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Iterable, List

PACKAGES = ("hybridcodec", "hybridcodec.dsp", "hybridcodec.learned")
STAMP = Path("__pycache__") / "kernel-sources.sha256"
"""The digest of the last refresh, under the first package's folder."""
CACHE_PATTERNS = ("__pycache__/*.nbi", "__pycache__/*.nbc")


def package_roots() -> List[Path]:
    """The folders of PACKAGES as installed, less those inside another (an editable install
    maps ``dsp`` and ``learned`` to folders beside ``hybridcodec``, a plain one puts them in
    it, where ``hybridcodec``'s folder already covers them)."""
    specs = [importlib.util.find_spec(name) for name in PACKAGES]
    if None in specs:
        raise ImportError("hybridcodec is imported from a checkout that is not installed: its "
                          "dsp/ and learned/ folders become hybridcodec.dsp and hybridcodec.learned "
                          "only when installed; run 'pip install -e .' in the checkout")
    roots = [Path(spec.origin).parent for spec in specs]
    return [root for root in roots if not any(other in root.parents for other in roots)]


def source_digest(roots: Iterable[Path]) -> str:
    """sha256 over the relative path and bytes of every ``.py`` file under ``roots``."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{root.name}/{path.relative_to(root)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def refresh(roots: List[Path]) -> bool:
    """Delete the Numba cache files under ``roots`` when their sources changed since the last
    call (module doc); True when it deleted them."""
    stamp = roots[0] / STAMP
    digest = source_digest(roots)
    try:
        if stamp.is_file() and stamp.read_text() == digest:
            return False
        for root in roots:
            for pattern in CACHE_PATTERNS:
                for path in root.rglob(pattern):
                    path.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:             # a read-only install: Numba caches elsewhere
        return False
    return True


def refresh_installed() -> None:
    """:func:`refresh` on the installed package, unless Numba's cache is elsewhere."""
    if not os.environ.get("NUMBA_CACHE_DIR"):
        refresh(package_roots())
