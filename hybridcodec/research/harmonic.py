"""The harmonic model of the spectrum coder (``dsp.harmonic_model``): fit its table shifts on
voiced frames and measure the bits it saves at equal quantization.

Per active frame t (``training.fit.is_active``) of a clip:

* the encoder's pitch: lag T and normalized correlation rho (eq. P1 of ``dsp.pitch``,
  its search reused) over the 480 samples of the MDCT block, [320 t − 160, 320 t + 320);
  the frame is voiced when rho ≥ VOICED_CORRELATION;
* the quantization: a configuration's frame encoder at a bitrate (its rate loop, without the
  harmonic model) gives the target index, and the quantizer's ``quantization`` rebuilds the
  tables and indices q(f) it coded;
* the code length of q(f) under the table moved by a shift k (``spectrum_coder.
  shift_tables``), ``value_bits``: ideal code lengths, which the range coder meets to within
  a few bytes per stream.

Shifts change only the tables, so every number here compares bits at identical steps and
indices.
"""
from dataclasses import dataclass
from itertools import combinations
from typing import Dict, List

import numpy as np
from numba import njit

from hybridcodec.dsp import harmonic_model, mdct
from hybridcodec.dsp.filters import highpass_50hz
from hybridcodec.dsp.pitch import MAX_LAG, MIN_LAG, OCTAVE_TOLERANCE, pitch_kernel
from hybridcodec.dsp.range_coder import value_bits
from hybridcodec.dsp.spectrum_coder import estimated_bits, shift_tables

from ..core.config import get_config
from ..core.frame import FrameEncoder
from ..core.pipeline import Pipeline
from ..formats.hcb import frame_bytes
from ..training.fit import is_active

VOICED_CORRELATION = 0.6
"""rho above which a frame counts as voiced (LC3's LTPF turns on above a normalized
correlation of 0.6)."""
PITCH_WINDOW = 480
"""Samples of the correlation: the nonzero part of the frame's MDCT block (dsp.mdct)."""
MAX_SHIFT = 12
"""Shifts tried by the fit: −MAX_SHIFT … MAX_SHIFT grid steps (1.5 octaves of scale)."""
DISTANCE_CLASSES = 12
"""Half-bin distance classes the fit keeps apart (0 … 5.5 bins, the last: farther)."""
UPPER_BIN_STEP = 20
"""The fit tries band edges in steps of 500 Hz."""


@dataclass
class CodedFrames:
    """Active frames of clips coded by one configuration at one bitrate.

    ``lag``, ``rho`` (n,): the pitch; ``table`` (n, F): each bin's table without the harmonic
    shift (-1: not coded); ``q`` (n, F): its index; ``table_base`` (F,): the model's first table
    per bin; ``tables``: the quantizer's TableSet.
    """

    lag: np.ndarray
    rho: np.ndarray
    table: np.ndarray
    q: np.ndarray
    table_base: np.ndarray
    tables: object

    @property
    def voiced(self) -> np.ndarray:
        return self.rho >= VOICED_CORRELATION


def frame_pitch(x: np.ndarray) -> tuple:
    """(lag (T,), rho (T,)) of the frames of ``mdct.analyze(x)`` (eq. P1 over each block)."""
    n_frames = mdct.num_frames(x.size)
    lead = PITCH_WINDOW - mdct.HOP + MAX_LAG     # the block starts 160 samples before 320 t
    padded = np.zeros(lead + n_frames * mdct.HOP + mdct.HOP)
    padded[lead:lead + x.size] = x
    lags, rho = np.zeros(n_frames), np.zeros(n_frames)
    for t in range(n_frames):
        end = lead + mdct.HOP * t + mdct.HOP
        lags[t], rho[t] = pitch_kernel(padded, end, MIN_LAG, MAX_LAG, PITCH_WINDOW,
                                       OCTAVE_TOLERANCE)
    return lags, rho


class _Recorder:
    """Stands in for a frame encoder's spectrum encoder (a stateless quantizer) and keeps the
    tables and indices it codes."""

    def __init__(self, quantizer):
        self.quantizer = quantizer
        self.coded: List[tuple] = []

    def encode(self, coder, w, log2_weights, budget_bits, frame_index, harmonic_lag=0.0):
        report = self.quantizer.encode(coder, w, log2_weights, budget_bits, frame_index,
                                       harmonic_lag)
        self.coded.append(self.quantizer.quantization(w, log2_weights, budget_bits, frame_index,
                                                      report.target_index))
        return report


