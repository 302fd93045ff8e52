"""Tests of the on-disk table cache (hybridcodec.table_cache) and of the source models that use it:
cached tables are bit-identical to freshly built ones, and a damaged, foreign or unwritable
cache only costs a rebuild."""
import os
from dataclasses import fields

import numpy as np
import pytest

from hybridcodec import table_cache
from hybridcodec.components.learned_source_models import (GaussianMixtureSourceModel,
                                                          GaussianSourceModel,
                                                          LogisticMixtureSourceModel)
from hybridcodec.components.source_model import SourceModel

CACHED_MODELS = {
    "logistic-mixture": LogisticMixtureSourceModel,
    "logistic-mixture-1db": lambda: LogisticMixtureSourceModel(variant="conventional"),
    "gaussian": GaussianSourceModel,
    "gmm": GaussianMixtureSourceModel,
}


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(table_cache.ENV_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache" / "tables"


def _everything(model):
    """Every array and number a source model gives the codec."""
    tablesets = [model.envelope_tables(model.envelope_step), model.spectrum_tables]
    arrays = [getattr(t, f.name) for t in tablesets for f in fields(t)]
    arrays += [model.spectrum_h1, model.spectrum_log2_scale, model.spectrum_table_base]
    numbers = [(m.mu, m.scale, m.support, m.h1) for m in model._envelope + model._spectrum]
    return arrays, numbers


def _assert_identical(a, b):
    arrays_a, numbers_a = a
    arrays_b, numbers_b = b
    assert numbers_a == numbers_b
    assert len(arrays_a) == len(arrays_b)
    for x, y in zip(arrays_a, arrays_b):
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def _uncached(factory, monkeypatch):
    """The model built with the cache switched off (the reference)."""
    from hybridcodec.components import learned_source_models, source_model

    with monkeypatch.context() as patch:
        for module in (learned_source_models, source_model):
            patch.setattr(module, "cached_arrays", lambda kind, key, build: build())
        return _everything(factory())


@pytest.mark.parametrize("name", sorted(CACHED_MODELS))
def test_cached_tables_are_identical_to_built_ones(cache_dir, monkeypatch, name):
    factory = CACHED_MODELS[name]
    reference = _uncached(factory, monkeypatch)
    assert not cache_dir.exists()
    _assert_identical(_everything(factory()), reference)      # built, then stored
    stored = sorted(cache_dir.glob("*.npz"))
    assert len(stored) == 4    # tabulated envelope and spectrum models, two table sets
    stamps = [path.stat().st_mtime_ns for path in stored]
    _assert_identical(_everything(factory()), reference)      # read back
    assert [path.stat().st_mtime_ns for path in stored] == stamps


def test_damaged_cache_files_are_rebuilt(cache_dir, monkeypatch):
    reference = _uncached(LogisticMixtureSourceModel, monkeypatch)
    _everything(LogisticMixtureSourceModel())
    paths = sorted(cache_dir.glob("*.npz"), key=lambda path: path.stat().st_size)
    small, large = paths[0], paths[-1]
    data = bytearray(large.read_bytes())
    data[len(data) // 2] ^= 0x40                   # one flipped bit inside the tables
    large.write_bytes(bytes(data))
    small.write_bytes(small.read_bytes()[:100])    # a cut file
    _assert_identical(_everything(LogisticMixtureSourceModel()), reference)
    _assert_identical(_everything(LogisticMixtureSourceModel()), reference)
    assert not list(cache_dir.glob("*.tmp"))


def test_damage_is_detected_by_the_reader(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"x": np.arange(10_000, dtype=np.int64)}

    first = table_cache.cached_arrays("t", ("k",), build, tmp_path)["x"]
    (path,) = tmp_path.glob("t-*.npz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    again = table_cache.cached_arrays("t", ("k",), build, tmp_path)["x"]
    assert len(calls) == 2 and np.array_equal(first, again)
    table_cache.cached_arrays("t", ("k",), build, tmp_path)
    assert len(calls) == 2


def test_another_key_is_another_entry(tmp_path):
    a = table_cache.cached_arrays("t", ("a",), lambda: {"x": np.zeros(3)}, tmp_path)
    b = table_cache.cached_arrays("t", ("b",), lambda: {"x": np.ones(3)}, tmp_path)
    assert not a["x"].any() and b["x"].all()
    assert len(list(tmp_path.glob("t-*.npz"))) == 2


def test_old_versions_of_an_entry_are_pruned(tmp_path, monkeypatch):
    for version in range(table_cache.KEEP_VERSIONS + 3):
        monkeypatch.setattr(table_cache, "_code_key", f"code version {version}")
        table_cache.cached_arrays("t", ("k",), lambda: {"x": np.zeros(3)}, tmp_path)
        table_cache.cached_arrays("t", ("other",), lambda: {"x": np.zeros(3)}, tmp_path)
    kept = list(tmp_path.glob("t-*.npz"))
    assert len(kept) == 2 * table_cache.KEEP_VERSIONS
    calls = []
    table_cache.cached_arrays("t", ("k",), lambda: calls.append(1) or {"x": np.zeros(3)},
                              tmp_path)
    assert not calls    # the newest version survived


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_unwritable_cache_only_costs_a_rebuild(tmp_path):
    tmp_path.chmod(0o500)
    try:
        arrays = table_cache.cached_arrays("t", ("k",), lambda: {"x": np.arange(3)},
                                           tmp_path / "sub")
    finally:
        tmp_path.chmod(0o700)
    assert np.array_equal(arrays["x"], np.arange(3))


def test_cache_folder_cannot_be_a_file_either(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    arrays = table_cache.cached_arrays("t", ("k",), lambda: {"x": np.arange(3)}, blocker)
    assert np.array_equal(arrays["x"], np.arange(3))


def test_models_without_a_key_are_not_cached(cache_dir):
    assert SourceModel.table_key(object()) is None
    from hybridcodec.components.source_model import LaplacianSourceModel

    model = LaplacianSourceModel()
    model.spectrum_tables
    assert not cache_dir.exists()
