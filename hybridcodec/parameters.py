"""Trained-parameter files shipped in ``hybridcodec/data``: named with their digest, checked on load.

A file is called ``<stem>-<first 16 hex digits of its sha256>.npz``; :func:`load_parameters`
refuses a file whose content no longer matches its name, and :func:`digest` gives the 8 bytes
that the bitstream header records for every parameter file a configuration uses.  A folder's
``parameters.json`` (:data:`MANIFEST`) names each stem's current file, and the codec looks files up
by it rather than by the files present: ``pip install .`` over an earlier build reuses the
leftover ``build/`` folder, which keeps the files a retraining replaced.
"""
import hashlib
import json
from pathlib import Path
from typing import Dict

import numpy as np

from .errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent / "data"
DIGEST_HEX = 16
MANIFEST = "parameters.json"


def sha256_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_HEX]


def _manifest(directory: Path) -> Dict[str, str]:
    path = directory / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def find_parameter_file(stem: str, directory: Path = DATA_DIR) -> Path:
    """The file ``<stem>-<digest>.npz`` that the folder's :data:`MANIFEST` names for ``stem``."""
    name = _manifest(directory).get(stem)
    if name is None or not (directory / name).is_file():
        raise ConfigError(f"no parameter file for '{stem}' in {directory}: its {MANIFEST} names "
                          f"{name or 'none'}; 'hybridcodec train' writes one")
    return directory / name


def load_parameters(path: Path) -> Dict[str, np.ndarray]:
    """Arrays of a parameter file, after checking its content against the digest in its name."""
    expected = path.stem.rsplit("-", 1)[-1]
    if sha256_prefix(path) != expected:
        raise ConfigError(f"parameter file {path.name} is damaged: its sha256 does not match "
                          "the digest in its name")
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def save_parameters(stem: str, arrays: Dict[str, np.ndarray], directory: Path) -> Path:
    """Write ``arrays`` to ``<directory>/<stem>-<digest>.npz``, record it in the folder's
    :data:`MANIFEST` and remove the file it replaces."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"{stem}.npz.tmp"
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    final = directory / f"{stem}-{sha256_prefix(tmp)}.npz"
    tmp.rename(final)
    manifest = _manifest(directory)
    previous = manifest.get(stem)
    manifest[stem] = final.name
    manifest_tmp = directory / f"{MANIFEST}.tmp"
    manifest_tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    manifest_tmp.replace(directory / MANIFEST)
    if previous not in (None, final.name):
        (directory / previous).unlink(missing_ok=True)
    return final


def digest(path: Path) -> bytes:
    """The 8 bytes recorded in the .hcb header for a parameter file."""
    return bytes.fromhex(path.stem.rsplit("-", 1)[-1])