def code_frames(clips: List[np.ndarray], config: str, bitrate_bps: int) -> CodedFrames:
    """Pitch and quantization of the active frames of ``clips`` (module docstring)."""
    encoder = FrameEncoder(Pipeline(get_config(config)))
    quantizer = encoder.pipeline.spectrum_quantizer
    encoder.spectrum_encoder = recorder = _Recorder(quantizer)
    lags, rhos = [], []
    for x in clips:
        x = highpass_50hz(x)
        frames = mdct.analyze(x)
        active = is_active(frames)
        lag, rho = frame_pitch(x)
        lags.append(lag[active])
        rhos.append(rho[active])
        for t in np.flatnonzero(active):
            encoder.encode_frame(frames[t], int(t), frame_bytes(bitrate_bps))
    table, q = (np.array(a) for a in zip(*recorder.coded))
    return CodedFrames(np.concatenate(lags), np.concatenate(rhos), table, q,
                       quantizer.source_model.spectrum_table_base, quantizer.tables)


@njit(cache=True)
def _bits_by_class(table, q, table_base, lag, bits, length, offset, max_shift, n_classes, out):
    """Add to out[f, j, k + max_shift] the code length of q(f) with its table shifted by k,
    j the half-bin distance class of bin f to the harmonics of ``lag``."""
    distance = harmonic_model.harmonic_distance(table.shape[0], lag)
    for k in range(-max_shift, max_shift + 1):
        shifted = shift_tables(table, table_base, np.full(table.shape[0], k, dtype=np.int64))
        for f in range(table.shape[0]):
            if table[f] >= 0:
                j = min(int(np.floor(2.0 * distance[f])), n_classes - 1)
                out[f, j, k + max_shift] += value_bits(bits, length, offset, shifted[f], q[f])


def bits_by_class(coded: CodedFrames) -> np.ndarray:
    """Code lengths summed over the voiced frames, (F, DISTANCE_CLASSES, 2 MAX_SHIFT + 1):
    bin, half-bin distance class, shift k + MAX_SHIFT."""
    out = np.zeros((coded.table.shape[1], DISTANCE_CLASSES, 2 * MAX_SHIFT + 1))
    t = coded.tables
    for i in np.flatnonzero(coded.voiced):
        _bits_by_class(coded.table[i], coded.q[i], coded.table_base, coded.lag[i], t.bits,
                       t.length, t.offset, MAX_SHIFT, DISTANCE_CLASSES, out)
    return out


def fit_shifts(by_class: np.ndarray, first_bin: int, end_bin: int, n_distances: int) -> tuple:
    """One row of K, (n_distances,), minimizing the bits of bins first_bin … end_bin − 1
    (distance classes from n_distances − 1 on merged), and the bits it saves against no shift."""
    per_class = by_class[first_bin:end_bin].sum(axis=0)
    merged = np.vstack([per_class[:n_distances - 1], per_class[n_distances - 1:].sum(axis=0)])
    best = merged.argmin(axis=1)
    saved = merged[:, MAX_SHIFT].sum() - merged[np.arange(n_distances), best].sum()
    return best - MAX_SHIFT, float(saved)


def fit_harmonic_model(by_class: np.ndarray, n_distances: int, n_bands: int) -> Dict:
    """Band edges (multiples of UPPER_BIN_STEP) and K, (n_bands, n_distances), that save the
    most bits: every choice of edges is tried, each band's row fitted by :func:`fit_shifts`."""
    grid = range(UPPER_BIN_STEP, by_class.shape[0] + 1, UPPER_BIN_STEP)
    best = None
    for upper in combinations(grid, n_bands):
        edges = (0,) + upper
        rows = [fit_shifts(by_class, lo, hi, n_distances) for lo, hi in zip(edges, edges[1:])]
        saved = sum(row[1] for row in rows)
        if best is None or saved > best["saved_bits"]:
            best = {"band_edges": list(edges), "shift_by_distance": [row[0].tolist() for row in rows],
                    "saved_bits": saved}
    return best


def harmonic_bits(coded: CodedFrames, **model) -> Dict:
    """Mean spectrum bits per frame without and with the harmonic model (``model``: keyword
    arguments of ``harmonic_model.table_shifts``, the fitted ones by default) on the voiced
    frames and on all frames; unvoiced frames have no lag and keep their bits."""
    t = coded.tables
    without, with_model = np.zeros(len(coded.q)), np.zeros(len(coded.q))
    for i, (table, q) in enumerate(zip(coded.table, coded.q)):
        without[i] = estimated_bits(table, q, t.bits, t.length, t.offset)
        lag = coded.lag[i] if coded.voiced[i] else 0.0
        shifted = shift_tables(table, coded.table_base,
                               harmonic_model.table_shifts(table.shape[0], lag, **model))
        with_model[i] = estimated_bits(shifted, q, t.bits, t.length, t.offset)
    voiced = coded.voiced
    return {"frames": int(len(voiced)), "voiced_frames": int(voiced.sum()),
            "voiced": [float(without[voiced].mean()), float(with_model[voiced].mean())],
            "all": [float(without.mean()), float(with_model.mean())]}
