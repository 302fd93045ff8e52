"""Every shipped parameter file: named by its digest, loaded, refused once damaged, found by the
data folder's manifest."""
import json

import numpy as np
import pytest

from hybridcodec.errors import ConfigError
from hybridcodec.parameters import (DATA_DIR, MANIFEST, find_parameter_file, load_parameters,
                                    save_parameters, sha256_prefix)

SHIPPED = sorted(DATA_DIR.glob("*.npz"))


def test_every_learned_component_ships_a_parameter_file():
    stems = {path.stem.rsplit("-", 1)[0] for path in SHIPPED}
    assert {"laplacian", "envelope-prediction", "logistic-mixture", "lace", "psq-st",
            "psq-noise", "residual", "e2e-ae", "lsf-vq", "lsf-softmax"} <= stems


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_a_shipped_file_loads_and_a_damaged_copy_is_refused(tmp_path, path):
    assert path.stem.rsplit("-", 1)[1] == sha256_prefix(path)
    assert load_parameters(path)
    for position in (len(path.read_bytes()) // 2, -100):   # inside the arrays, near the end
        data = bytearray(path.read_bytes())
        data[position] ^= 0x01
        damaged = tmp_path / path.name
        damaged.write_bytes(bytes(data))
        with pytest.raises(ConfigError, match="damaged"):
            load_parameters(damaged)


def test_the_manifest_names_every_shipped_file_and_nothing_else():
    manifest = json.loads((DATA_DIR / MANIFEST).read_text())
    assert sorted(manifest.values()) == [path.name for path in SHIPPED]
    assert all(name.startswith(f"{stem}-") for stem, name in manifest.items())


def test_a_leftover_file_of_an_earlier_build_is_not_picked_up(tmp_path):
    first = save_parameters("lace", {"w": np.zeros(3)}, tmp_path)
    leftover = tmp_path / "lace-0123456789abcdef.npz"   # as a stale build/ folder leaves one
    leftover.write_bytes(first.read_bytes())
    second = save_parameters("lace", {"w": np.ones(3)}, tmp_path)
    assert find_parameter_file("lace", tmp_path) == second
    assert not first.exists(), "the file it replaces is removed"
    assert leftover.exists(), "a file the manifest never named is left alone"


def test_a_stem_that_begins_another_does_not_replace_it(tmp_path):
    variant = save_parameters("lsf-vq-at-60hz", {"w": np.zeros(2)}, tmp_path)
    save_parameters("lsf-vq", {"w": np.zeros(3)}, tmp_path)
    save_parameters("lsf-vq", {"w": np.ones(3)}, tmp_path)
    assert variant.exists() and find_parameter_file("lsf-vq-at-60hz", tmp_path) == variant


def test_a_stem_without_a_file_says_what_to_do(tmp_path):
    save_parameters("lace", {"w": np.zeros(3)}, tmp_path)
    with pytest.raises(ConfigError, match="no parameter file for 'residual'.*hybridcodec train"):
        find_parameter_file("residual", tmp_path)
