"""Source models (the ``source_model`` slot): probability models of the envelope parameters
and of the flattened spectrum, turned into integer tables through ``dsp.entropy_models``.

A source model gives
* ``envelope_tables(envelope_step)``: a TableSet with one table per cepstral coefficient and
  envelope-step shift s (step Δq·2^s), row ``s * K + k``;
* spectrum tables for the rate loop: for every bin, the log2 scale and differential entropy
  H1(f) of its model and the first row of its tables (one row per step on the 1/8-octave
  grid of ``dsp.spectrum_coder``).
"""
from dataclasses import fields
from functools import cached_property
from typing import Callable, Dict, List

import numpy as np

from hybridcodec.dsp.entropy_models import Laplace, differential_entropy_bits, make_table, make_tableset
from hybridcodec.dsp.range_coder import TableSet
from hybridcodec.dsp.spectrum_coder import N_RATIOS, step_ratios

from ..core.registry import register
from ..parameters import digest, find_parameter_file, load_parameters
from ..table_cache import cached_arrays

ENVELOPE_SHIFTS = 4
"""Envelope steps Δq·2^s, s = 0…3: coarser steps are the fallback when a frame is too small."""
TAIL_SPAN = 12.0
"""Tables cover the model's mean ± 12 scales (Laplacian tail e^-12 ≈ 6e-6); beyond: escape."""
MAX_TABLE_VALUES = 1024


class SourceModel:
    """Integer tables from per-coefficient envelope models and per-bin spectrum models.

    Subclasses load their parameters into ``_envelope`` (K models of y_k), ``_spectrum`` (the
    distinct models of w) and ``_bin_model`` (F,) mapping bins to them, and set
    ``envelope_step`` and ``parameter_files``.
    """

    parameter_files: List = []
    envelope_step: float
    _envelope: list
    _spectrum: list
    _bin_model: np.ndarray

    def envelope_models(self) -> list:
        return self._envelope

    def spectrum_models(self) -> list:
        return self._spectrum

    @property
    def spectrum_bin_model(self) -> np.ndarray:
        return self._bin_model

    def parameter_digests(self) -> tuple:
        return tuple(digest(path) for path in self.parameter_files)

    def table_key(self) -> tuple | None:
        """What this model's tables depend on besides the code, for ``hybridcodec.table_cache``
        (parameter digests, arguments), or None: tables built in every process, not cached."""
        return None

    def _tableset(self, name: str, build: Callable[[], list]) -> TableSet:
        """``make_tableset(build())``, from the on-disk table cache when ``table_key`` allows."""
        key = self.table_key()
        if key is None:
            return make_tableset(build())

        def arrays():
            tableset = make_tableset(build())
            return {field.name: getattr(tableset, field.name) for field in fields(tableset)}
        return TableSet(**cached_arrays("tables", key + (name,), arrays))

    def envelope_tables(self, envelope_step: float) -> TableSet:
        return self._tableset(f"envelope-{float(envelope_step)!r}",
                              lambda: envelope_table_list(self.envelope_models(), envelope_step))

    @cached_property
    def spectrum_tables(self) -> TableSet:
        def build():
            tables = []
            for model in self.spectrum_models():
                for ratio in step_ratios():
                    step = ratio * model.scale
                    lo, hi = _span(model, step)
                    tables.append(make_table(model, step, lo, hi))
            return tables
        return self._tableset("spectrum", build)

    @cached_property
    def spectrum_log2_scale(self) -> np.ndarray:
        scales = np.array([model.scale for model in self.spectrum_models()])
        return np.log2(scales)[self.spectrum_bin_model]

    @cached_property
    def spectrum_h1(self) -> np.ndarray:
        """H1(f): differential entropy in bits of each bin's model (TCX eq. 10)."""
        h1 = np.array([differential_entropy_bits(m) for m in self.spectrum_models()])
        return h1[self.spectrum_bin_model]

    @cached_property
    def spectrum_table_base(self) -> np.ndarray:
        return (self.spectrum_bin_model * N_RATIOS).astype(np.int64)

    def relative_bits(self) -> np.ndarray:
        """Hr(f) = H1(f) − mean H1: the bias of eq. 11 for uniform accuracy."""
        return self.spectrum_h1 - self.spectrum_h1.mean()


def envelope_table_list(models: list, envelope_step: float) -> list:
    """Tables of the K envelope ``models`` at every envelope-step shift s (step Δq·2^s), in
    the row order s * K + k of ``envelope_tables``."""
    tables = []
    for shift in range(ENVELOPE_SHIFTS):
        step = envelope_step * 2.0**shift
        for model in models:
            lo, hi = _span(model, step)
            tables.append(make_table(model, step, lo, hi))
    return tables


def _span(model, step: float):
    """Table values lo…hi covering the model's mean ± TAIL_SPAN scales, at most 1024 values.

    A model with a ``support`` (x_lo, x_hi) (the learned mixtures: quantiles leaving about the
    Laplacian's e^-12 tail mass) gets the bins of that interval instead, at most 1024 around
    ``mu``.
    """
    support = getattr(model, "support", None)
    if support is not None:
        centre = model.mu / step
        lo = max(int(np.floor(support[0] / step + 0.5)), int(np.floor(centre - MAX_TABLE_VALUES / 2)))
        hi = min(int(np.floor(support[1] / step + 0.5)), int(np.ceil(centre + MAX_TABLE_VALUES / 2)))
        return min(lo, hi), hi
    half = min(TAIL_SPAN * model.scale / step, MAX_TABLE_VALUES / 2)
    centre = model.mu / step
    return int(np.floor(centre - half)), int(np.ceil(centre + half))


def fit_laplacians(y: np.ndarray, w: np.ndarray) -> Dict[str, np.ndarray]:
    """Maximum-likelihood Laplacians of :class:`LaplacianSourceModel`: location the median,
    scale the mean absolute deviation from it.

    Parameters
    ----------
    y : ndarray, shape (n, K)
        Unquantized cepstra of the training frames.
    w : ndarray, shape (n, F)
        Their flattened spectra; one zero-mean Laplacian for all bins.

    Returns
    -------
    dict
        ``envelope_mu`` (K,), ``envelope_scale`` (K,) and ``spectrum_scale`` ().
    """
    mu = np.median(y, axis=0)
    return {"envelope_mu": mu, "envelope_scale": np.mean(np.abs(y - mu), axis=0),
            "spectrum_scale": np.array(np.mean(np.abs(w)))}


@register("source_model", "laplacian")
class LaplacianSourceModel(SourceModel):
    """Laplacians: one per cepstral coefficient, one shared by all bins of the flattened spectrum.

    Parameters are maximum-likelihood estimates on the training split (:func:`fit_laplacians`),
    from ``hybridcodec train laplacian``.
    """

    def __init__(self, parameters: str = "laplacian"):
        path = find_parameter_file(parameters)
        self.parameter_files = [path]
        arrays = load_parameters(path)
        self._envelope = [Laplace(float(m), float(b)) for m, b in
                          zip(arrays["envelope_mu"], arrays["envelope_scale"])]
        self._spectrum = [Laplace(0.0, float(arrays["spectrum_scale"]))]
        self._bin_model = np.zeros(int(arrays["n_bins"]), dtype=np.int64)
        self.envelope_step = float(arrays["envelope_step"])
