"""Trained-parameter files shipped in ``hybridcodec/data``: named with their digest, checked on load.

A file is called ``<stem>-<first 16 hex digits of its sha256>.npz``; :func:`load_parameters`
refuses a file whose content no longer matches its name, and :func:`digest` gives the 8 bytes
that the bitstream header records for every parameter file a configuration uses.
"""
import hashlib
from pathlib import Path
from typing import Dict

import numpy as np

from .errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent / "data"
DIGEST_HEX = 16


def sha256_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_HEX]


def find_parameter_file(stem: str, directory: Path = DATA_DIR) -> Path:
    """The shipped file ``<stem>-<digest>.npz`` (exactly one must exist)."""
    matches = sorted(directory.glob(f"{stem}-*.npz"))
    if len(matches) != 1:
        raise ConfigError(f"expected one parameter file {stem}-<digest>.npz in {directory}, "
                          f"found {len(matches)}")
    return matches[0]


def load_parameters(path: Path) -> Dict[str, np.ndarray]:
    """Arrays of a parameter file, after checking its content against the digest in its name."""
    expected = path.stem.rsplit("-", 1)[-1]
    if sha256_prefix(path) != expected:
        raise ConfigError(f"parameter file {path.name} is damaged: its sha256 does not match "
                          "the digest in its name")
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def save_parameters(stem: str, arrays: Dict[str, np.ndarray], directory: Path) -> Path:
    """Write ``arrays`` to ``<directory>/<stem>-<digest>.npz`` (replacing older versions)."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"{stem}.npz.tmp"
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    for old in directory.glob(f"{stem}-*.npz"):
        old.unlink()
    final = directory / f"{stem}-{sha256_prefix(tmp)}.npz"
    tmp.rename(final)
    return final


def digest(path: Path) -> bytes:
    """The 8 bytes recorded in the .hcb header for a parameter file."""
    return bytes.fromhex(path.stem.rsplit("-", 1)[-1])
